//! Variant effects: a gene's annotation (GenBank, or GFF3/GTF with FASTA) read into transcripts
//! with their DNA window, RNA and protein (`gene`, `genbank`, `gff`, `annotation`); VCF variants
//! applied to them and classified (`vcf`, `effect`); and scored with the loaded models (`score`):
//! IsoFormer's Δ per tissue, ESM-2's and NT-v2's masked marginals, NT-v2's embedding distances,
//! Enformer's track Δ. Everything runs where the model runs: no sequence leaves the device.

pub mod annotation;
pub mod effect;
pub mod genbank;
pub mod gene;
pub mod gff;
pub mod score;
pub mod vcf;

pub use annotation::Annotation;
pub use effect::Effect;
pub use gene::{GeneRecord, Strand, Transcript, WindowStrand};
pub use score::{GeneScorer, TranscriptScore, VariantScore, protein_llr, refuses_record};
pub use vcf::{Edit, Variant, read_vcf};

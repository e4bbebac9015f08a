//! isoformer-web: IsoFormer's encoders (ESM-2 for proteins, Nucleotide Transformer v2 for RNA;
//! Enformer and the aggregator as they land) in Burn, running natively and in the browser on WebGPU.
//!
//! Data flow: a Hugging Face checkpoint is converted natively (`convert`) into a weight directory
//! (`weights`); the weights are uploaded to a device (`backend`) shard by shard; sequences are
//! read (`fasta`), tokenized (`tokenize`) and encoded (`esm`, the ESM-family encoder over the
//! shared blocks in `nn`; NT-v2's sizes in `nucleotide`); `embed` runs the forward pass and reads
//! the result back asynchronously.

pub mod aggregator;
pub mod backend;
#[cfg(not(target_arch = "wasm32"))]
pub mod checkpoint;
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert_aggregator;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert_enformer;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert_isoformer;
pub mod embed;
pub mod enformer;
pub mod error;
pub mod esm;
pub mod fasta;
#[cfg(not(target_arch = "wasm32"))]
pub mod init;
pub mod model;
pub mod nn;
pub mod nucleotide;
pub mod quantize;
pub mod stages;
pub mod synthetic;
pub mod tokenize;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
#[cfg(target_arch = "wasm32")]
pub mod wasm_loader;
#[cfg(not(target_arch = "wasm32"))]
pub mod weight_writer;
pub mod weights;

pub use backend::{BackendKind, ComputeDevice};
pub use config::{EnformerConfig, EsmConfig, EsmFamily, EsmSize};
pub use embed::{DnaEmbedding, DnaEncoder, Embedding, Logits, SequenceEncoder};
pub use error::{Error, Modality, Result};
pub use esm::Esm;
pub use fasta::{SequenceRecord, read_sequences};
pub use synthetic::synthetic_sequence;
pub use model::{Isoformer, IsoformerInputs, Prediction, TISSUES};
pub use tokenize::{AmbiguityPolicy, CropPolicy, DnaCropPolicy, DnaOneHot, NucleotideTokenizer, ProteinTokenizer, Tokenizer};
pub use weights::{IsoformerIndex, LoadedWeights, Manifest, Part};

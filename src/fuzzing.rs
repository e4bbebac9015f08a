//! The fuzz targets: every parser that reads what a user or a web server hands the library, driven
//! with arbitrary bytes. Each target returns normally for any input (an `Err` is a correct answer)
//! and asserts what its output must satisfy; a panic, an abort or a hang is a finding.
//!
//! Two drivers share these bodies: `fuzz/` (cargo-fuzz and libFuzzer, coverage-guided, for the long
//! runs FUZZING.md records) and `tests/fuzz.rs` (the corpus replayed and mutated for a short time in
//! `make test`, on the normal build). Not part of the API.

use crate::config::{AggregatorConfig, EnformerConfig, EsmConfig, EsmFamily};
use crate::tokenize::fasta::{read_sequences, stream_sequences};
use crate::tokenize::{AmbiguityPolicy, CropPolicy, DnaCropPolicy, DnaOneHot, NucleotideTokenizer, ProteinTokenizer};
use crate::variants::effect::{Reference, alternate_window, effect};
use crate::variants::gene::{GeneRecord, WINDOW_LENGTH, WindowStrand};
use crate::variants::{Annotation, Edit, read_vcf};
use crate::weights::manifest::{Quantization, ShardEntry, Source, TensorEntry};
use crate::weights::quantize::WeightDtype;
use crate::weights::{IsoformerIndex, LoadedWeights, Manifest, Part, sha256_hex};

/// A target's name (its `fuzz/fuzz_targets/<name>.rs` and corpus folder) and body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: [Target; 11] = [
    ("fasta", fasta),
    ("protein_tokenizer", protein_tokenizer),
    ("nucleotide_tokenizer", nucleotide_tokenizer),
    ("dna_one_hot", dna_one_hot),
    ("manifest", manifest),
    ("shard", shard),
    ("checkpoint", checkpoint),
    ("genbank", genbank),
    ("gff", gff),
    ("vcf", vcf),
    ("variant_applier", variant_applier),
];

/// The first byte picks options, the rest is the input.
fn split_first(data: &[u8]) -> (u8, &[u8]) {
    data.split_first().map_or((0, data), |(first, rest)| (*first, rest))
}

/// FASTA text (or a bare sequence), read whole and streamed: both agree on every record.
pub fn fasta(data: &[u8]) {
    let streamed: Vec<_> = stream_sequences(data).collect();
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(records) = read_sequences(text) {
        assert!(!records.is_empty());
        // Whole text already trimmed and starting with a header: the two readers are one.
        if text.trim_start_matches('\u{feff}').trim() == text && text.starts_with('>') {
            assert!(records.iter().all(|r| !r.sequence.contains('\n')));
            let streamed: Vec<_> = streamed.into_iter().map_while(Result::ok).collect();
            assert_eq!(streamed, records);
        }
    }
}

/// ESM-2's tokenizer: `<cls>` + one id per residue + `<eos>`, within the limit, ids in the vocabulary.
pub fn protein_tokenizer(data: &[u8]) {
    let (options, rest) = split_first(data);
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let max = usize::from(options % 64);
    if let Ok(ids) = ProteinTokenizer::new(max).encode(text) {
        assert!(ids.len() >= 3 && ids.len() <= max + 2, "{} ids for at most {max} residues", ids.len());
        assert!(ids.iter().all(|&id| id < 33));
    }
}

/// NT-v2's tokenizer: `<cls>` + 6-mers then single bases, within the limit, ids in the vocabulary.
pub fn nucleotide_tokenizer(data: &[u8]) {
    let (options, rest) = split_first(data);
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let max = usize::from(options % 32);
    let crop = [CropPolicy::Reject, CropPolicy::KeepStart, CropPolicy::KeepEnd][usize::from(options / 32 % 3)];
    let ambiguity = if options & 0x80 != 0 { AmbiguityPolicy::ReadAsN } else { AmbiguityPolicy::Reject };
    let tokenizer = NucleotideTokenizer::new(max).with_crop(crop).with_ambiguity(ambiguity);
    if let Ok(ids) = tokenizer.encode(text) {
        assert!(ids.len() >= 2 && ids.len() <= max.max(2), "{} ids for at most {max} tokens", ids.len());
        assert!(ids.iter().all(|&id| (id as usize) < nucleotide_vocab_size()));
    }
}

/// NT-v2's vocabulary size, built once (the list is 4,107 strings: not per execution).
fn nucleotide_vocab_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| crate::tokenize::nucleotide_vocab().len())
}

/// Enformer's one-hot: exactly `length` rows of four, each row one-hot, all zeros or N's quarters.
pub fn dna_one_hot(data: &[u8]) {
    let (options, rest) = split_first(data);
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let length = usize::from(options % 64) + 1;
    let crop = if options & 0x40 != 0 { DnaCropPolicy::Centre } else { DnaCropPolicy::Reject };
    let ambiguity = if options & 0x80 != 0 { AmbiguityPolicy::ReadAsN } else { AmbiguityPolicy::Reject };
    if let Ok(values) = DnaOneHot::new(length).with_crop(crop).with_ambiguity(ambiguity).encode(text) {
        assert_eq!(values.len(), 4 * length);
        for row in values.chunks(4) {
            let sum: f32 = row.iter().sum();
            assert!(row.iter().all(|v| (0.0..=1.0).contains(v)) && (sum == 0.0 || (sum - 1.0).abs() < 1e-6));
        }
    }
}

/// A weight directory's `manifest.json` or an IsoFormer directory's index, and the model
/// configuration a manifest carries: a manifest that validates names only plain files.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(index) = IsoformerIndex::from_json(text) {
        assert!(index.has(Part::Dna) && index.has(Part::Aggregator));
    }
    let Ok(manifest) = Manifest::from_json(text) else { return };
    for file in &manifest.files {
        assert!(!file.name.contains(['/', '\\']) && !file.name.starts_with('.'));
    }
    for part in [Part::Dna, Part::Rna, Part::Protein, Part::Aggregator] {
        let _ = IsoformerIndex::check_part(part, &manifest);
    }
    // What the model builders read from the config before any weight.
    if let Ok(config) = serde_json::from_value::<EsmConfig>(manifest.config.clone()) {
        for family in [EsmFamily::Esm2, EsmFamily::NucleotideTransformer] {
            if config.validate(family).is_ok() {
                let _ = config.max_residues();
            }
        }
    }
    if let Ok(config) = serde_json::from_value::<EnformerConfig>(manifest.config.clone()) {
        let _ = config.validate();
    }
    if let Ok(config) = serde_json::from_value::<AggregatorConfig>(manifest.config.clone()) {
        let _ = config.validate();
    }
}

/// The tensors the `shard` target's manifest lists: a q8 matrix, an f16 vector, an f32 matrix
/// (fuzz/seeds.py writes a valid shard of them).
fn shard_tensors() -> Vec<TensorEntry> {
    let entry = |name: &str, shape: &[usize], dtype| TensorEntry { name: name.into(), shape: shape.to_vec(), dtype };
    vec![
        entry("layer.weight", &[4, 16], WeightDtype::Q8),
        entry("layer.bias", &[16], WeightDtype::F16),
        entry("norm.weight", &[2, 3], WeightDtype::F32),
    ]
}

const SHARD_BLOCK_SIZE: usize = 8;

fn shard_manifest(entry: ShardEntry) -> Manifest {
    Manifest {
        format: crate::weights::manifest::FORMAT.into(),
        format_version: crate::weights::manifest::FORMAT_VERSION,
        model: "esm2".into(),
        config: serde_json::Value::Null,
        dtype: WeightDtype::Q8,
        quantization: Some(Quantization::blockwise(SHARD_BLOCK_SIZE)),
        source: Source { checkpoint: "fuzz".into(), licence: "MIT".into(), random_weights: true },
        files: vec![entry],
    }
}

/// A downloaded shard (safetensors) checked against its manifest entry and uploaded to the CPU
/// backend; the entry's size and hash are the data's own, so the parse behind them is reached.
pub fn shard(data: &[u8]) {
    let entry = ShardEntry {
        name: "fuzz.safetensors".into(),
        bytes: data.len() as u64,
        sha256: sha256_hex(data),
        tensors: shard_tensors(),
    };
    let manifest = shard_manifest(entry.clone());
    let mut weights = LoadedWeights::new(&burn::tensor::Device::flex(), &manifest);
    if weights.add_shard(&entry, data.to_vec()).is_ok() {
        weights.finish().unwrap_err();
    }
}

/// An upstream checkpoint as the converter opens it: the first byte picks safetensors or a
/// PyTorch pickle (`.pt`), the rest is the file; every tensor is then read as f32.
pub fn checkpoint(data: &[u8]) {
    use std::io::Write as _;
    let (kind, rest) = split_first(data);
    let suffix = if kind & 1 == 0 { ".safetensors" } else { ".pt" };
    let mut file = tempfile_with_suffix(suffix);
    file.1.write_all(rest).unwrap();
    drop(file.1);
    if let Ok(opened) = crate::convert::checkpoint::Checkpoint::open(&file.0) {
        for tensor in opened.tensors.values() {
            let count = tensor.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
            if let Ok(values) = tensor.read_f32() {
                assert_eq!(Some(values.len()), count, "{:?} values for shape {:?}", values.len(), tensor.shape);
            }
        }
    }
    let _ = std::fs::remove_file(&file.0);
}

/// A file of this process's own in the temporary directory (the readers take paths).
fn tempfile_with_suffix(suffix: &str) -> (std::path::PathBuf, std::fs::File) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!("isoformer-fuzz-{}-{}{suffix}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let path = std::env::temp_dir().join(name);
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}

/// A gene record's transcripts must lie on its sequence; their RNA, protein and window are built.
fn check_gene(gene: &GeneRecord) {
    for transcript in &gene.transcripts {
        assert!(!transcript.exons.is_empty());
        for exon in &transcript.exons {
            assert!(exon.start < exon.end && exon.end <= gene.sequence.len(), "exon {exon:?}");
        }
        let reference = Reference::of(transcript, &gene.sequence);
        assert_eq!(reference.rna.len(), transcript.exons.iter().map(|e| e.len()).sum::<usize>());
        assert_eq!(transcript.window(&gene.sequence, WindowStrand::Genome).len(), WINDOW_LENGTH);
    }
}

/// A GenBank record.
pub fn genbank(data: &[u8]) {
    if let Ok(gene) = Annotation::GenBank(data).read() {
        check_gene(&gene);
    }
}

/// GFF3 or GTF lines, then (from the first line that starts with `>`) the FASTA of the sequence.
pub fn gff(data: &[u8]) {
    let (features, fasta) = gff_parts(data);
    if let Ok(gene) = (Annotation::Gff { features, fasta }).read() {
        check_gene(&gene);
    }
}

/// A `gff` input's features and FASTA: split before the first line that starts with `>`.
pub fn gff_parts(data: &[u8]) -> (&[u8], &[u8]) {
    data.split_at(data.windows(2).position(|w| w == b"\n>").map_or(data.len(), |i| i + 1))
}

/// VCF lines: every allele a variant with a position and bases, or an error naming its record.
pub fn vcf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for variant in read_vcf(text).into_iter().flatten() {
        assert!(variant.position >= 1 && !variant.reference.is_empty() && variant.alternate != variant.reference);
    }
}

/// A GenBank record (up to its `//` line), then VCF lines applied to it: each edit's alternate
/// RNA, protein and window as the scorer builds them.
pub fn variant_applier(data: &[u8]) {
    let end = data.windows(4).position(|w| w == b"\n//\n").map_or(data.len(), |i| i + 4);
    let (record, variants) = data.split_at(end);
    let Ok(gene) = Annotation::GenBank(record).read() else { return };
    let Ok(text) = std::str::from_utf8(variants) else { return };
    let references: Vec<Reference> = gene.transcripts.iter().map(|t| Reference::of(t, &gene.sequence)).collect();
    for variant in read_vcf(text).into_iter().flatten() {
        let Ok(edit) = Edit::new(&gene, &variant) else { continue };
        assert!(edit.start <= edit.end && edit.end <= gene.sequence.len());
        let alternate = edit.apply(&gene.sequence);
        assert_eq!(alternate.len() as i64, gene.sequence.len() as i64 + edit.delta());
        for (transcript, reference) in gene.transcripts.iter().zip(&references) {
            for strand in [WindowStrand::Genome, WindowStrand::Transcript] {
                let effect = effect(transcript, reference, &edit, &alternate, strand);
                if effect.in_window {
                    assert_eq!(alternate_window(transcript, &edit, &alternate, strand).len(), WINDOW_LENGTH);
                }
            }
        }
    }
}

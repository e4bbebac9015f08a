//! isoformer-web: IsoFormer (InstaDeep, NeurIPS 2024) — Enformer (DNA), Nucleotide Transformer v2
//! (RNA), ESM-2 (protein) and the cross-attention aggregator — in Burn, natively and in the browser
//! on WebGPU (or the CPU fallback).
//!
//! Data flow: an upstream checkpoint is converted natively (`convert`) into a weight directory
//! (`weights`); its shards are uploaded to a device (`runtime::backend`); sequences are read and
//! tokenized (`tokenize`), encoded by the models (`models`: the shared blocks in `nn`, the
//! ESM-family encoder, Enformer, the aggregator, the whole `isoformer`), and read back
//! asynchronously (`runtime::embed`). `web` is the browser's surface and weight loader.

pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert;
pub mod error;
/// The fuzz targets (`fuzz/`, `tests/fuzz.rs`); native only, not part of the API.
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod models;
pub mod runtime;
/// The deterministic synthetic sequence the benchmarks and tests share; not part of the API.
#[doc(hidden)]
pub mod synthetic;
pub mod tokenize;
pub mod variants;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use config::{AggregatorConfig, EnformerConfig, EsmConfig, EsmFamily, EsmSize};
pub use error::{Error, Modality, Result};
pub use models::esm::Esm;
pub use models::isoformer::{Isoformer, IsoformerInputs, Prediction, RunOptions, TISSUES};
pub use runtime::backend::{BackendKind, ComputeDevice};
pub use runtime::cancel::Cancel;
pub use runtime::embed::{DnaEmbedding, DnaEncoder, Embedding, Logits, Pooling, SequenceEncoder};
pub use tokenize::fasta::{SequenceRecord, read_sequences, stream_sequences};
pub use tokenize::{
    AmbiguityPolicy, CropPolicy, DnaCropPolicy, DnaOneHot, NucleotideTokenizer, ProteinTokenizer, Tokenizer,
};
pub use weights::{IsoformerIndex, LoadedWeights, Manifest, Part};

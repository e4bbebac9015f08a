//! The project's weight directory: `manifest.json` plus safetensors shards (see weights/README.md),
//! and an IsoFormer directory's `isoformer.json` index of parts.
//!
//! `manifest` and `index` are the two file formats; `params` is what model builders take their
//! tensors from (each shard verified against its SHA-256, then uploaded); `quantize` the storage
//! types; `files` (native) reads directories from disk, `writer` and `init` (native) write them.

#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod index;
#[cfg(not(target_arch = "wasm32"))]
pub mod init;
pub mod manifest;
pub mod params;
pub mod quantize;
#[cfg(not(target_arch = "wasm32"))]
pub mod writer;

#[cfg(not(target_arch = "wasm32"))]
pub use files::{
    load_dir, load_part, load_weights, read_isoformer_index, read_manifest, read_part_manifest, write_isoformer_index,
};
pub use index::{ISOFORMER_INDEX_FILE, IsoformerIndex, Part};
pub use manifest::{
    DEFAULT_SHARD_BYTES, FORMAT, FORMAT_VERSION, MANIFEST_FILE, MAX_SHARD_BYTES, Manifest, Quantization, ShardEntry,
    Source, TensorEntry, sha256_hex,
};
pub use params::{LoadedWeights, ParamSource};

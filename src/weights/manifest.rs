//! `manifest.json`: what a weight directory holds (model, config, storage type, shards with their
//! SHA-256 and tensors) and the checks that keep a hostile manifest harmless.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::weights::quantize::WeightDtype;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT: &str = "isoformer-web-weights";
/// 2 added storage types (f16, q8, q4) and the tensor index with shapes; 1 is refused.
pub const FORMAT_VERSION: u32 = 2;
/// The largest shard a manifest may list (a hostile manifest cannot make the loader allocate more).
pub const MAX_SHARD_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Default upper bound of one shard, so any static host (and the Cache API) can serve it.
pub const DEFAULT_SHARD_BYTES: u64 = 24 * 1024 * 1024;

/// `manifest.json`: what a weight directory holds and how to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// `esm2`, `nt`, `enformer` or `aggregator`.
    pub model: String,
    /// The model's configuration (the upstream `config.json` for ESM-2 and NT-v2).
    pub config: serde_json::Value,
    /// The directory's storage type: `f32`, `f16`, `q8` or `q4` (small tensors stay f32; each
    /// tensor's own type is in the index).
    pub dtype: WeightDtype,
    /// For `q8` and `q4`: how the values were quantized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Quantization>,
    pub source: Source,
    pub files: Vec<ShardEntry>,
}

/// Block-wise symmetric quantization (src/weights/quantize.rs): one f16 scale per `block_size` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// Always `symmetric-blockwise`.
    pub scheme: String,
    pub block_size: usize,
    /// Always `f16`.
    pub scale_dtype: String,
}

impl Quantization {
    pub fn blockwise(block_size: usize) -> Self {
        Quantization { scheme: "symmetric-blockwise".into(), block_size, scale_dtype: "f16".into() }
    }
}

/// One tensor of a shard: its name, logical shape and storage type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: WeightDtype,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Where the weights came from (a Hugging Face id or a file name).
    pub checkpoint: String,
    pub licence: String,
    /// True when the weights are randomly initialised, not trained: every output says so.
    pub random_weights: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// File name relative to the manifest; a plain name, never a path.
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    pub tensors: Vec<TensorEntry>,
}

impl Manifest {
    pub fn from_json(text: &str) -> Result<Self> {
        let manifest: Manifest = serde_json::from_str(text).map_err(|e| Error::Manifest(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Refuses manifests that are not ours, or whose file names could escape the weight directory.
    pub fn validate(&self) -> Result<()> {
        if self.format != FORMAT {
            return Err(Error::Manifest(format!("format is {:?}, expected {FORMAT:?}", self.format)));
        }
        if self.format_version != FORMAT_VERSION {
            return Err(Error::Manifest(format!(
                "format_version {} is not supported (expected {FORMAT_VERSION}; convert the checkpoint again)",
                self.format_version
            )));
        }
        match (&self.quantization, self.dtype.is_quantized()) {
            (Some(q), true) if q.scheme == "symmetric-blockwise" && q.scale_dtype == "f16" && q.block_size > 0 => {}
            (None, false) => {}
            (q, _) => {
                return Err(Error::Manifest(format!(
                    "dtype {} with quantization {q:?} is not supported",
                    self.dtype.name()
                )));
            }
        }
        if self.files.is_empty() {
            return Err(Error::Manifest("no weight files listed".into()));
        }
        for file in &self.files {
            let plain = !file.name.is_empty()
                && !file.name.starts_with('.')
                && file.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !plain {
                return Err(Error::Manifest(format!("file name {:?} is not a plain file name", file.name)));
            }
            if file.sha256.len() != 64 || !file.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Manifest(format!("file {:?} has no valid SHA-256", file.name)));
            }
            if file.bytes > MAX_SHARD_BYTES {
                return Err(Error::Manifest(format!(
                    "file {:?} claims {} bytes, more than any shard may hold ({MAX_SHARD_BYTES})",
                    file.name, file.bytes
                )));
            }
            for tensor in &file.tensors {
                let count = tensor.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
                let stored = count.map(|n| tensor.dtype.stored_bytes(n) as u64);
                if tensor.name.is_empty() || stored.is_none_or(|bytes| bytes > file.bytes) {
                    return Err(Error::Manifest(format!(
                        "tensor {:?} {:?} does not fit in file {:?}",
                        tensor.name, tensor.shape, file.name
                    )));
                }
                if tensor.dtype.is_quantized() && self.quantization.is_none() {
                    return Err(Error::Manifest(format!(
                        "tensor {:?} is {} but the manifest has no quantization",
                        tensor.name,
                        tensor.dtype.name()
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

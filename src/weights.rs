//! The project's weight directory: `manifest.json` plus safetensors shards (see weights/README.md).
//!
//! Loading is shard by shard: each shard is verified against its SHA-256, parsed, and its tensors
//! are uploaded to the device at once, so host memory holds one shard at a time. Model builders
//! then take the uploaded tensors by name through [`ParamSource`].

use std::collections::BTreeMap;

use burn::tensor::{DType, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CheckpointMismatch, Error, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT: &str = "isoformer-web-weights";
pub const FORMAT_VERSION: u32 = 1;
/// Default upper bound of one shard, so any static host (and the Cache API) can serve it.
pub const DEFAULT_SHARD_BYTES: u64 = 24 * 1024 * 1024;

/// `manifest.json`: what a weight directory holds and how to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// `esm2` for now; the other encoders and the aggregator add their own kinds.
    pub model: String,
    /// The upstream `config.json`, unchanged.
    pub config: serde_json::Value,
    /// Storage type of every tensor (`f32`).
    pub dtype: String,
    pub source: Source,
    pub files: Vec<ShardEntry>,
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
    pub tensors: Vec<String>,
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
            return Err(Error::Manifest(format!("format_version {} is not supported (expected {FORMAT_VERSION})", self.format_version)));
        }
        if self.dtype != "f32" {
            return Err(Error::Manifest(format!("dtype {:?} is not supported yet (expected \"f32\")", self.dtype)));
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

/// Model builders take their parameters from here, by name, with the shape they expect.
pub trait ParamSource {
    /// The tensor `name`, flattened, after checking it has `shape`.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor<1>>;
    /// Small buffers that the model needs on the host (rotary frequencies).
    fn take_host(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>>;
    /// Whether the weights contain `name` (optional parts such as the masked-LM head).
    fn contains(&self, name: &str) -> bool;
}

enum Stored {
    Device(Tensor<1>, Vec<usize>),
    Host(Vec<f32>, Vec<usize>),
}

/// Tensors of a weight directory, uploaded to one device as their shards arrive.
pub struct LoadedWeights {
    device: Device,
    tensors: BTreeMap<String, Stored>,
}

impl LoadedWeights {
    pub fn new(device: &Device) -> Self {
        LoadedWeights { device: device.clone(), tensors: BTreeMap::new() }
    }

    /// Verifies one shard against its manifest entry and uploads its tensors; `bytes` is dropped
    /// on return, so only one shard is ever held on the host.
    pub fn add_shard(&mut self, entry: &ShardEntry, bytes: Vec<u8>) -> Result<()> {
        let file_error = |reason: String| Error::WeightFile { file: entry.name.clone(), reason };
        if bytes.len() as u64 != entry.bytes {
            return Err(file_error(format!("{} bytes, the manifest says {}", bytes.len(), entry.bytes)));
        }
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(Error::Integrity { file: entry.name.clone(), expected: entry.sha256.clone(), actual });
        }
        let shard = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| file_error(e.to_string()))?;
        if let Some(absent) = entry.tensors.iter().find(|name| shard.tensor(name).is_err()) {
            return Err(file_error(format!("tensor {absent} is listed in the manifest but not in the file")));
        }
        for (name, view) in shard.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(file_error(format!("tensor {name} is {:?}, expected F32", view.dtype())));
            }
            if !entry.tensors.contains(&name) {
                return Err(file_error(format!("tensor {name} is not listed in the manifest")));
            }
            let shape = view.shape().to_vec();
            let values = view.data().to_vec();
            let stored = if is_host_buffer(&name) {
                let floats = values.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                Stored::Host(floats, shape)
            } else {
                let count = shape.iter().product::<usize>();
                let data = TensorData::from_bytes_vec(values, [count], DType::F32);
                Stored::Device(Tensor::<1>::from_data(data, &self.device), shape)
            };
            if self.tensors.insert(name.clone(), stored).is_some() {
                return Err(file_error(format!("tensor {name} appears in more than one shard")));
            }
        }
        Ok(())
    }

    /// Fails, listing them, if the weights held tensors that no module took.
    pub fn finish(self) -> Result<()> {
        if self.tensors.is_empty() {
            return Ok(());
        }
        Err(CheckpointMismatch { unknown: self.tensors.into_keys().collect(), ..Default::default() }.into())
    }

    fn remove(&mut self, name: &str, shape: &[usize]) -> Result<Stored> {
        let stored = self
            .tensors
            .remove(name)
            .ok_or_else(|| CheckpointMismatch { missing: vec![name.to_string()], ..Default::default() })?;
        let actual = match &stored {
            Stored::Device(_, s) | Stored::Host(_, s) => s,
        };
        if actual != shape {
            return Err(CheckpointMismatch { misshaped: vec![format!("{name}: {actual:?} vs expected {shape:?}")], ..Default::default() }.into());
        }
        Ok(stored)
    }
}

/// Buffers kept on the host: the model computes from them on the CPU (rotary tables).
pub fn is_host_buffer(name: &str) -> bool {
    name.ends_with("inv_freq")
}

impl ParamSource for LoadedWeights {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor<1>> {
        match self.remove(name, shape)? {
            Stored::Device(tensor, _) => Ok(tensor),
            Stored::Host(values, _) => Ok(Tensor::<1>::from_data(TensorData::new(values, [shape.iter().product::<usize>()]), &self.device)),
        }
    }

    fn take_host(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        match self.remove(name, shape)? {
            Stored::Host(values, _) => Ok(values),
            Stored::Device(..) => Err(Error::Manifest(format!("{name} must be a host buffer"))),
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

/// Reads a weight directory from the local file system.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_dir(dir: &std::path::Path, device: &Device) -> Result<(Manifest, LoadedWeights)> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(manifest_path.display(), e))?;
    let manifest = Manifest::from_json(&text)?;
    let mut weights = LoadedWeights::new(device);
    for entry in &manifest.files {
        let path = dir.join(&entry.name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        weights.add_shard(entry, bytes)?;
    }
    Ok((manifest, weights))
}

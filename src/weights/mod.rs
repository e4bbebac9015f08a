//! The project's weight directory: `manifest.json` plus safetensors shards (see weights/README.md).
//!
//! Loading is shard by shard: each shard is verified against its SHA-256, parsed, and its tensors
//! are uploaded to the device at once, so host memory holds one shard at a time. Model builders
//! then take the uploaded tensors by name through [`ParamSource`].

#[cfg(not(target_arch = "wasm32"))]
pub mod init;
pub mod quantize;
#[cfg(not(target_arch = "wasm32"))]
pub mod writer;

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CheckpointMismatch, Error, Modality, Result};
use self::quantize::{SCALE_SUFFIX, WeightDtype};

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
            (q, _) => return Err(Error::Manifest(format!("dtype {} with quantization {q:?} is not supported", self.dtype.name()))),
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
                return Err(Error::Manifest(format!("file {:?} claims {} bytes, more than any shard may hold ({MAX_SHARD_BYTES})", file.name, file.bytes)));
            }
            for tensor in &file.tensors {
                let count = tensor.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
                let stored = count.map(|n| tensor.dtype.stored_bytes(n) as u64);
                if tensor.name.is_empty() || stored.is_none_or(|bytes| bytes > file.bytes) {
                    return Err(Error::Manifest(format!("tensor {:?} {:?} does not fit in file {:?}", tensor.name, tensor.shape, file.name)));
                }
                if tensor.dtype.is_quantized() && self.quantization.is_none() {
                    return Err(Error::Manifest(format!("tensor {:?} is {} but the manifest has no quantization", tensor.name, tensor.dtype.name())));
                }
            }
        }
        Ok(())
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// `isoformer.json`: an IsoFormer weight directory, one ordinary weight directory per part in the
/// sub-directory named after it (`dna/`, `rna/`, `protein/`, `aggregator/`), so a client fetches
/// only the parts it needs.
pub const ISOFORMER_INDEX_FILE: &str = "isoformer.json";

/// A part of IsoFormer: the three encoders and the aggregator with the tissue head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Dna,
    Rna,
    Protein,
    Aggregator,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Dna, Part::Rna, Part::Protein, Part::Aggregator];

    /// The encoder that reads `modality`.
    pub fn encoder_of(modality: Modality) -> Part {
        match modality {
            Modality::Dna => Part::Dna,
            Modality::Rna => Part::Rna,
            Modality::Protein => Part::Protein,
        }
    }

    /// The sub-directory holding this part's weight directory.
    pub fn dir_name(self) -> &'static str {
        match self {
            Part::Dna => "dna",
            Part::Rna => "rna",
            Part::Protein => "protein",
            Part::Aggregator => "aggregator",
        }
    }

    /// The `model` its manifest must name.
    pub fn model_names(self) -> &'static [&'static str] {
        match self {
            Part::Dna => &["enformer"],
            Part::Rna => &["nt"],
            Part::Protein => &["esm2"],
            Part::Aggregator => &["aggregator"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsoformerIndex {
    pub format: String,
    pub format_version: u32,
    /// Always `isoformer`.
    pub model: String,
    /// The parts present (DNA and the aggregator always are: missing DNA is read as N).
    pub parts: Vec<Part>,
    pub source: Source,
}

impl IsoformerIndex {
    pub fn new(parts: Vec<Part>, source: Source) -> Self {
        IsoformerIndex { format: FORMAT.into(), format_version: FORMAT_VERSION, model: "isoformer".into(), parts, source }
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let index: IsoformerIndex = serde_json::from_str(text).map_err(|e| Error::Manifest(format!("{ISOFORMER_INDEX_FILE}: {e}")))?;
        if index.format != FORMAT || index.format_version != FORMAT_VERSION || index.model != "isoformer" {
            return Err(Error::Manifest(format!(
                "{ISOFORMER_INDEX_FILE}: expected format {FORMAT:?} version {FORMAT_VERSION}, model \"isoformer\"; found {:?} version {}, model {:?}",
                index.format, index.format_version, index.model
            )));
        }
        for needed in [Part::Dna, Part::Aggregator] {
            if !index.parts.contains(&needed) {
                return Err(Error::Manifest(format!("{ISOFORMER_INDEX_FILE}: no {} part (IsoFormer always needs it)", needed.dir_name())));
            }
        }
        Ok(index)
    }

    pub fn has(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }

    /// Checks that a part's manifest is the kind of model the part needs.
    pub fn check_part(part: Part, manifest: &Manifest) -> Result<()> {
        if part.model_names().contains(&manifest.model.as_str()) {
            return Ok(());
        }
        Err(Error::Manifest(format!("{}/{MANIFEST_FILE}: model {:?}, expected {:?}", part.dir_name(), manifest.model, part.model_names()[0])))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Model builders take their parameters from here, by name, with the shape they expect.
pub trait ParamSource {
    /// The tensor `name`, flattened, after checking it has `shape`.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor<1>>;
    /// A linear layer's `[d_in, d_out]` weight; it may be one of Burn's quantized tensors, which
    /// only a matmul reads.
    fn take_matrix(&mut self, name: &str, shape: [usize; 2]) -> Result<Tensor<2>> {
        Ok(self.take(name, &shape)?.reshape(shape))
    }
    /// Small buffers that the model needs on the host (rotary frequencies).
    fn take_host(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>>;
    /// Whether the weights contain `name` (optional parts such as the masked-LM head).
    fn contains(&self, name: &str) -> bool;
}

enum Stored {
    Device(Tensor<1>, Vec<usize>),
    /// A q8 matrix kept quantized on the GPU.
    QuantizedMatrix(Tensor<2>, Vec<usize>),
    Host(Vec<f32>, Vec<usize>),
}

/// Tensors of a weight directory, uploaded to one device as their shards arrive.
pub struct LoadedWeights {
    device: Device,
    block_size: usize,
    /// Keep q8 matrices quantized (GPUs); the CPU backend widens them, where its quantized matmul
    /// is slower and memory is plentiful.
    q8_on_device: bool,
    tensors: BTreeMap<String, Stored>,
}

impl LoadedWeights {
    /// Weights of the directory `manifest` describes, to be uploaded to `device`.
    pub fn new(device: &Device, manifest: &Manifest) -> Self {
        let block_size = manifest.quantization.as_ref().map_or(quantize::DEFAULT_BLOCK_SIZE, |q| q.block_size);
        let q8_on_device = matches!(device.as_dispatch(), burn::backend::DispatchDevice::Cube(_));
        LoadedWeights { device: device.clone(), block_size, q8_on_device, tensors: BTreeMap::new() }
    }

    /// Verifies one shard against its manifest entry and uploads its tensors (widened to f32, or q8
    /// matrices kept quantized on a GPU);
    /// `bytes` is dropped on return, so only one shard is ever held on the host.
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
        let mut expected: std::collections::HashSet<String> = std::collections::HashSet::new();
        for tensor in &entry.tensors {
            let count: usize = tensor.shape.iter().product();
            let view = shard.tensor(&tensor.name).map_err(|_| file_error(format!("tensor {} is listed in the manifest but not in the file", tensor.name)))?;
            let (stored_dtype, stored_shape) = tensor.dtype.stored_form(&tensor.shape);
            if view.dtype() != stored_dtype || view.shape() != stored_shape.as_slice() {
                return Err(file_error(format!("tensor {} is {:?} {:?}, the manifest says {} {:?}", tensor.name, view.dtype(), view.shape(), tensor.dtype.name(), tensor.shape)));
            }
            expected.insert(tensor.name.clone());
            let scales = if tensor.dtype.is_quantized() {
                let scale_name = format!("{}{SCALE_SUFFIX}", tensor.name);
                let scales = shard.tensor(&scale_name).map_err(|_| file_error(format!("tensor {} has no {scale_name}", tensor.name)))?;
                if scales.dtype() != safetensors::Dtype::F16 {
                    return Err(file_error(format!("{scale_name} is {:?}, expected F16", scales.dtype())));
                }
                expected.insert(scale_name);
                Some(scales.data())
            } else {
                None
            };
            let quantized = match (self.q8_on_device, tensor.dtype, scales) {
                (true, WeightDtype::Q8, Some(scales)) => quantize::q8_matrix_data(view.data(), scales, &tensor.shape, self.block_size),
                _ => None,
            };
            let stored = if let Some(data) = quantized {
                Stored::QuantizedMatrix(Tensor::<2>::from_data(data, &self.device), tensor.shape.clone())
            } else {
                let values = quantize::decode(tensor.dtype, view.data(), scales, count, self.block_size).map_err(|e| file_error(format!("tensor {}: {e}", tensor.name)))?;
                if is_host_buffer(&tensor.name) {
                    Stored::Host(values, tensor.shape.clone())
                } else {
                    Stored::Device(Tensor::<1>::from_data(TensorData::new(values, [count]), &self.device), tensor.shape.clone())
                }
            };
            if self.tensors.insert(tensor.name.clone(), stored).is_some() {
                return Err(file_error(format!("tensor {} appears in more than one shard", tensor.name)));
            }
        }
        if let Some(extra) = shard.names().into_iter().find(|name| !expected.contains(*name)) {
            return Err(file_error(format!("tensor {extra} is not listed in the manifest")));
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

    /// A stored tensor as flat f32 values on the device (a quantized matrix is widened there).
    fn flat_f32(&self, stored: Stored) -> Tensor<1> {
        match stored {
            Stored::Device(tensor, _) => tensor,
            Stored::QuantizedMatrix(tensor, shape) => tensor.dequantize().reshape([shape.iter().product::<usize>()]),
            Stored::Host(values, shape) => Tensor::<1>::from_data(TensorData::new(values, [shape.iter().product::<usize>()]), &self.device),
        }
    }

    fn remove(&mut self, name: &str, shape: &[usize]) -> Result<Stored> {
        let stored = self
            .tensors
            .remove(name)
            .ok_or_else(|| CheckpointMismatch { missing: vec![name.to_string()], ..Default::default() })?;
        let actual = match &stored {
            Stored::Device(_, s) | Stored::QuantizedMatrix(_, s) | Stored::Host(_, s) => s,
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
        let stored = self.remove(name, shape)?;
        Ok(self.flat_f32(stored))
    }

    fn take_matrix(&mut self, name: &str, shape: [usize; 2]) -> Result<Tensor<2>> {
        match self.remove(name, &shape)? {
            Stored::QuantizedMatrix(tensor, _) => Ok(tensor),
            other => Ok(self.flat_f32(other).reshape(shape)),
        }
    }

    fn take_host(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        match self.remove(name, shape)? {
            Stored::Host(values, _) => Ok(values),
            Stored::Device(..) | Stored::QuantizedMatrix(..) => Err(Error::Manifest(format!("{name} must be a host buffer"))),
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

/// Reads the index of an IsoFormer weight directory from the local file system.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_isoformer_index(dir: &std::path::Path) -> Result<IsoformerIndex> {
    let path = dir.join(ISOFORMER_INDEX_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
    IsoformerIndex::from_json(&text)
}

/// Writes `isoformer.json` into `dir`.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_isoformer_index(dir: &std::path::Path, index: &IsoformerIndex) -> Result<()> {
    let path = dir.join(ISOFORMER_INDEX_FILE);
    let text = serde_json::to_string_pretty(index).map_err(|e| Error::io(path.display(), e))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(path.display(), e))
}

/// `dir/manifest.json`, read and checked.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_manifest(dir: &std::path::Path) -> Result<Manifest> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(manifest_path.display(), e))?;
    Manifest::from_json(&text)
}

/// Reads a weight directory from the local file system.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_dir(dir: &std::path::Path, device: &Device) -> Result<(Manifest, LoadedWeights)> {
    let manifest = read_manifest(dir)?;
    let mut weights = LoadedWeights::new(device, &manifest);
    for entry in &manifest.files {
        let path = dir.join(&entry.name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        weights.add_shard(entry, bytes)?;
    }
    Ok((manifest, weights))
}

/// The manifest of one part of the IsoFormer directory `dir` (its index `index`), checked to be
/// that part's model; an error when the directory has no such part.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_part_manifest(dir: &std::path::Path, index: &IsoformerIndex, part: Part) -> Result<Manifest> {
    if !index.has(part) {
        return Err(Error::Manifest(format!("{}: no {} part", dir.display(), part.dir_name())));
    }
    let manifest = read_manifest(&dir.join(part.dir_name()))?;
    IsoformerIndex::check_part(part, &manifest)?;
    Ok(manifest)
}

/// One part of an IsoFormer directory, loaded onto `device` (see [`read_part_manifest`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn load_part(dir: &std::path::Path, index: &IsoformerIndex, part: Part, device: &Device) -> Result<(Manifest, LoadedWeights)> {
    read_part_manifest(dir, index, part)?;
    load_dir(&dir.join(part.dir_name()), device)
}

//! Writing weight directories (native only): tensors in spec order into safetensors shards of at
//! most `max_shard_bytes` (counting each tensor at its f32 size, so a quantized shard widens to
//! no more than that on load), each tensor in the directory's storage type (src/weights/quantize.rs), then
//! `manifest.json` with each shard's SHA-256 and tensor index. Also re-encoding an existing
//! directory (or an IsoFormer directory, part by part) into another storage type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::nn::TensorSpec;
use crate::weights::quantize::{self, SCALE_SUFFIX, WeightDtype};
use crate::weights::{
    self, FORMAT, FORMAT_VERSION, ISOFORMER_INDEX_FILE, Manifest, Quantization, ShardEntry, Source, TensorEntry,
};

/// How the tensors of a weight directory are stored.
#[derive(Debug, Clone, Copy)]
pub struct Storage {
    pub dtype: WeightDtype,
    pub block_size: usize,
    pub max_shard_bytes: u64,
}

/// One tensor encoded for a shard: (safetensors name, dtype, stored shape, bytes) for itself and
/// its scales.
struct Encoded {
    entry: TensorEntry,
    parts: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>,
}

impl Storage {
    /// A block size of 0 would divide by zero, a shard limit of 0 write nothing useful.
    fn check(&self) -> Result<()> {
        if self.block_size == 0 || self.max_shard_bytes == 0 {
            return Err(Error::InvalidArgument(format!(
                "block size {} and shard limit {} must be positive",
                self.block_size, self.max_shard_bytes
            )));
        }
        Ok(())
    }
}

impl Encoded {
    fn new(name: &str, shape: Vec<usize>, values: &[f32], storage: &Storage) -> Self {
        let dtype = storage.dtype.for_tensor(name, &shape);
        let stored = quantize::encode(values, dtype, storage.block_size);
        let (st_dtype, st_shape) = dtype.stored_form(&shape);
        let mut parts = vec![(name.to_string(), st_dtype, st_shape, stored.data)];
        if let Some(scales) = stored.scales {
            parts.push((format!("{name}{SCALE_SUFFIX}"), safetensors::Dtype::F16, vec![scales.len() / 2], scales));
        }
        Encoded { entry: TensorEntry { name: name.to_string(), shape, dtype }, parts }
    }

    /// What the tensor costs a shard: its stored bytes, or its f32 size once widened on load if
    /// larger — the loader holds one shard's widened tensors at a time, so this bounds its memory.
    fn bytes(&self) -> u64 {
        let stored: u64 = self.parts.iter().map(|p| p.3.len() as u64).sum();
        stored.max(4 * self.entry.shape.iter().product::<usize>() as u64)
    }
}

/// Writes `tensors` (taken out of the map, in spec order) as `model`'s weight directory at `out`.
pub fn write_weight_dir(
    out: &Path,
    model: &str,
    config: Value,
    source: Source,
    specs: &[TensorSpec],
    tensors: &mut BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    storage: &Storage,
) -> Result<Manifest> {
    storage.check()?;
    let encoded = specs.iter().map(|spec| {
        let (shape, values) = tensors.remove(&spec.name).unwrap_or_default();
        Ok(Encoded::new(&spec.name, shape, &values, storage))
    });
    write_encoded(out, model, config, source, encoded, storage)
}

/// Shards the encoded tensors as they come (each is dropped once written) and writes the manifest.
fn write_encoded(
    out: &Path,
    model: &str,
    config: Value,
    source: Source,
    encoded: impl Iterator<Item = Result<Encoded>>,
    storage: &Storage,
) -> Result<Manifest> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out.display(), e))?;
    let mut shards: Vec<(Vec<u8>, Vec<TensorEntry>)> = Vec::new();
    let mut pending: Vec<Encoded> = Vec::new();
    let flush = |pending: &mut Vec<Encoded>, shards: &mut Vec<(Vec<u8>, Vec<TensorEntry>)>| -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let views = pending
            .iter()
            .flat_map(|e| &e.parts)
            .map(|(name, dtype, shape, bytes)| {
                safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes).map(|view| (name.clone(), view))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::io(model, e))?;
        let bytes = safetensors::serialize(views, None).map_err(|e| Error::io(model, e))?;
        shards.push((bytes, pending.drain(..).map(|e| e.entry).collect()));
        Ok(())
    };
    let mut pending_bytes = 0u64;
    for tensor in encoded {
        let tensor = tensor?;
        if pending_bytes > 0 && pending_bytes + tensor.bytes() > storage.max_shard_bytes {
            flush(&mut pending, &mut shards)?;
            pending_bytes = 0;
        }
        pending_bytes += tensor.bytes();
        pending.push(tensor);
    }
    flush(&mut pending, &mut shards)?;
    let count = shards.len();
    let mut files = Vec::with_capacity(count);
    for (index, (bytes, tensors)) in shards.into_iter().enumerate() {
        let name = format!("{model}-{index:05}-of-{count:05}.safetensors");
        let path: PathBuf = out.join(&name);
        std::fs::write(&path, &bytes).map_err(|e| Error::io(path.display(), e))?;
        files.push(ShardEntry { name, bytes: bytes.len() as u64, sha256: weights::sha256_hex(&bytes), tensors });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        model: model.into(),
        config,
        dtype: storage.dtype,
        quantization: storage.dtype.is_quantized().then(|| Quantization::blockwise(storage.block_size)),
        source,
        files,
    };
    let path = out.join(weights::MANIFEST_FILE);
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::io(path.display(), e))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(path.display(), e))?;
    Ok(manifest)
}

/// `isoformer quantize`: a weight directory (or an IsoFormer directory, each part) re-encoded in
/// `storage`'s type. Values are decoded to f32 first, so any type converts to any other (from f32
/// is the one that loses least).
pub fn requantize(from: &Path, out: &Path, storage: &Storage) -> Result<()> {
    storage.check()?;
    if from.join(ISOFORMER_INDEX_FILE).is_file() {
        let index = weights::read_isoformer_index(from)?;
        for part in &index.parts {
            requantize(&from.join(part.dir_name()), &out.join(part.dir_name()), storage)?;
        }
        std::fs::create_dir_all(out).map_err(|e| Error::io(out.display(), e))?;
        return weights::write_isoformer_index(out, &index);
    }
    let manifest = weights::read_manifest(from)?;
    let block_size = manifest.quantization.as_ref().map_or(quantize::DEFAULT_BLOCK_SIZE, |q| q.block_size);
    let mut encoded = Vec::new();
    for file in &manifest.files {
        let path = from.join(&file.name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        if weights::sha256_hex(&bytes) != file.sha256 {
            return Err(Error::Integrity {
                file: file.name.clone(),
                expected: file.sha256.clone(),
                actual: weights::sha256_hex(&bytes),
            });
        }
        let shard = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| Error::io(path.display(), e))?;
        for tensor in &file.tensors {
            let data = shard.tensor(&tensor.name).map_err(|e| Error::io(path.display(), e))?;
            let scales = shard.tensor(&format!("{}{SCALE_SUFFIX}", tensor.name)).ok();
            let count = tensor.shape.iter().product();
            let values =
                quantize::decode(tensor.dtype, data.data(), scales.as_ref().map(|s| s.data()), count, block_size)?;
            encoded.push(Ok(Encoded::new(&tensor.name, tensor.shape.clone(), &values, storage)));
        }
    }
    write_encoded(out, &manifest.model, manifest.config, manifest.source, encoded.into_iter(), storage).map(drop)
}

//! Reading upstream checkpoints (native only): safetensors files (single or sharded with
//! `model.safetensors.index.json`) and PyTorch `pytorch_model.bin` / `.pt` files through
//! burn-store's PyTorch reader. Tensors are read one at a time, on demand.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn_store::pytorch_reader::{DType as TorchDType, PytorchReader, Tensor as TorchTensor};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// One tensor of a checkpoint: its metadata, and how to read it.
pub struct CheckpointTensor {
    pub dtype: String,
    pub shape: Vec<usize>,
    location: Location,
}

enum Location {
    Safetensors { file: Arc<Mmap>, path: PathBuf, name: String },
    Pytorch(TorchTensor),
}

/// The tensors of a checkpoint by name (sorted), not yet read.
pub struct Checkpoint {
    pub tensors: BTreeMap<String, CheckpointTensor>,
}

impl Checkpoint {
    /// Opens a `.safetensors`, `.safetensors.index.json`, `.bin`, `.pt` or `.pth` file.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".safetensors.index.json") {
            Self::open_safetensors_index(path)
        } else if name.ends_with(".safetensors") {
            let mut tensors = BTreeMap::new();
            add_safetensors(path, &mut tensors)?;
            Ok(Checkpoint { tensors })
        } else if [".bin", ".pt", ".pth"].iter().any(|ext| name.ends_with(ext)) {
            Self::open_pytorch(path)
        } else {
            Err(Error::io(
                path.display(),
                "unknown checkpoint type (expected .safetensors, .safetensors.index.json, .bin, .pt or .pth)",
            ))
        }
    }

    /// The weights file of a Hugging Face model directory, preferring safetensors.
    pub fn find_in_dir(dir: &Path) -> Result<PathBuf> {
        for candidate in ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"] {
            let path = dir.join(candidate);
            if path.is_file() {
                return Ok(path);
            }
        }
        Err(Error::io(dir.display(), "no model.safetensors, model.safetensors.index.json or pytorch_model.bin"))
    }

    fn open_safetensors_index(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        let index: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::io(path.display(), e))?;
        let map = index["weight_map"].as_object().ok_or_else(|| Error::io(path.display(), "no weight_map"))?;
        let mut files: Vec<&str> = map.values().filter_map(|v| v.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tensors = BTreeMap::new();
        for file in files {
            add_safetensors(&dir.join(file), &mut tensors)?;
        }
        Ok(Checkpoint { tensors })
    }

    fn open_pytorch(path: &Path) -> Result<Self> {
        let reader = PytorchReader::new(path).map_err(|e| Error::io(path.display(), e))?;
        let tensors = reader
            .into_tensors()
            .into_iter()
            .map(|(name, tensor)| {
                let entry = CheckpointTensor {
                    dtype: format!("{:?}", tensor.dtype()),
                    shape: tensor.shape().to_vec(),
                    location: Location::Pytorch(tensor),
                };
                (name, entry)
            })
            .collect();
        Ok(Checkpoint { tensors })
    }
}

fn add_safetensors(path: &Path, tensors: &mut BTreeMap<String, CheckpointTensor>) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
    // SAFETY: the file is opened read-only and not modified while the converter runs.
    let map = Arc::new(unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path.display(), e))?);
    let parsed = SafeTensors::deserialize(&map).map_err(|e| Error::io(path.display(), e))?;
    for (name, view) in parsed.tensors() {
        let entry = CheckpointTensor {
            dtype: format!("{:?}", view.dtype()),
            shape: view.shape().to_vec(),
            location: Location::Safetensors { file: map.clone(), path: path.to_path_buf(), name: name.clone() },
        };
        if tensors.insert(name.clone(), entry).is_some() {
            return Err(Error::io(path.display(), format!("tensor {name} appears twice")));
        }
    }
    Ok(())
}

impl CheckpointTensor {
    /// The values as f32 (f16, bf16 and f64 are converted; integer tensors are refused).
    pub fn read_f32(&self) -> Result<Vec<f32>> {
        match &self.location {
            Location::Safetensors { file, path, name } => {
                let parsed = SafeTensors::deserialize(file).map_err(|e| Error::io(path.display(), e))?;
                let view = parsed.tensor(name).map_err(|e| Error::io(path.display(), e))?;
                let kind = match view.dtype() {
                    Dtype::F32 => FloatKind::F32,
                    Dtype::F16 => FloatKind::F16,
                    Dtype::BF16 => FloatKind::BF16,
                    Dtype::F64 => FloatKind::F64,
                    other => {
                        return Err(Error::io(
                            path.display(),
                            format!("tensor {name} is {other:?}, not floating point"),
                        ));
                    }
                };
                Ok(decode(view.data(), kind))
            }
            Location::Pytorch(tensor) => {
                let kind = match tensor.dtype() {
                    TorchDType::F32 => FloatKind::F32,
                    TorchDType::F16 => FloatKind::F16,
                    TorchDType::BF16 => FloatKind::BF16,
                    TorchDType::F64 => FloatKind::F64,
                    other => return Err(Error::io(&tensor.name, format!("{other:?} is not floating point"))),
                };
                let bytes = tensor.read().map_err(|e| Error::io(&tensor.name, e))?;
                Ok(decode(&bytes, kind))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum FloatKind {
    F32,
    F16,
    BF16,
    F64,
}

/// Little-endian (safetensors) and native-endian (the PyTorch reader) agree on x86 and wasm.
fn decode(bytes: &[u8], kind: FloatKind) -> Vec<f32> {
    match kind {
        FloatKind::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        FloatKind::F16 => bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        FloatKind::BF16 => bytes.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        FloatKind::F64 => {
            bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32).collect()
        }
    }
}

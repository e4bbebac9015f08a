//! Parameters by name for the model builders: [`ParamSource`], and [`LoadedWeights`], the verified
//! shards of a weight directory uploaded to a device one shard at a time (host memory holds one
//! shard at a time). Model files depend on this module only.

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{CheckpointMismatch, Error, Result};
use crate::weights::manifest::{Manifest, ShardEntry, sha256_hex};
use crate::weights::quantize::{self, SCALE_SUFFIX, WeightDtype, is_host_buffer};

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
            let view = shard.tensor(&tensor.name).map_err(|_| {
                file_error(format!("tensor {} is listed in the manifest but not in the file", tensor.name))
            })?;
            let (stored_dtype, stored_shape) = tensor.dtype.stored_form(&tensor.shape);
            if view.dtype() != stored_dtype || view.shape() != stored_shape.as_slice() {
                return Err(file_error(format!(
                    "tensor {} is {:?} {:?}, the manifest says {} {:?}",
                    tensor.name,
                    view.dtype(),
                    view.shape(),
                    tensor.dtype.name(),
                    tensor.shape
                )));
            }
            expected.insert(tensor.name.clone());
            let scales = if tensor.dtype.is_quantized() {
                let scale_name = format!("{}{SCALE_SUFFIX}", tensor.name);
                let scales = shard
                    .tensor(&scale_name)
                    .map_err(|_| file_error(format!("tensor {} has no {scale_name}", tensor.name)))?;
                if scales.dtype() != safetensors::Dtype::F16 {
                    return Err(file_error(format!("{scale_name} is {:?}, expected F16", scales.dtype())));
                }
                expected.insert(scale_name);
                Some(scales.data())
            } else {
                None
            };
            let quantized = match (self.q8_on_device, tensor.dtype, scales) {
                (true, WeightDtype::Q8, Some(scales)) => {
                    quantize::q8_matrix_data(view.data(), scales, &tensor.shape, self.block_size)
                }
                _ => None,
            };
            let stored = if let Some(data) = quantized {
                Stored::QuantizedMatrix(Tensor::<2>::from_data(data, &self.device), tensor.shape.clone())
            } else {
                let values = quantize::decode(tensor.dtype, view.data(), scales, count, self.block_size)
                    .map_err(|e| file_error(format!("tensor {}: {e}", tensor.name)))?;
                if is_host_buffer(&tensor.name) {
                    Stored::Host(values, tensor.shape.clone())
                } else {
                    Stored::Device(
                        Tensor::<1>::from_data(TensorData::new(values, [count]), &self.device),
                        tensor.shape.clone(),
                    )
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
            Stored::Host(values, shape) => {
                Tensor::<1>::from_data(TensorData::new(values, [shape.iter().product::<usize>()]), &self.device)
            }
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
            return Err(CheckpointMismatch {
                misshaped: vec![format!("{name}: {actual:?} vs expected {shape:?}")],
                ..Default::default()
            }
            .into());
        }
        Ok(stored)
    }
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
            Stored::Device(..) | Stored::QuantizedMatrix(..) => {
                Err(Error::Manifest(format!("{name} must be a host buffer")))
            }
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

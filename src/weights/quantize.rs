//! Storage types of weight tensors: f32, f16, and block-wise symmetric q8 / q4 with one f16 scale
//! per block of `block_size` consecutive values (row-major order). Tensors are stored compact and
//! widened to f32 as each shard is uploaded ("dequantize on upload"), so the model code never sees
//! the storage type.
//!
//! q8: `q = round(x / s)` in [-127, 127], `s = max|x| / 127` per block, stored as I8 with the
//! tensor's shape. q4: `q = round(x / s)` in [-7, 7], `s = max|x| / 7`, stored as `q + 8` in
//! nibbles, two per byte (low nibble first), as U8 of `ceil(n / 2)` bytes. The scales are a
//! separate F16 tensor named `<name>.q_scale`. Only matrices and convolution kernels with at least
//! [`MIN_QUANTIZED_VALUES`] values are quantized; norms, biases and small tensors stay f32.
//! On a GPU, q8 matrices of linear layers stay quantized instead ([`q8_matrix_data`]): 0.28× of
//! their device memory at the same matmul speed (measured; BENCHMARKS.md).

use half::f16;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Suffix of the per-block scale tensor of a quantized tensor.
pub const SCALE_SUFFIX: &str = ".q_scale";
/// Smaller tensors are not worth a scale table and stay f32.
pub const MIN_QUANTIZED_VALUES: usize = 1024;
/// Block size when none is asked for (chosen by measured accuracy; BENCHMARKS.md).
pub const DEFAULT_BLOCK_SIZE: usize = 32;

/// Buffers kept on the host, in f32 whatever the directory's type: the model computes from them on
/// the CPU (rotary tables).
pub fn is_host_buffer(name: &str) -> bool {
    name.ends_with("inv_freq")
}

/// How a weight directory stores its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum WeightDtype {
    F32,
    F16,
    Q8,
    Q4,
}

impl WeightDtype {
    pub const ALL: [WeightDtype; 4] = [WeightDtype::F32, WeightDtype::F16, WeightDtype::Q8, WeightDtype::Q4];

    /// The type named `name` (`f32`, `f16`, `q8`, `q4`; any case).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|dtype| dtype.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            WeightDtype::F32 => "f32",
            WeightDtype::F16 => "f16",
            WeightDtype::Q8 => "q8",
            WeightDtype::Q4 => "q4",
        }
    }

    pub fn is_quantized(self) -> bool {
        matches!(self, WeightDtype::Q8 | WeightDtype::Q4)
    }

    /// Bytes that `count` values take in this type (scales not included).
    pub fn stored_bytes(self, count: usize) -> usize {
        match self {
            WeightDtype::F32 => 4 * count,
            WeightDtype::F16 => 2 * count,
            WeightDtype::Q8 => count,
            WeightDtype::Q4 => count.div_ceil(2),
        }
    }

    /// The safetensors type and shape a tensor of logical `shape` is stored with.
    pub fn stored_form(self, shape: &[usize]) -> (safetensors::Dtype, Vec<usize>) {
        match self {
            WeightDtype::F32 => (safetensors::Dtype::F32, shape.to_vec()),
            WeightDtype::F16 => (safetensors::Dtype::F16, shape.to_vec()),
            WeightDtype::Q8 => (safetensors::Dtype::I8, shape.to_vec()),
            WeightDtype::Q4 => (safetensors::Dtype::U8, vec![shape.iter().product::<usize>().div_ceil(2)]),
        }
    }

    /// The storage type of one tensor in a directory of this type.
    pub fn for_tensor(self, name: &str, shape: &[usize]) -> WeightDtype {
        let count: usize = shape.iter().product();
        let matrix = shape.len() >= 2 && count >= MIN_QUANTIZED_VALUES && !is_host_buffer(name);
        match self {
            WeightDtype::Q8 | WeightDtype::Q4 if !matrix => WeightDtype::F32,
            WeightDtype::F16 if is_host_buffer(name) => WeightDtype::F32,
            other => other,
        }
    }
}

/// A tensor in its storage form: the bytes of the main tensor and, when quantized, of the scales.
pub struct Stored {
    pub dtype: WeightDtype,
    pub data: Vec<u8>,
    pub scales: Option<Vec<u8>>,
}

fn block_scales(values: &[f32], block_size: usize, levels: f32) -> Vec<f32> {
    values
        .chunks(block_size)
        .map(|block| {
            let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            // f16 scale, so the stored and the used scale are the same number.
            f16::from_f32(max / levels).to_f32()
        })
        .collect()
}

fn scale_bytes(scales: &[f32]) -> Vec<u8> {
    scales.iter().flat_map(|s| f16::from_f32(*s).to_le_bytes()).collect()
}

fn quantize_value(value: f32, scale: f32, levels: f32) -> f32 {
    if scale == 0.0 { 0.0 } else { (value / scale).round().clamp(-levels, levels) }
}

/// `values` in storage type `dtype`.
pub fn encode(values: &[f32], dtype: WeightDtype, block_size: usize) -> Stored {
    match dtype {
        WeightDtype::F32 => Stored { dtype, data: values.iter().flat_map(|v| v.to_le_bytes()).collect(), scales: None },
        WeightDtype::F16 => {
            Stored { dtype, data: values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect(), scales: None }
        }
        WeightDtype::Q8 => {
            let scales = block_scales(values, block_size, 127.0);
            let data = values
                .iter()
                .enumerate()
                .map(|(i, v)| quantize_value(*v, scales[i / block_size], 127.0) as i8 as u8)
                .collect();
            Stored { dtype, data, scales: Some(scale_bytes(&scales)) }
        }
        WeightDtype::Q4 => {
            let scales = block_scales(values, block_size, 7.0);
            let nibble = |i: usize| (quantize_value(values[i], scales[i / block_size], 7.0) as i8 + 8) as u8;
            let data = (0..values.len().div_ceil(2))
                .map(|byte| {
                    let low = nibble(2 * byte);
                    let high = if 2 * byte + 1 < values.len() { nibble(2 * byte + 1) } else { 8 };
                    low | (high << 4)
                })
                .collect();
            Stored { dtype, data, scales: Some(scale_bytes(&scales)) }
        }
    }
}

/// The values of little-endian f16 bytes.
fn f16_values(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()
}

/// Checks the lengths of `count` values stored as `dtype`; for q8 and q4, returns their block scales.
fn checked_scales(
    dtype: WeightDtype,
    data: &[u8],
    scales: Option<&[u8]>,
    count: usize,
    block_size: usize,
) -> Result<Vec<f32>> {
    let bad = |what: String| Err(Error::Manifest(format!("{} tensor: {what}", dtype.name())));
    let expected_bytes = dtype.stored_bytes(count);
    if data.len() != expected_bytes {
        return bad(format!("{} bytes for {count} values, expected {expected_bytes}", data.len()));
    }
    if !dtype.is_quantized() {
        return Ok(Vec::new());
    }
    if block_size == 0 {
        return bad("block_size 0".into());
    }
    let Some(scales) = scales else { return bad("no scales".into()) };
    if scales.len() != 2 * count.div_ceil(block_size) {
        return bad(format!("{} bytes of f16 scales for {count} values in blocks of {block_size}", scales.len()));
    }
    Ok(f16_values(scales))
}

/// Widens `count` values stored as `dtype` back to f32; checks every length first.
pub fn decode(
    dtype: WeightDtype,
    data: &[u8],
    scales: Option<&[u8]>,
    count: usize,
    block_size: usize,
) -> Result<Vec<f32>> {
    let scales = checked_scales(dtype, data, scales, count, block_size)?;
    Ok(match dtype {
        WeightDtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        WeightDtype::F16 => f16_values(data),
        WeightDtype::Q8 => data.iter().enumerate().map(|(i, q)| (*q as i8) as f32 * scales[i / block_size]).collect(),
        WeightDtype::Q4 => (0..count)
            .map(|i| {
                let byte = data[i / 2];
                let nibble = if i % 2 == 0 { byte & 0x0f } else { byte >> 4 };
                (nibble as f32 - 8.0) * scales[i / block_size]
            })
            .collect(),
    })
}

/// A q8 matrix as one of Burn's quantized tensors, to be kept packed on a GPU (0.28× of its f32
/// bytes; its kernels widen it as they read it): the same values as [`decode`], when Burn's
/// blocks along the last axis are ours — a `[rows, columns]` matrix with `columns` a multiple of
/// the block size. `None` for any other shape, or lengths [`decode`] refuses.
pub fn q8_matrix_data(
    data: &[u8],
    scales: &[u8],
    shape: &[usize],
    block_size: usize,
) -> Option<burn::tensor::TensorData> {
    use burn::tensor::quantization::{QuantScheme, QuantStore, QuantValue, ScaleDtype};
    let &[rows, columns] = shape else { return None };
    let scales = checked_scales(WeightDtype::Q8, data, Some(scales), rows * columns, block_size).ok()?;
    // Burn packs four values to a u32 word, block by block: a block must fill whole words.
    let block = u8::try_from(block_size).ok().filter(|_| block_size.is_multiple_of(4) && columns % block_size == 0)?;
    let values: Vec<i8> = data.iter().map(|q| *q as i8).collect();
    // Values packed four to a u32: WGSL has no 8-bit storage type. Scales as f32 (the f16 ones
    // widen exactly): Burn's kernel for f16 scales needs `shader-f16`, which many browsers lack.
    let scheme = QuantScheme::default()
        .with_value(QuantValue::Q8S)
        .with_store(QuantStore::PackedU32(0))
        .per_block([block], ScaleDtype::F32);
    Some(burn::tensor::TensorData::quantized(values, [rows, columns], scheme, &scales, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.37).sin() * (1.0 + i as f32 / 50.0)).collect()
    }

    #[test]
    fn round_trips_within_half_a_step() {
        let values = ramp(1001); // odd, and a partial last block
        for (dtype, levels) in [(WeightDtype::Q8, 127.0), (WeightDtype::Q4, 7.0)] {
            let stored = encode(&values, dtype, 32);
            let back = decode(dtype, &stored.data, stored.scales.as_deref(), values.len(), 32).unwrap();
            for (block, (ours, theirs)) in values.chunks(32).zip(back.chunks(32)).enumerate() {
                let max = ours.iter().fold(0f32, |m, v| m.max(v.abs()));
                let step = max / levels;
                for (a, b) in ours.iter().zip(theirs) {
                    assert!((a - b).abs() <= 0.5 * step * 1.01 + 1e-6, "{dtype:?} block {block}: {a} vs {b}");
                }
            }
        }
        let stored = encode(&values, WeightDtype::F16, 32);
        let back = decode(WeightDtype::F16, &stored.data, None, values.len(), 32).unwrap();
        assert!(values.iter().zip(&back).all(|(a, b)| (a - b).abs() <= a.abs() * 1e-3 + 1e-7));
    }

    #[test]
    fn zero_blocks_and_wrong_lengths() {
        let zeros = vec![0f32; 64];
        let stored = encode(&zeros, WeightDtype::Q4, 32);
        assert_eq!(decode(WeightDtype::Q4, &stored.data, stored.scales.as_deref(), 64, 32).unwrap(), zeros);
        assert!(decode(WeightDtype::Q8, &[0; 10], Some(&[0; 2]), 11, 32).is_err(), "truncated data");
        assert!(decode(WeightDtype::Q8, &[0; 64], Some(&[0; 2]), 64, 32).is_err(), "one scale for two blocks");
        assert!(decode(WeightDtype::Q8, &[0; 64], None, 64, 32).is_err(), "no scales");
    }

    #[test]
    fn q8_matrices_for_the_device_hold_the_values_decode_gives() {
        let values = ramp(64 * 96);
        let stored = encode(&values, WeightDtype::Q8, 32);
        let scales = stored.scales.as_deref().unwrap();
        let data = q8_matrix_data(&stored.data, scales, &[64, 96], 32).expect("96 columns are 3 blocks of 32");
        let device = burn::tensor::Device::flex();
        let on_device: Vec<f32> =
            burn::tensor::Tensor::<2>::from_data(data, &device).dequantize().into_data().try_to_vec().unwrap();
        assert_eq!(on_device, decode(WeightDtype::Q8, &stored.data, Some(scales), values.len(), 32).unwrap());
        // Blocks that would straddle rows, other ranks and wrong lengths are left to `decode`.
        assert!(q8_matrix_data(&stored.data, scales, &[96, 64], 48).is_none(), "64 columns, blocks of 48");
        assert!(q8_matrix_data(&stored.data, scales, &[64, 96, 1], 32).is_none());
        let sixes = encode(&values, WeightDtype::Q8, 6);
        assert!(
            q8_matrix_data(&sixes.data, sixes.scales.as_deref().unwrap(), &[64, 96], 6).is_none(),
            "blocks of 6 do not fill u32 words"
        );
        assert!(q8_matrix_data(&stored.data[1..], scales, &[64, 96], 32).is_none());
        assert!(q8_matrix_data(&stored.data, &scales[2..], &[64, 96], 32).is_none());
    }

    #[test]
    fn small_and_one_dimensional_tensors_stay_f32() {
        assert_eq!(WeightDtype::Q4.for_tensor("layers.0.attention.query.weight", &[640, 640]), WeightDtype::Q4);
        assert_eq!(WeightDtype::Q4.for_tensor("layers.0.attention.query.bias", &[640]), WeightDtype::F32);
        assert_eq!(
            WeightDtype::Q8.for_tensor("transformer.0.attention.rel_pos_bias", &[1, 8, 1, 64]),
            WeightDtype::F32
        );
        assert_eq!(WeightDtype::F16.for_tensor("rotary.inv_freq", &[16]), WeightDtype::F32);
        assert_eq!(WeightDtype::parse("Q8"), Some(WeightDtype::Q8));
    }
}

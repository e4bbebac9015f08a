//! What one device buffer may hold. Every tensor of an encoder whose size grows with its input is
//! checked against the device's storage-binding limit before any device work, so an input too
//! long for the device is a typed `SEQUENCE_TOO_LONG`, never a WebGPU validation error (a lost
//! device in the browser) or a failed allocation (an abort natively). Attention scores need no
//! check: `nn::attend` splits them by heads and query rows to fit.

use crate::error::{Error, Modality, Result};
use crate::runtime::backend::ComputeDevice;

/// One tensor's host budget on the CPU backend, which has no device limits.
pub const CPU_BUFFER_BUDGET: u64 = 1 << 30;

const F32_BYTES: u64 = 4;

/// The largest buffer one tensor may take on `device`: the storage-binding limit (and the buffer
/// limit) on a GPU, [`CPU_BUFFER_BUDGET`] on the CPU.
pub fn buffer_budget(device: &ComputeDevice) -> u64 {
    device.limits.map_or(CPU_BUFFER_BUDGET, |(binding, buffer)| binding.min(buffer))
}

/// The activations of `batch` sequences of `length` tokens, `[batch, length, widest]` f32 at
/// their widest, against `budget` bytes.
#[derive(Debug, Clone, Copy)]
pub struct ActivationLimit {
    pub modality: Modality,
    /// The widest per-token activation: hidden size, feed-forward width or vocabulary.
    pub widest: usize,
    pub budget: u64,
}

impl ActivationLimit {
    /// The most tokens per sequence that fit at `batch` sequences.
    pub fn max_length(&self, batch: usize) -> usize {
        (self.budget / (F32_BYTES * (batch.max(1) * self.widest.max(1)) as u64)) as usize
    }

    /// The most sequences of `length` tokens that fit in one pass (0: not even one).
    pub fn max_batch(&self, length: usize) -> usize {
        (self.budget / (F32_BYTES * (length.max(1) * self.widest.max(1)) as u64)) as usize
    }

    /// `Ok` when `batch` sequences of `length` tokens fit; else the typed error naming the limit.
    pub fn check(&self, batch: usize, length: usize) -> Result<()> {
        let max = self.max_length(batch);
        if length <= max {
            return Ok(());
        }
        Err(Error::TooLongForDevice {
            modality: self.modality,
            length,
            batch,
            max,
            limit_mib: self.budget >> 20,
            what: if batch > 1 {
                "fewer sequences per batch fit longer ones"
            } else {
                "a shorter sequence or a crop fits"
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_exact() {
        // 1 MiB of f32 at width 64: 4,096 tokens for one sequence, 2,048 each for two.
        let limit = ActivationLimit { modality: Modality::Rna, widest: 64, budget: 1 << 20 };
        assert_eq!(limit.max_length(1), 4096);
        assert!(limit.check(1, 4096).is_ok());
        let error = limit.check(1, 4097).unwrap_err();
        assert_eq!(error.code(), "SEQUENCE_TOO_LONG");
        assert!(error.to_string().contains("at most 4096 tokens"), "{error}");
        assert!(limit.check(2, 2049).is_err() && limit.check(2, 2048).is_ok());
        assert_eq!(limit.max_batch(2048), 2);
        assert_eq!(limit.max_batch(5000), 0);
    }
}

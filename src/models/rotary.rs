//! Rotary position embeddings with `rotate_half` (halves, not interleaved), as in ESM-2 and NT-v2:
//! the angle tables, and their application to queries and keys — Burn's ops everywhere but on the
//! CPU backend in f32, where each head's rows are rotated in one vectorised pass.
//!
//! Why: as Burn's ops the rotation is two slices, a negation, a concatenation, two broadcast
//! products and a sum, each a pass over q or k (≈ 5 % of NT-v2 250M's CPU time at 2,048 tokens,
//! BENCHMARKS.md). The kernel computes the same products and sums, so its values are the same bits.
//!
//! Upstream: transformers `models/esm/modeling_esm.py` (`RotaryEmbedding`).

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::Result;
use crate::models::vector_math::{Kernel, each_chunk_mut, host_f32s, on_cpu_f32, vectorised};
use crate::weights::params::ParamSource;

/// Rotary position embeddings: the checkpoint's inverse frequencies.
#[derive(Debug, Clone)]
pub struct Rotary {
    inv_freq: Vec<f32>,
}

pub(crate) const ROTARY_INV_FREQ: &str = "rotary.inv_freq";

impl Rotary {
    /// `inv_freq` as the checkpoint stores it (transformers saves it as a persistent buffer), so
    /// the angles are bit-identical to the reference.
    pub fn load(src: &mut dyn ParamSource, head_dim: usize) -> Result<Self> {
        Ok(Rotary { inv_freq: src.take_host(ROTARY_INV_FREQ, &[head_dim / 2])? })
    }

    /// `1 / 10000^(2i/d)` computed in f32 step by step, as torch does when it builds the buffer.
    pub fn default_inv_freq(head_dim: usize) -> Vec<f32> {
        (0..head_dim / 2).map(|i| 1.0f32 / 10000f32.powf((2 * i) as f32 / head_dim as f32)).collect()
    }

    /// cos and sin tables for positions `0..length`, each `[1, 1, length, head_dim]`.
    pub fn tables(&self, length: usize, device: &Device) -> RotaryTables {
        let half = self.inv_freq.len();
        let head_dim = 2 * half;
        let mut cos = Vec::with_capacity(length * head_dim);
        let mut sin = Vec::with_capacity(length * head_dim);
        for position in 0..length {
            // torch.outer(t, inv_freq) in f32, then cos/sin of that f32 angle.
            let angles: Vec<f64> = self.inv_freq.iter().map(|f| (position as f32 * f) as f64).collect();
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos() as f32));
                sin.extend(angles.iter().map(|a| a.sin() as f32));
            }
        }
        let table =
            |values: &[f32]| Tensor::<4>::from_data(TensorData::new(values.to_vec(), [1, 1, length, head_dim]), device);
        let (cos_table, sin_table) = (table(&cos), table(&sin));
        // The CPU kernel reads the tables on the host (`[length, head_dim]` each).
        let host = on_cpu_f32(&cos_table).then_some(HostTables { cos, sin });
        RotaryTables { cos: cos_table, sin: sin_table, host }
    }
}

pub struct RotaryTables {
    cos: Tensor<4>,
    sin: Tensor<4>,
    host: Option<HostTables>,
}

struct HostTables {
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RotaryTables {
    /// `x`: `[batch, heads, length, head_dim]` (the tables' length) → same shape: `x · cos +
    /// rotate_half(x) · sin`.
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        if let Some(host) = self.host.as_ref().filter(|_| on_cpu_f32(&x)) {
            return rotate_on_host(x, host);
        }
        let [_, _, _, head_dim] = x.dims();
        let half = head_dim / 2;
        let first = x.clone().narrow(3, 0, half);
        let second = x.clone().narrow(3, half, half);
        let rotated = Tensor::cat(vec![second.neg(), first], 3);
        x * self.cos.clone() + rotated * self.sin.clone()
    }
}

/// [`RotaryTables::apply`] on the CPU: each `[length, head_dim]` head rotated in place (on
/// rayon's pool natively).
fn rotate_on_host(x: Tensor<4>, tables: &HostTables) -> Tensor<4> {
    let (dims, device) = (x.dims(), x.device());
    let [_, _, length, head_dim] = dims;
    let mut values = host_f32s(x);
    let table = length * head_dim;
    let (cos, sin) = (&tables.cos[..table], &tables.sin[..table]);
    if table > 0 {
        each_chunk_mut(&mut values, table, |head| vectorised(RotateHalves { head, cos, sin, half: head_dim / 2 }));
    }
    Tensor::from_data(TensorData::new(values, dims), &device)
}

/// One head's rows `[a | b]` → `[a·cos₁ − b·sin₁ | b·cos₂ + a·sin₂]`, the tables' rows alongside.
struct RotateHalves<'a> {
    head: &'a mut [f32],
    cos: &'a [f32],
    sin: &'a [f32],
    half: usize,
}

impl Kernel for RotateHalves<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = 2 * self.half;
        for ((row, cos), sin) in
            self.head.chunks_exact_mut(width).zip(self.cos.chunks_exact(width)).zip(self.sin.chunks_exact(width))
        {
            let (a, b) = row.split_at_mut(self.half);
            let (cos_a, cos_b) = cos.split_at(self.half);
            let (sin_a, sin_b) = sin.split_at(self.half);
            // A plain loop (see `Kernel`); the products and sums are Burn's own, in its order.
            for i in 0..self.half {
                let (x_a, x_b) = (a[i], b[i]);
                a[i] = x_a * cos_a[i] + -x_b * sin_a[i];
                b[i] = x_b * cos_b[i] + x_a * sin_b[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel gives Burn's ops' values bit for bit, on a swapped (non-contiguous) view as the
    /// attention passes it.
    #[test]
    fn kernel_matches_burns_ops_exactly() {
        let device = Device::flex();
        let rotary = Rotary { inv_freq: Rotary::default_inv_freq(64) };
        let (batch, length, heads, head_dim) = (2, 257, 3, 64);
        let tables = rotary.tables(length, &device);
        let n = batch * length * heads * head_dim;
        let values: Vec<f32> = (0..n).map(|i| ((i * 7919) % 2001) as f32 / 500.0 - 2.0).collect();
        let x =
            Tensor::<4>::from_data(TensorData::new(values, [batch, length, heads, head_dim]), &device).swap_dims(1, 2);
        let ours = host_f32s(tables.apply(x.clone()));
        let without_kernel = RotaryTables { cos: tables.cos.clone(), sin: tables.sin.clone(), host: None };
        let burns = host_f32s(without_kernel.apply(x.clone()));
        assert_eq!(ours, burns);
        assert_ne!(ours, host_f32s(x), "a rotation that changed nothing tests nothing");
    }
}

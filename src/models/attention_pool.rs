//! Enformer's attention pooling: each neighbouring pair of positions → their softmax-weighted
//! mean per channel, the logits a 1×1 convolution of the input. Burn's ops everywhere but on the
//! CPU backend in f32, where the pairs are pooled in one vectorised pass.
//!
//! Why: as Burn's ops the pooling is a softmax over a last dimension of 2 (max, exponentials, sum,
//! division: one pass each), a product and a sum — on the published trunk ≈ 1.5 s of its 18 on two
//! cores (BENCHMARKS.md). One exponential per pair gives both weights.

use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};

use crate::error::Result;
use crate::models::convolution::conv1d_same;
use crate::models::nn::{TensorSpec, spec};
use crate::models::vector_math::{Kernel, exp_non_positive, host_f32s, on_cpu_f32, vectorised};
use crate::weights::params::ParamSource;

/// Pairs one task pools: large enough that rayon's hand-off is nothing next to the work.
const CHUNK: usize = 32 * 1024;

/// Softmax-weighted pooling of neighbouring pairs; the logits are a 1×1 convolution without bias
/// (weight `[C, C, 1]`).
pub struct AttentionPool {
    weight: Tensor<3>,
}

impl AttentionPool {
    pub fn specs(name: &str, c: usize) -> Vec<TensorSpec> {
        vec![spec(format!("{name}.weight"), &[c, c, 1])]
    }

    pub fn load(src: &mut dyn ParamSource, name: &str, c: usize) -> Result<Self> {
        Ok(AttentionPool { weight: src.take(&format!("{name}.weight"), &[c, c, 1])?.reshape([c, c, 1]) })
    }

    /// `[b, C, L]` (L even) → `[b, C, L/2]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let logits = conv1d_same(x.clone(), self.weight.clone(), None);
        pool_pairs(x, logits)
    }
}

/// `x`, `logits`: `[b, C, L]` (L even) → `[b, C, L/2]`: positions 2i and 2i + 1 weighted by the
/// softmax of their logits.
fn pool_pairs(x: Tensor<3>, logits: Tensor<3>) -> Tensor<3> {
    let [batch, c, length] = x.dims();
    if !on_cpu_f32(&x) || !on_cpu_f32(&logits) {
        let pairs = |t: Tensor<3>| t.reshape([batch, c, length / 2, 2]);
        let weights = softmax(pairs(logits), 3);
        return (pairs(x) * weights).sum_dim(3).reshape([batch, c, length / 2]);
    }
    let device = x.device();
    let (x, logits) = (host_f32s(x), host_f32s(logits));
    // L is even, so pairs never straddle two rows: the whole buffer is a run of pairs.
    let mut out = vec![0.0f32; x.len() / 2];
    let pool = |((out, x), logits): ((&mut [f32], &[f32]), &[f32])| vectorised(PairPool { out, x, logits });
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(CHUNK).zip(x.par_chunks(2 * CHUNK)).zip(logits.par_chunks(2 * CHUNK)).for_each(pool);
    }
    #[cfg(target_arch = "wasm32")]
    out.chunks_mut(CHUNK).zip(x.chunks(2 * CHUNK)).zip(logits.chunks(2 * CHUNK)).for_each(pool);
    Tensor::from_data(TensorData::new(out, [batch, c, length / 2]), &device)
}

/// Pairs of `x` and their `logits` (each `2·out.len()` long) → `out`.
struct PairPool<'a> {
    out: &'a mut [f32],
    x: &'a [f32],
    logits: &'a [f32],
}

impl Kernel for PairPool<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let n = self.out.len();
        let (x, logits) = (&self.x[..2 * n], &self.logits[..2 * n]);
        // A plain loop (see `Kernel`). With d = l₁ − l₀ the larger logit's weight is 1/(1 + e^−|d|),
        // the other's e^−|d|/(1 + e^−|d|): softmax's own values, the maximum subtracted.
        for i in 0..n {
            let d = logits[2 * i + 1] - logits[2 * i];
            let e = exp_non_positive(-d.abs());
            let larger = 1.0 / (1.0 + e);
            let smaller = e * larger;
            let (w0, w1) = if d >= 0.0 { (smaller, larger) } else { (larger, smaller) };
            self.out[i] = x[2 * i] * w0 + x[2 * i + 1] * w1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::vector_math::testing::max_difference;
    use burn::tensor::Device;

    /// The kernel against Burn's ops (its other path) on the same input, pairs across several
    /// chunks and rows, logits far apart and equal.
    #[test]
    fn matches_the_softmax_of_each_pair() {
        let device = Device::flex();
        let (batch, c, length) = (2, 3, 2 * (CHUNK / 3) + 10);
        let n = batch * c * length;
        let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0).collect();
        let logits: Vec<f32> = (0..n)
            .map(|i| match i % 5 {
                0 => 40.0,
                1 => -40.0,
                _ => ((i * 104_729) % 997) as f32 / 100.0 - 5.0,
            })
            .collect();
        let tensor =
            |values: &[f32]| Tensor::<3>::from_data(TensorData::new(values.to_vec(), [batch, c, length]), &device);
        let ours = host_f32s(pool_pairs(tensor(&x), tensor(&logits)));
        let pairs = |t: Tensor<3>| t.reshape([batch, c, length / 2, 2]);
        let burns = (pairs(tensor(&x)) * softmax(pairs(tensor(&logits)), 3)).sum_dim(3);
        assert_eq!(ours.len(), n / 2);
        let worst = max_difference(&ours, &host_f32s(burns), 1.0);
        assert!(worst <= 4.0 * f32::EPSILON, "max |Δ| {worst}");
        // An equal pair pools to its mean; a far larger logit picks its own position.
        let small = |values: [f32; 4]| Tensor::<3>::from_data(TensorData::new(values.to_vec(), [1, 1, 4]), &device);
        let pooled = host_f32s(pool_pairs(small([1.0, 3.0, 5.0, 7.0]), small([0.5, 0.5, 50.0, -50.0])));
        assert_eq!(pooled, [2.0, 5.0]);
    }
}

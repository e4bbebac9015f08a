//! The models' activations — GELU (erf), SwiGLU, Enformer's `x · σ(1.702 x)` — through Burn's ops
//! everywhere but on the CPU backend in f32, where they run vectorised ([`vector_math`]) in one
//! pass over the values, on rayon's pool natively.
//!
//! Why: flex computes each with a scalar libm `erff` / `expf` per element, and SwiGLU as three
//! passes (sigmoid, two products); on NT-v2 and ESM-2 that was ≈ 8 % of the CPU time (BENCHMARKS.md).

use burn::tensor::activation;
use burn::tensor::{Tensor, TensorData};

use crate::models::vector_math::{
    Kernel, each_chunk_mut, erf, host_f32s, on_cpu_f32, sigmoid, vectorised, with_host_f32s,
};

/// Elements one task maps: large enough that rayon's hand-off is nothing next to the work.
const CHUNK: usize = 64 * 1024;

/// `x · Φ(x) = x · (1 + erf(x/√2)) / 2`, the exact GELU (ESM-2, the aggregator's head). Any shape.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_cpu_f32(&x) {
        return activation::gelu(x);
    }
    map(x, Unary::Gelu)
}

/// `x · σ(1.702 x)`, enformer-pytorch's GELU approximation. Any shape.
pub fn sigmoid_gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_cpu_f32(&x) {
        return activation::sigmoid(x.clone().mul_scalar(1.702)) * x;
    }
    map(x, Unary::SigmoidGelu)
}

/// SwiGLU, `SiLU(a) · b` with `[a | b]` the halves of the last dimension (NT-v2's feed-forward,
/// InstaDeep's `EsmIntermediate`): `[b, l, 2·i]` → `[b, l, i]`.
pub fn swiglu(h: Tensor<3>) -> Tensor<3> {
    let [batch, length, width] = h.dims();
    let half = width / 2;
    if !on_cpu_f32(&h) {
        let gate = h.clone().narrow(2, 0, half);
        return activation::silu(gate) * h.narrow(2, half, half);
    }
    let device = h.device();
    let mut out = vec![0.0f32; batch * length * half];
    if out.is_empty() {
        return Tensor::from_data(TensorData::new(out, [batch, length, half]), &device);
    }
    let rows = (CHUNK / half.max(1)).max(1);
    let gated = |(out, input): (&mut [f32], &[f32])| {
        vectorised(Gated { out, input, half });
    };
    // Read in place: fc1's output is 2·i values a token, copied for nothing otherwise.
    with_host_f32s(&h, |values| {
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            out.par_chunks_mut(rows * half).zip(values.par_chunks(rows * width)).for_each(gated);
        }
        #[cfg(target_arch = "wasm32")]
        out.chunks_mut(rows * half).zip(values.chunks(rows * width)).for_each(gated);
    });
    Tensor::from_data(TensorData::new(out, [batch, length, half]), &device)
}

#[derive(Clone, Copy)]
enum Unary {
    Gelu,
    SigmoidGelu,
}

/// `x` mapped element by element, in place in its own buffer.
fn map<const D: usize>(x: Tensor<D>, unary: Unary) -> Tensor<D> {
    let (dims, device) = (x.dims(), x.device());
    let mut values = host_f32s(x);
    each_chunk_mut(&mut values, CHUNK, |values| vectorised(Map { values, unary }));
    Tensor::from_data(TensorData::new(values, dims), &device)
}

struct Map<'a> {
    values: &'a mut [f32],
    unary: Unary,
}

impl Kernel for Map<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        // One plain loop per activation (no iterator adaptors, whose methods the compiler may keep
        // out of line, compiled without this function's vector extension).
        match self.unary {
            Unary::Gelu => {
                for x in self.values.iter_mut() {
                    *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
                }
            }
            Unary::SigmoidGelu => {
                for x in self.values.iter_mut() {
                    *x *= sigmoid(1.702 * *x);
                }
            }
        }
    }
}

/// Rows of `[a | b]` (`input`, each `2·half` wide) → rows of `SiLU(a) · b` (`out`, `half` wide).
struct Gated<'a> {
    out: &'a mut [f32],
    input: &'a [f32],
    half: usize,
}

impl Kernel for Gated<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for (out, row) in self.out.chunks_exact_mut(self.half).zip(self.input.chunks_exact(2 * self.half)) {
            let (gate, up) = row.split_at(self.half);
            for ((o, &a), &b) in out.iter_mut().zip(gate).zip(up) {
                *o = a * sigmoid(a) * b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Largest |ours − Burn's| over the values, and Burn's largest |value|.
    fn gap<const D: usize>(ours: Tensor<D>, burns: Tensor<D>) -> (f32, f32) {
        let (ours, burns) = (host_f32s(ours), host_f32s(burns));
        assert_eq!(ours.len(), burns.len());
        let worst = ours.iter().zip(&burns).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        (worst, burns.iter().fold(0.0f32, |m, x| m.max(x.abs())))
    }

    /// Each activation against Burn's own ops on the CPU, on values spanning every range of
    /// erf's and the sigmoid's (normal with σ = 4, several chunks, a ragged end), and on a
    /// non-contiguous input.
    #[test]
    fn match_burns_ops_on_the_cpu() {
        let device = Device::flex();
        let x = Tensor::<3>::random([3, 301, 400], Distribution::Normal(0.0, 4.0), &device);
        let cases = [
            ("gelu", gap(gelu(x.clone()), activation::gelu(x.clone()))),
            (
                "sigmoid_gelu",
                gap(sigmoid_gelu(x.clone()), activation::sigmoid(x.clone().mul_scalar(1.702)) * x.clone()),
            ),
            ("gelu, swapped", gap(gelu(x.clone().swap_dims(0, 2)), activation::gelu(x.clone().swap_dims(0, 2)))),
            (
                "swiglu",
                gap(swiglu(x.clone()), activation::silu(x.clone().narrow(2, 0, 200)) * x.clone().narrow(2, 200, 200)),
            ),
        ];
        for (name, (worst, scale)) in cases {
            assert!(scale > 1.0, "{name}: a case whose output is all near zero tests nothing");
            // A few ulp of the largest value: products of values up to ≈ 16 carry f32 rounding.
            assert!(worst <= 4.0 * f32::EPSILON * scale, "{name}: max |Δ| {worst} (largest value {scale})");
        }
    }
}

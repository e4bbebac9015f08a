//! Conv1d with stride 1 and "same" padding (Enformer's convolutions): Burn's `conv1d` everywhere
//! but on the CPU backend in f32, where it runs as gemm calls on the input in place.
//!
//! Why: flex 0.22.1 lowers a width-k convolution over a long sequence to a channels-last copy of
//! its input, made one scalar element at a time, and an unfolded `[positions, in·k]` copy per tile
//! before each gemm; on the published Enformer trunk the width-5 convolutions ran at ≈ 210 GFLOP/s
//! against the gemm's ≈ 270 elsewhere (BENCHMARKS.md). Here tap j's product `W[:, :, j] ·
//! x[:, j..j + L]` reads the zero-padded input where it lies (gemm takes strides) and adds into the
//! output, which starts as the bias. Where the input has few channels (the stem: 4, width 15) one
//! product per tap would be too thin for the gemm's kernel, so those taps are unfolded into one
//! `[in·k, L]` matrix (small there) and multiplied once.

use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use crate::models::host_gemm::{Matrix, Threads, multiply};
use crate::models::vector_math::{on_cpu_f32, with_host_layer};

/// Below this many input channels the taps are unfolded into one product (see the module notes).
const THIN_INPUT: usize = 64;

/// `x`: `[b, in, L]`, `weight`: `[out, in, k]` (k odd), `bias`: `[out]` → `[b, out, L]`; stride 1,
/// `k / 2` zeros on each side.
pub fn conv1d_same(x: Tensor<3>, weight: Tensor<3>, bias: Option<Tensor<1>>) -> Tensor<3> {
    let [batch, c_in, length] = x.dims();
    let [c_out, _, k] = weight.dims();
    if !on_cpu_f32(&x) || !on_cpu_f32(&weight) || bias.as_ref().is_some_and(|b| !on_cpu_f32(b)) {
        return conv1d(x, weight, bias, ConvOptions::new([1], [k / 2], [1], 1));
    }
    let device = x.device();
    let shape = Shape { c_in, c_out, k, length };
    let out = if batch * c_out * length == 0 {
        Vec::new()
    } else {
        // Read in place: the weights are the model's own, and the input is often still held by a
        // residual connection or, for the pooling logits, by the pooling itself.
        with_host_layer(&x, &weight, bias.as_ref(), |x, weight, bias| conv_f32(x, weight, bias, batch, &shape))
    };
    Tensor::from_data(TensorData::new(out, [batch, c_out, length]), &device)
}

#[derive(Clone, Copy)]
struct Shape {
    c_in: usize,
    c_out: usize,
    k: usize,
    length: usize,
}

/// The convolution on row-major slices (shapes as in [`conv1d_same`]); every dimension non-zero
/// but `c_in`.
fn conv_f32(x: &[f32], weight: &[f32], bias: Option<&[f32]>, batch: usize, s: &Shape) -> Vec<f32> {
    let mut out = match bias {
        // The output starts as the bias, each product adds into it.
        Some(bias) => {
            let mut out = Vec::with_capacity(batch * s.c_out * s.length);
            for _ in 0..batch {
                for &value in bias {
                    out.extend(std::iter::repeat_n(value, s.length));
                }
            }
            out
        }
        None => vec![0.0; batch * s.c_out * s.length],
    };
    let padded = s.length + s.k - 1;
    for (x, out) in x.chunks_exact(s.c_in * s.length).zip(out.chunks_exact_mut(s.c_out * s.length)) {
        let x = pad(x, s);
        if s.c_in < THIN_INPUT && s.k > 1 {
            // Row i·k + j of the unfolded input is input channel i shifted by tap j, matching the
            // weight's own `[out, in·k]` layout.
            let mut unfolded = Vec::with_capacity(s.c_in * s.k * s.length);
            for row in x.chunks_exact(padded) {
                for j in 0..s.k {
                    unfolded.extend_from_slice(&row[j..j + s.length]);
                }
            }
            let lhs = Matrix::row_major(weight, s.c_in * s.k);
            let rhs = Matrix::row_major(&unfolded, s.length);
            multiply(out, s.c_out, s.length, s.c_in * s.k, lhs, rhs, 1.0, bias.is_some(), Threads::Pool);
        } else {
            for j in 0..s.k {
                // Tap j: W[:, :, j] (`[out, in]`, column stride k) times the input from column j.
                let lhs = Matrix { values: &weight[j..], row_stride: s.c_in * s.k, column_stride: s.k };
                let rhs = Matrix { values: &x[j..], row_stride: padded, column_stride: 1 };
                multiply(out, s.c_out, s.length, s.c_in, lhs, rhs, 1.0, bias.is_some() || j > 0, Threads::Pool);
            }
        }
    }
    out
}

/// `[in, L]` → `[in, L + k − 1]` with `k / 2` zeros on each side (borrowed as it is when k = 1).
fn pad<'a>(x: &'a [f32], s: &Shape) -> std::borrow::Cow<'a, [f32]> {
    if s.k == 1 {
        return x.into();
    }
    let edge = vec![0.0f32; s.k / 2];
    let mut padded = Vec::with_capacity(s.c_in * (s.length + s.k - 1));
    for row in x.chunks_exact(s.length) {
        padded.extend_from_slice(&edge);
        padded.extend_from_slice(row);
        padded.extend_from_slice(&edge);
    }
    padded.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::vector_math::host_f32s;
    use crate::models::vector_math::testing::{max_difference, seeded};
    use burn::tensor::Device;

    /// Against Burn's own CPU `conv1d`: per-tap products (wide input), unfolded taps (the stem's
    /// 4 channels, width 15), width 1, with and without a bias, two sequences in a batch; the input
    /// still held by the caller (read in place) or a transposed view (read from a copy).
    #[test]
    fn matches_burns_conv1d() {
        let device = Device::flex();
        for (batch, c_in, c_out, k, length, with_bias, transposed) in [
            (2, 96, 80, 5, 300, true, false),
            (1, 4, 48, 15, 1000, true, false),
            (1, 70, 40, 1, 257, false, false),
            (2, 72, 33, 5, 7, false, true),
            (1, 3, 5, 3, 2, true, false),
        ] {
            let tensor = |dims: [usize; 3], seed| {
                Tensor::<3>::from_data(TensorData::new(seeded(dims.iter().product(), seed, 1.0), dims), &device)
            };
            let x = if transposed {
                tensor([batch, length, c_in], 1).swap_dims(1, 2)
            } else {
                tensor([batch, c_in, length], 1)
            };
            let weight = tensor([c_out, c_in, k], 2);
            let bias =
                with_bias.then(|| Tensor::<1>::from_data(TensorData::new(seeded(c_out, 3, 1.0), [c_out]), &device));
            let ours = conv1d_same(x.clone(), weight.clone(), bias.clone());
            assert_eq!(ours.dims(), [batch, c_out, length]);
            let burns = conv1d(x, weight, bias, ConvOptions::new([1], [k / 2], [1], 1));
            let worst = max_difference(&host_f32s(ours), &host_f32s(burns), 0.5);
            // Each output sums in·k products of values below 1: a few f32 roundings of that size.
            let bound = 8.0 * f32::EPSILON * (c_in * k) as f32;
            assert!(worst <= bound, "max |Δ| {worst} (bound {bound}) at {batch}×{c_in}→{c_out}, k {k}, L {length}");
        }
    }

    #[test]
    fn empty_sequence_gives_an_empty_output() {
        let device = Device::flex();
        let x = Tensor::<3>::zeros([1, 8, 0], &device);
        let weight = Tensor::<3>::ones([4, 8, 5], &device);
        assert_eq!(conv1d_same(x, weight, None).dims(), [1, 4, 0]);
    }
}

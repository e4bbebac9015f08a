//! The models' Linear layers, `y = x · W + b` with `W` stored `[d_in, d_out]` (Burn's layout; the
//! converter transposes PyTorch's `[out, in]`): Burn's `module::linear` on GPUs (but on a
//! CPU-emulated one in the browser, where the product runs cubek's `CpuGemm`: `gpu_matmul`), and
//! on the CPU backend in f32 one gemm that adds `x · W` into an output that starts as the bias.
//!
//! Why: flex 0.22.1 allocates a matmul's output as zeroed bytes and then copies them into an
//! aligned buffer before the gemm writes it, and adds the bias in a pass of its own: three passes
//! over the output besides the product. On NT-v2 250M at 2,048 tokens (fc1's output alone is
//! 48 MiB a layer) that was ≈ 7 % of the encoder's CPU time (BENCHMARKS.md). Here the input and the
//! weight are read where they lie, and the output buffer becomes the tensor without a copy.

use burn::tensor::module::linear;
use burn::tensor::{Tensor, TensorData};

use crate::models::gpu_matmul;
use crate::models::host_gemm::{self, Matrix, Threads, multiply};
use crate::models::vector_math::{on_cpu_f32, with_host_layer};

/// A Linear layer: `weight` `[d_in, d_out]`, `bias` `[d_out]`.
pub struct Linear {
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
}

impl Linear {
    pub fn new(weight: Tensor<2>, bias: Option<Tensor<1>>) -> Self {
        Linear { weight, bias }
    }

    /// `x`: `[..., d_in]` → `[..., d_out]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let on_cpu = on_cpu_f32(&x) && on_cpu_f32(&self.weight) && self.bias.as_ref().is_none_or(on_cpu_f32);
        let [d_in, d_out] = self.weight.dims();
        let mut dims = x.dims();
        let rows = dims[..D - 1].iter().product::<usize>();
        dims[D - 1] = d_out;
        if !on_cpu {
            if !gpu_matmul::applies(&x.device(), &[x.dtype(), self.weight.dtype()]) {
                return linear(x, self.weight.clone(), self.bias.clone());
            }
            let product = gpu_matmul::matmul(x.reshape([rows, d_in]), self.weight.clone()); // [rows, d_out]
            let product = match &self.bias {
                Some(bias) => product + bias.clone().unsqueeze_dim(0),
                None => product,
            };
            return product.reshape(dims);
        }
        let device = x.device();
        let out = with_host_layer(&x, &self.weight, self.bias.as_ref(), |x, weight, bias| {
            affine(x, weight, bias, rows, d_in, d_out)
        });
        Tensor::from_data(TensorData::new(out, dims), &device)
    }
}

/// `x` `[rows, d_in]` · `weight` `[d_in, d_out]` (+ `bias` on every row), row-major.
fn affine(x: &[f32], weight: &[f32], bias: Option<&[f32]>, rows: usize, d_in: usize, d_out: usize) -> Vec<f32> {
    let (x, weight) = (Matrix::row_major(x, d_in), Matrix::row_major(weight, d_out));
    let Some(bias) = bias else {
        return host_gemm::product(rows, d_out, d_in, x, weight, 1.0, Threads::Pool);
    };
    let mut out = Vec::with_capacity(rows * d_out);
    for _ in 0..rows {
        out.extend_from_slice(bias);
    }
    multiply(&mut out, rows, d_out, d_in, x, weight, 1.0, true, Threads::Pool);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::vector_math::host_f32s;
    use crate::models::vector_math::testing::{max_difference, seeded};
    use burn::tensor::Device;

    /// Against Burn's own CPU `linear`: with and without a bias, 2-D and 3-D inputs, an input
    /// read in place and a transposed view (read from a copy), and an empty batch.
    #[test]
    fn matches_burns_linear() {
        let device = Device::flex();
        let tensor =
            |values: Vec<f32>, dims: [usize; 2]| Tensor::<2>::from_data(TensorData::new(values, dims), &device);
        for (rows, d_in, d_out, with_bias) in [(37, 96, 80, true), (5, 3, 300, false), (300, 70, 9, true)] {
            let weight = tensor(seeded(d_in * d_out, 2, 1.0), [d_in, d_out]);
            let bias =
                with_bias.then(|| Tensor::<1>::from_data(TensorData::new(seeded(d_out, 3, 1.0), [d_out]), &device));
            let layer = Linear::new(weight.clone(), bias.clone());
            let x = tensor(seeded(rows * d_in, 1, 1.0), [rows, d_in]);
            let transposed = tensor(seeded(rows * d_in, 4, 1.0), [d_in, rows]).swap_dims(0, 1);
            let batched = tensor(seeded(rows * d_in, 5, 1.0), [rows, d_in]).reshape([1, rows, d_in]);
            // Each output sums d_in products of values below 1: a few f32 roundings of that size.
            let bound = 8.0 * f32::EPSILON * d_in as f32;
            for x in [x, transposed] {
                let ours = layer.forward(x.clone());
                assert_eq!(ours.dims(), [rows, d_out]);
                let burns = linear(x, weight.clone(), bias.clone());
                let worst = max_difference(&host_f32s(ours), &host_f32s(burns), 0.5);
                assert!(worst <= bound, "rows {rows}, d_in {d_in}, d_out {d_out}: |Δ| {worst} > {bound}");
            }
            let ours = layer.forward(batched.clone());
            assert_eq!(ours.dims(), [1, rows, d_out]);
            let burns = linear(batched, weight.clone(), bias.clone());
            let worst = max_difference(&host_f32s(ours), &host_f32s(burns), 0.5);
            assert!(worst <= bound, "batched: |Δ| {worst} > {bound}");
        }
        let layer = Linear::new(tensor(seeded(12, 6, 1.0), [4, 3]), None);
        let empty = Tensor::<3>::from_data(TensorData::new(Vec::<f32>::new(), [0, 2, 4]), &device);
        assert_eq!(layer.forward(empty).dims(), [0, 2, 3]);
    }
}

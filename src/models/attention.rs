//! Scaled dot-product attention, `softmax(scale · q·kᵀ + bias, masked) · v`: Burn's fused
//! `module::attention` everywhere but on the CPU backend, where an f32 kernel of our own runs.
//!
//! Why our own on the CPU: Burn 0.22.1's flex kernel takes 64 keys at a time and runs the softmax
//! one score at a time, each exponential a scalar libm call — on ESM-2 150M at 1,026 tokens that
//! loop and `expf` were 45 % of the encoder's time (BENCHMARKS.md, "Where the remaining CPU time
//! goes"). Here a block of query rows gets its scores against every key from one gemm (the matmul
//! library flex itself uses), each row's max, exponentials and sum run vectorised (AVX-512 or
//! AVX2+FMA chosen at run time, simd128 in the browser), and one more gemm multiplies by `v`.
//! Blocks run on rayon's pool natively (the CLI's `--threads`); one thread in the browser.
//!
//! Enformer's Transformer-XL attention ([`relative_attention`]) runs in the same blocks: each block
//! multiplies its query rows by only the distances its keys need, and reads each row's logits at
//! that row's offset, where Burn's ops build all `[h, n, 2n − 1]` logits and shift them in two
//! copies (≈ 40 % of Enformer's attention time on the CPU, BENCHMARKS.md).

use burn::tensor::module::attention as burn_attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Tensor, TensorData};

use crate::models::gpu_matmul;
use crate::models::host_gemm::{Matrix, Threads, multiply};
use crate::models::nn::MAX_SCORE_ELEMENTS;
use crate::models::vector_math::{Kernel, LANES, exp_non_positive, host_f32s, on_cpu_f32, vectorised};

/// Scores one block holds (f32s): 1 MiB, within a core's L2 cache (2 MiB on the benchmark machine;
/// 512 KiB blocks were ≈ 10 % slower on NT-v2 250M at 2,048 tokens, BENCHMARKS.md).
const BLOCK_SCORES: usize = 256 * 1024;

/// `q`: `[b, h, lq, d]`, `k`: `[b, h, lk, d]`, `v`: `[b, h, lk, dv]`, `mask`: `[b | 1, h | 1, lq,
/// lk]` (true = masked out), `bias`: `[b | 1, h | 1, lq, lk]` → `[b, h, lq, dv]`. A query row whose
/// keys are all masked gives zeros (as Burn's CPU kernel does). The default scale is `1/sqrt(d)`.
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<4, Bool>>,
    bias: Option<Tensor<4>>,
    options: AttentionModuleOptions,
) -> Tensor<4> {
    let plain = options.softcap.is_none() && !options.is_causal;
    if plain && bias.is_none() && gpu_matmul::applies(&q.device(), &[q.dtype(), k.dtype(), v.dtype()]) {
        return unfused_attention(q, k, v, mask, options);
    }
    if !plain || ![&q, &k, &v].iter().all(|t| on_cpu_f32(t)) {
        return burn_attention(q, k, v, mask, bias, options);
    }
    let [batch, heads, q_len, head_dim] = q.dims();
    let [_, _, k_len, v_dim] = v.dims();
    let scale = options.scale.unwrap_or(1.0 / (head_dim as f64).sqrt()) as f32;
    let device = q.device();
    let shape = Shape { batch, heads, q_len, k_len, head_dim, v_dim };
    let mask = mask.map(|m| Broadcast::new(&m.dims(), &shape, bools(m)));
    let bias = bias.map(|b| Bias::Dense(Broadcast::new(&b.dims(), &shape, host_f32s(b))));
    // One copy each of q, k and v (`O(l·d)` against the attention's `O(l²·d)`).
    let out = attention_f32(&host_f32s(q), &host_f32s(k), &host_f32s(v), mask.as_ref(), bias.as_ref(), scale, &shape);
    Tensor::from_data(TensorData::new(out, [batch, heads, q_len, v_dim]), &device)
}

/// Burn's unfused attention (`attention_fallback`: the same NaN-safe softmax, so a fully masked
/// row gives zeros) with its two products through [`gpu_matmul`]: on SwiftShader in the browser,
/// faster than Burn's fused kernel, whose tiles go through workgroup memory behind barriers (ESM-2
/// 8M at 130 tokens: 8.0 → 6.9 s a pass with the products in cubek's `naive`, BENCHMARKS.md).
/// Shapes as [`attention`]'s.
fn unfused_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<4, Bool>>,
    options: AttentionModuleOptions,
) -> Tensor<4> {
    let head_dim = q.dims()[3];
    let scale = options.scale.unwrap_or(1.0 / (head_dim as f64).sqrt());
    let scores = gpu_matmul::matmul(q, k.swap_dims(2, 3)) * scale; // [b, h, lq, lk]
    let scores = match mask {
        Some(mask) => scores.mask_fill(mask, f32::NEG_INFINITY),
        None => scores,
    };
    let max = scores.clone().max_dim(3).clamp_min(f32::MIN);
    let numerators = (scores - max).exp();
    let sums = numerators.clone().sum_dim(3).clamp_min(f32::MIN_POSITIVE);
    gpu_matmul::matmul(numerators / sums, v) // [b, h, lq, dv]
}

/// Transformer-XL relative attention (enformer-pytorch `Attention`): `softmax(scale · q_c·kᵀ +
/// shift(q_p·rᵀ)) · v`, where `r` holds one row per relative distance `−(n−1) … n−1` and the
/// shift ([`relative_shift`]) gives query i and key j distance j − i. `q_content` (q_c),
/// `q_position` (q_p), `k`: `[b, h, n, d]`, `v`: `[b, h, n, dv]`, `r`: `[b | 1, h, 2n − 1, d]` →
/// `[b, h, n, dv]`.
pub fn relative_attention(
    q_content: Tensor<4>,
    q_position: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    r: Tensor<4>,
    scale: f64,
) -> Tensor<4> {
    let [batch, heads, n, head_dim] = q_content.dims();
    let [r_batch, r_heads, distances, r_dim] = r.dims();
    let [_, _, k_len, v_dim] = v.dims();
    assert!(
        k_len == n && q_position.dims() == q_content.dims() && (r_batch == 1 || r_batch == batch),
        "relative attention: {n} queries, {k_len} keys, q_position {:?}, r {:?}",
        q_position.dims(),
        r.dims()
    );
    assert!([r_heads, distances, r_dim] == [heads, 2 * n - 1, head_dim], "relative attention: r {:?}", r.dims());
    if ![&q_content, &q_position, &k, &v, &r].iter().all(|t| on_cpu_f32(t)) {
        return relative_attention_by_ops(q_content, q_position, k, v, r, scale);
    }
    let device = q_content.device();
    let shape = Shape { batch, heads, q_len: n, k_len: n, head_dim, v_dim };
    let r_batch_step = if r_batch == 1 { 0 } else { heads * distances * head_dim };
    let bias = Bias::Relative { q: host_f32s(q_position), r: host_f32s(r), r_batch_step };
    let (q, k, v) = (host_f32s(q_content), host_f32s(k), host_f32s(v));
    let out = attention_f32(&q, &k, &v, None, Some(&bias), scale as f32, &shape);
    Tensor::from_data(TensorData::new(out, [batch, heads, n, v_dim]), &device)
}

/// [`relative_attention`] as Burn's ops, heads in groups so that one `[b, group, n, 2n − 1]`
/// logit tensor stays within [`MAX_SCORE_ELEMENTS`].
fn relative_attention_by_ops(
    q_content: Tensor<4>,
    q_position: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    r: Tensor<4>,
    scale: f64,
) -> Tensor<4> {
    let [batch, heads, n, _] = q_content.dims();
    let group = (MAX_SCORE_ELEMENTS / (batch * n * 2 * n).max(1)).clamp(1, heads);
    let options = AttentionModuleOptions { scale: Some(scale), ..Default::default() };
    let parts = (0..heads)
        .step_by(group)
        .map(|start| {
            let g = group.min(heads - start);
            let part = |t: &Tensor<4>| t.clone().narrow(1, start, g);
            let relative = relative_shift(part(&q_position).matmul(part(&r).swap_dims(2, 3)));
            burn_attention(part(&q_content), part(&k), part(&v), None, Some(relative), options)
        })
        .collect();
    Tensor::cat(parts, 1)
}

/// `[b, h, n, 2n − 1]` logits per relative distance → `[b, h, n, n]` logits per key position
/// (enformer-pytorch `relative_shift`: pad a zero column, fold, drop a row, unfold, keep n columns).
fn relative_shift(x: Tensor<4>) -> Tensor<4> {
    let [b, h, n, width] = x.dims();
    let padded = Tensor::cat(vec![Tensor::zeros([b, h, n, 1], &x.device()), x], 3);
    let folded = padded.reshape([b, h, width + 1, n]).narrow(2, 1, width);
    folded.reshape([b, h, n, width]).narrow(3, 0, n)
}

/// A mask's values, row-major: a plain copy where Burn stores them as `bool`, else converted one by one.
fn bools(t: Tensor<4, Bool>) -> Vec<bool> {
    let data = t.into_data();
    data.as_slice::<bool>().map(<[bool]>::to_vec).unwrap_or_else(|_| data.iter::<bool>().collect())
}

#[derive(Clone, Copy, Debug)]
struct Shape {
    batch: usize,
    heads: usize,
    q_len: usize,
    k_len: usize,
    head_dim: usize,
    v_dim: usize,
}

/// A mask or bias `[b | 1, h | 1, lq, lk]`: where head `(b, h)`'s `[lq, lk]` tile starts.
struct Broadcast<T> {
    values: Vec<T>,
    batch_step: usize,
    head_step: usize,
}

impl<T> Broadcast<T> {
    fn new(dims: &[usize; 4], shape: &Shape, values: Vec<T>) -> Self {
        let tile = shape.q_len * shape.k_len;
        assert!(
            (dims[0] == 1 || dims[0] == shape.batch) && (dims[1] == 1 || dims[1] == shape.heads),
            "attention: a mask or bias of shape {dims:?} does not broadcast to {shape:?}"
        );
        assert_eq!([dims[2], dims[3]], [shape.q_len, shape.k_len], "attention: mask or bias rows and keys");
        let head_step = if dims[1] == 1 { 0 } else { tile };
        let batch_step = if dims[0] == 1 { 0 } else { dims[1] * tile };
        Broadcast { values, batch_step, head_step }
    }

    fn rows(&self, batch: usize, head: usize, first_row: usize, rows: usize, k_len: usize) -> &[T] {
        let start = batch * self.batch_step + head * self.head_step + first_row * k_len;
        &self.values[start..start + rows * k_len]
    }
}

/// What the scores get added before the softmax.
enum Bias {
    /// `[b | 1, h | 1, lq, lk]` values.
    Dense(Broadcast<f32>),
    /// [`relative_attention`]'s `q_p` (`[b, h, n, d]`) and `r` (`[b | 1, h, 2n − 1, d]`, its batch
    /// `r_batch_step` values apart).
    Relative { q: Vec<f32>, r: Vec<f32>, r_batch_step: usize },
}

/// A [`Bias`] for one block of query rows.
#[derive(Clone, Copy)]
enum BlockBias<'a> {
    /// The block's `[rows, lk]` values.
    Dense(&'a [f32]),
    /// The block's rows of `q_p` (`[rows, d]`), its head's `r` (`[2n − 1, d]`) and the block's
    /// first query row.
    Relative { q: &'a [f32], r: &'a [f32], first_row: usize },
}

/// One unit of work: query rows `first_row..first_row + rows` of head `(batch, head)`, written into `out`.
struct Block<'a> {
    batch: usize,
    head: usize,
    first_row: usize,
    out: &'a mut [f32],
}

/// The attention on row-major slices (shapes as in [`attention`]) → `[b, h, lq, dv]`.
fn attention_f32(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<&Broadcast<bool>>,
    bias: Option<&Bias>,
    scale: f32,
    s: &Shape,
) -> Vec<f32> {
    let mut out = vec![0.0f32; s.batch * s.heads * s.q_len * s.v_dim];
    if out.is_empty() || s.k_len == 0 {
        return out;
    }
    let block_rows = (BLOCK_SCORES / s.k_len).clamp(1, s.q_len);
    let mut blocks = Vec::new();
    for (index, head_out) in out.chunks_mut(s.q_len * s.v_dim).enumerate() {
        for (i, rows_out) in head_out.chunks_mut(block_rows * s.v_dim).enumerate() {
            let (batch, head) = (index / s.heads, index % s.heads);
            blocks.push(Block { batch, head, first_row: i * block_rows, out: rows_out });
        }
    }
    let run = |(scores, relative): &mut (Vec<f32>, Vec<f32>), block: Block| {
        let rows = block.out.len() / s.v_dim;
        let head = block.batch * s.heads + block.head;
        let (k, v) = (
            &k[head * s.k_len * s.head_dim..][..s.k_len * s.head_dim],
            &v[head * s.k_len * s.v_dim..][..s.k_len * s.v_dim],
        );
        let q_start = (head * s.q_len + block.first_row) * s.head_dim;
        let q = &q[q_start..q_start + rows * s.head_dim];
        let mask = mask.map(|m| m.rows(block.batch, block.head, block.first_row, rows, s.k_len));
        let bias = bias.map(|b| match b {
            Bias::Dense(b) => BlockBias::Dense(b.rows(block.batch, block.head, block.first_row, rows, s.k_len)),
            Bias::Relative { q: q_position, r, r_batch_step } => {
                let distances = (2 * s.k_len - 1) * s.head_dim;
                BlockBias::Relative {
                    q: &q_position[q_start..q_start + rows * s.head_dim],
                    r: &r[block.batch * r_batch_step + block.head * distances..][..distances],
                    first_row: block.first_row,
                }
            }
        });
        scores.resize(rows * s.k_len, 0.0);
        attend_block(q, k, v, mask, bias, scale, s, scores, relative, block.out);
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        blocks.into_par_iter().for_each_init(<(Vec<f32>, Vec<f32>)>::default, run);
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut scratch = <(Vec<f32>, Vec<f32>)>::default();
        blocks.into_iter().for_each(|block| run(&mut scratch, block));
    }
    out
}

/// One block of query rows: scores (gemm), softmax numerators per row (vectorised), their product
/// with `v` (gemm), each row divided by its sum. `q`: `[rows, d]`, `k`: `[lk, d]`, `v`: `[lk, dv]`,
/// `mask`, `scores`: `[rows, lk]`, `out`: `[rows, dv]`; `relative`: room for a relative bias's
/// logits.
#[allow(clippy::too_many_arguments)]
fn attend_block(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<&[bool]>,
    bias: Option<BlockBias>,
    scale: f32,
    s: &Shape,
    scores: &mut [f32],
    relative: &mut Vec<f32>,
    out: &mut [f32],
) {
    let rows = out.len() / s.v_dim;
    // k read as kᵀ `[d, lk]`.
    let (q_rows, k_columns) = (Matrix::row_major(q, s.head_dim), Matrix::transposed(k, s.head_dim));
    multiply(scores, rows, s.k_len, s.head_dim, q_rows, k_columns, scale, false, Threads::Caller);
    // A relative bias's logits for these rows: `[rows, lk + rows − 1]`, the distances from the last
    // row's first key to the first row's last key; row `row` reads lk of them from `rows − 1 − row`.
    let width = s.k_len + rows - 1;
    if let Some(BlockBias::Relative { q: q_position, r, first_row }) = bias {
        let first_distance = s.k_len - first_row - rows;
        relative.resize(rows * width, 0.0);
        let r = &r[first_distance * s.head_dim..][..width * s.head_dim];
        // r read as rᵀ `[d, width]`.
        let (q_rows, r_columns) = (Matrix::row_major(q_position, s.head_dim), Matrix::transposed(r, s.head_dim));
        multiply(relative, rows, width, s.head_dim, q_rows, r_columns, 1.0, false, Threads::Caller);
    }
    let mut inverse_sums = vec![0.0f32; rows];
    for (row, inverse_sum) in inverse_sums.iter_mut().enumerate() {
        let span = row * s.k_len..(row + 1) * s.k_len;
        let row_bias = match bias {
            Some(BlockBias::Dense(b)) => Some(&b[span.clone()]),
            Some(BlockBias::Relative { .. }) => Some(&relative[row * width + rows - 1 - row..][..s.k_len]),
            None => None,
        };
        let scores = &mut scores[span.clone()];
        *inverse_sum = softmax_numerators(scores, mask.map(|m| &m[span]), row_bias);
    }
    let (weights, values) = (Matrix::row_major(scores, s.k_len), Matrix::row_major(v, s.v_dim));
    multiply(out, rows, s.v_dim, s.k_len, weights, values, 1.0, false, Threads::Caller);
    for (row, inverse_sum) in out.chunks_exact_mut(s.v_dim).zip(inverse_sums) {
        row.iter_mut().for_each(|x| *x *= inverse_sum);
    }
}

/// One row of scores → `exp(score + bias − max)` in place, masked keys 0; returns `1 / Σ`
/// (0 when every key is masked: the row is then all zeros). Vectorised ([`vectorised`]).
fn softmax_numerators(row: &mut [f32], mask: Option<&[bool]>, bias: Option<&[f32]>) -> f32 {
    vectorised(SoftmaxRow { row, mask, bias })
}

struct SoftmaxRow<'a> {
    row: &'a mut [f32],
    mask: Option<&'a [bool]>,
    bias: Option<&'a [f32]>,
}

impl Kernel for SoftmaxRow<'_> {
    type Output = f32;

    #[inline(always)]
    fn run(self) -> f32 {
        let SoftmaxRow { row, mask, bias } = self;
        if let Some(bias) = bias {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        }
        if let Some(mask) = mask {
            row.iter_mut().zip(mask).for_each(|(x, &m)| *x = if m { f32::NEG_INFINITY } else { *x });
        }
        let mut maxima = [f32::NEG_INFINITY; LANES];
        let mut chunks = row.chunks_exact(LANES);
        for chunk in &mut chunks {
            for (m, &x) in maxima.iter_mut().zip(chunk) {
                *m = if x > *m { x } else { *m };
            }
        }
        let max = chunks.remainder().iter().chain(&maxima).fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
        if max == f32::NEG_INFINITY {
            row.fill(0.0);
            return 0.0;
        }
        let mut sums = [0.0f32; LANES];
        let mut chunks = row.chunks_exact_mut(LANES);
        for chunk in &mut chunks {
            for (sum, x) in sums.iter_mut().zip(chunk.iter_mut()) {
                *x = exp_non_positive(*x - max);
                *sum += *x;
            }
        }
        let mut sum: f32 = sums.iter().sum();
        for x in chunks.into_remainder() {
            *x = exp_non_positive(*x - max);
            sum += *x;
        }
        1.0 / sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::vector_math::testing::{max_difference, seeded};
    use burn::tensor::Device;

    /// Seeded values in [-2, 2).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        seeded(n, seed, 2.0)
    }

    /// Against Burn's own CPU kernel, with a padding mask (one row fully masked), a bias, several
    /// blocks of query rows and a scale of its own; and a short case on Burn's other path.
    #[test]
    fn matches_burns_cpu_attention() {
        let device = Device::flex();
        for (batch, heads, q_len, k_len, d, dv, scale) in
            [(2, 3, 300, 1100, 16, 24, Some(0.3)), (1, 2, 5, 7, 8, 8, None), (2, 1, 64, 600, 32, 32, None)]
        {
            let tensor = |dims: [usize; 4], seed| {
                Tensor::<4>::from_data(TensorData::new(values(dims.iter().product(), seed), dims), &device)
            };
            let q = tensor([batch, heads, q_len, d], 1);
            let k = tensor([batch, heads, k_len, d], 2);
            let v = tensor([batch, heads, k_len, dv], 3);
            let bias = tensor([1, heads, q_len, k_len], 4);
            // Batch 0: the last third of the keys are padding; batch 1: query row 2 sees no key.
            let mask: Vec<bool> = (0..batch * q_len * k_len)
                .map(|i| {
                    let (b, row, key) = (i / (q_len * k_len), i / k_len % q_len, i % k_len);
                    if b == 0 { key >= k_len * 2 / 3 } else { row == 2 }
                })
                .collect();
            let mask = Tensor::<4, Bool>::from_data(TensorData::new(mask, [batch, 1, q_len, k_len]), &device);
            let options = AttentionModuleOptions { scale, ..Default::default() };
            for (mask, bias) in [(Some(mask), Some(bias)), (None, None)] {
                let ours = attention(q.clone(), k.clone(), v.clone(), mask.clone(), bias.clone(), options);
                let burns = burn_attention(q.clone(), k.clone(), v.clone(), mask, bias, options);
                let worst = max_difference(&host_f32s(ours), &host_f32s(burns), 0.1);
                assert!(worst < 2e-6, "max |Δ| {worst} at {batch}×{heads}×{q_len}×{k_len}");
            }
        }
    }

    /// The browser's attention on a CPU-emulated adapter (unfused, `gpu_matmul` products), run here on
    /// wgpu (lavapipe in CI), against Burn's CPU kernel: a padding mask, a query row with no key
    /// (zeros), a scale of its own, and no mask.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn unfused_attention_matches_burns_cpu_attention() {
        use crate::runtime::backend::{self, BackendKind};
        let gpu = backend::init_native(BackendKind::Wgpu).expect("a device (wgpu: install mesa-vulkan-drivers)").device;
        let cpu = Device::flex();
        let (batch, heads, q_len, k_len, d) = (2, 3, 70, 70, 16);
        let tensor = |dims: [usize; 4], seed, device: &Device| {
            Tensor::<4>::from_data(TensorData::new(values(dims.iter().product(), seed), dims), device)
        };
        let mask: Vec<bool> = (0..batch * q_len * k_len)
            .map(|i| {
                let (b, row, key) = (i / (q_len * k_len), i / k_len % q_len, i % k_len);
                if b == 0 { key >= k_len * 2 / 3 } else { row == 2 }
            })
            .collect();
        let mask = |device: &Device| {
            Tensor::<4, Bool>::from_data(TensorData::new(mask.clone(), [batch, 1, q_len, k_len]), device)
        };
        for (masked, scale) in [(true, None), (false, Some(0.3))] {
            let options = AttentionModuleOptions { scale, ..Default::default() };
            let inputs = |device: &Device| {
                // Heads split off `[b, l, h·d]` projections, as the models make them (views).
                let split = |len, seed| tensor([batch, len, heads, d], seed, device).swap_dims(1, 2);
                (split(q_len, 1), split(k_len, 2), split(k_len, 3), masked.then(|| mask(device)))
            };
            let (q, k, v, m) = inputs(&gpu);
            let ours = host_f32s(unfused_attention(q, k, v, m, options));
            let (q, k, v, m) = inputs(&cpu);
            let burns = host_f32s(burn_attention(q, k, v, m, None, options));
            let worst = max_difference(&ours, &burns, 0.1);
            assert!(worst < 2e-6, "max |Δ| {worst} (masked: {masked})");
            if masked {
                let row = &ours[(q_len * heads + 2) * d..(q_len * heads + 3) * d];
                assert!(row.iter().all(|&x| x == 0.0), "batch 1, head 0, query row 2 sees no key: zeros");
            }
        }
    }

    /// The CPU kernel against the same attention as Burn's ops (its other path): several blocks of
    /// query rows (so blocks start mid-sequence), `r` shared by the batch or one per sequence.
    #[test]
    fn relative_attention_matches_burns_ops() {
        let device = Device::flex();
        for (batch, heads, n, d, dv, r_batch, scale) in
            [(2, 3, 1100, 16, 24, 1, 0.3), (1, 2, 9, 8, 8, 1, 1.0), (2, 1, 700, 32, 16, 2, 0.2)]
        {
            let tensor = |dims: [usize; 4], seed| {
                Tensor::<4>::from_data(TensorData::new(values(dims.iter().product(), seed), dims), &device)
            };
            let (q_content, q_position) = (tensor([batch, heads, n, d], 1), tensor([batch, heads, n, d], 2));
            let (k, v) = (tensor([batch, heads, n, d], 3), tensor([batch, heads, n, dv], 4));
            // r at a quarter scale keeps the logits (and their rounding) at the content logits' size.
            let r = tensor([r_batch, heads, 2 * n - 1, d], 5).mul_scalar(0.25);
            let ours =
                relative_attention(q_content.clone(), q_position.clone(), k.clone(), v.clone(), r.clone(), scale);
            let burns = relative_attention_by_ops(q_content, q_position, k, v, r, scale);
            let worst = max_difference(&host_f32s(ours), &host_f32s(burns), 0.1);
            assert!(worst < 2e-6, "max |Δ| {worst} at {batch}×{heads}×{n}, r batch {r_batch}");
        }
    }

    #[test]
    fn relative_shift_aligns_distances_to_keys() {
        // logits[i][r] = r − (n − 1) + 10·i: after the shift, entry (i, j) must be the distance j − i.
        let n = 4;
        let device = Device::flex();
        let values: Vec<f32> =
            (0..n).flat_map(|i| (0..2 * n - 1).map(move |r| (r as f32 - (n as f32 - 1.0)) + 10.0 * i as f32)).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [1, 1, n, 2 * n - 1]), &device);
        let shifted = relative_shift(x).into_data().try_to_vec::<f32>().unwrap();
        for i in 0..n {
            for j in 0..n {
                assert_eq!(shifted[i * n + j], (j as f32 - i as f32) + 10.0 * i as f32, "({i}, {j})");
            }
        }
    }
}

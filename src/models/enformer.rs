//! Enformer trunk (DNA encoder) with its optional track heads.
//!
//! Upstream: enformer-pytorch 0.8.x `modeling_enformer.py` (docs/isoformer-architecture.md
//! §4.1): one-hot `[L, 4]` → stem (width-15 conv, residual conv block, attention pooling) → conv
//! tower (per block: width-5 conv block, residual width-1 conv block, attention pooling) → 11-layer
//! transformer with relative positional features → crop to `target_length` bins → final pointwise
//! block → `[target_length, 2·dim]`; heads are Linear + Softplus.
//!
//! The convolutional part runs in chunks along the sequence (see [`ConvChunks`]): at 196,608 bp the
//! stem output alone is ~600 MB, beyond a WebGPU buffer. Each chunk carries a halo wide enough that
//! its kept bins equal the unchunked computation.

use burn::nn::LayerNorm;
use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::{ENFORMER_SEQUENCE_LENGTH, EnformerConfig};
use crate::error::{Error, Result};
use crate::models::activation::sigmoid_gelu;
use crate::models::attention::relative_attention;
use crate::models::attention_pool::AttentionPool;
use crate::models::convolution::conv1d_same;
use crate::models::linear::Linear;
use crate::models::nn::{self, TensorSpec, spec};
use crate::runtime::cancel::Cancel;
use crate::weights::params::ParamSource;

/// `nn.BatchNorm1d`'s default epsilon.
const BATCH_NORM_EPS: f64 = 1e-5;
/// Kernel widths: the stem's first convolution and each tower block's convolution.
const STEM_KERNEL: usize = 15;
const TOWER_KERNEL: usize = 5;

/// How a convolution of width k > 1 runs. The GPU's matmul kernels are tuned per shape, while
/// WebGPU's convolution tunables for k > 1 are one direct kernel, so on a GPU the sum of k
/// matmuls over shifted views of the input is the faster form (BENCHMARKS.md measures both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvKernel {
    /// Burn's `conv1d`; on the CPU in f32, gemm calls on the input in place (models::convolution).
    #[default]
    Direct,
    /// `Σ_j W[:, :, j] · x[:, j..j + L]`: k matmuls, no unfolded copy of the input.
    ShiftedMatmuls,
}

/// A Conv1d with bias and "same" padding, its weight kept in the layout its kernel reads.
struct Conv {
    weight: ConvWeight,
    bias: Tensor<1>,
}

enum ConvWeight {
    /// `[out, in, k]`, PyTorch's layout, for `conv1d`.
    Direct(Tensor<3>),
    /// `[k, out, in]`: one `[out, in]` matrix per tap.
    Taps(Tensor<3>),
}

impl Conv {
    fn specs(name: &str, c_in: usize, c_out: usize, k: usize) -> Vec<TensorSpec> {
        vec![spec(format!("{name}.weight"), &[c_out, c_in, k]), spec(format!("{name}.bias"), &[c_out])]
    }

    fn load(
        src: &mut dyn ParamSource,
        name: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        kernel: ConvKernel,
    ) -> Result<Self> {
        let weight: Tensor<3> = src.take(&format!("{name}.weight"), &[c_out, c_in, k])?.reshape([c_out, c_in, k]);
        let weight = match kernel {
            // Merging the permuted dims cannot be a view: the reshape stores the taps contiguously.
            ConvKernel::ShiftedMatmuls if k > 1 => {
                ConvWeight::Taps(weight.permute([2, 0, 1]).reshape([k * c_out, c_in]).reshape([k, c_out, c_in]))
            }
            _ => ConvWeight::Direct(weight),
        };
        Ok(Conv { weight, bias: src.take(&format!("{name}.bias"), &[c_out])? })
    }

    fn device(&self) -> Device {
        self.bias.device()
    }

    /// `[b, in, L]` → `[b, out, L]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match &self.weight {
            ConvWeight::Direct(weight) => conv1d_same(x, weight.clone(), Some(self.bias.clone())),
            ConvWeight::Taps(taps) => {
                let [k, c_out, _] = taps.dims();
                let [batch, c_in, length] = x.dims();
                let edge = || Tensor::<3>::zeros([batch, c_in, k / 2], &x.device());
                let padded = Tensor::cat(vec![edge(), x.clone(), edge()], 2); // [b, in, L + k − 1]
                let tap = |j: usize| taps.clone().narrow(0, j, 1).matmul(padded.clone().narrow(2, j, length)); // [b, out, L]
                (1..k).fold(tap(0), |sum, j| sum + tap(j)) + self.bias.clone().reshape([1, c_out, 1])
            }
        }
    }
}

/// BatchNorm1d in inference mode, folded at load into `x · scale + shift` per channel.
struct BatchNorm {
    scale: Tensor<3>,
    shift: Tensor<3>,
}

impl BatchNorm {
    fn specs(name: &str, c: usize) -> Vec<TensorSpec> {
        ["weight", "bias", "running_mean", "running_var"].iter().map(|p| spec(format!("{name}.{p}"), &[c])).collect()
    }

    fn load(src: &mut dyn ParamSource, name: &str, c: usize) -> Result<Self> {
        let mut take = |part: &str| src.take(&format!("{name}.{part}"), &[c]);
        let (gamma, beta, mean, var) = (take("weight")?, take("bias")?, take("running_mean")?, take("running_var")?);
        let scale = var.add_scalar(BATCH_NORM_EPS).sqrt().recip() * gamma;
        let shift = beta - mean * scale.clone();
        Ok(BatchNorm { scale: scale.reshape([1, c, 1]), shift: shift.reshape([1, c, 1]) })
    }

    /// `[1, C, L]` → `[1, C, L]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        x * self.scale.clone() + self.shift.clone()
    }
}

/// BatchNorm → GELU approximation → Conv1d.
struct ConvBlock {
    norm: BatchNorm,
    conv: Conv,
}

impl ConvBlock {
    fn specs(name: &str, c_in: usize, c_out: usize, k: usize) -> Vec<TensorSpec> {
        let mut specs = BatchNorm::specs(&format!("{name}.norm"), c_in);
        specs.extend(Conv::specs(&format!("{name}.conv"), c_in, c_out, k));
        specs
    }

    fn load(
        src: &mut dyn ParamSource,
        name: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        kernel: ConvKernel,
    ) -> Result<Self> {
        Ok(ConvBlock {
            norm: BatchNorm::load(src, &format!("{name}.norm"), c_in)?,
            conv: Conv::load(src, &format!("{name}.conv"), c_in, c_out, k, kernel)?,
        })
    }

    /// `[1, in, L]` → `[1, out, L]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.conv.forward(sigmoid_gelu(self.norm.forward(x)))
    }
}

/// Conv block, residual width-1 conv block, attention pooling (one conv-tower block; the stem has
/// the same shape with a plain convolution first).
struct TowerBlock {
    conv: ConvBlock,
    residual: ConvBlock,
    pool: AttentionPool,
}

impl TowerBlock {
    fn specs(name: &str, c_in: usize, c_out: usize) -> Vec<TensorSpec> {
        let mut specs = ConvBlock::specs(&format!("{name}.conv"), c_in, c_out, TOWER_KERNEL);
        specs.extend(ConvBlock::specs(&format!("{name}.residual"), c_out, c_out, 1));
        specs.extend(AttentionPool::specs(&format!("{name}.pool"), c_out));
        specs
    }

    fn load(src: &mut dyn ParamSource, name: &str, c_in: usize, c_out: usize, kernel: ConvKernel) -> Result<Self> {
        Ok(TowerBlock {
            conv: ConvBlock::load(src, &format!("{name}.conv"), c_in, c_out, TOWER_KERNEL, kernel)?,
            residual: ConvBlock::load(src, &format!("{name}.residual"), c_out, c_out, 1, kernel)?,
            pool: AttentionPool::load(src, &format!("{name}.pool"), c_out)?,
        })
    }

    /// `[1, in, L]` → `[1, out, L/2]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.conv.forward(x);
        let x = self.residual.forward(x.clone()) + x;
        self.pool.forward(x)
    }
}

/// Multi-head attention with Transformer-XL relative positions (enformer-pytorch `Attention`).
struct RelativeAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    rel_key: Linear,
    rel_content_bias: Tensor<4>,
    rel_pos_bias: Tensor<4>,
    heads: usize,
    dim_key: usize,
}

impl RelativeAttention {
    fn specs(name: &str, config: &EnformerConfig) -> Vec<TensorSpec> {
        let (d, h, dk, f) = (config.dim, config.heads, config.attn_dim_key, config.relative_features());
        let mut specs = nn::linear_specs(&format!("{name}.query"), d, h * dk, false);
        specs.extend(nn::linear_specs(&format!("{name}.key"), d, h * dk, false));
        specs.extend(nn::linear_specs(&format!("{name}.value"), d, d, false));
        specs.extend(nn::linear_specs(&format!("{name}.output"), d, d, true));
        specs.extend(nn::linear_specs(&format!("{name}.rel_key"), f, h * dk, false));
        specs.push(spec(format!("{name}.rel_content_bias"), &[1, h, 1, dk]));
        specs.push(spec(format!("{name}.rel_pos_bias"), &[1, h, 1, dk]));
        specs
    }

    fn load(src: &mut dyn ParamSource, name: &str, config: &EnformerConfig) -> Result<Self> {
        let (d, h, dk, f) = (config.dim, config.heads, config.attn_dim_key, config.relative_features());
        let mut linear =
            |part: &str, d_in, d_out, bias| nn::load_linear(src, &format!("{name}.{part}"), d_in, d_out, bias);
        let (query, key, value) =
            (linear("query", d, h * dk, false)?, linear("key", d, h * dk, false)?, linear("value", d, d, false)?);
        let (output, rel_key) = (linear("output", d, d, true)?, linear("rel_key", f, h * dk, false)?);
        let mut bias = |part: &str| -> Result<Tensor<4>> {
            Ok(src.take(&format!("{name}.{part}"), &[1, h, 1, dk])?.reshape([1, h, 1, dk]))
        };
        let (rel_content_bias, rel_pos_bias) = (bias("rel_content_bias")?, bias("rel_pos_bias")?);
        Ok(RelativeAttention {
            query,
            key,
            value,
            output,
            rel_key,
            rel_content_bias,
            rel_pos_bias,
            heads: h,
            dim_key: dk,
        })
    }

    /// `x`: `[1, n, dim]`, `positions`: `[2n − 1, features]` → `[1, n, dim]`.
    fn forward(&self, x: Tensor<3>, positions: &Tensor<2>) -> Tensor<3> {
        let [batch, n, dim] = x.dims();
        let (h, dk) = (self.heads, self.dim_key);
        let dv = dim / h;
        let split = |t: Tensor<3>, width: usize| t.reshape([batch, n, h, width]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()), dk).mul_scalar((dk as f64).powf(-0.5));
        let k = split(self.key.forward(x.clone()), dk);
        let v = split(self.value.forward(x), dv);
        let distances = 2 * n - 1;
        let rel_k = self
            .rel_key
            .forward(positions.clone())
            .reshape([distances, h, dk])
            .swap_dims(0, 1)
            .reshape([1, h, distances, dk]);
        // q is already scaled; the content and position terms each get their own bias.
        let (q_content, q_position) = (q.clone() + self.rel_content_bias.clone(), q + self.rel_pos_bias.clone());
        let context = relative_attention(q_content, q_position, k, v, rel_k, 1.0);
        let context = context.swap_dims(1, 2).reshape([batch, n, dim]); // [1, n, dim]
        self.output.forward(context)
    }
}

/// Pre-LN attention and feed-forward (Linear → ReLU → Linear), each residual.
struct TransformerLayer {
    attention_norm: LayerNorm,
    attention: RelativeAttention,
    ffn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl TransformerLayer {
    fn specs(name: &str, config: &EnformerConfig) -> Vec<TensorSpec> {
        let d = config.dim;
        let mut specs = nn::layer_norm_specs(&format!("{name}.attention_norm"), d);
        specs.extend(RelativeAttention::specs(&format!("{name}.attention"), config));
        specs.extend(nn::layer_norm_specs(&format!("{name}.ffn_norm"), d));
        specs.extend(nn::linear_specs(&format!("{name}.ffn.fc1"), d, 2 * d, true));
        specs.extend(nn::linear_specs(&format!("{name}.ffn.fc2"), 2 * d, d, true));
        specs
    }

    fn load(src: &mut dyn ParamSource, name: &str, config: &EnformerConfig) -> Result<Self> {
        let d = config.dim;
        // nn.LayerNorm's default epsilon.
        Ok(TransformerLayer {
            attention_norm: nn::load_layer_norm(src, &format!("{name}.attention_norm"), d, 1e-5)?,
            attention: RelativeAttention::load(src, &format!("{name}.attention"), config)?,
            ffn_norm: nn::load_layer_norm(src, &format!("{name}.ffn_norm"), d, 1e-5)?,
            fc1: nn::load_linear(src, &format!("{name}.ffn.fc1"), d, 2 * d, true)?,
            fc2: nn::load_linear(src, &format!("{name}.ffn.fc2"), 2 * d, d, true)?,
        })
    }

    /// `[1, n, dim]` → `[1, n, dim]`.
    fn forward(&self, x: Tensor<3>, positions: &Tensor<2>) -> Tensor<3> {
        let x = x.clone() + self.attention.forward(self.attention_norm.forward(x), positions);
        x.clone() + self.fc2.forward(relu(self.fc1.forward(self.ffn_norm.forward(x))))
    }
}

/// How the convolutional part is split along the sequence: chunks of `chunk_bins` output bins,
/// each computed from its input window widened by `halo_bins` bins on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvChunks {
    pub chunk_bins: usize,
    pub halo_bins: usize,
}

/// The published Enformer's portable WebGPU floor: 128 MiB per storage binding.
pub const DEFAULT_BINDING_LIMIT: u64 = 128 * 1024 * 1024;

impl ConvChunks {
    /// Chunks whose largest intermediate tensor fits in `buffer_limit` bytes (the smaller of the
    /// device's `maxStorageBufferBindingSize` and `maxBufferSize`).
    ///
    /// The largest tensor per input base pair is the bigger of a level's activations and its
    /// convolution's unfolded input (`C_in · k` per position, in case the backend lowers the
    /// convolution to a matrix product); the halo covers every convolution's reach, summed over the
    /// levels, plus one bin for the pooling's alignment.
    pub fn plan(config: &EnformerConfig, buffer_limit: u64) -> Self {
        let filters = config.filter_list();
        let mut floats_per_bp = (4 * STEM_KERNEL).max(filters[0]) as f64;
        let mut reach_bp = STEM_KERNEL / 2;
        for (level, pair) in filters.windows(2).enumerate() {
            let resolution = 1usize << (level + 1);
            floats_per_bp = floats_per_bp.max((pair[0] * TOWER_KERNEL).max(pair[1]) as f64 / resolution as f64);
            reach_bp += (TOWER_KERNEL / 2) * resolution;
        }
        let bin = 1usize << config.num_downsamples;
        let halo_bins = reach_bp.div_ceil(bin) + 1;
        let window_bins = (buffer_limit as f64 / (4.0 * floats_per_bp * bin as f64)) as usize;
        ConvChunks { chunk_bins: window_bins.saturating_sub(2 * halo_bins).max(1), halo_bins }
    }
}

/// The Enformer trunk on one device, with its relative position features precomputed.
pub struct Enformer {
    config: EnformerConfig,
    stem_conv: Conv,
    stem_residual: ConvBlock,
    stem_pool: AttentionPool,
    tower: Vec<TowerBlock>,
    layers: Vec<TransformerLayer>,
    final_block: ConvBlock,
    heads: Vec<(String, Linear)>,
    /// Relative position features `[2n − 1, features]` for the bins of a 196,608-bp input, made
    /// once at load rather than on every pass.
    positions: Tensor<2>,
}

impl Enformer {
    /// Every tensor of the weight directory in storage order; `heads` lists the track heads
    /// (name, tracks) the weights carry.
    pub fn tensor_specs(config: &EnformerConfig, heads: &[(String, usize)]) -> Vec<TensorSpec> {
        let filters = config.filter_list();
        let half = filters[0];
        let mut specs = Conv::specs("stem.conv", 4, half, STEM_KERNEL);
        specs.extend(ConvBlock::specs("stem.residual", half, half, 1));
        specs.extend(AttentionPool::specs("stem.pool", half));
        for (i, pair) in filters.windows(2).enumerate() {
            specs.extend(TowerBlock::specs(&format!("tower.{i}"), pair[0], pair[1]));
        }
        for i in 0..config.depth {
            specs.extend(TransformerLayer::specs(&format!("transformer.{i}"), config));
        }
        specs.extend(ConvBlock::specs("final", config.dim, 2 * config.dim, 1));
        for (name, tracks) in heads {
            specs.extend(nn::linear_specs(&format!("heads.{name}"), 2 * config.dim, *tracks, true));
        }
        specs
    }

    /// Builds the trunk from uploaded weights, its k > 1 convolutions run by `kernel`; a head is
    /// loaded for each `heads.<name>.weight` present.
    pub fn load(
        config: &EnformerConfig,
        src: &mut dyn ParamSource,
        head_names: &[String],
        kernel: ConvKernel,
    ) -> Result<Self> {
        config.validate()?;
        let filters = config.filter_list();
        let half = filters[0];
        let stem_conv = Conv::load(src, "stem.conv", 4, half, STEM_KERNEL, kernel)?;
        let stem_residual = ConvBlock::load(src, "stem.residual", half, half, 1, kernel)?;
        let stem_pool = AttentionPool::load(src, "stem.pool", half)?;
        let tower = filters
            .windows(2)
            .enumerate()
            .map(|(i, pair)| TowerBlock::load(src, &format!("tower.{i}"), pair[0], pair[1], kernel))
            .collect::<Result<Vec<_>>>()?;
        let layers = (0..config.depth)
            .map(|i| TransformerLayer::load(src, &format!("transformer.{i}"), config))
            .collect::<Result<Vec<_>>>()?;
        let final_block = ConvBlock::load(src, "final", config.dim, 2 * config.dim, 1, kernel)?;
        let mut heads = Vec::new();
        for name in head_names {
            let tracks = config
                .output_heads
                .get(name)
                .copied()
                .ok_or_else(|| Error::Config(format!("no output_heads entry for head {name:?}")))?;
            heads.push((name.clone(), nn::load_linear(src, &format!("heads.{name}"), 2 * config.dim, tracks, true)?));
        }
        let positions =
            position_tensor(ENFORMER_SEQUENCE_LENGTH >> config.num_downsamples, config, &stem_conv.device());
        Ok(Enformer {
            config: config.clone(),
            stem_conv,
            stem_residual,
            stem_pool,
            tower,
            layers,
            final_block,
            heads,
            positions,
        })
    }

    pub fn config(&self) -> &EnformerConfig {
        &self.config
    }

    pub fn head_names(&self) -> Vec<String> {
        self.heads.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Stem and conv tower on one window: `[1, 4, L]` → `[1, dim, L / 2^num_downsamples]`.
    fn convolutions(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.stem_conv.forward(x);
        let x = self.stem_residual.forward(x.clone()) + x;
        let mut x = self.stem_pool.forward(x);
        for block in &self.tower {
            x = block.forward(x);
        }
        x
    }

    /// The trunk on one sequence. `one_hot`: `[L, 4]` row-major on the host (L a multiple of
    /// 2^num_downsamples, at least `target_length` bins) → `[1, target_length, 2·dim]`. `cancel`
    /// is checked between the convolution windows and between the transformer layers.
    pub async fn forward(
        &self,
        one_hot: &[f32],
        chunks: ConvChunks,
        device: &Device,
        cancel: &Cancel,
    ) -> Result<Tensor<3>> {
        let bin = 1usize << self.config.num_downsamples;
        let length = one_hot.len() / 4;
        if !length.is_multiple_of(bin) || length / bin < self.config.target_length {
            return Err(Error::InvalidArgument(format!(
                "DNA input of {length} bp: Enformer needs a multiple of {bin} bp and at least {} bins",
                self.config.target_length
            )));
        }
        let bins = length / bin;
        let mut parts = Vec::new();
        for first in (0..bins).step_by(chunks.chunk_bins) {
            cancel.checkpoint().await?;
            let last = (first + chunks.chunk_bins).min(bins);
            let (start, end) = (first.saturating_sub(chunks.halo_bins), (last + chunks.halo_bins).min(bins));
            let window = channels_first(&one_hot[start * bin * 4..end * bin * 4]);
            let x = Tensor::<3>::from_data(TensorData::new(window, [1, 4, (end - start) * bin]), device);
            parts.push(self.convolutions(x).narrow(2, first - start, last - first));
        }
        let mut x = Tensor::cat(parts, 2).swap_dims(1, 2); // [1, bins, dim]
        let positions = if self.positions.dims()[0] == 2 * bins - 1 {
            self.positions.clone()
        } else {
            position_tensor(bins, &self.config, device)
        };
        for layer in &self.layers {
            cancel.checkpoint().await?;
            x = layer.forward(x, &positions);
        }
        let target = self.config.target_length;
        let x = x.narrow(1, (bins - target) / 2, target).swap_dims(1, 2); // [1, dim, target]
        Ok(sigmoid_gelu(self.final_block.forward(x)).swap_dims(1, 2))
    }

    /// Track predictions from the trunk's output: `[1, target, 2·dim]` → one `[1, target, tracks]`
    /// per head (Linear + Softplus).
    pub fn heads(&self, embedding: &Tensor<3>) -> Vec<(String, Tensor<3>)> {
        self.heads
            .iter()
            .map(|(name, linear)| (name.clone(), softplus(linear.forward(embedding.clone()), 1.0)))
            .collect()
    }
}

/// [`relative_position_features`] for `bins` bins, uploaded: `[2·bins − 1, features]`.
fn position_tensor(bins: usize, config: &EnformerConfig, device: &Device) -> Tensor<2> {
    let features = config.relative_features();
    Tensor::<2>::from_data(
        TensorData::new(relative_position_features(bins, features), [2 * bins - 1, features]),
        device,
    )
}

/// `[L, 4]` row-major → `[4, L]` row-major (Conv1d wants channels first).
fn channels_first(rows: &[f32]) -> Vec<f32> {
    let length = rows.len() / 4;
    let mut out = vec![0f32; rows.len()];
    for (position, row) in rows.chunks_exact(4).enumerate() {
        for (channel, value) in row.iter().enumerate() {
            out[channel * length + position] = *value;
        }
    }
    out
}

/// enformer-pytorch's relative positional features for `n` bins: `[2n − 1, features]` row-major,
/// distances `−(n−1) … n−1`; per distance the exponential, central-mask and gamma features (a
/// sixth of `features` each), then the same multiplied by the distance's sign. Computed in f32 step
/// by step like torch, so the values match the reference bit for bit or within an ulp.
pub fn relative_position_features(n: usize, features: usize) -> Vec<f32> {
    let per = features / 6;
    let linspace = |start: f32, end: f32| -> Vec<f32> {
        let step = (end - start) / (per - 1).max(1) as f32;
        // torch.linspace fills the second half from the end, so the last value is exactly `end`.
        (0..per)
            .map(|i| if i < per / 2 { start + step * i as f32 } else { end - step * (per - 1 - i) as f32 })
            .collect()
    };
    let n_f = n as f32;
    let max_range = ((n as f64).ln() / 2f64.ln()) as f32;
    let half_life: Vec<f32> = linspace(3.0, max_range).into_iter().map(|e| 2f32.powf(e)).collect();
    let center_widths: Vec<f32> = (1..=per).map(|i| 2f32.powi(i as i32) - 1.0).collect();
    let stddev = n_f / (2 * per) as f32;
    let mean = linspace(n_f / per as f32, n_f);
    let concentration: Vec<f32> = mean.iter().map(|m| (m / stddev).powi(2)).collect();
    let rate: Vec<f32> = mean.iter().map(|m| m / (stddev * stddev)).collect();
    let log_normalization: Vec<f32> =
        concentration.iter().zip(&rate).map(|(&c, &r)| libm::lgammaf(c) - c * libm::logf(r)).collect();
    let ln2 = std::f32::consts::LN_2;
    let mut out = Vec::with_capacity((2 * n - 1) * features);
    for d in -(n as i64 - 1)..n as i64 {
        let x = d.unsigned_abs() as f32;
        let mut row: Vec<f32> = half_life.iter().map(|h| libm::expf(-ln2 / h * x)).collect();
        row.extend(center_widths.iter().map(|w| if *w > x { 1.0 } else { 0.0 }));
        let gamma: Vec<f32> = (0..per)
            .map(|i| {
                // torch.xlogy is 0 only where its first argument is 0: at distance 0 the others
                // give −inf, so every feature there is the 1e-8 floor (normalised to 1).
                let c = concentration[i] - 1.0;
                let xlogy = if c == 0.0 { 0.0 } else { c * libm::logf(x) };
                libm::expf(xlogy - rate[i] * x - log_normalization[i]) + 1e-8
            })
            .collect();
        let max = gamma.iter().copied().fold(f32::MIN, f32::max);
        row.extend(gamma.iter().map(|g| g / max));
        let sign = (d.signum()) as f32;
        let signed: Vec<f32> = row.iter().map(|v| v * sign).collect();
        row.extend(signed);
        out.extend(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nn::parameter_count;

    /// docs/isoformer-architecture.md §3: trunk 229,845,504 values, of which the conv part
    /// is 50,877,952 (BatchNorm running statistics excluded: 29,696 buffer floats).
    #[test]
    fn published_trunk_has_the_published_parameter_count() {
        let config = EnformerConfig::published();
        let specs = Enformer::tensor_specs(&config, &[]);
        let buffers: usize =
            specs.iter().filter(|s| s.name.contains("running_")).map(|s| s.shape.iter().product::<usize>()).sum();
        assert_eq!(buffers, 29_696);
        assert_eq!(parameter_count(&specs) - buffers, 229_845_504);
        let heads = [("human".to_string(), 5313), ("mouse".to_string(), 1643)];
        assert_eq!(parameter_count(&Enformer::tensor_specs(&config, &heads)) - parameter_count(&specs), 21_375_788);
    }

    #[test]
    fn chunks_fit_the_portable_limit() {
        let config = EnformerConfig::published();
        let chunks = ConvChunks::plan(&config, DEFAULT_BINDING_LIMIT);
        assert!(chunks.halo_bins >= 3, "{chunks:?}");
        // The largest tensor of a window stays within 128 MiB.
        let window_bp = (chunks.chunk_bins + 2 * chunks.halo_bins) * 128;
        assert!(window_bp * 1920 * 4 <= DEFAULT_BINDING_LIMIT as usize, "{chunks:?}");
        assert!(chunks.chunk_bins >= 64, "{chunks:?}");
    }
}

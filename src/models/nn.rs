//! Blocks shared by the ESM-family encoders (ESM-2, Nucleotide Transformer v2): rotary
//! self-attention with key-padding masks, the GELU and SwiGLU feed-forwards, pre-LayerNorm encoder
//! layers, and the builders that take their parameters from a [`ParamSource`] by name.
//!
//! Upstream: transformers `models/esm/modeling_esm.py` (`EsmSelfAttention`, `RotaryEmbedding`,
//! `EsmLayer`); InstaDeep's NT-v2 `modeling_esm.py` (`EsmIntermediate` with SiLU-gated GLU).

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, LayerNormConfig};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Tensor};

use crate::config::FeedForwardKind;
use crate::error::Result;
use crate::models::activation::{gelu, swiglu};
use crate::models::attention::attention;
use crate::models::linear::Linear;
use crate::models::rotary::RotaryTables;
use crate::weights::params::ParamSource;

/// Attention runs a group of heads at a time so that a score tensor, where the backend makes one
/// (Burn's unfused path on the GPU), stays within 32 Mi elements (128 MiB), WebGPU's portable
/// storage-binding limit. The fused kernels never make it; grouping costs them nothing.
pub const MAX_SCORE_ELEMENTS: usize = 32 * 1024 * 1024;

/// A tensor the weights must contain: its name in the weight directory and its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

pub(crate) fn spec(name: impl Into<String>, shape: &[usize]) -> TensorSpec {
    TensorSpec { name: name.into(), shape: shape.to_vec() }
}

/// Values a list of specs holds, host buffers (rotary frequencies) excluded.
#[cfg(test)]
pub(crate) fn parameter_count(specs: &[TensorSpec]) -> usize {
    specs
        .iter()
        .filter(|s| s.name != crate::models::rotary::ROTARY_INV_FREQ)
        .map(|s| s.shape.iter().product::<usize>())
        .sum()
}

pub(crate) fn linear_specs(name: &str, d_in: usize, d_out: usize, bias: bool) -> Vec<TensorSpec> {
    let mut specs = vec![spec(format!("{name}.weight"), &[d_in, d_out])];
    if bias {
        specs.push(spec(format!("{name}.bias"), &[d_out]));
    }
    specs
}

pub(crate) fn layer_norm_specs(name: &str, d: usize) -> Vec<TensorSpec> {
    vec![spec(format!("{name}.weight"), &[d]), spec(format!("{name}.bias"), &[d])]
}

/// A Linear layer whose weight is stored as `[d_in, d_out]` (Burn's layout; the converter
/// transposes PyTorch's `[out, in]`).
pub(crate) fn load_linear(
    src: &mut dyn ParamSource,
    name: &str,
    d_in: usize,
    d_out: usize,
    bias: bool,
) -> Result<Linear> {
    let weight = src.take_matrix(&format!("{name}.weight"), [d_in, d_out])?;
    let bias = if bias { Some(src.take(&format!("{name}.bias"), &[d_out])?) } else { None };
    Ok(Linear::new(weight, bias))
}

pub(crate) fn load_layer_norm(src: &mut dyn ParamSource, name: &str, d: usize, eps: f64) -> Result<LayerNorm> {
    let gamma = src.take(&format!("{name}.weight"), &[d])?;
    let beta = src.take(&format!("{name}.bias"), &[d])?;
    let mut norm = LayerNormConfig::new(d).with_epsilon(eps).init(&gamma.device());
    norm.gamma = Param::from_tensor(gamma);
    norm.beta = Some(Param::from_tensor(beta));
    Ok(norm)
}

pub(crate) fn load_embedding(src: &mut dyn ParamSource, name: &str, vocab: usize, d: usize) -> Result<Embedding> {
    let weight = src.take(&format!("{name}.weight"), &[vocab, d])?.reshape([vocab, d]);
    Ok(Embedding { weight: Param::from_tensor(weight) })
}

/// Which tokens of a padded batch are real: `[batch, length]` 1/0 on the device, and whether any
/// is padding (known on the host when the batch is built, so an unpadded batch runs attention
/// without a mask, the fused kernels' fastest path).
#[derive(Clone)]
pub struct KeyMask {
    pub tokens: Tensor<2>,
    pub padded: bool,
}

impl KeyMask {
    /// Burn's attention mask (true = key left out) for `q_len` queries: `[batch, 1, q_len, length]`,
    /// whose size-1 head dimension every backend broadcasts without a copy; `None` without padding.
    pub fn attention_mask(&self, q_len: usize) -> Option<Tensor<4, Bool>> {
        if !self.padded {
            return None;
        }
        let [batch, length] = self.tokens.dims();
        Some(self.tokens.clone().equal_elem(0.0).reshape([batch, 1, 1, length]).expand([batch, 1, q_len, length]))
    }
}

/// An encoder's output as the aggregator reads it: the hidden states `[b, n, width]` and the
/// `[b, n]` 1/0 key mask.
#[derive(Clone)]
pub struct ModalityEmbedding {
    pub hidden: Tensor<3>,
    pub mask: KeyMask,
}

/// Softmax attention through Burn's fused op (flex: scale, mask and softmax in one pass, tiled for
/// long sequences; wgpu: flash kernels chosen by autotune). `q`: `[b, h, lq, d]` unscaled (the
/// op's default scale, `1/sqrt(d)`, is the models' own), `k`, `v`: `[b, h, lk, d]`, `mask`:
/// `[b, 1, lq, lk]` → `[b, h, lq, d]`. Heads go in groups within [`MAX_SCORE_ELEMENTS`]; when one
/// head's scores alone exceed it, queries go in blocks (softmax is per query row: the same values).
/// The callers keep `b · lk` within it (`runtime::limits`), so a block of one row always fits.
pub fn attend(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<Tensor<4, Bool>>) -> Tensor<4> {
    let [batch, heads, q_len, _] = q.dims();
    let k_len = k.dims()[2];
    if batch * q_len * k_len > MAX_SCORE_ELEMENTS && q_len > 1 {
        let block = (MAX_SCORE_ELEMENTS / (batch * k_len).max(1)).max(1);
        let blocks = (0..q_len)
            .step_by(block)
            .map(|start| {
                let n = block.min(q_len - start);
                let mask = mask.as_ref().map(|m| m.clone().narrow(2, start, n));
                attend(q.clone().narrow(2, start, n), k.clone(), v.clone(), mask)
            })
            .collect();
        return Tensor::cat(blocks, 2);
    }
    let group = (MAX_SCORE_ELEMENTS / (batch * q_len * k_len).max(1)).clamp(1, heads);
    let fused = |q, k, v| attention(q, k, v, mask.clone(), None, AttentionModuleOptions::default());
    if group == heads {
        return fused(q, k, v);
    }
    let parts = (0..heads)
        .step_by(group)
        .map(|start| {
            let n = group.min(heads - start);
            fused(q.clone().narrow(1, start, n), k.clone().narrow(1, start, n), v.clone().narrow(1, start, n))
        })
        .collect();
    Tensor::cat(parts, 1)
}

/// Multi-head self-attention with biased q/k/v/output projections and optional rotary.
pub struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    heads: usize,
}

impl SelfAttention {
    pub(crate) fn specs(prefix: &str, d: usize) -> Vec<TensorSpec> {
        ["query", "key", "value", "output"]
            .iter()
            .flat_map(|p| linear_specs(&format!("{prefix}.{p}"), d, d, true))
            .collect()
    }

    pub(crate) fn load(src: &mut dyn ParamSource, prefix: &str, d: usize, heads: usize) -> Result<Self> {
        let mut projection = |part: &str| load_linear(src, &format!("{prefix}.{part}"), d, d, true);
        Ok(SelfAttention {
            query: projection("query")?,
            key: projection("key")?,
            value: projection("value")?,
            output: projection("output")?,
            heads,
        })
    }

    /// `x`: `[batch, length, d]`, `mask`: `[batch, 1, length, length]` → `[batch, length, d]`.
    /// ESM scales queries by `head_dim^-0.5` before rotary; rotary is linear, so the fused op's
    /// scaling after it is the same product.
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>, rotary: Option<&RotaryTables>) -> Tensor<3> {
        let [batch, length, d] = x.dims();
        let head_dim = d / self.heads;
        let split = |t: Tensor<3>| t.reshape([batch, length, self.heads, head_dim]).swap_dims(1, 2);
        let mut q = split(self.query.forward(x.clone()));
        let mut k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        if let Some(rotary) = rotary {
            q = rotary.apply(q);
            k = rotary.apply(k);
        }
        let context = attend(q, k, v, mask);
        self.output.forward(context.swap_dims(1, 2).reshape([batch, length, d]))
    }
}

/// Position-wise feed-forward: `fc2(GELU(fc1(x)))` (ESM-2) or the SwiGLU `fc2(SiLU(a) · b)`
/// with `[a | b] = fc1(x)` (NT-v2, InstaDeep `EsmIntermediate`: the first half is gated).
pub struct FeedForward {
    fc1: Linear,
    fc2: Linear,
    kind: FeedForwardKind,
}

impl FeedForward {
    /// Width of fc1's output for an `intermediate` size.
    fn fc1_width(kind: FeedForwardKind, intermediate: usize) -> usize {
        match kind {
            FeedForwardKind::Gelu => intermediate,
            FeedForwardKind::SwiGlu => 2 * intermediate,
        }
    }

    /// `x`: `[batch, length, d]` → `[batch, length, d]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = self.fc1.forward(x);
        match self.kind {
            FeedForwardKind::Gelu => self.fc2.forward(gelu(h)),
            FeedForwardKind::SwiGlu => self.fc2.forward(swiglu(h)),
        }
    }
}

/// Pre-LayerNorm transformer layer: `h = x + Attn(LN(x)); out = h + FFN(LN(h))`.
pub struct EncoderLayer {
    attention_norm: LayerNorm,
    attention: SelfAttention,
    ffn_norm: LayerNorm,
    ffn: FeedForward,
}

/// Sizes of one encoder layer.
#[derive(Debug, Clone, Copy)]
pub struct LayerShape {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub eps: f64,
    pub feed_forward: FeedForwardKind,
    pub ffn_bias: bool,
}

impl EncoderLayer {
    pub(crate) fn specs(prefix: &str, shape: LayerShape) -> Vec<TensorSpec> {
        let d = shape.hidden;
        let mut specs = layer_norm_specs(&format!("{prefix}.attention_norm"), d);
        specs.extend(SelfAttention::specs(&format!("{prefix}.attention"), d));
        specs.extend(layer_norm_specs(&format!("{prefix}.ffn_norm"), d));
        let fc1 = FeedForward::fc1_width(shape.feed_forward, shape.intermediate);
        specs.extend(linear_specs(&format!("{prefix}.ffn.fc1"), d, fc1, shape.ffn_bias));
        specs.extend(linear_specs(&format!("{prefix}.ffn.fc2"), shape.intermediate, d, shape.ffn_bias));
        specs
    }

    pub(crate) fn load(src: &mut dyn ParamSource, prefix: &str, shape: LayerShape) -> Result<Self> {
        let d = shape.hidden;
        let fc1 = FeedForward::fc1_width(shape.feed_forward, shape.intermediate);
        Ok(EncoderLayer {
            attention_norm: load_layer_norm(src, &format!("{prefix}.attention_norm"), d, shape.eps)?,
            attention: SelfAttention::load(src, &format!("{prefix}.attention"), d, shape.heads)?,
            ffn_norm: load_layer_norm(src, &format!("{prefix}.ffn_norm"), d, shape.eps)?,
            ffn: FeedForward {
                fc1: load_linear(src, &format!("{prefix}.ffn.fc1"), d, fc1, shape.ffn_bias)?,
                fc2: load_linear(src, &format!("{prefix}.ffn.fc2"), shape.intermediate, d, shape.ffn_bias)?,
                kind: shape.feed_forward,
            },
        })
    }

    /// `x`: `[batch, length, d]`, `mask`: `[batch, 1, length, length]` → `[batch, length, d]`.
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>, rotary: Option<&RotaryTables>) -> Tensor<3> {
        let h = x.clone() + self.attention.forward(self.attention_norm.forward(x), mask, rotary);
        h.clone() + self.ffn.forward(self.ffn_norm.forward(h))
    }
}

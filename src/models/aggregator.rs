//! IsoFormer's aggregation and tissue head: the DNA embeddings attend to the RNA and then to the
//! protein embeddings, are pooled over bins, and a two-layer head gives one value per tissue.
//!
//! **The released forward pass (`modeling_isoformer.py`) has not been read** (see
//! docs/isoformer-architecture.md §5). What is confirmed: the DNA embeddings are the
//! queries (`final_dna_embeddings`), the cross-attention modules are `cross_attention_layer_rna`
//! and `cross_attention_layer_protein` with 8 heads (`num_heads_omics_cross_attention`), key and
//! value projections take each modality's own width. Every other choice is an assumption, made
//! configurable in one place, [`AggregatorConfig`] (src/config.rs, beside every model's configuration):
//!
//! 1. Each cross-attention has query, key, value and output projections, all with bias, the query
//!    and output keeping the DNA width; scores are scaled by `1/sqrt(head_dim)`; padding keys masked.
//! 2. The residual sits outside: `dna ← dna + attention(dna, other)`; no normalisation.
//! 3. A missing modality skips its term (the paper's "zeroing the cross-attention term").
//! 4. Pooling is the mean over all bins (`pool_window: null`), or over the bins
//!    `[centre + start, centre + end)` when `pool_window` is `[start, end]` — one reading of
//!    Isoformer's `pool_window_start` / `pool_window_end`.
//! 5. The head is `fc2(activation(fc1(pooled)))`, hidden width `head_hidden` (6,144 = 2 × 3,072 fits
//!    the checkpoint's size), activation `relu` by default.
//! 6. The keys are every token the encoders return, `<cls>` (RNA, protein) and `<eos>` (protein)
//!    included (`special_token_keys: true`); `false` leaves them out (on the tiny fixture that moves
//!    the 30 values by 7.7e-3 of their largest; tests/isoformer.rs checks both readings).
//! 7. The embeddings are each encoder's last hidden state after its final layer norm
//!    (`emb_layer_norm_after`), transformers' `last_hidden_state`; not configurable.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use crate::config::AggregatorConfig;
use crate::error::{Error, Result};
use crate::models::activation::gelu;
use crate::models::linear::Linear;
use crate::models::nn::{self, KeyMask, ModalityEmbedding, TensorSpec, attend};
use crate::weights::params::ParamSource;

/// Multi-head attention of one sequence's queries over another modality's keys and values.
struct CrossAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    heads: usize,
}

impl CrossAttention {
    fn specs(name: &str, q_dim: usize, kv_dim: usize) -> Vec<TensorSpec> {
        let mut specs = nn::linear_specs(&format!("{name}.query"), q_dim, q_dim, true);
        specs.extend(nn::linear_specs(&format!("{name}.key"), kv_dim, q_dim, true));
        specs.extend(nn::linear_specs(&format!("{name}.value"), kv_dim, q_dim, true));
        specs.extend(nn::linear_specs(&format!("{name}.output"), q_dim, q_dim, true));
        specs
    }

    fn load(src: &mut dyn ParamSource, name: &str, q_dim: usize, kv_dim: usize, heads: usize) -> Result<Self> {
        let mut linear = |part: &str, d_in| nn::load_linear(src, &format!("{name}.{part}"), d_in, q_dim, true);
        Ok(CrossAttention {
            query: linear("query", q_dim)?,
            key: linear("key", kv_dim)?,
            value: linear("value", kv_dim)?,
            output: linear("output", q_dim)?,
            heads,
        })
    }

    /// `x`: `[b, nq, dq]`, `kv`: `[b, nk, dkv]`, `kv_mask`: `[b, nk]` (1 = token) → `[b, nq, dq]`.
    /// Scores are scaled by `1/sqrt(head_dim)`, the fused op's default.
    fn forward(&self, x: Tensor<3>, kv: Tensor<3>, kv_mask: &KeyMask) -> Tensor<3> {
        let [batch, nq, dq] = x.dims();
        let nk = kv.dims()[1];
        let head_dim = dq / self.heads;
        let split = |t: Tensor<3>, n: usize| t.reshape([batch, n, self.heads, head_dim]).swap_dims(1, 2);
        let q = split(self.query.forward(x), nq);
        let k = split(self.key.forward(kv.clone()), nk);
        let v = split(self.value.forward(kv), nk);
        let context = attend(q, k, v, kv_mask.attention_mask(nq));
        self.output.forward(context.swap_dims(1, 2).reshape([batch, nq, dq]))
    }
}

/// `mask` (`[b, n]`, 1 = token) without `<cls>` (position 0) and, with `eos`, without each row's
/// last token (`<eos>`: a token whose successor is padding or the end).
fn without_special_tokens(mask: KeyMask, eos: bool) -> KeyMask {
    let [batch, length] = mask.tokens.dims();
    let mut tokens = mask.tokens;
    if eos && length > 1 {
        let next = Tensor::cat(vec![tokens.clone().narrow(1, 1, length - 1), tokens.zeros_like().narrow(1, 0, 1)], 1);
        tokens = tokens * next;
    }
    KeyMask { tokens: tokens.slice_fill([0..batch, 0..1], 0.0), padded: true }
}

/// The cross-attention aggregation and the tissue head.
pub struct Aggregator {
    config: AggregatorConfig,
    rna_attention: CrossAttention,
    protein_attention: CrossAttention,
    fc1: Linear,
    fc2: Linear,
}

impl Aggregator {
    pub fn tensor_specs(config: &AggregatorConfig) -> Vec<TensorSpec> {
        let mut specs = CrossAttention::specs("rna_attention", config.dna_dim, config.rna_dim);
        specs.extend(CrossAttention::specs("protein_attention", config.dna_dim, config.protein_dim));
        specs.extend(nn::linear_specs("head.fc1", config.dna_dim, config.head_hidden, true));
        specs.extend(nn::linear_specs("head.fc2", config.head_hidden, config.tissues, true));
        specs
    }

    pub fn load(config: &AggregatorConfig, src: &mut dyn ParamSource) -> Result<Self> {
        config.validate()?;
        let (d, h) = (config.dna_dim, config.heads);
        Ok(Aggregator {
            config: config.clone(),
            rna_attention: CrossAttention::load(src, "rna_attention", d, config.rna_dim, h)?,
            protein_attention: CrossAttention::load(src, "protein_attention", d, config.protein_dim, h)?,
            fc1: nn::load_linear(src, "head.fc1", d, config.head_hidden, true)?,
            fc2: nn::load_linear(src, "head.fc2", config.head_hidden, config.tissues, true)?,
        })
    }

    pub fn config(&self) -> &AggregatorConfig {
        &self.config
    }

    /// `dna`: `[b, bins, dna_dim]` → (`[b, tissues]` values, `[b, bins, dna_dim]` final DNA embeddings).
    pub fn forward(
        &self,
        dna: Tensor<3>,
        rna: Option<ModalityEmbedding>,
        protein: Option<ModalityEmbedding>,
    ) -> Result<(Tensor<2>, Tensor<3>)> {
        let [batch, bins, width] = dna.dims();
        for (what, embedding, expected) in
            [("RNA", &rna, self.config.rna_dim), ("protein", &protein, self.config.protein_dim)]
        {
            if let Some(e) = embedding
                && e.hidden.dims()[2] != expected
            {
                return Err(Error::InvalidArgument(format!(
                    "{what} embeddings are {} wide; the aggregator expects {expected}",
                    e.hidden.dims()[2]
                )));
            }
        }
        let mut x = dna;
        if let Some(rna) = rna {
            let mask = if self.config.special_token_keys { rna.mask } else { without_special_tokens(rna.mask, false) };
            x = x.clone() + self.rna_attention.forward(x, rna.hidden, &mask);
        }
        if let Some(protein) = protein {
            let mask =
                if self.config.special_token_keys { protein.mask } else { without_special_tokens(protein.mask, true) };
            x = x.clone() + self.protein_attention.forward(x, protein.hidden, &mask);
        }
        let pooled = match self.config.pool_window {
            None => x.clone().mean_dim(1),
            Some((start, end)) => {
                let centre = (bins / 2) as i64;
                let (first, last) = (centre + start, centre + end);
                if first < 0 || last > bins as i64 {
                    return Err(Error::Config(format!("pool_window [{start}, {end}) leaves the {bins} bins")));
                }
                x.clone().narrow(1, first as usize, (last - first) as usize).mean_dim(1)
            }
        }
        .reshape([batch, width]);
        let hidden = self.fc1.forward(pooled);
        let hidden = if self.config.head_activation == "gelu" { gelu(hidden) } else { relu(hidden) };
        Ok((self.fc2.forward(hidden), x))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn special_tokens_leave_the_keys_row_by_row_padding_included() {
        let device = crate::runtime::backend::init_native(crate::runtime::backend::BackendKind::Cpu).unwrap().device;
        let rows = |values: Vec<f32>| Tensor::<2>::from_data(TensorData::new(values, [2, 5]), &device);
        let mask = KeyMask { tokens: rows(vec![1., 1., 1., 1., 0., 1., 1., 1., 1., 1.]), padded: true };
        let protein = without_special_tokens(KeyMask { tokens: mask.tokens.clone(), padded: true }, true);
        assert_eq!(
            protein.tokens.into_data().try_into_vec::<f32>().unwrap(),
            vec![0., 1., 1., 0., 0., 0., 1., 1., 1., 0.]
        );
        let rna = without_special_tokens(KeyMask { tokens: mask.tokens.slice([1..2, 0..5]), padded: false }, false);
        assert!(rna.padded, "the attention must now mask");
        assert_eq!(rna.tokens.into_data().try_into_vec::<f32>().unwrap(), vec![0., 1., 1., 1., 1.]);
    }
}

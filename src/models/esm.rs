//! The ESM-family encoder with its optional masked-LM head: ESM-2 for proteins (every published
//! size) and, with the SwiGLU feed-forward, Nucleotide Transformer v2 for RNA (its sizes are in
//! `nucleotide.rs`). One implementation; [`EsmFamily`] picks the feed-forward and the vocabulary.
//!
//! Upstream: transformers `models/esm/modeling_esm.py` (`EsmForMaskedLM`): token embeddings with
//! token-dropout rescaling (when the config enables it), pre-LayerNorm rotary encoder layers,
//! `emb_layer_norm_after`; InstaDeep's NT-v2 copy of it differs only in the feed-forward.

use burn::nn::{Embedding, LayerNorm};
use burn::tensor::{Int, Tensor};

use crate::config::{EsmConfig, EsmFamily};
use crate::error::Result;
use crate::models::activation::gelu;
use crate::models::linear::Linear;
use crate::models::nn::{self, EncoderLayer, KeyMask, LayerShape, TensorSpec};
use crate::models::rotary::{ROTARY_INV_FREQ, Rotary};
use crate::weights::params::ParamSource;

/// Fraction of tokens ESM-2 masked in training (15 %, of which 80 % became `<mask>`); the
/// embeddings are rescaled by `(1 − 0.12) / (1 − observed mask ratio)` at inference.
const TOKEN_DROPOUT_TRAIN_RATIO: f64 = 0.15 * 0.8;

pub struct Esm {
    config: EsmConfig,
    family: EsmFamily,
    embeddings: Embedding,
    embedding_norm: Option<LayerNorm>,
    rotary: Rotary,
    layers: Vec<EncoderLayer>,
    final_norm: LayerNorm,
    lm_head: Option<LmHead>,
}

/// `dense → GELU → LayerNorm → decoder (+ bias)`, giving logits over the vocabulary.
struct LmHead {
    dense: Linear,
    layer_norm: LayerNorm,
    decoder: Linear,
}

const LM_HEAD_DECODER: &str = "lm_head.decoder.weight";

impl Esm {
    fn layer_shape(config: &EsmConfig, family: EsmFamily) -> LayerShape {
        LayerShape {
            hidden: config.hidden_size,
            heads: config.num_attention_heads,
            intermediate: config.intermediate_size,
            eps: config.layer_norm_eps,
            feed_forward: family.feed_forward(),
            ffn_bias: config.add_bias_fnn,
        }
    }

    /// Every tensor of the weight directory, in storage order; `lm_head` adds the masked-LM head.
    pub fn tensor_specs(config: &EsmConfig, family: EsmFamily, lm_head: bool) -> Vec<TensorSpec> {
        let d = config.hidden_size;
        let mut specs = vec![nn::spec("embeddings.weight", &[config.vocab_size, d])];
        if config.emb_layer_norm_before {
            specs.extend(nn::layer_norm_specs("embedding_norm", d));
        }
        specs.push(nn::spec(ROTARY_INV_FREQ, &[config.head_dim() / 2]));
        for i in 0..config.num_hidden_layers {
            specs.extend(EncoderLayer::specs(&format!("layers.{i}"), Self::layer_shape(config, family)));
        }
        specs.extend(nn::layer_norm_specs("final_norm", d));
        if lm_head {
            specs.extend(nn::linear_specs("lm_head.dense", d, d, true));
            specs.extend(nn::layer_norm_specs("lm_head.layer_norm", d));
            specs.extend(nn::linear_specs("lm_head.decoder", d, config.vocab_size, true));
        }
        specs
    }

    /// Builds the encoder from uploaded weights; the masked-LM head is loaded when present.
    pub fn load(config: &EsmConfig, family: EsmFamily, src: &mut dyn ParamSource) -> Result<Self> {
        config.validate(family)?;
        let d = config.hidden_size;
        let eps = config.layer_norm_eps;
        let embeddings = nn::load_embedding(src, "embeddings", config.vocab_size, d)?;
        let embedding_norm =
            if config.emb_layer_norm_before { Some(nn::load_layer_norm(src, "embedding_norm", d, eps)?) } else { None };
        let rotary = Rotary::load(src, config.head_dim())?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| EncoderLayer::load(src, &format!("layers.{i}"), Self::layer_shape(config, family)))
            .collect::<Result<Vec<_>>>()?;
        let final_norm = nn::load_layer_norm(src, "final_norm", d, eps)?;
        let lm_head = if src.contains(LM_HEAD_DECODER) {
            Some(LmHead {
                dense: nn::load_linear(src, "lm_head.dense", d, d, true)?,
                layer_norm: nn::load_layer_norm(src, "lm_head.layer_norm", d, eps)?,
                decoder: nn::load_linear(src, "lm_head.decoder", d, config.vocab_size, true)?,
            })
        } else {
            None
        };
        Ok(Esm { config: config.clone(), family, embeddings, embedding_norm, rotary, layers, final_norm, lm_head })
    }

    pub fn config(&self) -> &EsmConfig {
        &self.config
    }

    pub fn family(&self) -> EsmFamily {
        self.family
    }

    pub fn has_lm_head(&self) -> bool {
        self.lm_head.is_some()
    }

    /// `ids`: `[batch, length]`, `mask`: `[batch, length]` (1 = token, 0 = padding)
    /// → last hidden state `[batch, length, hidden]` (after `emb_layer_norm_after`).
    pub fn forward(&self, ids: Tensor<2, Int>, mask: &KeyMask) -> Tensor<3> {
        let last = self.layers.len();
        self.hidden_states(ids, mask, &[last]).pop().unwrap_or_else(|| unreachable!("one layer asked, one returned"))
    }

    /// transformers' `output_hidden_states` at the indices `layers` (each `0..=num_hidden_layers`:
    /// 0 the embeddings, `i` the output of layer `i`, the last after `emb_layer_norm_after`, i.e.
    /// the last hidden state), each `[batch, length, hidden]`, in the order asked. Layers past the
    /// deepest one asked are not run. `ids`, `mask`: `[batch, length]`.
    pub fn hidden_states(&self, ids: Tensor<2, Int>, mask: &KeyMask, layers: &[usize]) -> Vec<Tensor<3>> {
        let tokens = mask.tokens.clone();
        let [batch, length] = ids.dims();
        let hidden = self.config.hidden_size;
        let mut x = self.embeddings.forward(ids.clone());
        if self.config.token_dropout {
            // `<mask>` embeddings are zeroed, the rest rescaled by the observed mask ratio.
            let is_mask = ids.equal_elem(self.config.mask_token_id as i64);
            let observed = is_mask.clone().float().sum_dim(1).div(tokens.clone().sum_dim(1)); // [batch, 1]
            let scale = observed.neg().add_scalar(1.0).recip().reshape([batch, 1, 1]);
            x = x.mask_fill(is_mask.reshape([batch, length, 1]).expand([batch, length, hidden]), 0.0);
            x = x.mul_scalar(1.0 - TOKEN_DROPOUT_TRAIN_RATIO) * scale;
        }
        if let Some(norm) = &self.embedding_norm {
            x = norm.forward(x);
        }
        if mask.padded {
            x = x * tokens.reshape([batch, length, 1]);
        }
        let last = self.layers.len();
        let deepest = layers.iter().copied().max().unwrap_or(0).min(last);
        // states[i]: hidden_states[i] when asked for (layer outputs before the last, unnormed).
        let mut states: Vec<Option<Tensor<3>>> = vec![None; last + 1];
        if layers.contains(&0) {
            states[0] = Some(x.clone());
        }
        let attention_mask = mask.attention_mask(length);
        let rotary = self.rotary.tables(length, &x.device());
        for (i, layer) in self.layers.iter().enumerate().take(deepest) {
            x = layer.forward(x, attention_mask.clone(), Some(&rotary));
            if i + 1 < last && layers.contains(&(i + 1)) {
                states[i + 1] = Some(x.clone());
            }
        }
        if deepest == last {
            states[last] = Some(self.final_norm.forward(x));
        }
        layers.iter().filter_map(|&index| states.get(index).cloned().flatten()).collect()
    }

    /// Masked-LM logits from the last hidden state: `[batch, length, hidden]` → `[batch, length, vocab]`;
    /// `None` when the weights have no LM head.
    pub fn logits(&self, hidden: Tensor<3>) -> Option<Tensor<3>> {
        let head = self.lm_head.as_ref()?;
        Some(head.decoder.forward(head.layer_norm.forward(gelu(head.dense.forward(hidden)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EsmSize;
    use crate::models::nn::parameter_count as values;

    /// Parameter counts of ESM-2 150M as published (docs/isoformer-architecture.md §3).
    #[test]
    fn published_150m_has_the_published_parameter_count() {
        let config = EsmConfig::published(EsmSize::M150);
        assert_eq!(values(&Esm::tensor_specs(&config, EsmFamily::Esm2, false)), 147_728_000);
        assert_eq!(values(&Esm::tensor_specs(&config, EsmFamily::Esm2, true)) - 147_728_000, 432_673);
    }

    #[test]
    fn every_published_size_is_a_valid_configuration() {
        for size in EsmSize::ALL {
            let config = EsmConfig::published(size);
            config.validate(EsmFamily::Esm2).unwrap();
            assert_eq!(config.head_dim() % 2, 0, "{size:?}");
            assert_eq!(EsmSize::parse(size.hub_id().rsplit('/').next().unwrap()), Some(size));
        }
    }

    /// The published config.json files of 8M and 35M read to the same configurations.
    #[test]
    fn published_config_files_match() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/data/esm2_hf_configs");
        for (dir, size) in [("esm2_t6_8M_UR50D", EsmSize::M8), ("esm2_t12_35M_UR50D", EsmSize::M35)] {
            let text = std::fs::read_to_string(format!("{root}/{dir}/config.json")).expect("data/esm2_hf_configs");
            assert_eq!(EsmConfig::from_json(&text, EsmFamily::Esm2).unwrap(), EsmConfig::published(size), "{dir}");
        }
    }
}

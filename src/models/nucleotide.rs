//! Nucleotide Transformer v2, IsoFormer's RNA encoder: an ESM-family encoder ([`crate::models::esm::Esm`]
//! with [`EsmFamily::NucleotideTransformer`]) whose feed-forward is a bias-free SwiGLU, read with
//! the 6-mer tokenizer ([`crate::tokenize::NucleotideTokenizer`]). This module holds its published
//! configurations.
//!
//! Upstream: InstaDeep's `modeling_esm.py` / `esm_config.py` on the Hugging Face hub
//! (`InstaDeepAI/nucleotide-transformer-v2-*-multi-species`), and Isoformer's copy of it.

use crate::config::EsmConfig;

/// The published NT-v2 multi-species sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtSize {
    M50,
    M100,
    M250,
    M500,
}

impl NtSize {
    pub const ALL: [NtSize; 4] = [NtSize::M50, NtSize::M100, NtSize::M250, NtSize::M500];

    pub fn hub_id(self) -> &'static str {
        match self {
            NtSize::M50 => "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species",
            NtSize::M100 => "InstaDeepAI/nucleotide-transformer-v2-100m-multi-species",
            NtSize::M250 => "InstaDeepAI/nucleotide-transformer-v2-250m-multi-species",
            NtSize::M500 => "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "50m" => Some(NtSize::M50),
            "100m" => Some(NtSize::M100),
            "250m" => Some(NtSize::M250),
            "500m" => Some(NtSize::M500),
            _ => None,
        }
    }
}

/// NT-v2's `config.json` values with the given sizes (every other field is the same in the
/// published multi-species files: 4,107 tokens, rotary, eps 1e-12, no token dropout, no FFN bias,
/// an untied LM decoder, 2,050 position slots that rotary leaves unused).
fn nt_config(hidden: usize, layers: usize, heads: usize, intermediate: usize) -> EsmConfig {
    EsmConfig {
        vocab_size: crate::tokenize::NUCLEOTIDE_VOCAB_SIZE,
        hidden_size: hidden,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        intermediate_size: intermediate,
        max_position_embeddings: 2050,
        layer_norm_eps: 1e-12,
        position_embedding_type: "rotary".into(),
        token_dropout: false,
        emb_layer_norm_before: false,
        mask_token_id: crate::tokenize::NUCLEOTIDE_MASK as usize,
        pad_token_id: crate::tokenize::NUCLEOTIDE_PAD as usize,
        hidden_act: "gelu".into(),
        tie_word_embeddings: false,
        add_bias_fnn: false,
    }
}

/// The configuration of a published NT-v2 multi-species checkpoint.
pub fn published(size: NtSize) -> EsmConfig {
    match size {
        NtSize::M50 => nt_config(512, 12, 16, 2048),
        NtSize::M100 => nt_config(512, 22, 16, 2048),
        NtSize::M250 => nt_config(768, 24, 16, 3072),
        NtSize::M500 => nt_config(1024, 29, 16, 4096),
    }
}

/// IsoFormer's RNA encoder: hidden 768, intermediate 3072, 24 layers, 16 heads — the NT-v2 250M
/// shape. Only the hidden size is confirmed from Isoformer's `config.json`; layers and heads are
/// inferred from the checkpoint size (docs/isoformer-architecture.md §3), so each is
/// an ordinary config field that a real `config.json` overrides.
pub fn isoformer_rna() -> EsmConfig {
    nt_config(768, 24, 16, 3072)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EsmFamily;
    use crate::models::esm::Esm;
    use crate::models::nn::parameter_count;

    /// NT-v2 250M in Hugging Face layout: encoder 229,795,584 values (9,443,328 per layer), LM head
    /// 3,750,411 (docs/isoformer-architecture.md §3).
    #[test]
    fn isoformer_rna_encoder_has_the_published_parameter_count() {
        let config = isoformer_rna();
        let family = EsmFamily::NucleotideTransformer;
        let encoder = parameter_count(&Esm::tensor_specs(&config, family, false));
        assert_eq!(encoder, 229_795_584);
        assert_eq!(parameter_count(&Esm::tensor_specs(&config, family, true)) - encoder, 3_750_411);
        assert_eq!(config, published(NtSize::M250));
    }

    /// The hub lists "55.9M" for 50m: encoder + LM head + the unused 2,050 × 512 position table.
    #[test]
    fn published_50m_matches_the_hub_count() {
        let config = published(NtSize::M50);
        let with_head = parameter_count(&Esm::tensor_specs(&config, EsmFamily::NucleotideTransformer, true));
        assert_eq!(((with_head + 2050 * 512) as f64 / 1e5).round(), 559.0);
    }

    #[test]
    fn every_published_size_is_valid() {
        for size in NtSize::ALL {
            published(size).validate(EsmFamily::NucleotideTransformer).unwrap();
            assert_eq!(NtSize::parse(size.hub_id().split('-').nth(3).unwrap()), Some(size), "{size:?}");
        }
    }

    /// An NT-v2 config.json (the fixture's copy of the 50M fields, as transformers writes them).
    #[test]
    fn published_config_file_reads_to_the_preset() {
        let text = include_str!("../../tests/fixtures/nt/nt_50M_config.json");
        let config = EsmConfig::from_json(text, EsmFamily::NucleotideTransformer).unwrap();
        assert_eq!(config, published(NtSize::M50));
        assert!(EsmConfig::from_json(text, EsmFamily::Esm2).is_err(), "an NT config is not an ESM-2 config");
    }
}

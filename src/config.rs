//! Model configurations, read from the upstream `config.json` files with their own field names.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Modality, Result};

/// An ESM-family configuration: the field names of Hugging Face's `EsmConfig` (`config.json`), which
/// ESM-2 and Nucleotide Transformer v2 (InstaDeep's `esm_config.EsmConfig`, adding `add_bias_fnn`)
/// share. Fields that inference does not use (dropouts, initializer range) are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsmConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
    #[serde(default)]
    pub token_dropout: bool,
    #[serde(default)]
    pub emb_layer_norm_before: bool,
    #[serde(default = "default_mask_token_id")]
    pub mask_token_id: usize,
    #[serde(default = "default_pad_token_id")]
    pub pad_token_id: usize,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// When true (transformers' default) the LM decoder shares the word-embedding matrix.
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    /// Whether the feed-forward Linears have biases (NT-v2: false; absent in ESM-2 files, which
    /// always have them).
    #[serde(default = "default_true")]
    pub add_bias_fnn: bool,
}

/// Which network an ESM-family `config.json` describes; the weight directory's `model` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsmFamily {
    /// ESM-2: GELU feed-forward with biases, the 33-token protein alphabet.
    Esm2,
    /// Nucleotide Transformer v2: SwiGLU feed-forward (biases per `add_bias_fnn`), the 4,107-token
    /// 6-mer vocabulary.
    NucleotideTransformer,
}

impl EsmFamily {
    /// `model` in a weight directory's manifest.
    pub fn model_name(self) -> &'static str {
        match self {
            EsmFamily::Esm2 => "esm2",
            EsmFamily::NucleotideTransformer => "nt",
        }
    }

    pub fn from_model_name(name: &str) -> Option<Self> {
        [EsmFamily::Esm2, EsmFamily::NucleotideTransformer].into_iter().find(|f| f.model_name() == name)
    }

    pub fn modality(self) -> Modality {
        match self {
            EsmFamily::Esm2 => Modality::Protein,
            EsmFamily::NucleotideTransformer => Modality::Rna,
        }
    }

    pub fn vocab_size(self) -> usize {
        match self {
            EsmFamily::Esm2 => crate::tokenize::PROTEIN_VOCAB.len(),
            EsmFamily::NucleotideTransformer => crate::tokenize::NUCLEOTIDE_VOCAB_SIZE,
        }
    }

    /// The feed-forward block of this family's layers.
    pub fn feed_forward(self) -> FeedForwardKind {
        match self {
            EsmFamily::Esm2 => FeedForwardKind::Gelu,
            EsmFamily::NucleotideTransformer => FeedForwardKind::SwiGlu,
        }
    }
}

/// The position-wise feed-forward of an encoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedForwardKind {
    /// `fc2(GELU(fc1(x)))`, fc1: hidden → intermediate (ESM-2).
    Gelu,
    /// `fc2(SiLU(a) · b)` with `[a | b] = fc1(x)`, fc1: hidden → 2 × intermediate (NT-v2).
    SwiGlu,
}

fn default_true() -> bool {
    true
}

fn default_max_position_embeddings() -> usize {
    1026
}
// transformers' EsmConfig default; the facebook/esm2_* config files set 1e-5 explicitly.
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_position_embedding_type() -> String {
    "absolute".into()
}
fn default_mask_token_id() -> usize {
    32
}
fn default_pad_token_id() -> usize {
    1
}
fn default_hidden_act() -> String {
    "gelu".into()
}

/// The published ESM-2 sizes (facebook/esm2_*_UR50D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsmSize {
    M8,
    M35,
    M150,
    M650,
}

impl EsmSize {
    pub const ALL: [EsmSize; 4] = [EsmSize::M8, EsmSize::M35, EsmSize::M150, EsmSize::M650];

    /// Hugging Face model id of this size.
    pub fn hub_id(self) -> &'static str {
        match self {
            EsmSize::M8 => "facebook/esm2_t6_8M_UR50D",
            EsmSize::M35 => "facebook/esm2_t12_35M_UR50D",
            EsmSize::M150 => "facebook/esm2_t30_150M_UR50D",
            EsmSize::M650 => "facebook/esm2_t33_650M_UR50D",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "8m" | "esm2_t6_8m_ur50d" => Some(EsmSize::M8),
            "35m" | "esm2_t12_35m_ur50d" => Some(EsmSize::M35),
            "150m" | "esm2_t30_150m_ur50d" => Some(EsmSize::M150),
            "650m" | "esm2_t33_650m_ur50d" => Some(EsmSize::M650),
            _ => None,
        }
    }
}

impl EsmConfig {
    /// The configuration of a published ESM-2 checkpoint (values of its `config.json`).
    pub fn published(size: EsmSize) -> Self {
        let (layers, hidden, heads) = match size {
            EsmSize::M8 => (6, 320, 20),
            EsmSize::M35 => (12, 480, 20),
            EsmSize::M150 => (30, 640, 20),
            EsmSize::M650 => (33, 1280, 20),
        };
        EsmConfig {
            vocab_size: 33,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: 4 * hidden,
            max_position_embeddings: 1026,
            layer_norm_eps: 1e-5,
            position_embedding_type: "rotary".into(),
            token_dropout: true,
            emb_layer_norm_before: false,
            mask_token_id: 32,
            pad_token_id: 1,
            hidden_act: "gelu".into(),
            tie_word_embeddings: true,
            add_bias_fnn: true,
        }
    }

    /// IsoFormer's protein encoder: ESM-2 150M as Isoformer builds it from its `esm_*` fields —
    /// the decoder untied (`esm_tie_word_embeddings=false`) and, since config.json has no
    /// `esm_layer_norm_eps`, transformers' default 1e-12 (docs/isoformer-architecture.md §3).
    pub fn isoformer_protein() -> Self {
        EsmConfig { tie_word_embeddings: false, layer_norm_eps: 1e-12, ..EsmConfig::published(EsmSize::M150) }
    }

    pub fn from_json(text: &str, family: EsmFamily) -> Result<Self> {
        let config: EsmConfig = serde_json::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate(family)?;
        Ok(config)
    }

    /// Rejects configurations this implementation does not run, rather than running them wrongly.
    /// (`hidden_act` is not checked: both upstream implementations hard-code the erf GELU.)
    pub fn validate(&self, family: EsmFamily) -> Result<()> {
        if self.position_embedding_type != "rotary" {
            return Err(Error::Config(format!(
                "position_embedding_type {:?} is not supported (ESM-2 and NT-v2 use \"rotary\")",
                self.position_embedding_type
            )));
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::Config(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if !(self.hidden_size / self.num_attention_heads).is_multiple_of(2) {
            return Err(Error::Config("rotary embeddings need an even attention head size".into()));
        }
        if self.vocab_size != family.vocab_size() {
            return Err(Error::Config(format!(
                "vocab_size {} differs from the {} vocabulary of {} tokens",
                self.vocab_size,
                family.model_name(),
                family.vocab_size()
            )));
        }
        if family == EsmFamily::Esm2 && !self.add_bias_fnn {
            return Err(Error::Config("ESM-2 feed-forward layers always have biases (add_bias_fnn is false)".into()));
        }
        if self.max_position_embeddings < 3 || self.intermediate_size == 0 || self.num_hidden_layers == 0 {
            return Err(Error::Config(
                "max_position_embeddings, intermediate_size and num_hidden_layers must be positive".into(),
            ));
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Protein residues that fit in the trained context: `max_position_embeddings` minus `<cls>` and `<eos>`.
    pub fn max_residues(&self) -> usize {
        self.max_position_embeddings - 2
    }
}

/// Enformer configuration: the field names of enformer-pytorch's `EnformerConfig` (its
/// `config.json`, and Isoformer's `enformer_*` fields without the prefix). Dropouts are accepted and
/// ignored (inference).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnformerConfig {
    #[serde(default = "default_enformer_dim")]
    pub dim: usize,
    #[serde(default = "default_enformer_depth")]
    pub depth: usize,
    #[serde(default = "default_enformer_heads")]
    pub heads: usize,
    #[serde(default = "default_enformer_attn_dim_key")]
    pub attn_dim_key: usize,
    #[serde(default = "default_enformer_num_downsamples")]
    pub num_downsamples: usize,
    #[serde(default = "default_enformer_dim_divisible_by")]
    pub dim_divisible_by: usize,
    #[serde(default = "default_enformer_target_length")]
    pub target_length: usize,
    /// Track heads (`human`: 5,313, `mouse`: 1,643 in the published model). Which heads are loaded
    /// is decided by the weights; these sizes only check them. The published IsoFormer
    /// `config.json` writes the integer `0` here (`enformer_output_heads: 0`): read as no heads.
    #[serde(default, deserialize_with = "output_heads_map_or_zero")]
    pub output_heads: std::collections::BTreeMap<String, usize>,
    /// `true` swaps in TensorFlow's precomputed gamma features; only `false` (enformer-pytorch's
    /// own computation, IsoFormer's setting) is implemented.
    #[serde(default)]
    pub use_tf_gamma: bool,
}

/// `output_heads` as enformer-pytorch writes it (a map of head name → tracks), or as IsoFormer's
/// published `config.json` writes it (`0`, or `null`): no heads. Any other number is an error, since
/// it names no head.
fn output_heads_map_or_zero<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<std::collections::BTreeMap<String, usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Heads {
        Map(std::collections::BTreeMap<String, usize>),
        Count(u64),
        Null(()),
    }
    match Heads::deserialize(deserializer) {
        Ok(Heads::Map(heads)) => Ok(heads),
        Ok(Heads::Count(0) | Heads::Null(())) => Ok(Default::default()),
        Ok(Heads::Count(n)) => Err(serde::de::Error::custom(format!(
            "output_heads: {n} is a number; expected a map of head name to tracks (e.g. {{\"human\": 5313}}), or 0 for no heads"
        ))),
        Err(_) => {
            Err(serde::de::Error::custom("output_heads: expected a map of head name to tracks, or 0 for no heads"))
        }
    }
}

fn default_enformer_dim() -> usize {
    1536
}
fn default_enformer_depth() -> usize {
    11
}
fn default_enformer_heads() -> usize {
    8
}
fn default_enformer_attn_dim_key() -> usize {
    64
}
fn default_enformer_num_downsamples() -> usize {
    7
}
fn default_enformer_dim_divisible_by() -> usize {
    128
}
fn default_enformer_target_length() -> usize {
    896
}

/// Input length of the published Enformer and of IsoFormer's DNA input, in base pairs.
pub const ENFORMER_SEQUENCE_LENGTH: usize = 196_608;

impl EnformerConfig {
    /// The published trunk as IsoFormer configures it (dim 1536, 11 layers, 8 heads; no heads).
    pub fn published() -> Self {
        serde_json::from_str("{}").unwrap_or_else(|_| unreachable!("every field has a default"))
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let config: EnformerConfig = serde_json::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        if self.use_tf_gamma {
            return Err(Error::Config(
                "use_tf_gamma: true (TensorFlow's precomputed gamma features) is not supported".into(),
            ));
        }
        let fail = |what: &str| Err(Error::Config(format!("Enformer config: {what}")));
        if self.dim == 0 || !self.dim.is_multiple_of(2) || self.heads == 0 || !self.dim.is_multiple_of(self.heads) {
            return fail("dim must be even and divisible by heads");
        }
        if !self.relative_features().is_multiple_of(6) {
            return fail("dim / heads (the relative position features) must be divisible by 6");
        }
        if self.num_downsamples < 2 || self.depth == 0 || self.attn_dim_key == 0 || self.dim_divisible_by == 0 {
            return fail("num_downsamples ≥ 2, depth, attn_dim_key and dim_divisible_by must be positive");
        }
        if self.target_length == 0 || self.target_length > ENFORMER_SEQUENCE_LENGTH >> self.num_downsamples {
            return fail("target_length must be between 1 and the number of bins");
        }
        Ok(())
    }

    /// `dim // heads`: relative position features per distance, and the value width per head.
    pub fn relative_features(&self) -> usize {
        self.dim / self.heads
    }

    /// Channels after the stem and after each conv-tower block: `[dim/2, …, dim]`
    /// (enformer-pytorch `exponential_linspace_int`, Python's round-half-to-even).
    pub fn filter_list(&self) -> Vec<usize> {
        let (start, end, num) = (self.dim as f64 / 2.0, self.dim as f64, self.num_downsamples - 1);
        let base = ((end / start).ln() / (num - 1) as f64).exp();
        let divisor = self.dim_divisible_by as f64;
        let mut filters = vec![self.dim / 2];
        filters
            .extend((0..num).map(|i| ((start * base.powi(i as i32) / divisor).round_ties_even() * divisor) as usize));
        filters
    }
}

/// IsoFormer's aggregator: its widths and the modelling choices made where the released code is
/// unread (each listed in src/models/aggregator.rs and docs/modelling-choices.md).
/// Stored as the aggregator weight directory's `config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregatorConfig {
    /// Width of the DNA embeddings (Enformer: 2 × 1,536).
    pub dna_dim: usize,
    /// Width of the RNA embeddings (IsoFormer's NT-v2: 768).
    pub rna_dim: usize,
    /// Width of the protein embeddings (ESM-2 150M: 640).
    pub protein_dim: usize,
    /// `num_heads_omics_cross_attention` (8 in IsoFormer).
    pub heads: usize,
    /// Output values (30 GTEx tissues).
    pub tissues: usize,
    /// Hidden width of the two-layer head.
    pub head_hidden: usize,
    /// `relu` or `gelu` (the exact, erf GELU).
    #[serde(default = "default_activation")]
    pub head_activation: String,
    /// Bin offsets `[start, end)` from the centre bin to pool, or `None` for the mean of all bins.
    #[serde(default)]
    pub pool_window: Option<(i64, i64)>,
    /// Whether `<cls>` (RNA and protein) and `<eos>` (protein) are keys of the cross-attention.
    #[serde(default = "default_special_token_keys")]
    pub special_token_keys: bool,
}

fn default_activation() -> String {
    "relu".into()
}

fn default_special_token_keys() -> bool {
    true
}

impl AggregatorConfig {
    /// IsoFormer's published widths with the assumptions above.
    pub fn published() -> Self {
        AggregatorConfig {
            dna_dim: 3072,
            rna_dim: 768,
            protein_dim: 640,
            heads: 8,
            tissues: 30,
            head_hidden: 6144,
            head_activation: default_activation(),
            pool_window: None,
            special_token_keys: default_special_token_keys(),
        }
    }

    /// The one check that the parts fit together: the DNA embedding width (2 × Enformer's `dim`) and
    /// the RNA and protein encoders' hidden sizes, where present, are this aggregator's.
    pub fn check_widths(&self, dna: usize, rna: Option<usize>, protein: Option<usize>) -> Result<()> {
        let pairs =
            [("DNA", Some(dna), self.dna_dim), ("RNA", rna, self.rna_dim), ("protein", protein, self.protein_dim)];
        for (what, got, want) in pairs {
            if let Some(got) = got
                && got != want
            {
                return Err(Error::Config(format!(
                    "{what} embedding width {got} differs from the aggregator's {want}"
                )));
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<()> {
        let fail = |what: &str| Err(Error::Config(format!("aggregator config: {what}")));
        if self.heads == 0 || !self.dna_dim.is_multiple_of(self.heads) {
            return fail("dna_dim must be divisible by heads");
        }
        if [self.dna_dim, self.rna_dim, self.protein_dim, self.tissues, self.head_hidden].contains(&0) {
            return fail("every width must be positive");
        }
        if !matches!(self.head_activation.as_str(), "relu" | "gelu") {
            return fail("head_activation must be \"relu\" or \"gelu\"");
        }
        if let Some((start, end)) = self.pool_window
            && start >= end
        {
            return fail("pool_window must be [start, end) with start < end");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enformer_filter_list_matches_enformer_pytorch() {
        // docs/isoformer-architecture.md §4.1
        assert_eq!(EnformerConfig::published().filter_list(), vec![768, 768, 896, 1024, 1152, 1280, 1536]);
        let tiny = EnformerConfig {
            dim: 48,
            depth: 2,
            heads: 2,
            attn_dim_key: 8,
            dim_divisible_by: 8,
            ..EnformerConfig::published()
        };
        assert_eq!(tiny.filter_list(), vec![24, 24, 24, 32, 40, 40, 48]);
        EnformerConfig::published().validate().unwrap();
        assert!(EnformerConfig { use_tf_gamma: true, ..EnformerConfig::published() }.validate().is_err());
    }

    #[test]
    fn output_heads_zero_as_published_means_no_heads_and_other_numbers_are_refused() {
        assert!(EnformerConfig::from_json(r#"{"output_heads": 0}"#).unwrap().output_heads.is_empty());
        assert!(EnformerConfig::from_json(r#"{"output_heads": null}"#).unwrap().output_heads.is_empty());
        let heads = EnformerConfig::from_json(r#"{"output_heads": {"human": 5313}}"#).unwrap().output_heads;
        assert_eq!(heads.get("human"), Some(&5313));
        let error = EnformerConfig::from_json(r#"{"output_heads": 5313}"#).unwrap_err();
        assert_eq!(error.code(), "INVALID_CONFIG");
        assert!(error.to_string().contains("0 for no heads"), "{error}");
        assert!(EnformerConfig::from_json(r#"{"output_heads": "human"}"#).is_err());
    }
}

//! Converting published checkpoints into the project's weight directory (native only).
//!
//! This is the only module that knows upstream tensor names. The ESM-family mapping (ESM-2 and
//! NT-v2 share it), Hugging Face (`EsmForMaskedLM` / `EsmModel`, with or without the `esm.`
//! prefix) → weight directory:
//!
//! | Hugging Face                                              | weight directory               |
//! |-----------------------------------------------------------|--------------------------------|
//! | `embeddings.word_embeddings.weight`                       | `embeddings.weight`            |
//! | `embeddings.layer_norm.{weight,bias}` (if emb LN before)  | `embedding_norm.*`             |
//! | `rotary_embeddings.inv_freq` or, in older files, every    | `rotary.inv_freq` (host buffer;|
//! | `encoder.layer.N.attention.self.rotary_embeddings.inv_freq`| the copies must agree)        |
//! | `encoder.layer.N.attention.LayerNorm.*`                   | `layers.N.attention_norm.*`    |
//! | `encoder.layer.N.attention.self.{query,key,value}.*`      | `layers.N.attention.{query,key,value}.*` |
//! | `encoder.layer.N.attention.output.dense.*`                | `layers.N.attention.output.*`  |
//! | `encoder.layer.N.LayerNorm.*`                             | `layers.N.ffn_norm.*`          |
//! | `encoder.layer.N.intermediate.dense.*` (NT-v2: `[2·inter, hidden]`, no bias) | `layers.N.ffn.fc1.*` |
//! | `encoder.layer.N.output.dense.*`                          | `layers.N.ffn.fc2.*`           |
//! | `encoder.emb_layer_norm_after.*`                          | `final_norm.*`                 |
//! | `lm_head.dense.*`, `lm_head.layer_norm.*`                 | same names                     |
//! | `lm_head.decoder.weight`, `lm_head.bias`                  | `lm_head.decoder.{weight,bias}`|
//!
//! LayerNorm `gamma`/`beta` are read as `weight`/`bias`. With `tie_word_embeddings` (the default)
//! a missing `lm_head.decoder.weight` is the word-embedding matrix.
//! Every 2-D Linear weight is transposed from PyTorch's `[out, in]` to Burn's `[in, out]`.
//! Ignored, and listed in the report: `embeddings.position_ids` and
//! `embeddings.position_embeddings.weight` (unused with rotary positions), `contact_head.*`
//! (contact prediction is not supported), `pooler.*`. Anything else is an error.

pub mod aggregator;
pub mod checkpoint;
pub mod enformer;
pub mod isoformer;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::config::{EsmConfig, EsmFamily};
use crate::convert::checkpoint::{Checkpoint, CheckpointTensor};
use crate::error::{CheckpointMismatch, Error, Result};
use crate::models::esm::Esm;
use crate::models::nn::TensorSpec;
use crate::weights::quantize::{DEFAULT_BLOCK_SIZE, WeightDtype};
pub use crate::weights::writer::write_weight_dir;
use crate::weights::{self, Manifest, Source};

/// What `convert` was asked to do.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    pub max_shard_bytes: u64,
    /// Storage type of the written tensors (small ones stay f32) and the quantization block size.
    pub dtype: WeightDtype,
    pub block_size: usize,
    /// Marks the output as random weights (also set when `config.json` has `"random_weights": true`,
    /// which the project's fixture generator writes).
    pub random_weights: bool,
    /// The source weights' licence; by default the published one of the model family.
    pub licence: Option<String>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            max_shard_bytes: weights::DEFAULT_SHARD_BYTES,
            dtype: WeightDtype::F32,
            block_size: DEFAULT_BLOCK_SIZE,
            random_weights: false,
            licence: None,
        }
    }
}

impl ConvertOptions {
    /// How [`write_weight_dir`] stores the tensors.
    pub fn storage(&self) -> crate::weights::writer::Storage {
        crate::weights::writer::Storage {
            dtype: self.dtype,
            block_size: self.block_size,
            max_shard_bytes: self.max_shard_bytes,
        }
    }
}

fn published_licence(family: EsmFamily) -> &'static str {
    match family {
        EsmFamily::Esm2 => "MIT (ESM-2)",
        EsmFamily::NucleotideTransformer => "CC BY-NC-SA 4.0 (Nucleotide Transformer v2)",
    }
}

/// What was written, and which upstream tensors were deliberately left out.
#[derive(Debug, Clone)]
pub struct ConvertReport {
    pub manifest: Manifest,
    pub ignored: Vec<String>,
}

/// Where an upstream tensor goes, as `inspect` shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// This tensor of the weight directory.
    To(String),
    /// Deliberately left out (not used for inference).
    Ignored,
    /// No place: converting is an error.
    Unknown,
}

/// A Hugging Face tensor's place in the weight directory.
enum Target {
    Tensor { name: String, transpose: bool },
    RotaryInvFreq,
    Ignored,
}

fn esm_target(hf_name: &str) -> Option<Target> {
    let name = hf_name.strip_prefix("esm.").unwrap_or(hf_name);
    let tensor = |name: String, transpose: bool| Some(Target::Tensor { name, transpose });
    let (stem, leaf) = name.rsplit_once('.')?;
    // Older LayerNorm names, which transformers 5 also writes back on save.
    let leaf = match leaf {
        "gamma" if stem.ends_with("LayerNorm") || stem.ends_with("layer_norm") => "weight",
        "beta" if stem.ends_with("LayerNorm") || stem.ends_with("layer_norm") => "bias",
        other => other,
    };
    let is_weight = leaf == "weight";
    if name.ends_with("rotary_embeddings.inv_freq") {
        return Some(Target::RotaryInvFreq);
    }
    if matches!(name, "embeddings.position_ids" | "embeddings.position_embeddings.weight")
        || name.starts_with("contact_head.")
        || name.starts_with("pooler.")
    {
        return Some(Target::Ignored);
    }
    match stem {
        "embeddings.word_embeddings" => return tensor(format!("embeddings.{leaf}"), false),
        "embeddings.layer_norm" => return tensor(format!("embedding_norm.{leaf}"), false),
        "encoder.emb_layer_norm_after" => return tensor(format!("final_norm.{leaf}"), false),
        "lm_head.dense" | "lm_head.decoder" => return tensor(name.to_string(), is_weight),
        "lm_head.layer_norm" => return tensor(name.to_string(), false),
        "lm_head" if leaf == "bias" => return tensor("lm_head.decoder.bias".into(), false),
        _ => {}
    }
    let rest = stem.strip_prefix("encoder.layer.")?;
    let (index, part) = rest.split_once('.')?;
    let index: usize = index.parse().ok()?;
    let (ours, linear) = match part {
        "attention.LayerNorm" => ("attention_norm", false),
        "attention.self.query" => ("attention.query", true),
        "attention.self.key" => ("attention.key", true),
        "attention.self.value" => ("attention.value", true),
        "attention.output.dense" => ("attention.output", true),
        "LayerNorm" => ("ffn_norm", false),
        "intermediate.dense" => ("ffn.fc1", true),
        "output.dense" => ("ffn.fc2", true),
        _ => return None,
    };
    tensor(format!("layers.{index}.{ours}.{leaf}"), linear && is_weight)
}

const LM_DECODER_WEIGHT: &str = "lm_head.decoder.weight";

/// `isoformer convert --model esm2|nt`: a Hugging Face ESM-2 or NT-v2 directory → a weight directory.
pub fn convert_esm(from: &Path, out: &Path, family: EsmFamily, options: &ConvertOptions) -> Result<ConvertReport> {
    let config_json = read_config_json(&from.join("config.json"))?;
    let checkpoint_path = Checkpoint::find_in_dir(from)?;
    let checkpoint = Checkpoint::open(&checkpoint_path)?;
    let tensors: Vec<(&str, &CheckpointTensor)> =
        checkpoint.tensors.iter().map(|(name, t)| (name.as_str(), t)).collect();
    let label = config_json
        .get("_name_or_path")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| relative_name(&checkpoint_path));
    let random = random_weights(options, Some(&config_json));
    esm_weight_dir(config_json, family, &tensors, PartOutput { out, checkpoint_label: label, random, options })
}

/// How an upstream ESM-family tensor name maps (for `inspect`).
pub(crate) fn describe_esm_key(name: &str) -> Mapped {
    match esm_target(name) {
        None => Mapped::Unknown,
        Some(Target::Ignored) => Mapped::Ignored,
        Some(Target::RotaryInvFreq) => Mapped::To(crate::models::rotary::ROTARY_INV_FREQ.into()),
        Some(Target::Tensor { name, transpose }) => {
            Mapped::To(if transpose { format!("{name} (transposed)") } else { name })
        }
    }
}

/// The ESM-family part of a checkpoint (`tensors` named as in a Hugging Face file) → a weight directory.
pub(crate) fn esm_weight_dir(
    config_json: Value,
    family: EsmFamily,
    tensors: &[(&str, &CheckpointTensor)],
    output: PartOutput,
) -> Result<ConvertReport> {
    let config: EsmConfig = serde_json::from_value(config_json.clone()).map_err(|e| Error::Config(e.to_string()))?;
    config.validate(family)?;
    let mut mapped: BTreeMap<String, (Vec<usize>, Vec<f32>)> = BTreeMap::new();
    let mut inv_freq: Option<(String, Vec<f32>)> = None;
    let mut mismatch = CheckpointMismatch::default();
    let mut ignored = Vec::new();
    for &(hf_name, tensor) in tensors {
        match esm_target(hf_name) {
            None => mismatch.unknown.push(format!("{hf_name} {:?}", tensor.shape)),
            Some(Target::Ignored) => ignored.push(hf_name.to_string()),
            Some(Target::RotaryInvFreq) => {
                let values = tensor.read_f32()?;
                match &inv_freq {
                    Some((first, existing)) if *existing != values => {
                        mismatch.misshaped.push(format!("{hf_name}: differs from {first}"));
                    }
                    Some(_) => {}
                    None => inv_freq = Some((hf_name.to_string(), values)),
                }
            }
            Some(Target::Tensor { name, transpose }) => {
                mapped.insert(name, read_tensor(tensor, transpose)?);
            }
        }
    }
    let rotary = inv_freq
        .map(|(_, values)| values)
        .unwrap_or_else(|| crate::models::rotary::Rotary::default_inv_freq(config.head_dim()));
    mapped.insert(crate::models::rotary::ROTARY_INV_FREQ.into(), (vec![rotary.len()], rotary));

    let has_lm_head = mapped.keys().any(|name| name.starts_with("lm_head."));
    if has_lm_head && config.tie_word_embeddings && !mapped.contains_key(LM_DECODER_WEIGHT) {
        // Tied weights are saved once, under the embedding's name.
        if let Some((shape, values)) = mapped.get("embeddings.weight").filter(|(shape, _)| shape.len() == 2) {
            let tied = transposed(values, shape[0], shape[1]);
            mapped.insert(LM_DECODER_WEIGHT.into(), (vec![shape[1], shape[0]], tied));
        }
    }
    let specs = Esm::tensor_specs(&config, family, has_lm_head);
    output.write(
        family.model_name(),
        published_licence(family),
        config_json,
        &specs,
        MappedTensors { tensors: mapped, mismatch, ignored },
    )
}

/// Where a converted part goes and what its manifest says of it.
pub(crate) struct PartOutput<'a> {
    pub out: &'a Path,
    pub checkpoint_label: String,
    /// Random weights (besides `options.random_weights`).
    pub random: bool,
    pub options: &'a ConvertOptions,
}

/// What a part's key table made of a checkpoint: its tensors under our names (shape, values), the
/// problems found while mapping, and the upstream keys it ignores.
pub(crate) struct MappedTensors {
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    pub mismatch: CheckpointMismatch,
    pub ignored: Vec<String>,
}

impl PartOutput<'_> {
    /// What every part converter ends with: the mapped tensors checked against the model's specs
    /// (one error listing every problem, with those found while mapping), then written with their
    /// source; `licence` is the published one, unless the options name another.
    pub(crate) fn write(
        self,
        model: &str,
        licence: &str,
        config: Value,
        specs: &[TensorSpec],
        mapped: MappedTensors,
    ) -> Result<ConvertReport> {
        let MappedTensors { tensors: mut mapped, mut mismatch, ignored } = mapped;
        check_against_specs(specs, &mapped, &mut mismatch);
        if !mismatch.is_empty() {
            return Err(mismatch.into());
        }
        let source = Source {
            checkpoint: self.checkpoint_label,
            licence: self.options.licence.clone().unwrap_or_else(|| licence.into()),
            random_weights: self.random || self.options.random_weights,
        };
        let manifest = write_weight_dir(self.out, model, config, source, specs, &mut mapped, &self.options.storage())?;
        Ok(ConvertReport { manifest, ignored })
    }
}

/// `dir/file` of a checkpoint path, so manifests do not record the converting machine's paths.
pub(crate) fn relative_name(path: &Path) -> String {
    let parts: Vec<String> = path.iter().rev().take(2).map(|p| p.to_string_lossy().into_owned()).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

pub(crate) fn check_against_specs(
    specs: &[TensorSpec],
    mapped: &BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    mismatch: &mut CheckpointMismatch,
) {
    for spec in specs {
        match mapped.get(&spec.name) {
            None => mismatch.missing.push(spec.name.clone()),
            Some((shape, _)) if *shape != spec.shape => {
                mismatch.misshaped.push(format!("{}: {:?} vs expected {:?}", spec.name, shape, spec.shape))
            }
            Some(_) => {}
        }
    }
    let expected: std::collections::HashSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    mismatch.unknown.extend(mapped.keys().filter(|name| !expected.contains(name.as_str())).cloned());
}

/// A checkpoint directory's `config.json`, parsed.
pub fn read_config_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

/// Whether the output is random weights: asked for, or marked in config.json (`"random_weights":
/// true`, which the project's fixture generator writes).
pub(crate) fn random_weights(options: &ConvertOptions, config_json: Option<&Value>) -> bool {
    options.random_weights
        || config_json.and_then(|c| c.get("random_weights")).and_then(Value::as_bool).unwrap_or(false)
}

/// A tensor as f32 with its shape; `transpose` turns a 2-D PyTorch Linear weight `[out, in]` into
/// Burn's `[in, out]`.
pub(crate) fn read_tensor(tensor: &CheckpointTensor, transpose: bool) -> Result<(Vec<usize>, Vec<f32>)> {
    let mut shape = tensor.shape.clone();
    let mut values = tensor.read_f32()?;
    if transpose && shape.len() == 2 {
        values = transposed(&values, shape[0], shape[1]);
        shape.swap(0, 1);
    }
    Ok((shape, values))
}

pub(crate) fn transposed(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_layer_part_and_both_prefixes() {
        let name = |hf: &str| match esm_target(hf) {
            Some(Target::Tensor { name, transpose }) => format!("{name}{}", if transpose { " T" } else { "" }),
            Some(Target::RotaryInvFreq) => "rotary".into(),
            Some(Target::Ignored) => "ignored".into(),
            None => "unknown".into(),
        };
        assert_eq!(name("esm.encoder.layer.3.attention.self.query.weight"), "layers.3.attention.query.weight T");
        assert_eq!(name("encoder.layer.3.attention.self.query.bias"), "layers.3.attention.query.bias");
        assert_eq!(name("esm.encoder.layer.0.output.dense.weight"), "layers.0.ffn.fc2.weight T");
        assert_eq!(name("esm.encoder.layer.0.attention.output.dense.weight"), "layers.0.attention.output.weight T");
        assert_eq!(name("esm.encoder.layer.0.LayerNorm.weight"), "layers.0.ffn_norm.weight");
        assert_eq!(name("esm.encoder.layer.0.attention.LayerNorm.bias"), "layers.0.attention_norm.bias");
        assert_eq!(name("lm_head.bias"), "lm_head.decoder.bias");
        assert_eq!(name("lm_head.decoder.weight"), "lm_head.decoder.weight T");
        assert_eq!(name("esm.rotary_embeddings.inv_freq"), "rotary");
        assert_eq!(name("esm.encoder.layer.5.attention.self.rotary_embeddings.inv_freq"), "rotary");
        assert_eq!(name("esm.contact_head.regression.weight"), "ignored");
        assert_eq!(name("esm.encoder.layer.1.LayerNorm.gamma"), "layers.1.ffn_norm.weight");
        assert_eq!(name("esm.encoder.layer.1.attention.LayerNorm.beta"), "layers.1.attention_norm.bias");
        assert_eq!(name("esm.encoder.layer.*.attention.self.rotary_embeddings.inv_freq"), "rotary");
        assert_eq!(name("esm.encoder.layer.0.attention.self.distance.weight"), "unknown");
        assert_eq!(name("classifier.weight"), "unknown");
    }

    #[test]
    fn transposes_row_major() {
        assert_eq!(transposed(&[1., 2., 3., 4., 5., 6.], 2, 3), vec![1., 4., 2., 5., 3., 6.]);
    }
}

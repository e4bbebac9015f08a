//! Converting enformer-pytorch checkpoints into the project's weight directory (native only).
//!
//! Accepted: a `save_pretrained` directory (config.json + model.safetensors / pytorch_model.bin),
//! a bare state dict file (`torch.save(model.state_dict())`: .pt/.pth/.bin/.safetensors; the config
//! is then the published one, with the heads' sizes read from the tensors), and the Enformer part of
//! an IsoFormer checkpoint (keys under any prefix, found by its `stem.0.weight`; a config.json with
//! `enformer_*` fields). enformer-pytorch registers the trunk twice, so a state dict may hold every
//! trunk tensor both under its own name and under `_trunk.N.` — the copies must agree.
//!
//! | enformer-pytorch (after the prefix; `_trunk.1/2/4/6.` = `stem/conv_tower/transformer/final_pointwise.`) | weight directory |
//! |---|---|
//! | `stem.0.{weight,bias}`                                  | `stem.conv.*` (`[out, in, 15]`)        |
//! | `stem.1.fn.0.*` (BatchNorm) / `stem.1.fn.2.*` (conv)     | `stem.residual.norm.*` / `stem.residual.conv.*` |
//! | `stem.2.to_attn_logits.weight` `[C, C, 1, 1]`            | `stem.pool.weight` `[C, C, 1]`         |
//! | `conv_tower.I.0.0.*` / `conv_tower.I.0.2.*`              | `tower.I.conv.norm.*` / `tower.I.conv.conv.*` |
//! | `conv_tower.I.1.fn.0.*` / `conv_tower.I.1.fn.2.*`        | `tower.I.residual.norm.*` / `tower.I.residual.conv.*` |
//! | `conv_tower.I.2.to_attn_logits.weight`                   | `tower.I.pool.weight`                  |
//! | `transformer.I.0.fn.0.*` (LayerNorm)                     | `transformer.I.attention_norm.*`       |
//! | `transformer.I.0.fn.1.to_{q,k,v}.weight`                 | `transformer.I.attention.{query,key,value}.weight` (transposed) |
//! | `transformer.I.0.fn.1.to_out.*`, `.to_rel_k.weight`      | `…attention.output.*`, `…attention.rel_key.weight` (transposed) |
//! | `transformer.I.0.fn.1.rel_{content,pos}_bias` `[1, h, 1, dk]` | `…attention.rel_{content,pos}_bias` |
//! | `transformer.I.1.fn.0.*` / `.1.fn.1.*` / `.1.fn.4.*`     | `…ffn_norm.*` / `…ffn.fc1.*` / `…ffn.fc2.*` (weights transposed) |
//! | `final_pointwise.1.0.*` / `final_pointwise.1.2.*`        | `final.norm.*` / `final.conv.*`        |
//! | `_heads.NAME.0.{weight,bias}`                            | `heads.NAME.*` (weight transposed)     |
//!
//! BatchNorm tensors are `weight`, `bias`, `running_mean`, `running_var`; `num_batches_tracked` is
//! ignored. With a prefix, keys outside it (IsoFormer's other parts) are listed as ignored; without
//! one, any unmapped key is an error.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::config::EnformerConfig;
use crate::convert::checkpoint::{Checkpoint, CheckpointTensor};
use crate::convert::{
    ConvertOptions, ConvertReport, Mapped, MappedTensors, PartOutput, random_weights, read_config_json, read_tensor,
    relative_name,
};
use crate::error::{CheckpointMismatch, Error, Result};
use crate::models::enformer::Enformer;

/// How an upstream tensor is stored in the weight directory.
#[derive(Debug, PartialEq)]
enum Layout {
    AsIs,
    /// A Linear weight: PyTorch `[out, in]` → `[in, out]`.
    Transposed,
    /// A 1×1 Conv2d weight `[C, C, 1, 1]` → `[C, C, 1]`.
    DropLastAxis,
}

#[derive(Debug, PartialEq)]
enum Target {
    Tensor(String, Layout),
    Ignored,
}

/// `_trunk.N.` → the module it duplicates.
fn canonical(name: &str) -> String {
    for (trunk, module) in [
        ("_trunk.1.", "stem."),
        ("_trunk.2.", "conv_tower."),
        ("_trunk.4.", "transformer."),
        ("_trunk.6.", "final_pointwise."),
    ] {
        if let Some(rest) = name.strip_prefix(trunk) {
            return format!("{module}{rest}");
        }
    }
    name.to_string()
}

fn enformer_target(name: &str) -> Option<Target> {
    use Layout::*;
    let name = canonical(name);
    if name.ends_with(".num_batches_tracked") {
        return Some(Target::Ignored);
    }
    let tensor = |ours: String, layout| Some(Target::Tensor(ours, layout));
    let (stem, leaf) = name.rsplit_once('.')?;
    let norm_leaf = matches!(leaf, "weight" | "bias" | "running_mean" | "running_var");
    let conv_leaf = matches!(leaf, "weight" | "bias");
    match stem {
        "stem.0" if conv_leaf => return tensor(format!("stem.conv.{leaf}"), AsIs),
        "stem.1.fn.0" if norm_leaf => return tensor(format!("stem.residual.norm.{leaf}"), AsIs),
        "stem.1.fn.2" if conv_leaf => return tensor(format!("stem.residual.conv.{leaf}"), AsIs),
        "stem.2.to_attn_logits" if leaf == "weight" => return tensor("stem.pool.weight".into(), DropLastAxis),
        "final_pointwise.1.0" if norm_leaf => return tensor(format!("final.norm.{leaf}"), AsIs),
        "final_pointwise.1.2" if conv_leaf => return tensor(format!("final.conv.{leaf}"), AsIs),
        _ => {}
    }
    if let Some(rest) = stem.strip_prefix("_heads.") {
        let head = rest.strip_suffix(".0")?;
        let layout = if leaf == "weight" { Transposed } else { AsIs };
        return (conv_leaf && !head.contains('.')).then(|| Target::Tensor(format!("heads.{head}.{leaf}"), layout));
    }
    if let Some(rest) = stem.strip_prefix("conv_tower.") {
        let (index, part) = rest.split_once('.')?;
        let index: usize = index.parse().ok()?;
        let (ours, ok) = match part {
            "0.0" => ("conv.norm", norm_leaf),
            "0.2" => ("conv.conv", conv_leaf),
            "1.fn.0" => ("residual.norm", norm_leaf),
            "1.fn.2" => ("residual.conv", conv_leaf),
            "2.to_attn_logits" => {
                return (leaf == "weight").then(|| Target::Tensor(format!("tower.{index}.pool.weight"), DropLastAxis));
            }
            _ => return None,
        };
        return ok.then(|| Target::Tensor(format!("tower.{index}.{ours}.{leaf}"), AsIs));
    }
    let rest = stem.strip_prefix("transformer.")?;
    let (index, part) = rest.split_once('.')?;
    let index: usize = index.parse().ok()?;
    let prefix = format!("transformer.{index}");
    let layout = if leaf == "weight" { Transposed } else { AsIs };
    match part {
        "0.fn.0" if conv_leaf => tensor(format!("{prefix}.attention_norm.{leaf}"), AsIs),
        "0.fn.1" if matches!(leaf, "rel_content_bias" | "rel_pos_bias") => {
            tensor(format!("{prefix}.attention.{leaf}"), AsIs)
        }
        "0.fn.1.to_q" if leaf == "weight" => tensor(format!("{prefix}.attention.query.weight"), Transposed),
        "0.fn.1.to_k" if leaf == "weight" => tensor(format!("{prefix}.attention.key.weight"), Transposed),
        "0.fn.1.to_v" if leaf == "weight" => tensor(format!("{prefix}.attention.value.weight"), Transposed),
        "0.fn.1.to_out" if conv_leaf => tensor(format!("{prefix}.attention.output.{leaf}"), layout),
        "0.fn.1.to_rel_k" if leaf == "weight" => tensor(format!("{prefix}.attention.rel_key.weight"), Transposed),
        "1.fn.0" if conv_leaf => tensor(format!("{prefix}.ffn_norm.{leaf}"), AsIs),
        "1.fn.1" if conv_leaf => tensor(format!("{prefix}.ffn.fc1.{leaf}"), layout),
        "1.fn.4" if conv_leaf => tensor(format!("{prefix}.ffn.fc2.{leaf}"), layout),
        _ => None,
    }
}

/// The prefix in front of the Enformer keys (`""` for a plain enformer-pytorch state dict).
pub(crate) fn enformer_prefix(checkpoint: &Checkpoint) -> Result<String> {
    let mut prefixes: Vec<String> = checkpoint
        .tensors
        .keys()
        .filter_map(|k| k.strip_suffix("stem.0.weight").or_else(|| k.strip_suffix("_trunk.1.0.weight")))
        .map(str::to_string)
        .collect();
    prefixes.sort();
    prefixes.dedup();
    match prefixes.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Checkpoint(CheckpointMismatch {
            missing: vec!["stem.0.weight (no Enformer stem in this checkpoint)".into()],
            ..Default::default()
        })),
        many => Err(Error::Checkpoint(CheckpointMismatch {
            unknown: many.iter().map(|p| format!("{p}stem.0.weight")).collect(),
            ..Default::default()
        })),
    }
}

/// The Enformer configuration: config.json's own fields, or Isoformer's `enformer_*` fields, or
/// (no config.json) the published one.
pub(crate) fn read_config(config_json: Option<&Value>) -> Result<EnformerConfig> {
    let Some(Value::Object(fields)) = config_json else {
        return Ok(EnformerConfig::published());
    };
    let prefixed: serde_json::Map<String, Value> =
        fields.iter().filter_map(|(k, v)| k.strip_prefix("enformer_").map(|k| (k.to_string(), v.clone()))).collect();
    let fields = if fields.contains_key("dim") || prefixed.is_empty() { fields.clone() } else { prefixed };
    let config: EnformerConfig =
        serde_json::from_value(Value::Object(fields)).map_err(|e| Error::Config(e.to_string()))?;
    config.validate()?;
    Ok(config)
}

/// `isoformer convert --model enformer`: an enformer-pytorch (or IsoFormer) checkpoint → a weight directory.
pub fn convert_enformer(from: &Path, out: &Path, options: &ConvertOptions) -> Result<ConvertReport> {
    let (checkpoint_path, config_json) = if from.is_dir() {
        let config_path = from.join("config.json");
        let config = if config_path.is_file() { Some(read_config_json(&config_path)?) } else { None };
        (Checkpoint::find_in_dir(from)?, config)
    } else {
        (from.to_path_buf(), None)
    };
    let config = read_config(config_json.as_ref())?;
    let checkpoint = Checkpoint::open(&checkpoint_path)?;
    let prefix = enformer_prefix(&checkpoint)?;
    let mut ignored = Vec::new();
    let mut tensors = Vec::new();
    for (upstream, tensor) in &checkpoint.tensors {
        match upstream.strip_prefix(prefix.as_str()) {
            Some(name) => tensors.push((name, tensor)),
            None => ignored.push(upstream.clone()), // another part of an IsoFormer checkpoint
        }
    }
    let random = random_weights(options, config_json.as_ref());
    let mut report = enformer_weight_dir(
        config,
        &tensors,
        PartOutput { out, checkpoint_label: relative_name(&checkpoint_path), random, options },
    )?;
    report.ignored.extend(ignored.into_iter().map(|name| format!("{name} (not Enformer)")));
    Ok(report)
}

/// How an enformer-pytorch tensor name (after any prefix) maps (for `inspect`).
pub(crate) fn describe_enformer_key(name: &str) -> Mapped {
    match enformer_target(name) {
        None => Mapped::Unknown,
        Some(Target::Ignored) => Mapped::Ignored,
        Some(Target::Tensor(ours, Layout::AsIs)) => Mapped::To(ours),
        Some(Target::Tensor(ours, Layout::Transposed)) => Mapped::To(format!("{ours} (transposed)")),
        Some(Target::Tensor(ours, Layout::DropLastAxis)) => Mapped::To(format!("{ours} (last axis dropped)")),
    }
}

/// The Enformer part of a checkpoint (`tensors` named as in enformer-pytorch, prefix removed) → a
/// weight directory. The heads' sizes come from the tensors; a config naming other sizes is a mismatch.
pub(crate) fn enformer_weight_dir(
    mut config: EnformerConfig,
    tensors: &[(&str, &CheckpointTensor)],
    output: PartOutput,
) -> Result<ConvertReport> {
    let mut mapped: BTreeMap<String, (Vec<usize>, Vec<f32>)> = BTreeMap::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut mismatch = CheckpointMismatch::default();
    let mut ignored = Vec::new();
    for &(upstream, tensor) in tensors {
        let (ours, layout) = match enformer_target(upstream) {
            None => {
                mismatch.unknown.push(format!("{upstream} {:?}", tensor.shape));
                continue;
            }
            Some(Target::Ignored) => {
                ignored.push(upstream.to_string());
                continue;
            }
            Some(Target::Tensor(ours, layout)) => (ours, layout),
        };
        let (mut shape, values) = read_tensor(tensor, layout == Layout::Transposed)?;
        if layout == Layout::DropLastAxis && shape.len() == 4 && shape[3] == 1 {
            shape.pop();
        }
        if let Some((existing_shape, existing)) = mapped.get(&ours) {
            // The `_trunk.N.` copy of a tensor: it must be the same tensor.
            if *existing_shape != shape || *existing != values {
                mismatch.misshaped.push(format!("{upstream}: differs from {}", sources[&ours]));
            }
            continue;
        }
        sources.insert(ours.clone(), upstream.to_string());
        mapped.insert(ours, (shape, values));
    }

    let mut heads = Vec::new();
    for (name, (shape, _)) in mapped.iter().filter(|(name, _)| name.starts_with("heads.") && name.ends_with(".weight"))
    {
        let head = name.trim_start_matches("heads.").trim_end_matches(".weight").to_string();
        let tracks = shape.get(1).copied().unwrap_or(0);
        match config.output_heads.get(&head) {
            Some(&expected) if expected != tracks => {
                mismatch.misshaped.push(format!("{name}: {tracks} tracks, config.json says {expected}"))
            }
            _ => {}
        }
        heads.push((head, tracks));
    }
    config.output_heads = heads.iter().cloned().collect();
    let specs = Enformer::tensor_specs(&config, &heads);
    let config_value = serde_json::to_value(&config).map_err(|e| Error::Config(e.to_string()))?;
    output.write(
        "enformer",
        "Apache-2.0 (Enformer, DeepMind); MIT (enformer-pytorch)",
        config_value,
        &specs,
        MappedTensors { tensors: mapped, mismatch, ignored },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(upstream: &str) -> String {
        match enformer_target(upstream) {
            Some(Target::Tensor(name, Layout::AsIs)) => name,
            Some(Target::Tensor(name, Layout::Transposed)) => format!("{name} T"),
            Some(Target::Tensor(name, Layout::DropLastAxis)) => format!("{name} squeeze"),
            Some(Target::Ignored) => "ignored".into(),
            None => "unknown".into(),
        }
    }

    #[test]
    fn maps_every_part_and_the_trunk_copies() {
        assert_eq!(name("stem.0.weight"), "stem.conv.weight");
        assert_eq!(name("_trunk.1.0.bias"), "stem.conv.bias");
        assert_eq!(name("stem.1.fn.0.running_var"), "stem.residual.norm.running_var");
        assert_eq!(name("stem.1.fn.0.num_batches_tracked"), "ignored");
        assert_eq!(name("stem.2.to_attn_logits.weight"), "stem.pool.weight squeeze");
        assert_eq!(name("conv_tower.5.0.2.weight"), "tower.5.conv.conv.weight");
        assert_eq!(name("_trunk.2.3.1.fn.0.running_mean"), "tower.3.residual.norm.running_mean");
        assert_eq!(name("conv_tower.0.2.to_attn_logits.weight"), "tower.0.pool.weight squeeze");
        assert_eq!(name("transformer.10.0.fn.1.to_q.weight"), "transformer.10.attention.query.weight T");
        assert_eq!(name("_trunk.4.2.0.fn.1.rel_pos_bias"), "transformer.2.attention.rel_pos_bias");
        assert_eq!(name("transformer.0.0.fn.1.to_out.bias"), "transformer.0.attention.output.bias");
        assert_eq!(name("transformer.0.1.fn.4.weight"), "transformer.0.ffn.fc2.weight T");
        assert_eq!(name("transformer.0.1.fn.0.weight"), "transformer.0.ffn_norm.weight");
        assert_eq!(name("_trunk.6.1.2.weight"), "final.conv.weight");
        assert_eq!(name("_heads.human.0.weight"), "heads.human.weight T");
        assert_eq!(name("transformer.0.1.fn.2.weight"), "unknown");
        assert_eq!(name("conv_tower.0.3.weight"), "unknown");
        assert_eq!(name("stem.0.running_mean"), "unknown");
    }
}

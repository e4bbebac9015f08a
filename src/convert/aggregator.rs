//! Converting IsoFormer aggregator weights into the project's weight directory (native only).
//!
//! The released key names are **inferred** (the checkpoint has not been read; see src/models/aggregator.rs):
//! the cross-attention attribute names are confirmed from derivative code, the names inside them and
//! the head's are guesses. Both the inferred IsoFormer names and the reference module's
//! (tests/fixtures/isoformer_reference.py) are accepted:
//!
//! | upstream                                                          | weight directory                    |
//! |-------------------------------------------------------------------|-------------------------------------|
//! | `cross_attention_layer_rna.P.*` or `rna_attention.P.*` (P = query, key, value, output) | `rna_attention.P.*` (weight transposed) |
//! | `cross_attention_layer_protein.P.*` or `protein_attention.P.*`     | `protein_attention.P.*`             |
//! | `fc1.*`, `fc2.*` or `head.fc1.*`, `head.fc2.*`                     | `head.fc1.*`, `head.fc2.*`          |
//!
//! Anything else is an error listing it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::AggregatorConfig;
use crate::convert::checkpoint::{Checkpoint, CheckpointTensor};
use crate::convert::{
    ConvertOptions, ConvertReport, Mapped, MappedTensors, PartOutput, random_weights, read_config_json, read_tensor,
    relative_name,
};
use crate::error::{CheckpointMismatch, Error, Result};
use crate::models::aggregator::Aggregator;

pub(crate) fn aggregator_target(name: &str) -> Option<String> {
    let (stem, leaf) = name.rsplit_once('.')?;
    if !matches!(leaf, "weight" | "bias") {
        return None;
    }
    let stem = stem
        .replace("cross_attention_layer_rna.", "rna_attention.")
        .replace("cross_attention_layer_protein.", "protein_attention.");
    let ours = match stem.as_str() {
        "fc1" | "head.fc1" => "head.fc1".to_string(),
        "fc2" | "head.fc2" => "head.fc2".to_string(),
        other => {
            let (module, part) = other.split_once('.')?;
            let known = matches!(module, "rna_attention" | "protein_attention")
                && matches!(part, "query" | "key" | "value" | "output");
            known.then(|| other.to_string())?
        }
    };
    Some(format!("{ours}.{leaf}"))
}

/// The released IsoFormer weights' licence.
pub(crate) const ISOFORMER_LICENCE: &str = "CC BY-NC-SA 4.0 (IsoFormer)";

/// `--from`: a directory with config.json (the [`AggregatorConfig`] fields) and the weights file.
pub fn convert_aggregator(from: &Path, out: &Path, options: &ConvertOptions) -> Result<ConvertReport> {
    let config_json = read_config_json(&from.join("config.json"))?;
    let config: AggregatorConfig =
        serde_json::from_value(config_json.clone()).map_err(|e| Error::Config(e.to_string()))?;
    let checkpoint_path = Checkpoint::find_in_dir(from)?;
    let checkpoint = Checkpoint::open(&checkpoint_path)?;
    let tensors: Vec<(&str, &CheckpointTensor)> =
        checkpoint.tensors.iter().map(|(name, t)| (name.as_str(), t)).collect();
    let random = random_weights(options, Some(&config_json));
    aggregator_weight_dir(
        config,
        &tensors,
        PartOutput { out, checkpoint_label: relative_name(&checkpoint_path), random, options },
    )
}

/// How an aggregator tensor name maps (for `inspect`).
pub(crate) fn describe_aggregator_key(name: &str) -> Mapped {
    match aggregator_target(name) {
        Some(ours) if ours.ends_with(".weight") => Mapped::To(format!("{ours} (transposed)")),
        Some(ours) => Mapped::To(ours),
        None => Mapped::Unknown,
    }
}

/// The aggregator's tensors (names as in the table above) → a weight directory.
pub(crate) fn aggregator_weight_dir(
    config: AggregatorConfig,
    tensors: &[(&str, &CheckpointTensor)],
    output: PartOutput,
) -> Result<ConvertReport> {
    config.validate()?;
    let mut mapped = BTreeMap::new();
    let mut mismatch = CheckpointMismatch::default();
    for &(name, tensor) in tensors {
        let Some(ours) = aggregator_target(name) else {
            mismatch.unknown.push(format!("{name} {:?}", tensor.shape));
            continue;
        };
        let tensor = read_tensor(tensor, ours.ends_with(".weight"))?;
        mapped.insert(ours, tensor);
    }
    let specs = Aggregator::tensor_specs(&config);
    let config_value = serde_json::to_value(&config).map_err(|e| Error::Config(e.to_string()))?;
    output.write(
        "aggregator",
        ISOFORMER_LICENCE,
        config_value,
        &specs,
        MappedTensors { tensors: mapped, mismatch, ignored: Vec::new() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_inferred_and_reference_names() {
        assert_eq!(
            aggregator_target("cross_attention_layer_rna.query.weight").as_deref(),
            Some("rna_attention.query.weight")
        );
        assert_eq!(
            aggregator_target("protein_attention.output.bias").as_deref(),
            Some("protein_attention.output.bias")
        );
        assert_eq!(aggregator_target("fc2.weight").as_deref(), Some("head.fc2.weight"));
        assert_eq!(aggregator_target("rna_attention.gate.weight"), None);
        assert_eq!(aggregator_target("esm.embeddings.word_embeddings.weight"), None);
    }
}

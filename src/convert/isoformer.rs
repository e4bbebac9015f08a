//! Splitting a whole IsoFormer checkpoint (`InstaDeepAI/isoformer`'s one `pytorch_model.bin`, or any
//! safetensors copy) into an IsoFormer weight directory: `isoformer.json` and one weight directory
//! per part (`dna/`, `rna/`, `protein/`, `aggregator/`). Native only.
//!
//! The published file has not been read (docs/isoformer-architecture.md §7), so the
//! top-level attribute names are **not relied on**. Each encoder is found by its structure:
//!
//! * ESM-family encoders: the key ending in `embeddings.word_embeddings.weight`; everything under
//!   the same prefix (before `esm.`) is that encoder's. Its vocabulary says which: 33 tokens is
//!   ESM-2 (protein), 4,107 is NT-v2 (RNA).
//! * Enformer: the key ending in `stem.0.weight` (or `_trunk.1.0.weight`).
//! * Every other key is the aggregator's (names in src/convert/aggregator.rs). A key that maps
//!   nowhere is an error listing it, never dropped.
//!
//! Inside the encoders the names are the upstream libraries' (confirmed). **Inferred** and used by
//! the synthetic checkpoint (tests/fixtures/isoformer/checkpoint, written by make_fixtures.py):
//! the prefixes `esm_model.`, `nt_model.`, `enformer.`, and the aggregator's
//! `cross_attention_layer_{rna,protein}.{query,key,value,output}.*` and `head.fc{1,2}.*`.
//!
//! Configuration (config.json beside the checkpoint): each encoder's from the `esm_*`, `nt_*` and
//! `enformer_*` fields (the prefix stripped, as Isoformer builds its sub-configs); the aggregator's
//! widths from the encoders', `heads` from `num_heads_omics_cross_attention`, the head's widths from
//! its tensors, and `pool_window` from `pool_window_start`/`pool_window_end` when both are given
//! (read as bin offsets from the centre bin — an assumption, see src/models/aggregator.rs). Without a
//! config.json the published configurations are used.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::config::AggregatorConfig;
use crate::config::{EnformerConfig, EsmConfig, EsmFamily};
use crate::convert::aggregator::{
    ISOFORMER_LICENCE, aggregator_target, aggregator_weight_dir, describe_aggregator_key,
};
use crate::convert::checkpoint::{Checkpoint, CheckpointTensor};
use crate::convert::enformer::{describe_enformer_key, enformer_weight_dir};
use crate::convert::{
    ConvertOptions, ConvertReport, Mapped, PartOutput, describe_esm_key, esm_weight_dir, random_weights,
    read_config_json, relative_name,
};
use crate::error::{CheckpointMismatch, Error, Result};
use crate::weights::{IsoformerIndex, Part, Source, write_isoformer_index};

const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

/// Where each encoder sits in a whole checkpoint: its key prefix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IsoformerLayout {
    pub dna: Option<String>,
    pub rna: Option<String>,
    pub protein: Option<String>,
}

impl IsoformerLayout {
    /// Finds the encoders of a checkpoint by their structure (see the module documentation).
    pub fn detect(checkpoint: &Checkpoint) -> Result<Self> {
        let mut layout = IsoformerLayout::default();
        let duplicate = |what: &str, a: &str, b: &str| {
            Error::Checkpoint(CheckpointMismatch {
                unknown: vec![format!("two {what} encoders: under {a:?} and {b:?}")],
                ..Default::default()
            })
        };
        for (key, tensor) in &checkpoint.tensors {
            if let Some(before) = key.strip_suffix(WORD_EMBEDDINGS) {
                let prefix = before.strip_suffix("esm.").unwrap_or(before).to_string();
                let (slot, what) = if tensor.shape.first() == Some(&EsmFamily::Esm2.vocab_size()) {
                    (&mut layout.protein, "protein")
                } else {
                    (&mut layout.rna, "RNA")
                };
                if let Some(existing) = slot {
                    return Err(duplicate(what, existing, &prefix));
                }
                *slot = Some(prefix);
            }
            let stem = key.strip_suffix("stem.0.weight").or_else(|| key.strip_suffix("_trunk.1.0.weight"));
            if let Some(prefix) = stem {
                match &layout.dna {
                    Some(existing) if existing != prefix => return Err(duplicate("DNA", existing, prefix)),
                    _ => layout.dna = Some(prefix.to_string()),
                }
            }
        }
        Ok(layout)
    }

    /// The part a key belongs to and its name inside that part (the longest matching prefix wins).
    pub fn part_of<'k>(&self, key: &'k str) -> (Part, &'k str) {
        let mut best: Option<(Part, &'k str, usize)> = None;
        for (part, prefix) in [(Part::Dna, &self.dna), (Part::Rna, &self.rna), (Part::Protein, &self.protein)] {
            if let Some(prefix) = prefix
                && let Some(rest) = key.strip_prefix(prefix.as_str())
                && best.is_none_or(|(_, _, len)| prefix.len() > len)
            {
                best = Some((part, rest, prefix.len()));
            }
        }
        best.map_or((Part::Aggregator, key), |(part, rest, _)| (part, rest))
    }
}

/// One checkpoint key with where it goes, as `isoformer inspect` prints it.
#[derive(Debug, Clone)]
pub struct KeyMapping {
    pub key: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub part: Part,
    pub mapped: Mapped,
}

/// Every key of a (whole or partial) IsoFormer checkpoint with its part and target tensor.
pub fn map_keys(checkpoint: &Checkpoint) -> Result<Vec<KeyMapping>> {
    let layout = IsoformerLayout::detect(checkpoint)?;
    Ok(checkpoint
        .tensors
        .iter()
        .map(|(key, tensor)| {
            let (part, name) = layout.part_of(key);
            let mapped = match part {
                Part::Dna => describe_enformer_key(name),
                Part::Rna | Part::Protein => describe_esm_key(name),
                Part::Aggregator => describe_aggregator_key(name),
            };
            KeyMapping { key: key.clone(), dtype: tensor.dtype.clone(), shape: tensor.shape.clone(), part, mapped }
        })
        .collect())
}

/// The fields of `config` that start with `prefix`, without it.
fn prefixed(config: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
    config.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v.clone()))).collect()
}

/// The sub-configuration of an ESM-family encoder: the prefixed fields, or the published preset.
fn esm_config_json(config: Option<&Map<String, Value>>, prefix: &str, preset: EsmConfig) -> Result<Value> {
    match config.map(|c| prefixed(c, prefix)).filter(|fields| !fields.is_empty()) {
        Some(fields) => Ok(Value::Object(fields)),
        None => serde_json::to_value(preset).map_err(|e| Error::Config(e.to_string())),
    }
}

/// The aggregator's configuration: widths from the encoders, the head's sizes from its tensors.
fn aggregator_config(
    config: Option<&Map<String, Value>>,
    dna: &EnformerConfig,
    rna_dim: usize,
    protein_dim: usize,
    tensors: &[(&str, &CheckpointTensor)],
) -> Result<AggregatorConfig> {
    let mut aggregator =
        AggregatorConfig { dna_dim: 2 * dna.dim, rna_dim, protein_dim, ..AggregatorConfig::published() };
    let field = |name: &str| config.and_then(|c| c.get(name));
    if let Some(heads) = field("num_heads_omics_cross_attention").and_then(Value::as_u64) {
        aggregator.heads = heads as usize;
    }
    if let (Some(start), Some(end)) =
        (field("pool_window_start").and_then(Value::as_i64), field("pool_window_end").and_then(Value::as_i64))
    {
        aggregator.pool_window = Some((start, end));
    }
    if let Some(activation) = field("head_activation").and_then(Value::as_str) {
        aggregator.head_activation = activation.to_string();
    }
    let shape_of = |ours: &str| {
        tensors.iter().find(|(name, _)| aggregator_target(name).as_deref() == Some(ours)).map(|(_, t)| t.shape.clone())
    };
    if let Some([hidden, _]) = shape_of("head.fc1.weight").as_deref() {
        aggregator.head_hidden = *hidden;
    }
    if let Some([tissues, _]) = shape_of("head.fc2.weight").as_deref() {
        aggregator.tissues = *tissues;
    }
    Ok(aggregator)
}

/// What `convert --model isoformer` wrote: the index and each part's report.
pub struct IsoformerReport {
    pub index: IsoformerIndex,
    pub parts: Vec<(Part, ConvertReport)>,
}

/// `isoformer convert --model isoformer`: `from` is the checkpoint file or its directory (with
/// config.json) → an IsoFormer weight directory at `out`.
pub fn convert_isoformer(from: &Path, out: &Path, options: &ConvertOptions) -> Result<IsoformerReport> {
    let (checkpoint_path, dir) = if from.is_dir() {
        (Checkpoint::find_in_dir(from)?, from.to_path_buf())
    } else {
        (from.to_path_buf(), from.parent().unwrap_or(Path::new(".")).to_path_buf())
    };
    let config_path = dir.join("config.json");
    let config_json = if config_path.is_file() { Some(read_config_json(&config_path)?) } else { None };
    let config = match &config_json {
        Some(Value::Object(fields)) => Some(fields),
        Some(_) => return Err(Error::Config(format!("{}: not a JSON object", config_path.display()))),
        None => None,
    };
    let checkpoint = Checkpoint::open(&checkpoint_path)?;
    let layout = IsoformerLayout::detect(&checkpoint)?;
    if layout.dna.is_none() {
        return Err(Error::Checkpoint(CheckpointMismatch {
            missing: vec!["the Enformer encoder (no key ends in stem.0.weight)".into()],
            ..Default::default()
        }));
    }
    let mut grouped: BTreeMap<Part, Vec<(&str, &CheckpointTensor)>> = BTreeMap::new();
    for (key, tensor) in &checkpoint.tensors {
        let (part, name) = layout.part_of(key);
        grouped.entry(part).or_default().push((name, tensor));
    }
    let random = random_weights(options, config_json.as_ref());
    let options = ConvertOptions { random_weights: random, ..options.clone() };
    let label = relative_name(&checkpoint_path);
    let no_tensors = Vec::new();
    let tensors_of = |part: Part| grouped.get(&part).unwrap_or(&no_tensors);

    let dna_config = crate::convert::enformer::read_config(config_json.as_ref())?;
    let protein_json = esm_config_json(config, "esm_", EsmConfig::isoformer_protein())?;
    let rna_json = esm_config_json(config, "nt_", crate::models::nucleotide::isoformer_rna())?;
    let width = |json: &Value, family| -> Result<usize> {
        let config: EsmConfig = serde_json::from_value(json.clone())
            .map_err(|e| Error::Config(format!("{} config: {e}", family_name(family))))?;
        Ok(config.hidden_size)
    };
    let aggregator = aggregator_config(
        config,
        &dna_config,
        width(&rna_json, EsmFamily::NucleotideTransformer)?,
        width(&protein_json, EsmFamily::Esm2)?,
        tensors_of(Part::Aggregator),
    )?;

    let mut parts = Vec::new();
    for part in Part::ALL {
        let tensors = tensors_of(part);
        if tensors.is_empty() {
            continue;
        }
        let part_out = out.join(part.dir_name());
        let output = PartOutput { out: &part_out, checkpoint_label: label.clone(), random, options: &options };
        let report = match part {
            Part::Dna => enformer_weight_dir(dna_config.clone(), tensors, output),
            Part::Rna => esm_weight_dir(rna_json.clone(), EsmFamily::NucleotideTransformer, tensors, output),
            Part::Protein => esm_weight_dir(protein_json.clone(), EsmFamily::Esm2, tensors, output),
            Part::Aggregator => aggregator_weight_dir(aggregator.clone(), tensors, output),
        }
        .map_err(|e| in_part(part, e))?;
        parts.push((part, report));
    }
    if !parts.iter().any(|(part, _)| *part == Part::Aggregator) {
        return Err(Error::Checkpoint(CheckpointMismatch {
            missing: vec!["the aggregator (no cross-attention or head keys)".into()],
            ..Default::default()
        }));
    }
    let source = Source {
        checkpoint: label,
        licence: options.licence.clone().unwrap_or_else(|| ISOFORMER_LICENCE.into()),
        random_weights: random,
    };
    let index = IsoformerIndex::new(parts.iter().map(|(part, _)| *part).collect(), source);
    write_isoformer_index(out, &index)?;
    Ok(IsoformerReport { index, parts })
}

/// What `convert` makes of a `config.json`'s values that the model reads differently from how they
/// are written, one line each, for `isoformer inspect`: the published IsoFormer file's
/// `enformer_output_heads: 0`, and fields it leaves to a default.
pub fn config_notes(config: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    let field = |name: &str| config.get(name);
    for key in ["enformer_output_heads", "output_heads"] {
        if let Some(value @ (Value::Number(_) | Value::Null)) = field(key) {
            notes.push(format!(
                "{key}: {value} — read as no track heads (IsoFormer's published config.json writes 0 where enformer-pytorch takes a map of head name to tracks); heads present in the checkpoint are still converted, sized from their tensors"
            ));
        }
    }
    if field("esm_hidden_size").is_some() && field("esm_layer_norm_eps").is_none() {
        notes.push("esm_layer_norm_eps: absent — transformers' EsmConfig default 1e-12 applies, as in IsoFormer's own EsmConfig(...) (docs/isoformer-architecture.md §3)".into());
    }
    if let Some(value) = field("enformer_use_convnext") {
        notes.push(format!("enformer_use_convnext: {value} — ignored (no counterpart in enformer-pytorch 0.8)"));
    }
    notes
}

/// Names the part in a mismatch's entries (their names are relative to the part's prefix).
fn in_part(part: Part, error: Error) -> Error {
    match error {
        Error::Checkpoint(mut mismatch) => {
            for entry in mismatch.missing.iter_mut().chain(&mut mismatch.misshaped).chain(&mut mismatch.unknown) {
                *entry = format!("{} part: {entry}", part.dir_name());
            }
            Error::Checkpoint(mismatch)
        }
        other => other,
    }
}

fn family_name(family: EsmFamily) -> &'static str {
    match family {
        EsmFamily::Esm2 => "esm_*",
        EsmFamily::NucleotideTransformer => "nt_*",
    }
}

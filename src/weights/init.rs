//! `isoformer init`: an IsoFormer weight directory of random (untrained) weights at given shapes —
//! the published ones, so the demo and the benchmarks run at true size without the real checkpoint.
//! Native only. Every manifest it writes says `random_weights: true`, and so does every output
//! made from it.
//!
//! Values (seeded ChaCha8, so a seed always gives the same bytes): normalisation scales 1 and
//! shifts 0, BatchNorm running statistics mean 0 and variance 1, rotary frequencies their fixed
//! values, everything else N(0, 0.02²) — the `initializer_range` of the ESM-2 and NT-v2 configs.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::Normal;

use crate::config::AggregatorConfig;
use crate::config::{EnformerConfig, EsmConfig, EsmFamily};
use crate::error::{Error, Result};
use crate::models::aggregator::Aggregator;
use crate::models::enformer::Enformer;
use crate::models::esm::Esm;
use crate::models::nn::TensorSpec;
use crate::weights::writer::{Storage, write_weight_dir};
use crate::weights::{self, IsoformerIndex, Part, Source, write_isoformer_index};

const INITIALIZER_RANGE: f32 = 0.02;

/// The shapes of every part of an IsoFormer model.
#[derive(Debug, Clone, PartialEq)]
pub struct IsoformerShapes {
    /// The trunk; `output_heads` are the track heads written with it.
    pub dna: EnformerConfig,
    pub rna: Option<EsmConfig>,
    pub protein: Option<EsmConfig>,
    pub aggregator: AggregatorConfig,
}

fn parse<T: serde::de::DeserializeOwned>(value: Option<serde_json::Value>) -> Result<Option<T>> {
    value.map(|v| serde_json::from_value(v).map_err(|e| Error::Config(e.to_string()))).transpose()
}

impl IsoformerShapes {
    /// The released model's shapes (docs/isoformer-architecture.md §3 and §5, layout
    /// (a)): Enformer with its human and mouse heads, NT-v2 250M and ESM-2 150M with their LM
    /// heads, the aggregator as in src/models/aggregator.rs — ≈700M values, as the published file.
    pub fn published() -> Self {
        let mut dna = EnformerConfig::published();
        dna.output_heads = [("human".to_string(), 5313), ("mouse".to_string(), 1643)].into();
        IsoformerShapes {
            dna,
            rna: Some(crate::models::nucleotide::isoformer_rna()),
            protein: Some(EsmConfig::isoformer_protein()),
            aggregator: AggregatorConfig::published(),
        }
    }

    /// The shapes of an existing IsoFormer weight directory (its parts' manifests).
    pub fn like(dir: &Path) -> Result<Self> {
        let index = weights::read_isoformer_index(dir)?;
        let config = |part: Part| -> Result<Option<serde_json::Value>> {
            if !index.has(part) {
                return Ok(None);
            }
            Ok(Some(weights::read_part_manifest(dir, &index, part)?.config))
        };
        let dna: Option<EnformerConfig> = parse(config(Part::Dna)?)?;
        let aggregator: Option<AggregatorConfig> = parse(config(Part::Aggregator)?)?;
        Ok(IsoformerShapes {
            dna: dna.ok_or_else(|| Error::Manifest("no dna part".into()))?,
            rna: parse(config(Part::Rna)?)?,
            protein: parse(config(Part::Protein)?)?,
            aggregator: aggregator.ok_or_else(|| Error::Manifest("no aggregator part".into()))?,
        })
    }

    /// Values in all parts (rotary frequency buffers included).
    pub fn parameter_count(&self) -> usize {
        self.parts()
            .iter()
            .map(|(_, specs, _)| specs.iter().map(|s| s.shape.iter().product::<usize>()).sum::<usize>())
            .sum()
    }

    /// Each part with its tensor specs and its manifest's `model` and `config`.
    fn parts(&self) -> Vec<(Part, Vec<TensorSpec>, (&'static str, serde_json::Value))> {
        let heads: Vec<(String, usize)> = self.dna.output_heads.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut parts = vec![(
            Part::Dna,
            Enformer::tensor_specs(&self.dna, &heads),
            ("enformer", serde_json::to_value(&self.dna).unwrap_or_default()),
        )];
        for (part, family, config) in
            [(Part::Rna, EsmFamily::NucleotideTransformer, &self.rna), (Part::Protein, EsmFamily::Esm2, &self.protein)]
        {
            if let Some(config) = config {
                parts.push((
                    part,
                    Esm::tensor_specs(config, family, true),
                    (family.model_name(), serde_json::to_value(config).unwrap_or_default()),
                ));
            }
        }
        parts.push((
            Part::Aggregator,
            Aggregator::tensor_specs(&self.aggregator),
            ("aggregator", serde_json::to_value(&self.aggregator).unwrap_or_default()),
        ));
        parts
    }

    /// Checks that the parts fit together before anything is written.
    pub fn validate(&self) -> Result<()> {
        self.dna.validate()?;
        self.aggregator.validate()?;
        if let Some(rna) = &self.rna {
            rna.validate(EsmFamily::NucleotideTransformer)?;
        }
        if let Some(protein) = &self.protein {
            protein.validate(EsmFamily::Esm2)?;
        }
        self.aggregator.check_widths(
            2 * self.dna.dim,
            self.rna.as_ref().map(|c| c.hidden_size),
            self.protein.as_ref().map(|c| c.hidden_size),
        )?;
        Ok(())
    }
}

/// The value of every element of a tensor named `name`, by the rules in the module documentation.
fn random_tensor(spec: &TensorSpec, rng: &mut ChaCha8Rng, normal: &Normal<f32>) -> Vec<f32> {
    let count: usize = spec.shape.iter().product();
    let name = spec.name.as_str();
    let is_norm = name.contains("norm.") || name.contains("norm_") || name.contains("layer_norm");
    if name.ends_with("inv_freq") {
        crate::models::rotary::Rotary::default_inv_freq(2 * count)
    } else if name.ends_with("running_var") || (is_norm && name.ends_with(".weight")) {
        vec![1.0; count]
    } else if name.ends_with("running_mean") || (is_norm && name.ends_with(".bias")) {
        vec![0.0; count]
    } else {
        (0..count).map(|_| rng.sample(normal)).collect()
    }
}

/// Writes `isoformer.json` and a weight directory per part into `out`.
pub fn init_isoformer(shapes: &IsoformerShapes, seed: u64, out: &Path, storage: &Storage) -> Result<IsoformerIndex> {
    shapes.validate()?;
    let normal = Normal::new(0.0f32, INITIALIZER_RANGE).map_err(|e| Error::Config(e.to_string()))?;
    let source = |licence: &str| Source {
        checkpoint: format!("isoformer init --seed {seed}"),
        licence: licence.into(),
        random_weights: true,
    };
    let mut written = Vec::new();
    for (index, (part, specs, (model, config))) in shapes.parts().into_iter().enumerate() {
        // One stream per part, so a part's values do not depend on which other parts exist.
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(index as u64 * 0x9E37_79B9));
        let mut tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)> = specs
            .iter()
            .map(|spec| (spec.name.clone(), (spec.shape.clone(), random_tensor(spec, &mut rng, &normal))))
            .collect();
        write_weight_dir(
            &out.join(part.dir_name()),
            model,
            config,
            source("random weights (no licence applies)"),
            &specs,
            &mut tensors,
            storage,
        )?;
        written.push(part);
    }
    let index = IsoformerIndex::new(written, source("random weights (no licence applies)"));
    write_isoformer_index(out, &index)?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ≈700.8M fp32 values in the published file, minus buffers and pickle overhead
    /// (docs/isoformer-architecture.md §5): layout (a) with the LM heads and without
    /// the unused position tables (656,640 + 1,574,400) and ESM-2's contact head (601).
    #[test]
    fn published_shapes_have_the_published_size() {
        let shapes = IsoformerShapes::published();
        shapes.validate().unwrap();
        let count = shapes.parameter_count() + 656_640 + 1_574_400 + 601;
        assert!((700_500_000..700_800_000).contains(&count), "{count}");
    }

    #[test]
    fn norms_start_as_identity_and_the_rest_is_random() {
        let normal = Normal::new(0.0f32, INITIALIZER_RANGE).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let spec = |name: &str| TensorSpec { name: name.into(), shape: vec![64] };
        assert_eq!(random_tensor(&spec("layers.0.attention_norm.weight"), &mut rng, &normal), vec![1.0; 64]);
        assert_eq!(random_tensor(&spec("stem.residual.norm.running_mean"), &mut rng, &normal), vec![0.0; 64]);
        let weights = random_tensor(&spec("layers.0.attention.query.weight"), &mut rng, &normal);
        let std = (weights.iter().map(|v| v * v).sum::<f32>() / 64.0).sqrt();
        assert!((0.01..0.03).contains(&std), "{std}");
    }
}

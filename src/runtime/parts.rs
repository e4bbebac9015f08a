//! The one IsoFormer loader. An IsoFormer is four parts — DNA (Enformer), RNA (NT-v2), protein
//! (ESM-2) and the aggregator — each a weight directory; a [`PartSource`] says where they come
//! from: an IsoFormer directory on disk ([`IsoformerDir`]), one directory per part ([`PartDirs`],
//! the CLI's `--dna-weights` …), or the browser's fetch loader (`web`). [`load_isoformer`] builds
//! the whole model from any of them; low-memory prediction
//! ([`crate::models::isoformer::predict_part_by_part`]) reads the same sources one part at a time.

use burn::tensor::Device;

use crate::error::{Error, Result};
use crate::models::isoformer::{Isoformer, load_aggregator};
use crate::runtime::backend::ComputeDevice;
use crate::runtime::embed::{DnaEncoder, SequenceEncoder};
use crate::weights::{LoadedWeights, Manifest, Part};

/// Where an IsoFormer's parts come from. Native sources answer at once; the browser's fetches.
#[allow(async_fn_in_trait)] // used through generics only, on one thread (wasm) or blocked on (native)
pub trait PartSource {
    /// Whether the source holds `part`.
    fn has(&self, part: Part) -> bool;

    /// The part's manifest, read and checked.
    async fn manifest(&mut self, part: Part) -> Result<Manifest>;

    /// The part's weights, verified and uploaded to `device`.
    async fn weights(&mut self, part: Part, manifest: &Manifest, device: &Device) -> Result<LoadedWeights>;

    /// Every manifest of a load has been read, before the first shard (the browser's loader
    /// announces the total bytes here).
    fn manifests_read(&mut self, _manifests: &[&Manifest]) {}

    /// Whether the source as a whole says its weights are random (`isoformer.json`'s `source`),
    /// besides what each part's manifest says.
    fn random_weights(&self) -> bool {
        false
    }

    /// Both at once: the part's manifest and its weights on `device`.
    async fn part(&mut self, part: Part, device: &Device) -> Result<(Manifest, LoadedWeights)> {
        let manifest = self.manifest(part).await?;
        let weights = self.weights(part, &manifest, device).await?;
        Ok((manifest, weights))
    }
}

fn required_parts_missing() -> Error {
    Error::Manifest("the DNA and aggregator parts are required".into())
}

/// The parts a load reads, in loading order: DNA and the aggregator always (an error when the
/// source lacks one), RNA and protein when `wanted` names them and the source has them.
pub fn parts_to_load(source: &impl PartSource, wanted: &[Part]) -> Result<Vec<Part>> {
    if !source.has(Part::Dna) || !source.has(Part::Aggregator) {
        return Err(required_parts_missing());
    }
    Ok(Part::ALL
        .into_iter()
        .filter(|&part| matches!(part, Part::Dna | Part::Aggregator) || (wanted.contains(&part) && source.has(part)))
        .collect())
}

/// Loads IsoFormer from `source` onto `device`: every manifest first (so a loader knows the total
/// before the first shard), then each part's weights, then [`Isoformer::new`] checks that the
/// widths agree.
pub async fn load_isoformer(
    device: &ComputeDevice,
    source: &mut impl PartSource,
    wanted: &[Part],
) -> Result<Isoformer> {
    let parts = parts_to_load(source, wanted)?;
    let mut manifests = Vec::with_capacity(parts.len());
    for &part in &parts {
        manifests.push(source.manifest(part).await?);
    }
    source.manifests_read(&manifests.iter().collect::<Vec<_>>());
    let (mut dna, mut rna, mut protein, mut aggregator) = (None, None, None, None);
    for (&part, manifest) in parts.iter().zip(&manifests) {
        let weights = source.weights(part, manifest, &device.device).await?;
        match part {
            Part::Dna => dna = Some(DnaEncoder::new(device.clone(), manifest, weights)?),
            Part::Rna => rna = Some(SequenceEncoder::new(device.clone(), manifest, weights)?),
            Part::Protein => protein = Some(SequenceEncoder::new(device.clone(), manifest, weights)?),
            Part::Aggregator => aggregator = Some(load_aggregator(manifest, weights)?),
        }
    }
    let (aggregator, random) = aggregator.ok_or_else(required_parts_missing)?;
    Isoformer::new(dna.ok_or_else(required_parts_missing)?, rna, protein, aggregator, random || source.random_weights())
}

/// An IsoFormer weight directory on the local file system (`isoformer.json` and a directory per part).
#[cfg(not(target_arch = "wasm32"))]
pub struct IsoformerDir {
    dir: std::path::PathBuf,
    index: crate::weights::IsoformerIndex,
}

#[cfg(not(target_arch = "wasm32"))]
impl IsoformerDir {
    pub fn open(dir: &std::path::Path) -> Result<Self> {
        Ok(IsoformerDir { dir: dir.to_path_buf(), index: crate::weights::read_isoformer_index(dir)? })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl PartSource for IsoformerDir {
    fn has(&self, part: Part) -> bool {
        self.index.has(part)
    }

    async fn manifest(&mut self, part: Part) -> Result<Manifest> {
        crate::weights::read_part_manifest(&self.dir, &self.index, part)
    }

    async fn weights(&mut self, part: Part, manifest: &Manifest, device: &Device) -> Result<LoadedWeights> {
        crate::weights::load_weights(&self.dir.join(part.dir_name()), manifest, device)
    }

    fn random_weights(&self) -> bool {
        self.index.source.random_weights
    }
}

/// One weight directory per part on the local file system (the CLI's `--dna-weights`,
/// `--rna-weights`, `--protein-weights`, `--aggregator-weights`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
pub struct PartDirs(pub std::collections::BTreeMap<Part, std::path::PathBuf>);

#[cfg(not(target_arch = "wasm32"))]
impl PartDirs {
    fn dir(&self, part: Part) -> Result<&std::path::Path> {
        let missing = || Error::InvalidArgument(format!("no {} weights given", part.dir_name()));
        self.0.get(&part).map(std::path::PathBuf::as_path).ok_or_else(missing)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl PartSource for PartDirs {
    fn has(&self, part: Part) -> bool {
        self.0.contains_key(&part)
    }

    async fn manifest(&mut self, part: Part) -> Result<Manifest> {
        crate::weights::read_manifest(self.dir(part)?)
    }

    async fn weights(&mut self, part: Part, manifest: &Manifest, device: &Device) -> Result<LoadedWeights> {
        crate::weights::load_weights(self.dir(part)?, manifest, device)
    }
}

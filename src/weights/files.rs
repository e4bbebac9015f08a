//! Weight directories on the local file system (native): manifests, IsoFormer indexes, loading.

use burn::tensor::Device;

use crate::error::{Error, Result};
use crate::weights::index::{ISOFORMER_INDEX_FILE, IsoformerIndex, Part};
use crate::weights::manifest::{MANIFEST_FILE, Manifest};
use crate::weights::params::LoadedWeights;

/// Reads the index of an IsoFormer weight directory from the local file system.
pub fn read_isoformer_index(dir: &std::path::Path) -> Result<IsoformerIndex> {
    let path = dir.join(ISOFORMER_INDEX_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
    IsoformerIndex::from_json(&text)
}

/// Writes `isoformer.json` into `dir`.
pub fn write_isoformer_index(dir: &std::path::Path, index: &IsoformerIndex) -> Result<()> {
    let path = dir.join(ISOFORMER_INDEX_FILE);
    let text = serde_json::to_string_pretty(index).map_err(|e| Error::io(path.display(), e))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(path.display(), e))
}

/// `dir/manifest.json`, read and checked.
pub fn read_manifest(dir: &std::path::Path) -> Result<Manifest> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(manifest_path.display(), e))?;
    Manifest::from_json(&text)
}

/// Reads a weight directory from the local file system.
pub fn load_dir(dir: &std::path::Path, device: &Device) -> Result<(Manifest, LoadedWeights)> {
    let manifest = read_manifest(dir)?;
    let weights = load_weights(dir, &manifest, device)?;
    Ok((manifest, weights))
}

/// The shards `manifest` lists, read from `dir`, verified and uploaded to `device` one at a time.
pub fn load_weights(dir: &std::path::Path, manifest: &Manifest, device: &Device) -> Result<LoadedWeights> {
    let mut weights = LoadedWeights::new(device, manifest);
    for entry in &manifest.files {
        let path = dir.join(&entry.name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        weights.add_shard(entry, bytes)?;
    }
    Ok(weights)
}

/// The manifest of one part of the IsoFormer directory `dir` (its index `index`), checked to be
/// that part's model; an error when the directory has no such part.
pub fn read_part_manifest(dir: &std::path::Path, index: &IsoformerIndex, part: Part) -> Result<Manifest> {
    if !index.has(part) {
        return Err(Error::Manifest(format!("{}: no {} part", dir.display(), part.dir_name())));
    }
    let manifest = read_manifest(&dir.join(part.dir_name()))?;
    IsoformerIndex::check_part(part, &manifest)?;
    Ok(manifest)
}

/// One part of an IsoFormer directory, loaded onto `device` (see [`read_part_manifest`]).
pub fn load_part(
    dir: &std::path::Path,
    index: &IsoformerIndex,
    part: Part,
    device: &Device,
) -> Result<(Manifest, LoadedWeights)> {
    read_part_manifest(dir, index, part)?;
    load_dir(&dir.join(part.dir_name()), device)
}

//! `isoformer inspect`: a checkpoint's tensors with where each maps, or what a weight directory holds.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use isoformer::convert::Mapped;
use isoformer::convert::checkpoint::Checkpoint;
use isoformer::convert::isoformer::{config_notes, map_keys};
use isoformer::convert::read_config_json;
use isoformer::weights::{self, ISOFORMER_INDEX_FILE};
use isoformer::{Error, Result};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A .safetensors / .bin / .pt file, a checkpoint directory, a weight directory (manifest.json)
    /// or an IsoFormer weight directory (isoformer.json).
    path: PathBuf,
}

fn write_line(out: &mut impl Write, line: std::fmt::Arguments) -> Result<()> {
    out.write_fmt(line).and_then(|()| out.write_all(b"\n")).map_err(|e| Error::io("stdout", e))
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let path = args.path.as_path();
    let mut out = std::io::stdout().lock();
    if path.is_dir() && path.join(ISOFORMER_INDEX_FILE).is_file() {
        let index = weights::read_isoformer_index(path)?;
        write_line(
            &mut out,
            format_args!(
                "IsoFormer weight directory: parts {:?}, random weights: {}",
                index.parts, index.source.random_weights
            ),
        )?;
        for part in &index.parts {
            write_line(&mut out, format_args!("== {}/", part.dir_name()))?;
            weight_dir(&mut out, &path.join(part.dir_name()))?;
        }
        return Ok(());
    }
    let manifest_path = if path.is_dir() { path.join(weights::MANIFEST_FILE) } else { path.to_path_buf() };
    if manifest_path.file_name().is_some_and(|n| n == weights::MANIFEST_FILE) && manifest_path.is_file() {
        return weight_dir(&mut out, manifest_path.parent().unwrap_or(Path::new(".")));
    }
    let file = if path.is_dir() { Checkpoint::find_in_dir(path)? } else { path.to_path_buf() };
    checkpoint(&mut out, &Checkpoint::open(&file)?)?;
    let config_path = file.parent().unwrap_or(Path::new(".")).join("config.json");
    if config_path.is_file() {
        for note in config_notes(&read_config_json(&config_path)?) {
            write_line(&mut out, format_args!("# config.json: {note}"))?;
        }
    }
    Ok(())
}

fn weight_dir(out: &mut impl Write, dir: &Path) -> Result<()> {
    let manifest = weights::read_manifest(dir)?;
    let quantization = manifest
        .quantization
        .as_ref()
        .map(|q| format!(" ({}, blocks of {}, {} scales)", q.scheme, q.block_size, q.scale_dtype))
        .unwrap_or_default();
    write_line(
        out,
        format_args!(
            "weight directory: model {}, dtype {}{quantization}, {} bytes, random weights: {}",
            manifest.model,
            manifest.dtype.name(),
            manifest.total_bytes(),
            manifest.source.random_weights
        ),
    )?;
    for file in &manifest.files {
        write_line(out, format_args!("{} ({} bytes, sha256 {})", file.name, file.bytes, file.sha256))?;
        for tensor in &file.tensors {
            write_line(out, format_args!("  {}\t{}\t{:?}", tensor.name, tensor.dtype.name(), tensor.shape))?;
        }
    }
    Ok(())
}

/// Every key: name, dtype, shape, then `part/tensor` in the weight directory, `part: ignored`, or
/// `UNMAPPED` (convert would refuse the checkpoint).
fn checkpoint(out: &mut impl Write, checkpoint: &Checkpoint) -> Result<()> {
    let mut values: BTreeMap<String, usize> = BTreeMap::new();
    let mut unmapped = 0;
    for key in map_keys(checkpoint)? {
        let part = key.part.dir_name();
        let target = match &key.mapped {
            Mapped::To(name) => format!("{part}/{name}"),
            Mapped::Ignored => format!("{part}: ignored (not used for inference)"),
            Mapped::Unknown => {
                unmapped += 1;
                format!("UNMAPPED ({part} part has no such tensor)")
            }
        };
        *values.entry(part.to_string()).or_default() += key.shape.iter().product::<usize>();
        write_line(out, format_args!("{}\t{}\t{:?}\t-> {target}", key.key, key.dtype, key.shape))?;
    }
    let parts: Vec<String> = values.iter().map(|(part, n)| format!("{part} {n}")).collect();
    write_line(
        out,
        format_args!(
            "# {} tensors; values per part: {}; unmapped keys: {unmapped}",
            checkpoint.tensors.len(),
            parts.join(", ")
        ),
    )
}

//! `isoformer convert`: a published checkpoint → a weight directory.

use std::path::PathBuf;

use clap::ValueEnum;
use isoformer::convert::aggregator::convert_aggregator;
use isoformer::convert::enformer::convert_enformer;
use isoformer::convert::isoformer::convert_isoformer;
use isoformer::convert::{ConvertOptions, ConvertReport, convert_esm};
use isoformer::weights::quantize::WeightDtype;
use isoformer::weights::writer::Storage;
use isoformer::{EsmFamily, Result};

#[derive(clap::Args)]
pub struct ConvertArgs {
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Directory with config.json and model.safetensors (or pytorch_model.bin); for enformer and
    /// isoformer also the checkpoint file itself.
    #[arg(long)]
    from: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    storage: StorageArgs,
    /// Label the output as random (untrained) weights.
    #[arg(long)]
    random: bool,
}

/// How a written weight directory stores its tensors (`convert`, `init`, `quantize`).
#[derive(clap::Args)]
pub struct StorageArgs {
    /// f32, f16, or block-wise symmetric q8 / q4 (norms, biases and small tensors stay f32).
    #[arg(long, value_enum, default_value_t = WeightDtype::F32)]
    dtype: WeightDtype,
    /// Values per quantization scale (q8, q4).
    #[arg(long, default_value_t = isoformer::weights::quantize::DEFAULT_BLOCK_SIZE)]
    block_size: usize,
    /// Largest shard, in MiB.
    #[arg(long, default_value_t = 24)]
    shard_mib: u64,
}

impl StorageArgs {
    pub fn storage(&self) -> Result<Storage> {
        Ok(Storage { dtype: self.dtype, block_size: self.block_size, max_shard_bytes: self.shard_mib * 1024 * 1024 })
    }
}

/// `isoformer quantize`: re-encode a weight directory (or an IsoFormer directory) in another storage type.
#[derive(clap::Args)]
pub struct QuantizeArgs {
    /// A weight directory (manifest.json) or an IsoFormer weight directory (isoformer.json).
    #[arg(long)]
    from: PathBuf,
    /// Where to write (default: FROM/DTYPE/, the subdirectory the browser's `dtype` option
    /// loads: `IsoFormer.load({ weights: FROM, dtype: "q8" })` reads FROM/q8/).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
}

pub fn quantize(args: &QuantizeArgs) -> Result<()> {
    let storage = args.storage.storage()?;
    let out = args.out.clone().unwrap_or_else(|| args.from.join(storage.dtype.name()));
    isoformer::weights::writer::requantize(&args.from, &out, &storage)?;
    eprintln!("wrote {} ({}, blocks of {})", out.display(), storage.dtype.name(), storage.block_size);
    Ok(())
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelKind {
    /// ESM-2 (Hugging Face EsmForMaskedLM / EsmModel)
    Esm2,
    /// Nucleotide Transformer v2 (InstaDeep's Hugging Face format)
    Nt,
    /// Enformer (enformer-pytorch state dict or save_pretrained directory; an IsoFormer checkpoint's Enformer part)
    Enformer,
    /// IsoFormer's cross-attention aggregator and tissue head alone (config.json + weights; key names inferred)
    Aggregator,
    /// A whole IsoFormer checkpoint (InstaDeepAI/isoformer's pytorch_model.bin), split into dna/, rna/, protein/, aggregator/
    Isoformer,
}

fn report(out: &std::path::Path, report: &ConvertReport) {
    let manifest = &report.manifest;
    eprintln!("wrote {} ({} files, {} bytes)", out.display(), manifest.files.len() + 1, manifest.total_bytes());
    if !report.ignored.is_empty() {
        eprintln!("  ignored (not used for inference): {}", report.ignored.join(", "));
    }
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    let storage = args.storage.storage()?;
    let options = ConvertOptions {
        max_shard_bytes: storage.max_shard_bytes,
        dtype: storage.dtype,
        block_size: storage.block_size,
        random_weights: args.random,
        ..Default::default()
    };
    let single = match args.model {
        ModelKind::Esm2 => convert_esm(&args.from, &args.out, EsmFamily::Esm2, &options)?,
        ModelKind::Nt => convert_esm(&args.from, &args.out, EsmFamily::NucleotideTransformer, &options)?,
        ModelKind::Enformer => convert_enformer(&args.from, &args.out, &options)?,
        ModelKind::Aggregator => convert_aggregator(&args.from, &args.out, &options)?,
        ModelKind::Isoformer => {
            let written = convert_isoformer(&args.from, &args.out, &options)?;
            for (part, part_report) in &written.parts {
                report(&args.out.join(part.dir_name()), part_report);
            }
            eprintln!(
                "wrote {} (IsoFormer: {} parts; random weights: {})",
                args.out.join(isoformer::weights::ISOFORMER_INDEX_FILE).display(),
                written.parts.len(),
                written.index.source.random_weights
            );
            return Ok(());
        }
    };
    report(&args.out, &single);
    Ok(())
}

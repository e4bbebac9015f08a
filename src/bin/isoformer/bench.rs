//! `isoformer bench`: time an encoder, or a whole IsoFormer prediction, on synthetic input.

use std::path::PathBuf;
use std::time::Instant;

use isoformer::config::ENFORMER_SEQUENCE_LENGTH;
use isoformer::models::enformer::ConvKernel;
use isoformer::models::isoformer::predict_dir_part_by_part;
use isoformer::runtime::backend;
use isoformer::runtime::stages::StageTimes;
use isoformer::synthetic::synthetic_sequence;
use isoformer::tokenize::NUCLEOTIDE_MAX_TOKENS;
use isoformer::weights::{self, ISOFORMER_INDEX_FILE, Part};
use isoformer::{
    DnaEncoder, Isoformer, IsoformerInputs, Modality, NucleotideTokenizer, ProteinTokenizer, Result, SequenceEncoder,
    Tokenizer,
};

use crate::cli::{Backend, backend_kind};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// A weight directory (one encoder) or an IsoFormer weight directory (a whole prediction:
    /// 196,608 bp of DNA, a 2,048-token RNA and a --length-residue protein).
    #[arg(long)]
    weights: PathBuf,
    /// Length of the synthetic input (a fixed pseudo-random sequence of the 20 amino acids, or
    /// of A C G T for an NT-v2 model): residues or nucleotides.
    #[arg(long, alias = "residues", default_value_t = 1024)]
    length: usize,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
    /// Timed runs after one warm-up run (which includes shader compilation on wgpu); 0 times the warm-up alone.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// IsoFormer: one part in memory at a time (`predict --low-memory`); load time counts in each run.
    #[arg(long)]
    low_memory: bool,
    /// Enformer: plan the convolution windows for this buffer limit (MiB) instead of the device's.
    #[arg(long)]
    buffer_limit_mib: Option<u64>,
    /// Enformer: its k > 1 convolutions as Burn's conv1d or as k shifted matmuls (default: shifted
    /// matmuls on a GPU, conv1d on the CPU).
    #[arg(long, value_enum)]
    conv_kernel: Option<ConvKernelArg>,
    /// Only load the weights and build the model: load time and the device memory they take (wgpu).
    #[arg(long, conflicts_with_all = ["runs", "low_memory"])]
    load_only: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ConvKernelArg {
    Direct,
    ShiftedMatmuls,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let started = Instant::now();
    let device = backend::init_native(backend_kind(args.backend))?;
    if args.load_only {
        return load_only(args, device, started);
    }
    if args.weights.join(ISOFORMER_INDEX_FILE).is_file() {
        return bench_isoformer(args, device, started);
    }
    let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
    let description = device.description.clone();
    if manifest.model == "enformer" {
        let encoder = match args.conv_kernel {
            None => DnaEncoder::new(device, &manifest, loaded)?,
            Some(ConvKernelArg::Direct) => DnaEncoder::with_conv_kernel(device, &manifest, loaded, ConvKernel::Direct)?,
            Some(ConvKernelArg::ShiftedMatmuls) => {
                DnaEncoder::with_conv_kernel(device, &manifest, loaded, ConvKernel::ShiftedMatmuls)?
            }
        };
        return bench_dna(args, encoder, started);
    }
    let encoder = SequenceEncoder::new(device, &manifest, loaded)?;
    let length = args.length.max(1);
    let (encoder, sequence) = match encoder.modality() {
        Modality::Rna => (
            encoder.with_tokenizer(Tokenizer::Nucleotide(NucleotideTokenizer::new(length + 1)))?,
            synthetic_sequence(length, b"ACGT"),
        ),
        _ => (
            encoder.with_tokenizer(Tokenizer::Protein(ProteinTokenizer::new(length)))?,
            synthetic_sequence(length, b"ACDEFGHIKLMNPQRSTVWY"),
        ),
    };
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let tokens = encoder.tokenizer().encode(&sequence)?.len();
    let timing = time_runs(args.runs, || pollster::block_on(encoder.embed(&[sequence.as_str()])).map(drop))?;
    print_summary(
        serde_json::json!({
            "model": manifest.config.get("_name_or_path").cloned().unwrap_or(serde_json::Value::Null),
            "layers": encoder.config().num_hidden_layers,
            "hidden_size": encoder.config().hidden_size,
            "random_weights": encoder.random_weights(),
            "device": description,
            "modality": encoder.modality(),
            "length": length,
            "tokens": tokens,
            "load_ms": load_ms,
            "device_memory": device_memory(&encoder.device().device),
        }),
        timing,
    )
}

/// `--load-only`: the weights loaded and the model built, nothing run.
fn load_only(args: &BenchArgs, device: isoformer::ComputeDevice, started: Instant) -> Result<()> {
    let model: Box<dyn std::any::Any> = if args.weights.join(ISOFORMER_INDEX_FILE).is_file() {
        Box::new(Isoformer::load_dir(device.clone(), &args.weights, &[Part::Rna, Part::Protein])?)
    } else {
        let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
        match manifest.model.as_str() {
            "enformer" => Box::new(DnaEncoder::new(device.clone(), &manifest, loaded)?),
            "aggregator" => Box::new(isoformer::models::isoformer::load_aggregator(&manifest, loaded)?.0),
            _ => Box::new(SequenceEncoder::new(device.clone(), &manifest, loaded)?),
        }
    };
    device.device.sync().map_err(|e| isoformer::Error::Device(format!("{e:?}")))?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    println!(
        "{}",
        serde_json::json!({ "weights": args.weights, "device": device.description, "load_ms": load_ms, "device_memory": device_memory(&device.device) })
    );
    drop(model);
    Ok(())
}

/// One warm-up call (shader compilation on wgpu), then `runs` timed calls:
/// `{warmup_ms, runs_ms (sorted), median_ms}`.
fn time_runs(runs: usize, mut once: impl FnMut() -> Result<()>) -> Result<serde_json::Value> {
    let mut time = || -> Result<f64> {
        let started = Instant::now();
        once()?;
        Ok(started.elapsed().as_secs_f64() * 1e3)
    };
    let warmup_ms = time()?;
    let mut runs_ms = (0..runs).map(|_| time()).collect::<Result<Vec<f64>>>()?;
    runs_ms.sort_by(f64::total_cmp);
    // `--runs 0` times the warm-up alone (a slow adapter, or a memory measurement).
    Ok(serde_json::json!({ "warmup_ms": warmup_ms, "median_ms": runs_ms.get(runs_ms.len() / 2), "runs_ms": runs_ms }))
}

/// Per stage, the median over the timed runs (`null` when there were none).
fn median_stages(runs: &[StageTimes]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let first = runs.first()?;
    Some(
        first
            .0
            .iter()
            .map(|(stage, _)| {
                let mut ms: Vec<f64> = runs.iter().filter_map(|run| run.get(*stage)).collect();
                ms.sort_by(f64::total_cmp);
                (stage.name().to_string(), serde_json::json!(ms[ms.len() / 2]))
            })
            .collect(),
    )
}

/// Device memory held by Burn's pools after the runs (GPU backends; `null` on the CPU): the pools
/// keep pages for reuse, so `bytes_reserved` is the peak of the runs.
fn device_memory(device: &burn::tensor::Device) -> serde_json::Value {
    device.memory_pool_usage().map_or(serde_json::Value::Null, |usage| {
        serde_json::json!({ "bytes_reserved": usage.bytes_reserved, "bytes_in_use": usage.bytes_in_use, "allocations": usage.number_allocs })
    })
}

/// Prints one JSON line: the run's description with its timings.
fn print_summary(mut summary: serde_json::Value, timing: serde_json::Value) -> Result<()> {
    if let (Some(summary), Some(timing)) = (summary.as_object_mut(), timing.as_object()) {
        summary.extend(timing.clone());
    }
    println!("{summary}");
    Ok(())
}

/// Enformer timing: a synthetic A C G T sequence of `--length` bp (N-padded to 196,608 when shorter).
fn bench_dna(args: &BenchArgs, encoder: DnaEncoder, started: Instant) -> Result<()> {
    let encoder = match args.buffer_limit_mib {
        Some(mib) => encoder.with_buffer_limit(mib * 1024 * 1024),
        None => encoder,
    };
    let sequence = synthetic_sequence(args.length.clamp(1, encoder.one_hot().length()), b"ACGT");
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let timing = time_runs(args.runs, || pollster::block_on(encoder.embed(&sequence)).map(drop))?;
    let chunks = encoder.chunks();
    print_summary(
        serde_json::json!({
            "model": "enformer",
            "dim": encoder.config().dim,
            "layers": encoder.config().depth,
            "random_weights": encoder.random_weights(),
            "device": encoder.device().description,
            "modality": Modality::Dna,
            "length": sequence.len(),
            "window_bins": chunks.chunk_bins,
            "halo_bins": chunks.halo_bins,
            "load_ms": load_ms,
            "device_memory": device_memory(&encoder.device().device),
        }),
        timing,
    )
}

/// A whole IsoFormer prediction at the published input sizes: a synthetic 196,608 bp DNA window,
/// an RNA of 2,047 6-mers (2,048 tokens with `<cls>`) and a `--length`-residue protein.
fn bench_isoformer(args: &BenchArgs, device: isoformer::ComputeDevice, started: Instant) -> Result<()> {
    let description = device.description.clone();
    let index = weights::read_isoformer_index(&args.weights)?;
    let model = if args.low_memory {
        None
    } else {
        Some(Isoformer::load_dir(device.clone(), &args.weights, &[Part::Rna, Part::Protein])?)
    };
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let dna = synthetic_sequence(ENFORMER_SEQUENCE_LENGTH, b"ACGT");
    let rna = synthetic_sequence(6 * (NUCLEOTIDE_MAX_TOKENS - 1), b"ACGT");
    let protein = synthetic_sequence(args.length.max(1), b"ACDEFGHIKLMNPQRSTVWY");
    let mut modalities = vec![Modality::Dna];
    modalities.extend(index.has(Part::Rna).then_some(Modality::Rna));
    modalities.extend(index.has(Part::Protein).then_some(Modality::Protein));
    let inputs = IsoformerInputs {
        dna: Some(&dna),
        rna: modalities.contains(&Modality::Rna).then_some(rna.as_str()),
        protein: modalities.contains(&Modality::Protein).then_some(protein.as_str()),
    };
    let mut random = false;
    let mut stages = Vec::new();
    let timing = time_runs(args.runs, || {
        let prediction = match &model {
            Some(model) => pollster::block_on(model.predict(&inputs, false))?,
            None => pollster::block_on(predict_dir_part_by_part(
                &device,
                &args.weights,
                &inputs,
                false,
                &Default::default(),
            ))?,
        };
        random = prediction.random_weights;
        stages.push(prediction.stages);
        Ok(())
    })?;
    print_summary(
        serde_json::json!({
            "model": "isoformer",
            "random_weights": random,
            "device": description,
            "modalities": modalities,
            "dna_bp": dna.len(),
            "rna_nt": inputs.rna.map(str::len),
            "protein_residues": inputs.protein.map(str::len),
            "load_ms": load_ms,
            "low_memory": args.low_memory,
            "device_memory": device_memory(&device.device),
            "stages_warmup_ms": stages.first(),
            "stages_median_ms": median_stages(stages.get(1..).unwrap_or_default()),
        }),
        timing,
    )
}

//! `isoformer embed`: per-token embeddings of proteins (ESM-2), RNA (NT-v2) or DNA (Enformer).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::ValueEnum;
use isoformer::runtime::backend;
use isoformer::weights;
use isoformer::{
    Cancel, DnaEmbedding, DnaEncoder, Error, EsmFamily, Modality, Pooling, Result, SequenceEncoder, SequenceRecord,
    read_sequences,
};

use crate::cli::{Backend, RANDOM_WEIGHTS_NOTE, backend_kind, read_input};
use crate::embed_set::{self, RunSettings, SetEncoder};
use crate::input_options::InputArgs;
use crate::npy_rows::npy_bytes;
use crate::parquet_table;
use crate::rejected::OnError;
use crate::sequences::{Source, shown_id};

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Json,
    Npy,
    /// A directory run (as npy) plus `embeddings.parquet`: one row per record, a list column per output.
    Parquet,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["protein", "rna", "dna"])))]
pub struct EmbedArgs {
    /// Weight directory (manifest.json + shards): ESM-2 for --protein, NT-v2 for --rna, Enformer for --dna.
    #[arg(long)]
    weights: PathBuf,
    /// A protein sequence, or @file with FASTA or a bare sequence.
    #[arg(long)]
    protein: Option<String>,
    /// An RNA (or cDNA) sequence, or @file with FASTA or a bare sequence. U is read as T.
    #[arg(long)]
    rna: Option<String>,
    /// A DNA sequence (at most 196,608 bp; shorter ones are N-padded around their centre), or
    /// @file with FASTA or a bare sequence. Output: Enformer's [896, 3072] trunk embedding.
    #[arg(long)]
    dna: Option<String>,
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Output file (json, or npy for one sequence), or, with --format npy and several sequences
    /// (or an existing directory), a directory: ids.tsv and one [N, D] matrix per layer, written
    /// as records stream in; a killed run given the same arguments resumes after the rows it wrote.
    /// --format parquet: always a directory, with embeddings.parquet written once every row is.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sequences per forward pass (padded to the longest; a directory run batches similar lengths).
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    /// Hidden states of these layers instead of the last (ESM-2, NT-v2): 0 = the embeddings, i = the
    /// output of layer i, the last = the last hidden state; negative counts from the end
    /// (`--layer 12,20,-1`). All from one forward pass; JSON, or npy into a directory.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, conflicts_with = "dna")]
    layer: Option<Vec<i64>>,
    /// With --layer or into an npy directory: each layer's `<cls>` row, the mean over the
    /// sequence's own tokens (Enformer: over its bins), or every row (npy: one file per record).
    #[arg(long, value_enum, default_value_t = Pooling::Mean)]
    pooling: Pooling,
    /// A record that cannot be embedded (a bad letter, too long): refuse the run before anything
    /// is computed (refuse), or — a directory run — write it with its typed error to
    /// `rejected.tsv` and go on (skip).
    #[arg(long, value_enum, default_value_t = OnError::Refuse)]
    on_error: OnError,
}

pub fn run(args: &EmbedArgs) -> Result<()> {
    let modality = match (&args.protein, &args.rna, &args.dna) {
        (Some(_), _, _) => Modality::Protein,
        (None, Some(_), _) => Modality::Rna,
        _ => Modality::Dna,
    };
    args.input.check_for(modality)?;
    if args.dna.is_some() {
        return embed_dna(args);
    }
    if args.batch_size == 0 {
        return Err(Error::InvalidArgument("--batch-size must be at least 1".into()));
    }
    let (modality, input) = match (&args.protein, &args.rna) {
        (Some(protein), _) => (Modality::Protein, protein),
        (None, Some(rna)) => (Modality::Rna, rna),
        (None, None) => return Err(Error::InvalidArgument("give --protein or --rna".into())),
    };
    let source = Source::from_argument(input);
    let into_directory = writes_directory(args, &source)?;
    refuse_skip_outside_directory(args, into_directory)?;
    if args.layer.is_some() && matches!(args.format, Format::Npy) && !into_directory {
        return Err(Error::InvalidArgument("--layer writes JSON, or npy into a directory (--out DIR/)".into()));
    }
    let started = Instant::now();
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
    if manifest.model == "enformer" {
        return Err(Error::WrongModality { requested: modality, loaded: Modality::Dna });
    }
    let mut encoder = SequenceEncoder::new(device, &manifest, loaded)?;
    encoder.expect_modality(modality)?;
    if let Some(tokenizer) = args.input.run_options().tokenizer(&encoder) {
        encoder = encoder.with_tokenizer(tokenizer)?;
    }
    eprintln!("loaded {} in {:.1} ms", args.weights.display(), started.elapsed().as_secs_f64() * 1e3);
    if encoder.random_weights() {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    if into_directory {
        let set = SetEncoder::Sequence { encoder: &encoder, layers: args.layer.clone() };
        let settings = settings(args, &manifest.model, modality, encoder.random_weights());
        return run_set(args, &set, &source, settings, args.batch_size);
    }
    let records = read_sequences(&read_input(input)?)?;
    check_records(&records, |s| encoder.tokenizer().encode(s).map(drop))?;
    if let Some(layers) = &args.layer {
        return embed_layers(&encoder, &records, layers, args);
    }
    let mut embeddings = Vec::with_capacity(records.len());
    for batch in records.chunks(args.batch_size) {
        let started = Instant::now();
        let sequences: Vec<&str> = batch.iter().map(|r| r.sequence.as_str()).collect();
        let result = pollster::block_on(encoder.embed(&sequences))?;
        let tokens: usize = result.iter().map(|e| e.tokens.len()).sum();
        eprintln!(
            "embedded {} sequence(s), {tokens} tokens, in {:.1} ms",
            batch.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        embeddings.extend(result);
    }
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    match args.format {
        Format::Json => write_json(&ids, &embeddings, args.out.as_deref()),
        // (parquet always writes a directory)
        Format::Npy | Format::Parquet => {
            write_npy(embeddings[0].shape, &embeddings[0].last_hidden_state, args.out.as_deref())
        }
    }
}

/// One record's `embed --layer` output: its tokens and one entry per layer asked.
#[derive(serde::Serialize)]
struct LayersOutput {
    tokens: Vec<u32>,
    pooling: Pooling,
    layers: Vec<LayerOutput>,
}

/// One layer: `layer` as given, `index` in transformers' `hidden_states`, the pooled values.
#[derive(serde::Serialize)]
struct LayerOutput {
    layer: i64,
    index: usize,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// `embed --layer`: every record's hidden states at the layers asked (one pass per batch), pooled, as JSON.
fn embed_layers(encoder: &SequenceEncoder, records: &[SequenceRecord], layers: &[i64], args: &EmbedArgs) -> Result<()> {
    let indices = encoder.resolve_layers(layers)?;
    let mut outputs = Vec::with_capacity(records.len());
    for batch in records.chunks(args.batch_size) {
        let started = Instant::now();
        let sequences: Vec<&str> = batch.iter().map(|r| r.sequence.as_str()).collect();
        for per_layer in pollster::block_on(encoder.embed_layers(&sequences, layers))? {
            let entries = per_layer
                .iter()
                .zip(layers.iter().zip(&indices))
                .map(|(embedding, (&layer, &index))| {
                    let (shape, values) = embedding.pooled(args.pooling);
                    LayerOutput { layer, index, shape, values }
                })
                .collect();
            let tokens = per_layer.first().map(|e| e.tokens.clone()).unwrap_or_default();
            outputs.push(LayersOutput { tokens, pooling: args.pooling, layers: entries });
        }
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        eprintln!("embedded {} sequence(s) at {} layer(s) in {elapsed:.1} ms", batch.len(), layers.len());
    }
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    write_json(&ids, &outputs, args.out.as_deref())
}

/// `embed --dna`: one Enformer pass per record (JSON or npy as for the other modalities; the
/// JSON adds `bases` and, when the weights have heads, `tracks`).
fn embed_dna(args: &EmbedArgs) -> Result<()> {
    let input = args.dna.as_deref().unwrap_or_default();
    let source = Source::from_argument(input);
    let into_directory = writes_directory(args, &source)?;
    refuse_skip_outside_directory(args, into_directory)?;
    let started = Instant::now();
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
    if manifest.model != "enformer" {
        let loaded = EsmFamily::from_model_name(&manifest.model).map_or(Modality::Dna, |f| f.modality());
        return Err(Error::WrongModality { requested: Modality::Dna, loaded });
    }
    let encoder = DnaEncoder::new(device, &manifest, loaded)?;
    let one_hot = args.input.run_options().dna_one_hot(&encoder);
    eprintln!(
        "loaded {} in {:.1} ms; convolutions in windows of {:?}",
        args.weights.display(),
        started.elapsed().as_secs_f64() * 1e3,
        encoder.chunks()
    );
    if encoder.random_weights() {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    if into_directory {
        let set = SetEncoder::Dna { encoder: &encoder, one_hot: &one_hot };
        let settings = settings(args, &manifest.model, Modality::Dna, encoder.random_weights());
        return run_set(args, &set, &source, settings, 1);
    }
    let records = read_sequences(&read_input(input)?)?;
    check_records(&records, |s| one_hot.encode(s).map(drop))?;
    let mut embeddings: Vec<DnaEmbedding> = Vec::with_capacity(records.len());
    for record in &records {
        let started = Instant::now();
        embeddings.push(pollster::block_on(encoder.embed_with(&one_hot, &record.sequence, &Cancel::never()))?);
        eprintln!(
            "embedded {:?} ({} bp) in {:.1} ms",
            record.id,
            record.sequence.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    match args.format {
        Format::Json => write_json(&ids, &embeddings, args.out.as_deref()),
        // (parquet always writes a directory)
        Format::Npy | Format::Parquet => {
            write_npy(embeddings[0].shape, &embeddings[0].last_hidden_state, args.out.as_deref())
        }
    }
}

/// Validates every record before computing anything, so a bad record fails fast and is named.
fn check_records(records: &[SequenceRecord], check: impl Fn(&str) -> Result<()>) -> Result<()> {
    for record in records {
        check(&record.sequence).inspect_err(|_| eprintln!("in record {}:", shown_id(&record.id)))?;
    }
    Ok(())
}

fn write_json<T: serde::Serialize>(ids: &[&str], embeddings: &[T], out: Option<&Path>) -> Result<()> {
    let text = if embeddings.len() == 1 {
        serde_json::to_string(&embeddings[0])
    } else {
        let listed: Vec<serde_json::Value> = ids
            .iter()
            .zip(embeddings)
            .map(|(id, e)| {
                let mut value = serde_json::to_value(e).unwrap_or_default();
                value["id"] = serde_json::Value::from(*id);
                value
            })
            .collect();
        serde_json::to_string(&listed)
    }
    .map_err(|e| Error::io("json", e))?;
    match out {
        Some(path) => std::fs::write(path, text + "\n").map_err(|e| Error::io(path.display(), e)),
        None => writeln!(std::io::stdout().lock(), "{text}").map_err(|e| Error::io("stdout", e)),
    }
}

/// One sequence's `[L, D]` last hidden state as one .npy (file or stdout).
fn write_npy(shape: [usize; 2], last_hidden_state: &[f32], out: Option<&Path>) -> Result<()> {
    let bytes = npy_bytes(&[shape[0] as u64, shape[1] as u64], last_hidden_state)?;
    match out {
        Some(path) => std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e)),
        None => std::io::stdout().lock().write_all(&bytes).map_err(|e| Error::io("stdout", e)),
    }
}

/// A gene-set run into `--out`; with `--format parquet`, its table once every row is written.
fn run_set(args: &EmbedArgs, set: &SetEncoder, source: &Source, settings: RunSettings, batch: usize) -> Result<()> {
    let dir = out_dir(args)?;
    let settings = embed_set::run(set, source, dir, settings, batch, args.on_error)?;
    if args.format == Format::Parquet {
        parquet_table::write(dir, &settings)?;
    }
    Ok(())
}

/// `--format npy` writes a directory (see [`embed_set`]) for several records, or into a directory
/// that exists or is named with a trailing `/`; one record otherwise goes to one file.
fn writes_directory(args: &EmbedArgs, source: &Source) -> Result<bool> {
    match args.format {
        Format::Json => return Ok(false),
        Format::Parquet if args.pooling == Pooling::None => {
            return Err(Error::InvalidArgument(
                "--format parquet writes one row per record: --pooling mean or cls (none writes npy files)".into(),
            ));
        }
        Format::Parquet => return Ok(true),
        Format::Npy => {}
    }
    let named_directory =
        args.out.as_ref().is_some_and(|out| out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/'));
    Ok(named_directory || source.has_several()?)
}

/// `--on-error skip` writes `rejected.tsv` beside a gene-set run's rows: only a directory run has
/// a place for it.
fn refuse_skip_outside_directory(args: &EmbedArgs, into_directory: bool) -> Result<()> {
    if args.on_error == OnError::Skip && !into_directory {
        return Err(Error::InvalidArgument(
            "--on-error skip writes rejected.tsv into a gene-set run's directory: give --format npy --out DIR/".into(),
        ));
    }
    Ok(())
}

fn out_dir(args: &EmbedArgs) -> Result<&Path> {
    args.out.as_deref().ok_or_else(|| {
        Error::InvalidArgument("--format npy with several sequences (or parquet) needs --out DIRECTORY".into())
    })
}

/// What a directory run's rows depend on, kept in its run.json so a resume cannot mix settings.
fn settings(args: &EmbedArgs, model: &str, modality: Modality, random_weights: bool) -> RunSettings {
    RunSettings {
        model: model.to_string(),
        weights: args.weights.display().to_string(),
        modality: modality.to_string(),
        random_weights,
        pooling: args.pooling,
        outputs: Vec::new(),
        // A run that set records aside and one that refused them differ in their rows.
        input_options: match args.on_error {
            OnError::Refuse => args.input.describe(),
            OnError::Skip => format!("{} on_error=skip", args.input.describe()),
        },
    }
}

//! `isoformer predict`: IsoFormer's 30 tissue values for one transcript, or for a batch (a TSV, or
//! FASTA files joined by record id) written as a resumable TSV with a progress bar.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Tensor;
use clap::ValueEnum;
use isoformer::models::isoformer::predict_dir_part_by_part;
use isoformer::runtime::backend;
use isoformer::runtime::parts::{self, PartDirs};
use isoformer::weights::Part;
use isoformer::{Error, Isoformer, IsoformerInputs, Prediction, Result, TISSUES, read_sequences};

use crate::cli::{Backend, RANDOM_WEIGHTS_NOTE, backend_kind, read_input};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("model").required(true).args(["weights", "dna_weights"])))]
pub struct PredictArgs {
    /// An IsoFormer weight directory (isoformer.json; from `convert --model isoformer` or `init`).
    #[arg(long, conflicts_with_all = ["dna_weights", "rna_weights", "protein_weights", "aggregator_weights"])]
    weights: Option<PathBuf>,
    /// Or the parts one by one: the Enformer weight directory (always needed: missing DNA is read as N).
    #[arg(long, requires = "aggregator_weights")]
    dna_weights: Option<PathBuf>,
    /// NT-v2 weight directory (needed for RNA).
    #[arg(long)]
    rna_weights: Option<PathBuf>,
    /// ESM-2 weight directory (needed for proteins).
    #[arg(long)]
    protein_weights: Option<PathBuf>,
    /// IsoFormer aggregator weight directory.
    #[arg(long)]
    aggregator_weights: Option<PathBuf>,
    /// The gene's DNA window (SEQUENCE or @file), at most 196,608 bp. With FASTA batch input, the
    /// window of every transcript that --dna-fasta does not give (one gene, many isoforms).
    #[arg(long)]
    dna: Option<String>,
    /// The transcript (SEQUENCE or @file).
    #[arg(long, conflicts_with_all = ["batch", "rna_fasta", "protein_fasta", "dna_fasta"])]
    rna: Option<String>,
    /// The transcript's protein (SEQUENCE or @file).
    #[arg(long, conflicts_with_all = ["batch", "rna_fasta", "protein_fasta", "dna_fasta"])]
    protein: Option<String>,
    /// Many transcripts: a TSV with a header and the columns id, dna, rna, protein (an empty
    /// field is an absent modality; `@file` reads a sequence file). Needs --out; rows already
    /// in --out are skipped, so an interrupted run resumes.
    #[arg(long, conflicts_with_all = ["dna", "rna_fasta", "protein_fasta", "dna_fasta"])]
    batch: Option<PathBuf>,
    /// Many transcripts from FASTA: the transcripts, joined with --protein-fasta and --dna-fasta
    /// by record id (the header's first word); a record missing from a file is an absent modality.
    #[arg(long)]
    rna_fasta: Option<PathBuf>,
    /// Proteins of a FASTA batch (see --rna-fasta).
    #[arg(long)]
    protein_fasta: Option<PathBuf>,
    /// DNA windows of a FASTA batch (see --rna-fasta).
    #[arg(long)]
    dna_fasta: Option<PathBuf>,
    /// One transcript: json (default) or tsv. A batch always writes TSV.
    #[arg(long, value_enum, default_value_t = PredictFormat::Json)]
    format: PredictFormat,
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
    /// Also output the final DNA embeddings (json only).
    #[arg(long)]
    final_dna: bool,
    /// One part in memory at a time (loaded, run, released), so peak memory is the largest part,
    /// not the sum; slower. Needs --weights; one transcript only.
    #[arg(long, requires = "weights", conflicts_with_all = ["batch", "rna_fasta", "protein_fasta", "dna_fasta"])]
    low_memory: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum PredictFormat {
    Json,
    Tsv,
}

/// One transcript of a batch: each field empty (absent), a sequence, or `@file`.
struct Row {
    id: String,
    dna: String,
    rna: String,
    protein: String,
}

impl PredictArgs {
    fn is_batch(&self) -> bool {
        self.batch.is_some() || self.rna_fasta.is_some() || self.protein_fasta.is_some() || self.dna_fasta.is_some()
    }
}

/// Loads the parts of IsoFormer that the arguments name (only the encoders the input needs).
fn load_isoformer(args: &PredictArgs, wanted: &[Part]) -> Result<Isoformer> {
    let started = Instant::now();
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let model = match (&args.weights, &args.dna_weights, &args.aggregator_weights) {
        (Some(dir), _, _) => Isoformer::load_dir(device, dir, wanted)?,
        (None, Some(dna), Some(aggregator)) => {
            let given = [
                (Part::Dna, Some(dna)),
                (Part::Rna, args.rna_weights.as_ref()),
                (Part::Protein, args.protein_weights.as_ref()),
                (Part::Aggregator, Some(aggregator)),
            ];
            let mut dirs = PartDirs(given.into_iter().filter_map(|(part, dir)| Some((part, dir?.clone()))).collect());
            pollster::block_on(parts::load_isoformer(&device, &mut dirs, &Part::ALL))?
        }
        _ => return Err(Error::InvalidArgument("give --weights, or --dna-weights and --aggregator-weights".into())),
    };
    eprintln!("loaded IsoFormer in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    Ok(model)
}

/// A sequence argument or batch field: the text itself, or `@file` holding one sequence (FASTA or bare).
fn sequence_argument(argument: &str) -> Result<String> {
    let records = read_sequences(&read_input(argument)?)?;
    match <[_; 1]>::try_from(records) {
        Ok([record]) => Ok(record.sequence),
        Err(records) => Err(Error::InvalidArgument(format!("{argument}: {} sequences; give one", records.len()))),
    }
}

fn optional_sequence(field: &str) -> Result<Option<String>> {
    if field.is_empty() { Ok(None) } else { sequence_argument(field).map(Some) }
}

fn tsv_header() -> String {
    std::iter::once("id").chain(TISSUES).collect::<Vec<_>>().join("\t")
}

fn tsv_row(id: &str, prediction: &Prediction) -> String {
    std::iter::once(id.to_string())
        .chain(prediction.values.iter().map(|v| v.to_string()))
        .collect::<Vec<_>>()
        .join("\t")
}

pub fn run(args: &PredictArgs) -> Result<()> {
    if args.is_batch() {
        return predict_batch(args);
    }
    let given = |a: &Option<String>| a.as_deref().map(sequence_argument).transpose();
    let (dna, rna, protein) = (given(&args.dna)?, given(&args.rna)?, given(&args.protein)?);
    let inputs = IsoformerInputs { dna: dna.as_deref(), rna: rna.as_deref(), protein: protein.as_deref() };
    let started = Instant::now();
    let prediction = match (&args.weights, args.low_memory) {
        (Some(dir), true) => {
            let device = backend::init_native(backend_kind(args.backend))?;
            eprintln!("device: {}; low-memory mode: one part at a time", device.description);
            pollster::block_on(predict_dir_part_by_part(&device, dir, &inputs, args.final_dna))?
        }
        _ => {
            let wanted: Vec<Part> = [(rna.is_some(), Part::Rna), (protein.is_some(), Part::Protein)]
                .into_iter()
                .filter_map(|(given, part)| given.then_some(part))
                .collect();
            let model = load_isoformer(args, &wanted)?;
            let started = Instant::now();
            let prediction = pollster::block_on(model.predict(&inputs, args.final_dna))?;
            eprintln!("predicted in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
            prediction
        }
    };
    eprintln!("done in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    if prediction.random_weights {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    let text = match args.format {
        PredictFormat::Json => serde_json::to_string(&prediction).map_err(|e| Error::io("json", e))?,
        PredictFormat::Tsv => format!("{}\n{}", tsv_header(), tsv_row("transcript", &prediction)),
    };
    match &args.out {
        Some(path) => std::fs::write(path, text + "\n").map_err(|e| Error::io(path.display(), e)),
        None => writeln!(std::io::stdout().lock(), "{text}").map_err(|e| Error::io("stdout", e)),
    }
}

fn tsv_rows(batch: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(batch).map_err(|e| Error::io(batch.display(), e))?;
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<String> = line.split('\t').map(|f| f.trim().to_string()).collect();
        match <[String; 4]>::try_from(fields) {
            Ok([id, dna, rna, protein]) if !id.is_empty() => rows.push(Row { id, dna, rna, protein }),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "{} line {}: expected id, dna, rna, protein separated by tabs",
                    batch.display(),
                    number + 1
                )));
            }
        }
    }
    Ok(rows)
}

/// FASTA batch rows: records joined by id, in order of first appearance (RNA, protein, DNA files).
fn fasta_rows(args: &PredictArgs) -> Result<Vec<Row>> {
    let mut order: Vec<String> = Vec::new();
    let mut fields: BTreeMap<String, [String; 3]> = BTreeMap::new();
    for (slot, file) in [(1, &args.rna_fasta), (2, &args.protein_fasta), (0, &args.dna_fasta)] {
        let Some(file) = file else { continue };
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file.display(), e))?;
        for record in read_sequences(&text).inspect_err(|_| eprintln!("in {}:", file.display()))? {
            let entry = fields.entry(record.id.clone()).or_insert_with(|| {
                order.push(record.id.clone());
                Default::default()
            });
            if !entry[slot].is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "{}: record id {:?} appears twice",
                    file.display(),
                    record.id
                )));
            }
            entry[slot] = record.sequence;
        }
    }
    let shared_dna = args.dna.as_deref().map(sequence_argument).transpose()?.unwrap_or_default();
    Ok(order
        .into_iter()
        .map(|id| {
            let [dna, rna, protein] = fields.remove(&id).unwrap_or_default();
            let dna = if dna.is_empty() { shared_dna.clone() } else { dna };
            Row { id, dna, rna, protein }
        })
        .collect())
}

/// The batch TSV: one row per transcript, appended and flushed as each finishes; rows whose id
/// is already in the output are skipped. Every row is checked before the first is computed, and
/// the DNA embedding is reused while consecutive rows share their DNA window.
fn predict_batch(args: &PredictArgs) -> Result<()> {
    let out = args
        .out
        .as_deref()
        .ok_or_else(|| Error::InvalidArgument("batch input needs --out (the TSV to write or resume)".into()))?;
    let rows = match &args.batch {
        Some(batch) => tsv_rows(batch)?,
        None => fasta_rows(args)?,
    };
    if rows.is_empty() {
        return Err(Error::InvalidArgument("the batch has no transcripts".into()));
    }
    let mut ids = HashSet::new();
    if let Some(row) = rows.iter().find(|row| !ids.insert(row.id.as_str())) {
        return Err(Error::InvalidArgument(format!(
            "transcript id {:?} appears twice (ids key the resumable output)",
            row.id
        )));
    }
    let done: HashSet<String> = std::fs::read_to_string(out)
        .map(|t| t.lines().skip(1).filter_map(|l| l.split('\t').next().map(str::to_string)).collect())
        .unwrap_or_default();
    let wanted: Vec<Part> = [
        (rows.iter().any(|r| !r.rna.is_empty()), Part::Rna),
        (rows.iter().any(|r| !r.protein.is_empty()), Part::Protein),
    ]
    .into_iter()
    .filter_map(|(given, part)| given.then_some(part))
    .collect();
    let model = load_isoformer(args, &wanted)?;
    let mut todo = Vec::new();
    for row in rows.iter().filter(|row| !done.contains(&row.id)) {
        let sequences = (optional_sequence(&row.dna)?, optional_sequence(&row.rna)?, optional_sequence(&row.protein)?);
        let inputs = IsoformerInputs {
            dna: sequences.0.as_deref(),
            rna: sequences.1.as_deref(),
            protein: sequences.2.as_deref(),
        };
        model.check(&inputs).inspect_err(|_| eprintln!("in transcript {:?}:", row.id))?;
        todo.push(row);
    }
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(out).map_err(|e| Error::io(out.display(), e))?;
    if std::fs::metadata(out).map(|m| m.len() == 0).unwrap_or(true) {
        writeln!(file, "{}", tsv_header()).map_err(|e| Error::io(out.display(), e))?;
    }
    let progress = indicatif::ProgressBar::new(rows.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} transcripts, {elapsed} elapsed, ETA {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.inc((rows.len() - todo.len()) as u64);
    let mut random = false;
    let mut last_dna: Option<(String, Tensor<3>)> = None;
    for row in todo {
        progress.set_message(row.id.clone());
        let in_row = |e: Error| {
            progress.abandon();
            eprintln!("in transcript {:?}:", row.id);
            e
        };
        let (dna, rna, protein) =
            (optional_sequence(&row.dna)?, optional_sequence(&row.rna)?, optional_sequence(&row.protein)?);
        let key = dna.clone().unwrap_or_default();
        let embedding = match &last_dna {
            Some((previous, embedding)) if *previous == key => embedding.clone(),
            _ => model.dna_embedding(dna.as_deref()).map_err(in_row)?,
        };
        last_dna = Some((key, embedding.clone()));
        let inputs = IsoformerInputs { dna: dna.as_deref(), rna: rna.as_deref(), protein: protein.as_deref() };
        let prediction = pollster::block_on(model.predict_from(embedding, &inputs, false)).map_err(in_row)?;
        random |= prediction.random_weights;
        writeln!(file, "{}", tsv_row(&row.id, &prediction)).map_err(|e| Error::io(out.display(), e))?;
        file.flush().map_err(|e| Error::io(out.display(), e))?;
        progress.inc(1);
    }
    progress.finish_with_message("done");
    if random {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    Ok(())
}

//! `isoformer predict`: IsoFormer's 30 tissue values for one transcript, or for a batch (a TSV, or
//! FASTA files joined by record id) written as a resumable TSV with a progress bar.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Tensor;
use clap::ValueEnum;
use isoformer::models::isoformer::predict_dir_part_by_part;
use isoformer::runtime::backend;
use isoformer::runtime::parts::{self, PartDirs};
use isoformer::weights::Part;
use isoformer::{Error, Isoformer, IsoformerInputs, Prediction, Result, RunOptions, TISSUES, read_sequences};

use crate::cli::{Backend, RANDOM_WEIGHTS_NOTE, backend_kind, read_input};
use crate::input_options::InputArgs;
use crate::rejected::{OnError, Rejected};
use crate::sequences::{FastaById, shown_id};

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
    /// Batch input: transcripts per forward pass. Those of one gene (one DNA window, the same
    /// modalities) are sorted by length and predicted together; 1 keeps the input's order.
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    /// One part in memory at a time (loaded, run, released), so peak memory is the largest part,
    /// not the sum; slower. Needs --weights; one transcript only.
    #[arg(long, requires = "weights", conflicts_with_all = ["batch", "rna_fasta", "protein_fasta", "dna_fasta"])]
    low_memory: bool,
    #[command(flatten)]
    input: InputArgs,
    /// Batch input: a transcript that cannot be read (a bad letter, too long) refuses the whole
    /// batch before anything is computed (refuse), or goes with its typed error to
    /// `<out stem>.rejected.tsv` beside --out while the others are predicted (skip).
    #[arg(long, value_enum, default_value_t = OnError::Refuse)]
    on_error: OnError,
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
    if args.on_error == OnError::Skip {
        return Err(Error::InvalidArgument("--on-error skip applies to a batch (--batch or --rna-fasta …)".into()));
    }
    let options = args.input.run_options();
    let given = |a: &Option<String>| a.as_deref().map(sequence_argument).transpose();
    let (dna, rna, protein) = (given(&args.dna)?, given(&args.rna)?, given(&args.protein)?);
    let inputs = IsoformerInputs { dna: dna.as_deref(), rna: rna.as_deref(), protein: protein.as_deref() };
    let started = Instant::now();
    let prediction = match (&args.weights, args.low_memory) {
        (Some(dir), true) => {
            let device = backend::init_native(backend_kind(args.backend))?;
            eprintln!("device: {}; low-memory mode: one part at a time", device.description);
            pollster::block_on(predict_dir_part_by_part(&device, dir, &inputs, args.final_dna, &options))?
        }
        _ => {
            let wanted: Vec<Part> = [(rna.is_some(), Part::Rna), (protein.is_some(), Part::Protein)]
                .into_iter()
                .filter_map(|(given, part)| given.then_some(part))
                .collect();
            let model = load_isoformer(args, &wanted)?;
            let started = Instant::now();
            let prediction = pollster::block_on(model.predict_with(&inputs, args.final_dna, &options))?;
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

/// Where a batch's rows come from. Each pass reads the files again, so memory holds ids, never the
/// whole batch: a TSV is streamed line by line; FASTA files are indexed by record id.
enum BatchRows {
    Tsv(PathBuf),
    /// RNA, protein and DNA files, and the DNA window of rows whose id no DNA record has.
    Fasta {
        files: Box<[Option<FastaById>; 3]>,
        shared_dna: String,
    },
}

impl BatchRows {
    fn from_args(args: &PredictArgs) -> Result<Self> {
        if let Some(batch) = &args.batch {
            return Ok(BatchRows::Tsv(batch.clone()));
        }
        let index = |file: &Option<PathBuf>| file.as_deref().map(FastaById::index).transpose();
        let files = Box::new([index(&args.rna_fasta)?, index(&args.protein_fasta)?, index(&args.dna_fasta)?]);
        let shared_dna = args.dna.as_deref().map(sequence_argument).transpose()?.unwrap_or_default();
        Ok(BatchRows::Fasta { files, shared_dna })
    }

    /// The rows in order: a TSV's lines; FASTA records joined by id, in order of first appearance
    /// (RNA, protein, DNA files; a record missing from a file is an absent modality).
    fn rows(&self) -> Result<Box<dyn Iterator<Item = Result<Row>> + '_>> {
        match self {
            BatchRows::Tsv(batch) => {
                let file = std::fs::File::open(batch).map_err(|e| Error::io(batch.display(), e))?;
                let lines = std::io::BufReader::new(file).lines().enumerate().skip(1);
                Ok(Box::new(lines.filter_map(move |(number, line)| match line {
                    Ok(line) if line.trim().is_empty() => None,
                    Ok(line) => Some(tsv_row_of(batch, number + 1, &line)),
                    Err(e) => Some(Err(Error::io(batch.display(), e))),
                })))
            }
            BatchRows::Fasta { files, shared_dna } => {
                let ids = files.iter().enumerate().flat_map(move |(n, file)| {
                    let earlier = &files[..n];
                    file.iter()
                        .flat_map(|f| f.ids())
                        .filter(move |id| !earlier.iter().flatten().any(|e| e.contains(id)))
                });
                Ok(Box::new(ids.map(move |id| {
                    let field = |n: usize| files[n].as_ref().map(|f| f.get(id)).transpose().map(Option::flatten);
                    let (rna, protein) = (field(0)?.unwrap_or_default(), field(1)?.unwrap_or_default());
                    let dna = field(2)?.filter(|dna| !dna.is_empty()).unwrap_or_else(|| shared_dna.clone());
                    Ok(Row { id: id.to_string(), dna, rna, protein })
                })))
            }
        }
    }
}

/// One TSV line (`number` 1-based) as a row: id, dna, rna, protein separated by tabs.
fn tsv_row_of(batch: &Path, number: usize, line: &str) -> Result<Row> {
    let fields: Vec<String> = line.split('\t').map(|f| f.trim().to_string()).collect();
    match <[String; 4]>::try_from(fields) {
        Ok([id, dna, rna, protein]) if !id.is_empty() => Ok(Row { id, dna, rna, protein }),
        _ => Err(Error::InvalidArgument(format!(
            "{} line {number}: expected id, dna, rna, protein separated by tabs",
            batch.display()
        ))),
    }
}

/// The batch TSV: one row per transcript, appended and flushed as each finishes; rows whose id
/// is already in the output are skipped. Every row is checked before the first is computed, and
/// the DNA embedding is reused while consecutive rows share their DNA window. The rows are read
/// in passes (ids, checks, predictions), never all held.
fn predict_batch(args: &PredictArgs) -> Result<()> {
    let out = args
        .out
        .as_deref()
        .ok_or_else(|| Error::InvalidArgument("batch input needs --out (the TSV to write or resume)".into()))?;
    if args.batch_size == 0 {
        return Err(Error::InvalidArgument("--batch-size must be at least 1".into()));
    }
    let batch = BatchRows::from_args(args)?;
    // A first pass before loading: ids unique, and which encoders the batch needs.
    let (mut ids, mut total, mut wanted) = (HashSet::new(), 0u64, Vec::new());
    for row in batch.rows()? {
        let row = row?;
        if !ids.insert(row.id.clone()) {
            return Err(Error::InvalidArgument(format!(
                "transcript id {} appears twice (ids key the resumable output)",
                shown_id(&row.id)
            )));
        }
        for (given, part) in [(!row.rna.is_empty(), Part::Rna), (!row.protein.is_empty(), Part::Protein)] {
            if given && !wanted.contains(&part) {
                wanted.push(part);
            }
        }
        total += 1;
    }
    if total == 0 {
        return Err(Error::InvalidArgument("the batch has no transcripts".into()));
    }
    let done: HashSet<String> = std::fs::read_to_string(out)
        .map(|t| t.lines().skip(1).filter_map(|l| l.split('\t').next().map(str::to_string)).collect())
        .unwrap_or_default();
    let model = load_isoformer(args, &wanted)?;
    let options = args.input.run_options();
    // Rewritten by every run: its check pass below finds every rejected row again.
    let mut rejected = match args.on_error {
        OnError::Skip => Some(Rejected::create(&out.with_extension("rejected.tsv"))?),
        OnError::Refuse => None,
    };
    // Every row is checked before the first is computed.
    let (mut todo, mut skipped) = (0u64, HashSet::new());
    for (number, row) in batch.rows()?.enumerate() {
        let row = row?;
        if done.contains(&row.id) {
            continue;
        }
        let checked = Transcript::read(number as u64, &row).and_then(|t| model.check(&t.inputs(), &options));
        match (checked, &mut rejected) {
            (Ok(()), _) => todo += 1,
            (Err(error), Some(rejected)) if is_record_error(&error) => {
                rejected.add(number as u64, &row.id, &error)?;
                skipped.insert(row.id);
            }
            (Err(error), _) => {
                eprintln!("in transcript {}:", shown_id(&row.id));
                return Err(error);
            }
        }
    }
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(out).map_err(|e| Error::io(out.display(), e))?;
    if std::fs::metadata(out).map(|m| m.len() == 0).unwrap_or(true) {
        writeln!(file, "{}", tsv_header()).map_err(|e| Error::io(out.display(), e))?;
    }
    let progress = indicatif::ProgressBar::new(total - skipped.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} transcripts, {elapsed} elapsed, ETA {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.inc(total - todo);
    let mut run = GroupRun {
        model: &model,
        options: &options,
        file,
        out,
        progress: &progress,
        last_dna: None,
        random: false,
        rejected: rejected.as_mut(),
    };
    // Consecutive transcripts with one DNA window and the same modalities (a gene's isoforms) form
    // a group: its DNA embedding is computed once, and it is predicted --batch-size at a time.
    let window = args.batch_size * 32;
    let mut group: Vec<Transcript> = Vec::new();
    for (number, row) in batch.rows()?.enumerate() {
        let row = row?;
        if done.contains(&row.id) || skipped.contains(&row.id) {
            continue;
        }
        let transcript = Transcript::read(number as u64, &row)?;
        if group.first().is_some_and(|first| !first.same_group(&transcript)) || group.len() == window {
            run.predict_group(&mut group, args.batch_size)?;
        }
        group.push(transcript);
    }
    run.predict_group(&mut group, args.batch_size)?;
    let random = run.random;
    progress.finish_with_message("done");
    if let Some(summary) = rejected.as_ref().and_then(Rejected::summary) {
        eprintln!("{summary}");
    }
    if random {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    Ok(())
}

/// An error about one transcript's sequences (a letter, a length, a field that is not one
/// sequence), which `--on-error skip` sets aside; any other stops the batch.
fn is_record_error(error: &Error) -> bool {
    error.is_input_error() || matches!(error, Error::InvalidArgument(_))
}

/// One transcript of a batch, its sequences read.
struct Transcript {
    /// Its place in the batch's input, from 0.
    row: u64,
    id: String,
    dna: Option<String>,
    rna: Option<String>,
    protein: Option<String>,
}

impl Transcript {
    /// A batch row's sequences read (each field empty, a sequence, or `@file`).
    fn read(number: u64, row: &Row) -> Result<Self> {
        Ok(Transcript {
            row: number,
            id: row.id.clone(),
            dna: optional_sequence(&row.dna)?,
            rna: optional_sequence(&row.rna)?,
            protein: optional_sequence(&row.protein)?,
        })
    }

    /// Same DNA window and same modalities: predictable in one batch.
    fn same_group(&self, other: &Transcript) -> bool {
        self.dna == other.dna
            && self.rna.is_some() == other.rna.is_some()
            && self.protein.is_some() == other.protein.is_some()
    }

    fn inputs(&self) -> IsoformerInputs<'_> {
        IsoformerInputs { dna: self.dna.as_deref(), rna: self.rna.as_deref(), protein: self.protein.as_deref() }
    }

    /// What a batch pads to: its RNA's length, else its protein's.
    fn length(&self) -> usize {
        self.rna.as_ref().or(self.protein.as_ref()).map_or(0, String::len)
    }
}

/// The batch's output as it is written: the TSV, the progress bar, the last DNA embedding (reused
/// while the window stays the same).
struct GroupRun<'a> {
    model: &'a Isoformer,
    options: &'a RunOptions,
    file: std::fs::File,
    out: &'a Path,
    progress: &'a indicatif::ProgressBar,
    last_dna: Option<(Option<String>, Tensor<3>)>,
    random: bool,
    /// `--on-error skip`: where a transcript that fails on its input goes.
    rejected: Option<&'a mut Rejected>,
}

impl GroupRun<'_> {
    /// Predicts a group (one DNA window) in batches of `batch_size` — sorted by length first when
    /// batched, so a batch pads little — appending and flushing each transcript's row.
    fn predict_group(&mut self, group: &mut Vec<Transcript>, batch_size: usize) -> Result<()> {
        let Some(first) = group.first() else { return Ok(()) };
        let (progress, ids): (&indicatif::ProgressBar, Vec<String>) =
            (self.progress, group.iter().map(|t| t.id.clone()).collect());
        let in_group = |e: Error| {
            progress.abandon();
            eprintln!("in the transcripts {ids:?}:");
            e
        };
        let embedding = match &self.last_dna {
            Some((previous, embedding)) if *previous == first.dna => embedding.clone(),
            _ => pollster::block_on(self.model.dna_embedding(first.dna.as_deref(), self.options)).map_err(in_group)?,
        };
        self.last_dna = Some((first.dna.clone(), embedding.clone()));
        if batch_size > 1 {
            group.sort_by_key(Transcript::length);
        }
        for batch in group.chunks(batch_size) {
            self.progress.set_message(batch[0].id.clone());
            let predict = |batch: &[Transcript]| {
                let inputs: Vec<IsoformerInputs<'_>> = batch.iter().map(Transcript::inputs).collect();
                pollster::block_on(self.model.predict_batch_from(embedding.clone(), &inputs, self.options))
            };
            let predictions: Vec<Option<Prediction>> = match (predict(batch), self.rejected.as_deref_mut()) {
                (Ok(predictions), _) => predictions.into_iter().map(Some).collect(),
                // A batch refused for its input (one transcript too long for the device): each
                // alone, and the ones that still fail set aside.
                (Err(error), Some(rejected)) if is_record_error(&error) => {
                    let mut alone = Vec::with_capacity(batch.len());
                    for transcript in batch {
                        match predict(std::slice::from_ref(transcript)) {
                            Ok(mut one) => alone.push(one.pop()),
                            Err(error) if is_record_error(&error) => {
                                rejected.add(transcript.row, &transcript.id, &error)?;
                                alone.push(None);
                            }
                            Err(error) => return Err(in_group(error)),
                        }
                    }
                    alone
                }
                (Err(error), _) => return Err(in_group(error)),
            };
            for (transcript, prediction) in batch.iter().zip(predictions) {
                let Some(prediction) = prediction else { continue };
                self.random |= prediction.random_weights;
                writeln!(self.file, "{}", tsv_row(&transcript.id, &prediction))
                    .map_err(|e| Error::io(self.out.display(), e))?;
                self.progress.inc(1);
            }
            self.file.flush().map_err(|e| Error::io(self.out.display(), e))?;
        }
        group.clear();
        Ok(())
    }
}

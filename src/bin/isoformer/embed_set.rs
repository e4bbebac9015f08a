//! `isoformer embed --format npy --out DIR` over a gene set: records streamed from FASTA (memory
//! bounded by one window of records, not the file), sorted by length within each window so a batch
//! pads little, and written in input order — one `[N, D]` matrix per output (`embeddings.npy`, or
//! `layer_<i>.npy` per `--layer`) and `ids.tsv` naming row `i`. Rows are flushed a window at a
//! time; a killed run resumes after the rows it wrote. `--pooling none` writes each record's
//! `[tokens, D]` states as `<output>/<row>.npy` instead of a matrix row.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use isoformer::tokenize::DnaOneHot;
use isoformer::{Cancel, DnaEncoder, Embedding, Error, Pooling, Result, SequenceEncoder, SequenceRecord};

use crate::npy_rows::{NpyRows, npy_bytes};
use crate::rejected::{OnError, Rejected};
use crate::sequences::{Source, shown_id};

/// Batches per window: the records sorted by length together (and held in memory at once).
const BATCHES_PER_WINDOW: usize = 32;
const IDS_HEADER: &str = "row\tid\tlength\ttokens";

/// What embeds one batch of a set: a sequence encoder at its layers, or Enformer's trunk.
pub enum SetEncoder<'a> {
    Sequence { encoder: &'a SequenceEncoder, layers: Option<Vec<i64>> },
    Dna { encoder: &'a DnaEncoder, one_hot: &'a DnaOneHot },
}

impl SetEncoder<'_> {
    /// The outputs' names: `embeddings` (the last hidden state, or Enformer's trunk) or `layer_<i>`.
    fn outputs(&self) -> Result<Vec<String>> {
        match self {
            SetEncoder::Sequence { encoder, layers: Some(layers) } => {
                Ok(encoder.resolve_layers(layers)?.iter().map(|i| format!("layer_{i}")).collect())
            }
            _ => Ok(vec!["embeddings".into()]),
        }
    }

    /// A record's output rows (tokens, or Enformer's bins); its typed error if it cannot be embedded.
    /// A record that passes fits the device alone (a batch of such records is split into passes
    /// that fit), so embedding it cannot fail on its input.
    fn check(&self, sequence: &str) -> Result<usize> {
        match self {
            SetEncoder::Sequence { encoder, .. } => {
                let tokens = encoder.tokenizer().encode(sequence)?;
                encoder.fits(&tokens, 0)?;
                Ok(tokens.len())
            }
            SetEncoder::Dna { encoder, one_hot } => {
                one_hot.encode(sequence)?;
                Ok(encoder.config().target_length)
            }
        }
    }

    /// Per sequence, one embedding per output.
    fn embed(&self, sequences: &[&str]) -> Result<Vec<Vec<Embedding>>> {
        match self {
            SetEncoder::Sequence { encoder, layers } => {
                let layers = layers.clone().unwrap_or_else(|| vec![-1]);
                pollster::block_on(encoder.embed_layers(sequences, &layers))
            }
            SetEncoder::Dna { encoder, one_hot } => sequences
                .iter()
                .map(|sequence| {
                    let e = pollster::block_on(encoder.embed_with(one_hot, sequence, &Cancel::never()))?;
                    Ok(vec![Embedding {
                        tokens: Vec::new(),
                        shape: e.shape,
                        last_hidden_state: e.last_hidden_state,
                        mean_embedding: e.mean_embedding,
                    }])
                })
                .collect(),
        }
    }
}

/// What shapes a run's output; a resumed run must ask for the same (kept as `run.json`).
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
pub struct RunSettings {
    pub model: String,
    pub weights: String,
    pub modality: String,
    /// Untrained weights: every row means nothing biologically.
    pub random_weights: bool,
    pub pooling: Pooling,
    pub outputs: Vec<String>,
    /// The tokenizer's or one-hot encoder's options (length limits, cropping, ambiguity codes).
    pub input_options: String,
}

/// One record of the current window, with the row it gets.
struct Pending {
    row: u64,
    record: SequenceRecord,
    tokens: usize,
}

/// The run: checks every record first (streaming; with `--on-error refuse` a bad record is named
/// before anything is computed; with `skip` it goes to `rejected.tsv`), resumes after the rows
/// `dir` already holds, then embeds the rest window by window. Returns the settings as written to
/// run.json (with the outputs' names).
pub fn run(
    encoder: &SetEncoder,
    source: &Source,
    dir: &Path,
    mut settings: RunSettings,
    batch_size: usize,
    on_error: OnError,
) -> Result<RunSettings> {
    let pooling = settings.pooling;
    if pooling == Pooling::Cls && matches!(encoder, SetEncoder::Dna { .. }) {
        return Err(Error::InvalidArgument("Enformer has no <cls> token: --pooling mean or none".into()));
    }
    settings.outputs = encoder.outputs()?;
    let good = check_all(encoder, source, on_error)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut output = SetOutput::resume(dir, &settings)?;
    let mut rejected = match on_error {
        OnError::Skip => Some(Rejected::create(&dir.join("rejected.tsv"))?),
        OnError::Refuse => None,
    };
    let progress = indicatif::ProgressBar::new(good);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records, {per_sec}, ETA {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.inc(output.ids.len() as u64);
    let window_size = batch_size * BATCHES_PER_WINDOW;
    let mut window: Vec<Pending> = Vec::with_capacity(window_size);
    // Resuming, the input's first records are the rows written, in order, and (skipping) the
    // records rejected among them, which are found and listed again.
    let (written, mut resumed) = (output.ids.len(), 0);
    for (position, record) in source.records()?.enumerate() {
        let record = record?;
        let checked = encoder.check(&record.sequence);
        let tokens = match (checked, &mut rejected) {
            (Ok(_), _) if resumed < written => {
                output.expect_id(resumed, &record.id)?;
                resumed += 1;
                continue;
            }
            (Ok(tokens), _) => tokens,
            (Err(error), Some(rejected)) if error.is_input_error() => {
                rejected.add(position as u64, &record.id, &error)?;
                continue;
            }
            (Err(error), _) => {
                eprintln!("in record {}:", shown_id(&record.id));
                return Err(error);
            }
        };
        let row = (output.ids.len() + window.len()) as u64;
        window.push(Pending { row, record, tokens });
        if window.len() == window_size {
            output.write_window(encoder, &mut window, batch_size, &progress)?;
        }
    }
    if resumed < written {
        return Err(Error::InvalidArgument(format!(
            "{} holds {written} rows but the input has {resumed} records to embed: it was written from another input",
            dir.display()
        )));
    }
    output.write_window(encoder, &mut window, batch_size, &progress)?;
    progress.finish_with_message("done");
    eprintln!("wrote {} rows to {} (ids.tsv names each row)", output.ids.len(), dir.display());
    if let Some(summary) = rejected.as_ref().and_then(Rejected::summary) {
        eprintln!("{summary}");
    }
    Ok(settings)
}

/// The first pass: with `refuse`, every record embeddable (the first that is not is the error);
/// with `skip`, the good ones counted. Returns how many records will be embedded.
fn check_all(encoder: &SetEncoder, source: &Source, on_error: OnError) -> Result<u64> {
    let mut good = 0;
    for record in source.records()? {
        let record = record?;
        match encoder.check(&record.sequence) {
            Ok(_) => good += 1,
            Err(error) if on_error == OnError::Skip && error.is_input_error() => {}
            Err(error) => {
                eprintln!("in record {}:", shown_id(&record.id));
                return Err(error);
            }
        }
    }
    Ok(good)
}

/// The output directory: `ids.tsv`, a matrix per output (or per-record files), `run.json`.
struct SetOutput {
    dir: PathBuf,
    pooling: Pooling,
    outputs: Vec<String>,
    /// The ids of the rows written so far.
    ids: Vec<String>,
    ids_file: File,
    /// One per output, opened on the first rows (their width is the model's).
    matrices: Vec<Option<NpyRows>>,
}

impl SetOutput {
    /// Opens `dir`, keeping the rows every file of an earlier run with these settings completed.
    fn resume(dir: &Path, settings: &RunSettings) -> Result<Self> {
        let run_path = dir.join("run.json");
        fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
            move |e| Error::io(path.display(), e)
        }
        match std::fs::read(&run_path) {
            Ok(bytes) => {
                let earlier: Option<RunSettings> = serde_json::from_slice(&bytes).ok();
                if earlier.as_ref() != Some(settings) {
                    return Err(Error::InvalidArgument(format!(
                        "{} holds a run with other settings ({}); give another --out or remove it",
                        dir.display(),
                        String::from_utf8_lossy(&bytes).trim()
                    )));
                }
            }
            Err(_) => {
                let text = serde_json::to_string_pretty(settings).map_err(|e| Error::io("run.json", e))?;
                std::fs::write(&run_path, text + "\n").map_err(io(&run_path))?;
            }
        }
        let ids_path = dir.join("ids.tsv");
        let text = std::fs::read_to_string(&ids_path).unwrap_or_default();
        // Only whole lines count: a run killed mid-line left its last line unfinished.
        let mut ids: Vec<String> = text
            .split_inclusive('\n')
            .skip(1)
            .take_while(|line| line.ends_with('\n'))
            .map(|line| line.split('\t').nth(1).unwrap_or_default().to_string())
            .collect();
        let per_record = settings.pooling == Pooling::None;
        let mut matrices = Vec::new();
        for name in &settings.outputs {
            let path = dir.join(format!("{name}.npy"));
            if per_record {
                std::fs::create_dir_all(dir.join(name)).map_err(io(&path))?;
                continue;
            }
            match NpyRows::on_disk(&path)? {
                Some((rows, width)) => {
                    ids.truncate(rows.min(ids.len() as u64) as usize);
                    matrices.push(Some(width));
                }
                None => {
                    ids.clear();
                    matrices.push(None);
                }
            }
        }
        let keep = ids.len() as u64;
        let matrices = matrices
            .into_iter()
            .zip(&settings.outputs)
            .map(|(width, name)| width.map(|w| NpyRows::open(&dir.join(format!("{name}.npy")), w, keep)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let mut kept = String::from(IDS_HEADER) + "\n";
        kept.extend(text.split_inclusive('\n').skip(1).take(ids.len()).map(str::to_string));
        std::fs::write(&ids_path, kept).map_err(io(&ids_path))?;
        let ids_file = std::fs::OpenOptions::new().append(true).open(&ids_path).map_err(io(&ids_path))?;
        if keep > 0 {
            eprintln!("resuming after the {keep} rows already in {}", dir.display());
        }
        Ok(SetOutput {
            dir: dir.to_path_buf(),
            pooling: settings.pooling,
            outputs: settings.outputs.clone(),
            ids,
            ids_file,
            matrices,
        })
    }

    /// A resumed run reads the same input: the record that comes to row `row` must be the one written there.
    fn expect_id(&self, row: usize, id: &str) -> Result<()> {
        let written = &self.ids[row];
        if written == id {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "{} was written from another input: its row {row} is {written:?}, this input's record for it is {id:?}",
            self.dir.display()
        )))
    }

    /// Embeds the window's records in batches of similar length, then writes them in input order.
    fn write_window(
        &mut self,
        encoder: &SetEncoder,
        window: &mut Vec<Pending>,
        batch_size: usize,
        progress: &indicatif::ProgressBar,
    ) -> Result<()> {
        let mut order: Vec<usize> = (0..window.len()).collect();
        order.sort_by_key(|&i| window[i].tokens);
        let mut pooled: Vec<Vec<Vec<f32>>> = vec![Vec::new(); window.len()];
        for batch in order.chunks(batch_size) {
            let sequences: Vec<&str> = batch.iter().map(|&i| window[i].record.sequence.as_str()).collect();
            let embedded = encoder.embed(&sequences).inspect_err(|_| {
                progress.abandon();
                eprintln!(
                    "in the batch of records {:?}:",
                    batch.iter().map(|&i| &window[i].record.id).collect::<Vec<_>>()
                );
            })?;
            for (&i, per_output) in batch.iter().zip(embedded) {
                pooled[i] = self.keep(window[i].row, per_output)?;
            }
            progress.inc(batch.len() as u64);
        }
        for (index, name) in self.outputs.clone().iter().enumerate() {
            let Some(width) = pooled.first().and_then(|p| p.get(index)).map(Vec::len) else { break };
            let path = self.dir.join(format!("{name}.npy"));
            if self.matrices[index].is_none() {
                self.matrices[index] = Some(NpyRows::open(&path, width, 0)?);
            }
            let rows: Vec<f32> = pooled.iter().flat_map(|p| p[index].iter().copied()).collect();
            if let Some(matrix) = &mut self.matrices[index] {
                if matrix.width() != width {
                    return Err(Error::InvalidArgument(format!(
                        "{}: rows of {} values, not {width}",
                        path.display(),
                        matrix.width()
                    )));
                }
                matrix.append(&rows)?;
            }
        }
        let mut lines = String::new();
        for pending in window.iter() {
            let length = pending.record.sequence.chars().filter(|c| !c.is_whitespace()).count();
            lines += &format!("{}\t{}\t{length}\t{}\n", pending.row, pending.record.id, pending.tokens);
            self.ids.push(pending.record.id.clone());
        }
        let path = self.dir.join("ids.tsv");
        self.ids_file.write_all(lines.as_bytes()).map_err(|e| Error::io(path.display(), e))?;
        self.ids_file.flush().map_err(|e| Error::io(path.display(), e))?;
        window.clear();
        Ok(())
    }

    /// One record's outputs: pooled rows kept for the matrices, or (`--pooling none`) its
    /// `[tokens, D]` states written now as `<output>/<row>.npy`, keeping nothing.
    fn keep(&self, row: u64, per_output: Vec<Embedding>) -> Result<Vec<Vec<f32>>> {
        if self.pooling != Pooling::None {
            return Ok(per_output.iter().map(|e| e.pooled(self.pooling).1).collect());
        }
        for (embedding, name) in per_output.iter().zip(&self.outputs) {
            let path = self.dir.join(name).join(format!("{row:06}.npy"));
            let [rows, width] = embedding.shape.map(|n| n as u64);
            std::fs::write(&path, npy_bytes(&[rows, width], &embedding.last_hidden_state)?)
                .map_err(|e| Error::io(path.display(), e))?;
        }
        Ok(Vec::new())
    }
}

//! `isoformer embed`: per-token embeddings of proteins (ESM-2), RNA (NT-v2) or DNA (Enformer).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::ValueEnum;
use isoformer::runtime::backend;
use isoformer::tokenize::NUCLEOTIDE_MAX_TOKENS;
use isoformer::weights;
use isoformer::{
    AmbiguityPolicy, CropPolicy, DnaCropPolicy, DnaEmbedding, DnaEncoder, Embedding, Error, EsmFamily, Modality,
    NucleotideTokenizer, Pooling, ProteinTokenizer, Result, SequenceEncoder, SequenceRecord, Tokenizer, read_sequences,
};
use npyz::WriterBuilder;

use crate::cli::{Backend, RANDOM_WEIGHTS_NOTE, backend_kind, read_input};

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Json,
    Npy,
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
    /// DNA longer than 196,608 bp: an error (none) or keep the central 196,608 bp (centre).
    #[arg(long, value_enum, default_value_t = DnaCropPolicy::Reject, requires = "dna")]
    crop_dna: DnaCropPolicy,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Output file (json, or npy for one sequence), or a directory (npy, several sequences).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sequences per forward pass (padded to the longest).
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    /// Accept proteins longer than the trained context (default: max_position_embeddings − 2).
    #[arg(long, conflicts_with = "rna")]
    max_residues: Option<usize>,
    /// Most RNA tokens, <cls> included (default: 2048, IsoFormer's RNA length).
    #[arg(long, conflicts_with = "protein")]
    max_tokens: Option<usize>,
    /// RNA longer than --max-tokens: an error (none), or keep its 5' start or 3' end tokens.
    #[arg(long, value_enum, default_value_t = CropPolicy::Reject, conflicts_with = "protein")]
    crop: CropPolicy,
    /// Hidden states of these layers instead of the last (ESM-2, NT-v2): 0 = the embeddings, i = the
    /// output of layer i, the last = the last hidden state; negative counts from the end
    /// (`--layer 12,20,-1`). All from one forward pass; JSON only.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, conflicts_with = "dna")]
    layer: Option<Vec<i64>>,
    /// With --layer: each layer's `<cls>` row, the mean over the sequence's own tokens, or every row.
    #[arg(long, value_enum, default_value_t = Pooling::Mean, requires = "layer")]
    pooling: Pooling,
    /// IUPAC ambiguity codes (R Y S W K M B D H V) in RNA or DNA: an error (reject) or read as N.
    #[arg(long, value_enum, default_value_t = AmbiguityPolicy::Reject, conflicts_with = "protein")]
    ambiguous: AmbiguityPolicy,
}

/// The tokenizer the options ask for, or `None` for the encoder's default.
fn tokenizer_from(args: &EmbedArgs) -> Option<Tokenizer> {
    if args.protein.is_some() {
        return args.max_residues.map(|max| Tokenizer::Protein(ProteinTokenizer::new(max)));
    }
    let tokenizer = NucleotideTokenizer::new(args.max_tokens.unwrap_or(NUCLEOTIDE_MAX_TOKENS))
        .with_crop(args.crop)
        .with_ambiguity(args.ambiguous);
    Some(Tokenizer::Nucleotide(tokenizer))
}

pub fn run(args: &EmbedArgs) -> Result<()> {
    if args.dna.is_some() {
        return embed_dna(args);
    }
    if args.batch_size == 0 {
        return Err(Error::InvalidArgument("--batch-size must be at least 1".into()));
    }
    if args.layer.is_some() && matches!(args.format, Format::Npy) {
        return Err(Error::InvalidArgument("--layer writes JSON (--format json)".into()));
    }
    let (modality, input) = match (&args.protein, &args.rna) {
        (Some(protein), _) => (Modality::Protein, protein),
        (None, Some(rna)) => (Modality::Rna, rna),
        (None, None) => return Err(Error::InvalidArgument("give --protein or --rna".into())),
    };
    let records = read_sequences(&read_input(input)?)?;
    let started = Instant::now();
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
    if manifest.model == "enformer" {
        return Err(Error::WrongModality { requested: modality, loaded: Modality::Dna });
    }
    let mut encoder = SequenceEncoder::new(device, &manifest, loaded)?;
    encoder.expect_modality(modality)?;
    if let Some(tokenizer) = tokenizer_from(args) {
        encoder = encoder.with_tokenizer(tokenizer)?;
    }
    eprintln!("loaded {} in {:.1} ms", args.weights.display(), started.elapsed().as_secs_f64() * 1e3);
    if encoder.random_weights() {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
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
        Format::Npy => write_npy(&ids, &embeddings, args.out.as_deref()),
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
    let records = read_sequences(&read_input(input)?)?;
    let started = Instant::now();
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
    if manifest.model != "enformer" {
        let loaded = EsmFamily::from_model_name(&manifest.model).map_or(Modality::Dna, |f| f.modality());
        return Err(Error::WrongModality { requested: Modality::Dna, loaded });
    }
    let encoder = DnaEncoder::new(device, &manifest, loaded)?;
    let one_hot = encoder.one_hot().clone().with_crop(args.crop_dna).with_ambiguity(args.ambiguous);
    eprintln!(
        "loaded {} in {:.1} ms; convolutions in windows of {:?}",
        args.weights.display(),
        started.elapsed().as_secs_f64() * 1e3,
        encoder.chunks()
    );
    if encoder.random_weights() {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    check_records(&records, |s| one_hot.encode(s).map(drop))?;
    let mut embeddings: Vec<DnaEmbedding> = Vec::with_capacity(records.len());
    for record in &records {
        let started = Instant::now();
        embeddings.push(pollster::block_on(encoder.embed_with(&one_hot, &record.sequence))?);
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
        Format::Npy => {
            let rows: Vec<Embedding> = embeddings
                .into_iter()
                .map(|e| Embedding {
                    tokens: Vec::new(),
                    shape: e.shape,
                    last_hidden_state: e.last_hidden_state,
                    mean_embedding: e.mean_embedding,
                })
                .collect();
            write_npy(&ids, &rows, args.out.as_deref())
        }
    }
}

/// Validates every record before computing anything, so a bad record fails fast and is named.
fn check_records(records: &[SequenceRecord], check: impl Fn(&str) -> Result<()>) -> Result<()> {
    for record in records {
        check(&record.sequence).inspect_err(|_| eprintln!("in record {:?}:", record.id))?;
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

fn npy_bytes(shape: &[u64], values: &[f32]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut bytes)
        .begin_nd()
        .map_err(|e| Error::io("npy", e))?;
    writer.extend(values.iter().copied()).map_err(|e| Error::io("npy", e))?;
    writer.finish().map_err(|e| Error::io("npy", e))?;
    Ok(bytes)
}

/// One sequence: its `[L, D]` last hidden state as one .npy (file or stdout). Several: a
/// directory with `NNNN_<id>.npy` per sequence and `mean_embeddings.npy` `[N, D]`.
fn write_npy(ids: &[&str], embeddings: &[Embedding], out: Option<&Path>) -> Result<()> {
    if embeddings.len() == 1 {
        let e = &embeddings[0];
        let bytes = npy_bytes(&[e.shape[0] as u64, e.shape[1] as u64], &e.last_hidden_state)?;
        return match out {
            Some(path) => std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e)),
            None => std::io::stdout().lock().write_all(&bytes).map_err(|e| Error::io("stdout", e)),
        };
    }
    let dir =
        out.ok_or_else(|| Error::InvalidArgument("--format npy with several sequences needs --out DIRECTORY".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut means = Vec::new();
    for (index, (id, e)) in ids.iter().zip(embeddings).enumerate() {
        let safe: String =
            id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let path = dir.join(format!("{index:04}_{safe}.npy"));
        std::fs::write(&path, npy_bytes(&[e.shape[0] as u64, e.shape[1] as u64], &e.last_hidden_state)?)
            .map_err(|err| Error::io(path.display(), err))?;
        means.extend_from_slice(&e.mean_embedding);
    }
    let width = embeddings[0].shape[1] as u64;
    let path = dir.join("mean_embeddings.npy");
    std::fs::write(&path, npy_bytes(&[embeddings.len() as u64, width], &means)?)
        .map_err(|e| Error::io(path.display(), e))
}

//! `isoformer`: the native command line — inspect and convert checkpoints, embed sequences.
//! (On wasm32 this file compiles to an empty program; the browser uses `src/wasm.rs`.)

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::Instant;

    use clap::{Parser, Subcommand, ValueEnum};
    use npyz::WriterBuilder;
    use isoformer::checkpoint::Checkpoint;
    use isoformer::convert::{ConvertOptions, convert_esm};
    use isoformer::model::load_aggregator;
    use isoformer::convert_aggregator::convert_aggregator;
    use isoformer::convert_enformer::convert_enformer;
    use isoformer::tokenize::NUCLEOTIDE_MAX_TOKENS;
    use isoformer::weights::{self, Manifest};
    use isoformer::{
        AmbiguityPolicy, BackendKind, CropPolicy, DnaCropPolicy, DnaEmbedding, DnaEncoder, Embedding, Error, EsmFamily, Modality,
        Isoformer, IsoformerInputs, NucleotideTokenizer, Prediction, ProteinTokenizer, Result, SequenceEncoder, SequenceRecord, TISSUES, Tokenizer, synthetic_sequence,
        backend, read_sequences,
    };

    #[derive(Parser)]
    #[command(
        name = "isoformer",
        version,
        about = "IsoFormer's encoders (ESM-2 for proteins, Nucleotide Transformer v2 for RNA) natively, from the crate that runs them in the browser"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// List a checkpoint's tensors (safetensors, pytorch_model.bin) or a weight directory's manifest.
        Inspect {
            /// A .safetensors / .bin / .pt file, a Hugging Face directory, or a weight directory.
            path: PathBuf,
        },
        /// Convert a Hugging Face checkpoint directory into a weight directory.
        Convert {
            #[arg(long, value_enum)]
            model: ModelKind,
            /// Directory with config.json and model.safetensors (or pytorch_model.bin).
            #[arg(long)]
            from: PathBuf,
            #[arg(long)]
            out: PathBuf,
            /// Largest shard, in MiB.
            #[arg(long, default_value_t = 24)]
            shard_mib: u64,
            /// Label the output as random (untrained) weights.
            #[arg(long)]
            random: bool,
        },
        /// Embed sequences: per-token last hidden state and the mean over the sequence's own tokens.
        Embed(EmbedArgs),
        /// Time an encoder: one warm-up run, then the median of --runs (JSON on stdout).
        Bench(BenchArgs),
        /// Predict expression in 30 tissues with IsoFormer: one transcript, or a batch (TSV).
        Predict(PredictArgs),
    }

    #[derive(clap::Args)]
    struct PredictArgs {
        /// Enformer weight directory (always needed: missing DNA is read as N).
        #[arg(long)]
        dna_weights: PathBuf,
        /// NT-v2 weight directory (needed for --rna).
        #[arg(long)]
        rna_weights: Option<PathBuf>,
        /// ESM-2 weight directory (needed for --protein).
        #[arg(long)]
        protein_weights: Option<PathBuf>,
        /// IsoFormer aggregator weight directory.
        #[arg(long)]
        aggregator_weights: PathBuf,
        /// The gene's DNA window (SEQUENCE or @file), at most 196,608 bp.
        #[arg(long)]
        dna: Option<String>,
        /// The transcript (SEQUENCE or @file).
        #[arg(long)]
        rna: Option<String>,
        /// The transcript's protein (SEQUENCE or @file).
        #[arg(long)]
        protein: Option<String>,
        /// Many transcripts: a TSV with a header and the columns id, dna, rna, protein (an empty
        /// field is an absent modality; `@file` reads a sequence file). Needs --out; rows already
        /// in --out are skipped, so an interrupted run resumes.
        #[arg(long, conflicts_with_all = ["dna", "rna", "protein"])]
        batch: Option<PathBuf>,
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
    }

    #[derive(Clone, Copy, ValueEnum, PartialEq)]
    enum PredictFormat {
        Json,
        Tsv,
    }

    #[derive(clap::Args)]
    #[command(group(clap::ArgGroup::new("input").required(true).args(["protein", "rna", "dna"])))]
    struct EmbedArgs {
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
        #[arg(long, value_enum, default_value_t = DnaCrop::None, requires = "dna")]
        crop_dna: DnaCrop,
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
        #[arg(long, value_enum, default_value_t = Crop::None, conflicts_with = "protein")]
        crop: Crop,
        /// IUPAC ambiguity codes (R Y S W K M B D H V) in RNA or DNA: an error (reject) or read as N.
        #[arg(long, value_enum, default_value_t = Ambiguous::Reject, conflicts_with = "protein")]
        ambiguous: Ambiguous,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum DnaCrop {
        None,
        Centre,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum Crop {
        None,
        KeepStart,
        KeepEnd,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum Ambiguous {
        Reject,
        AsN,
    }

    #[derive(clap::Args)]
    struct BenchArgs {
        #[arg(long)]
        weights: PathBuf,
        /// Length of the synthetic input (a fixed pseudo-random sequence of the 20 amino acids, or
        /// of A C G T for an NT-v2 model): residues or nucleotides.
        #[arg(long, alias = "residues", default_value_t = 1024)]
        length: usize,
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        /// Timed runs after one warm-up run (which includes shader compilation on wgpu).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Enformer: plan the convolution windows for this buffer limit (MiB) instead of the device's.
        #[arg(long)]
        buffer_limit_mib: Option<u64>,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum ModelKind {
        /// ESM-2 (Hugging Face EsmForMaskedLM / EsmModel)
        Esm2,
        /// Nucleotide Transformer v2 (InstaDeep's Hugging Face format)
        Nt,
        /// Enformer (enformer-pytorch state dict or save_pretrained directory; an IsoFormer checkpoint's Enformer part)
        Enformer,
        /// IsoFormer's cross-attention aggregator and tissue head (config.json + weights; key names inferred)
        Aggregator,
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum Backend {
        Cpu,
        Wgpu,
    }

    #[derive(Clone, Copy, ValueEnum, PartialEq)]
    enum Format {
        Json,
        Npy,
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        let result = match cli.command {
            Command::Inspect { path } => inspect(&path),
            Command::Convert { model, from, out, shard_mib, random } => {
                let options = ConvertOptions { max_shard_bytes: shard_mib * 1024 * 1024, random_weights: random, ..Default::default() };
                let report = match model {
                    ModelKind::Esm2 => convert_esm(&from, &out, EsmFamily::Esm2, &options),
                    ModelKind::Nt => convert_esm(&from, &out, EsmFamily::NucleotideTransformer, &options),
                    ModelKind::Enformer => convert_enformer(&from, &out, &options),
                    ModelKind::Aggregator => convert_aggregator(&from, &out, &options),
                };
                report.map(|report| {
                    let manifest = &report.manifest;
                    eprintln!("wrote {} ({} files, {} bytes)", out.display(), manifest.files.len() + 1, manifest.total_bytes());
                    if !report.ignored.is_empty() {
                        eprintln!("ignored (not used for inference): {}", report.ignored.join(", "));
                    }
                })
            }
            Command::Embed(args) if args.dna.is_some() => embed_dna(&args),
            Command::Embed(args) => embed(&args),
            Command::Bench(args) => bench(&args),
            Command::Predict(args) => predict(&args),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error[{}]: {error}", error.code());
                ExitCode::from(2)
            }
        }
    }

    fn inspect(path: &Path) -> Result<()> {
        let mut out = std::io::stdout().lock();
        let manifest_path = if path.is_dir() { path.join(weights::MANIFEST_FILE) } else { path.to_path_buf() };
        if manifest_path.file_name().is_some_and(|n| n == weights::MANIFEST_FILE) && manifest_path.is_file() {
            let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(manifest_path.display(), e))?;
            let manifest = Manifest::from_json(&text)?;
            let dir = manifest_path.parent().unwrap_or(Path::new("."));
            writeln!(out, "weight directory: model {}, dtype {}, {} bytes, random weights: {}", manifest.model, manifest.dtype, manifest.total_bytes(), manifest.source.random_weights).ok();
            for file in &manifest.files {
                writeln!(out, "{} ({} bytes, sha256 {})", file.name, file.bytes, file.sha256).ok();
                list_tensors(&mut out, &Checkpoint::open(&dir.join(&file.name))?)?;
            }
            return Ok(());
        }
        let file = if path.is_dir() { Checkpoint::find_in_dir(path)? } else { path.to_path_buf() };
        list_tensors(&mut out, &Checkpoint::open(&file)?)
    }

    fn list_tensors(out: &mut impl Write, checkpoint: &Checkpoint) -> Result<()> {
        let mut total = 0usize;
        for (name, tensor) in &checkpoint.tensors {
            total += tensor.shape.iter().product::<usize>();
            writeln!(out, "{name}\t{}\t{:?}", tensor.dtype, tensor.shape).map_err(|e| Error::io("stdout", e))?;
        }
        writeln!(out, "# {} tensors, {total} values", checkpoint.tensors.len()).map_err(|e| Error::io("stdout", e))
    }

    fn read_input(argument: &str) -> Result<String> {
        match argument.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| Error::io(path, e)),
            None => Ok(argument.to_string()),
        }
    }

    fn backend_kind(backend: Backend) -> BackendKind {
        match backend {
            Backend::Cpu => BackendKind::Cpu,
            Backend::Wgpu => BackendKind::Wgpu,
        }
    }

    fn bench(args: &BenchArgs) -> Result<()> {
        if args.runs == 0 {
            return Err(Error::InvalidArgument("--runs must be at least 1".into()));
        }
        let started = Instant::now();
        let device = backend::init_native(backend_kind(args.backend))?;
        let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
        let description = device.description.clone();
        if manifest.model == "enformer" {
            return bench_dna(args, DnaEncoder::new(device, &manifest, loaded)?, started);
        }
        let encoder = SequenceEncoder::new(device, &manifest, loaded)?;
        let length = args.length.max(1);
        let (encoder, sequence) = match encoder.modality() {
            Modality::Rna => (
                encoder.with_tokenizer(Tokenizer::Nucleotide(NucleotideTokenizer::new(length + 1)))?,
                synthetic_sequence(length, b"ACGT"),
            ),
            _ => (encoder.with_tokenizer(Tokenizer::Protein(ProteinTokenizer::new(length)))?, synthetic_sequence(length, b"ACDEFGHIKLMNPQRSTVWY")),
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
            }),
            timing,
        )
    }

    /// One warm-up call (shader compilation on wgpu), then `runs` timed calls:
    /// `{warmup_ms, runs_ms (sorted), median_ms}`.
    fn time_runs(runs: usize, once: impl Fn() -> Result<()>) -> Result<serde_json::Value> {
        let time = || -> Result<f64> {
            let started = Instant::now();
            once()?;
            Ok(started.elapsed().as_secs_f64() * 1e3)
        };
        let warmup_ms = time()?;
        let mut runs_ms = (0..runs).map(|_| time()).collect::<Result<Vec<f64>>>()?;
        runs_ms.sort_by(f64::total_cmp);
        Ok(serde_json::json!({ "warmup_ms": warmup_ms, "median_ms": runs_ms[runs_ms.len() / 2], "runs_ms": runs_ms }))
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
            }),
            timing,
        )
    }

    /// Loads the parts of IsoFormer that the arguments name.
    fn load_isoformer(args: &PredictArgs) -> Result<Isoformer> {
        let started = Instant::now();
        let device = backend::init_native(backend_kind(args.backend))?;
        eprintln!("device: {}", device.description);
        let (manifest, loaded) = weights::load_dir(&args.dna_weights, &device.device)?;
        let dna = DnaEncoder::new(device.clone(), &manifest, loaded)?;
        let sequence_encoder = |dir: &Option<PathBuf>| -> Result<Option<SequenceEncoder>> {
            dir.as_ref()
                .map(|dir| {
                    let (manifest, loaded) = weights::load_dir(dir, &device.device)?;
                    SequenceEncoder::new(device.clone(), &manifest, loaded)
                })
                .transpose()
        };
        let (rna, protein) = (sequence_encoder(&args.rna_weights)?, sequence_encoder(&args.protein_weights)?);
        let (manifest, loaded) = weights::load_dir(&args.aggregator_weights, &device.device)?;
        let (aggregator, random) = load_aggregator(&manifest, loaded).inspect_err(|_| eprintln!("in {}:", args.aggregator_weights.display()))?;
        let model = Isoformer::new(dna, rna, protein, aggregator, random)?;
        eprintln!("loaded IsoFormer in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        Ok(model)
    }

    /// A sequence argument or TSV field: the text itself, or `@file` holding one sequence (FASTA or bare).
    fn sequence_argument(argument: &str) -> Result<String> {
        let records = read_sequences(&read_input(argument)?)?;
        match <[_; 1]>::try_from(records) {
            Ok([record]) => Ok(record.sequence),
            Err(records) => Err(Error::InvalidArgument(format!("{argument}: {} sequences; give one", records.len()))),
        }
    }

    fn tsv_header() -> String {
        std::iter::once("id").chain(TISSUES).collect::<Vec<_>>().join("\t")
    }

    fn tsv_row(id: &str, prediction: &Prediction) -> String {
        std::iter::once(id.to_string()).chain(prediction.values.iter().map(|v| v.to_string())).collect::<Vec<_>>().join("\t")
    }

    fn predict(args: &PredictArgs) -> Result<()> {
        if let Some(batch) = &args.batch {
            return predict_batch(args, batch);
        }
        let given = |a: &Option<String>| a.as_deref().map(sequence_argument).transpose();
        let (dna, rna, protein) = (given(&args.dna)?, given(&args.rna)?, given(&args.protein)?);
        let model = load_isoformer(args)?;
        let inputs = IsoformerInputs { dna: dna.as_deref(), rna: rna.as_deref(), protein: protein.as_deref() };
        let started = Instant::now();
        let prediction = pollster::block_on(model.predict(&inputs, args.final_dna))?;
        eprintln!("predicted in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        if prediction.random_weights {
            eprintln!("note: these weights are RANDOM (untrained); the values mean nothing biologically");
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

    /// The batch TSV: one row per transcript, appended and flushed as each finishes; rows whose id
    /// is already in the output are skipped.
    fn predict_batch(args: &PredictArgs, batch: &Path) -> Result<()> {
        let out = args.out.as_deref().ok_or_else(|| Error::InvalidArgument("--batch needs --out (the TSV to write or resume)".into()))?;
        let text = std::fs::read_to_string(batch).map_err(|e| Error::io(batch.display(), e))?;
        let mut rows = Vec::new();
        for (number, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != 4 || fields[0].is_empty() {
                return Err(Error::InvalidArgument(format!("{} line {}: expected id, dna, rna, protein separated by tabs", batch.display(), number + 1)));
            }
            rows.push(fields.iter().map(|f| f.trim().to_string()).collect::<Vec<_>>());
        }
        let done: std::collections::HashSet<String> = std::fs::read_to_string(out)
            .map(|t| t.lines().skip(1).filter_map(|l| l.split('\t').next().map(str::to_string)).collect())
            .unwrap_or_default();
        let model = load_isoformer(args)?;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(out).map_err(|e| Error::io(out.display(), e))?;
        if done.is_empty() && std::fs::metadata(out).map(|m| m.len() == 0).unwrap_or(true) {
            writeln!(file, "{}", tsv_header()).map_err(|e| Error::io(out.display(), e))?;
        }
        let progress = indicatif::ProgressBar::new(rows.len() as u64);
        progress.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} transcripts, {elapsed} elapsed, ETA {eta} {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
        let mut random = false;
        for row in &rows {
            progress.set_message(row[0].clone());
            if done.contains(&row[0]) {
                progress.inc(1);
                continue;
            }
            let field = |i: usize| if row[i].is_empty() { Ok(None) } else { sequence_argument(&row[i]).map(Some) };
            let (dna, rna, protein) = (field(1)?, field(2)?, field(3)?);
            let inputs = IsoformerInputs { dna: dna.as_deref(), rna: rna.as_deref(), protein: protein.as_deref() };
            let prediction = pollster::block_on(model.predict(&inputs, false)).map_err(|e| {
                progress.abandon();
                eprintln!("in transcript {:?}:", row[0]);
                e
            })?;
            random |= prediction.random_weights;
            writeln!(file, "{}", tsv_row(&row[0], &prediction)).map_err(|e| Error::io(out.display(), e))?;
            file.flush().map_err(|e| Error::io(out.display(), e))?;
            progress.inc(1);
        }
        progress.finish_with_message("done");
        if random {
            eprintln!("note: these weights are RANDOM (untrained); the values mean nothing biologically");
        }
        Ok(())
    }

    /// The tokenizer the options ask for, or `None` for the encoder's default.
    fn tokenizer_from(args: &EmbedArgs) -> Option<Tokenizer> {
        if args.protein.is_some() {
            return args.max_residues.map(|max| Tokenizer::Protein(ProteinTokenizer::new(max)));
        }
        let crop = match args.crop {
            Crop::None => CropPolicy::Reject,
            Crop::KeepStart => CropPolicy::KeepStart,
            Crop::KeepEnd => CropPolicy::KeepEnd,
        };
        let tokenizer = NucleotideTokenizer::new(args.max_tokens.unwrap_or(NUCLEOTIDE_MAX_TOKENS)).with_crop(crop).with_ambiguity(ambiguity(args));
        Some(Tokenizer::Nucleotide(tokenizer))
    }

    fn embed(args: &EmbedArgs) -> Result<()> {
        if args.batch_size == 0 {
            return Err(Error::InvalidArgument("--batch-size must be at least 1".into()));
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
            eprintln!("note: these weights are RANDOM (untrained); embeddings are for testing only");
        }
        check_records(&records, |s| encoder.tokenizer().encode(s).map(drop))?;
        let mut embeddings = Vec::with_capacity(records.len());
        for batch in records.chunks(args.batch_size) {
            let started = Instant::now();
            let sequences: Vec<&str> = batch.iter().map(|r| r.sequence.as_str()).collect();
            let result = pollster::block_on(encoder.embed(&sequences))?;
            let tokens: usize = result.iter().map(|e| e.tokens.len()).sum();
            eprintln!("embedded {} sequence(s), {tokens} tokens, in {:.1} ms", batch.len(), started.elapsed().as_secs_f64() * 1e3);
            embeddings.extend(result);
        }
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        match args.format {
            Format::Json => write_json(&ids, &embeddings, args.out.as_deref()),
            Format::Npy => write_npy(&ids, &embeddings, args.out.as_deref()),
        }
    }

    fn ambiguity(args: &EmbedArgs) -> AmbiguityPolicy {
        match args.ambiguous {
            Ambiguous::Reject => AmbiguityPolicy::Reject,
            Ambiguous::AsN => AmbiguityPolicy::ReadAsN,
        }
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
        let crop = match args.crop_dna {
            DnaCrop::None => DnaCropPolicy::Reject,
            DnaCrop::Centre => DnaCropPolicy::Centre,
        };
        let one_hot = encoder.one_hot().clone().with_crop(crop).with_ambiguity(ambiguity(args));
        eprintln!("loaded {} in {:.1} ms; convolutions in windows of {:?}", args.weights.display(), started.elapsed().as_secs_f64() * 1e3, encoder.chunks());
        if encoder.random_weights() {
            eprintln!("note: these weights are RANDOM (untrained); embeddings are for testing only");
        }
        check_records(&records, |s| one_hot.encode(s).map(drop))?;
        let mut embeddings: Vec<DnaEmbedding> = Vec::with_capacity(records.len());
        for record in &records {
            let started = Instant::now();
            embeddings.push(pollster::block_on(encoder.embed_with(&one_hot, &record.sequence))?);
            eprintln!("embedded {:?} ({} bp) in {:.1} ms", record.id, record.sequence.len(), started.elapsed().as_secs_f64() * 1e3);
        }
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        match args.format {
            Format::Json => write_json(&ids, &embeddings, args.out.as_deref()),
            Format::Npy => {
                let rows: Vec<Embedding> = embeddings
                    .into_iter()
                    .map(|e| Embedding { tokens: Vec::new(), shape: e.shape, last_hidden_state: e.last_hidden_state, mean_embedding: e.mean_embedding })
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
        let mut writer = npyz::WriteOptions::<f32>::new().default_dtype().shape(shape).writer(&mut bytes).begin_nd().map_err(|e| Error::io("npy", e))?;
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
        let dir = out.ok_or_else(|| Error::InvalidArgument("--format npy with several sequences needs --out DIRECTORY".into()))?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let mut means = Vec::new();
        for (index, (id, e)) in ids.iter().zip(embeddings).enumerate() {
            let safe: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
            let path = dir.join(format!("{index:04}_{safe}.npy"));
            std::fs::write(&path, npy_bytes(&[e.shape[0] as u64, e.shape[1] as u64], &e.last_hidden_state)?).map_err(|err| Error::io(path.display(), err))?;
            means.extend_from_slice(&e.mean_embedding);
        }
        let width = embeddings[0].shape[1] as u64;
        let path = dir.join("mean_embeddings.npy");
        std::fs::write(&path, npy_bytes(&[embeddings.len() as u64, width], &means)?).map_err(|e| Error::io(path.display(), e))
    }
}

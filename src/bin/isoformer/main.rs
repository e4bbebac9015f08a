//! `isoformer`: the native command line — inspect, convert and initialise weights, embed
//! sequences, time encoders, predict with IsoFormer. One file per command. Built with the `cli`
//! feature (`cargo build --release --features cli`); the browser uses `src/web/mod.rs`.

#[cfg(target_arch = "wasm32")]
compile_error!("the isoformer command line is native only; the browser build is the library (src/web/mod.rs)");

fn main() -> std::process::ExitCode {
    heap::keep_freed_memory();
    cli::main()
}

mod bench;
mod convert;
mod embed;
mod embed_set;
mod heap;
mod init;
mod input_options;
mod inspect;
mod npy_rows;
mod parquet_table;
mod predict;
mod rejected;
mod sequences;
mod variants;

mod cli {
    use std::process::ExitCode;

    use clap::{Parser, Subcommand, ValueEnum};
    use isoformer::{BackendKind, Error, Result};

    #[derive(Parser)]
    #[command(
        name = "isoformer",
        version,
        about = "IsoFormer (Enformer, Nucleotide Transformer v2, ESM-2 and the aggregator) natively, from the crate that runs it in the browser"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
        /// Threads for the CPU backend (default: one per core).
        #[arg(long, global = true)]
        threads: Option<usize>,
        /// Run every GPU operation as its own kernel (Burn's kernel fusion off), for diagnosis.
        #[arg(long, global = true)]
        no_fusion: bool,
    }

    #[derive(Subcommand)]
    enum Command {
        /// List a checkpoint's tensors with where each maps, or a weight directory's manifest.
        Inspect(crate::inspect::InspectArgs),
        /// Convert a checkpoint into a weight directory (a whole IsoFormer checkpoint: one per part).
        Convert(crate::convert::ConvertArgs),
        /// Re-encode a weight directory as f32, f16, q8 or q4 (an IsoFormer directory part by part).
        Quantize(crate::convert::QuantizeArgs),
        /// Write random (untrained) IsoFormer weights at the published shapes, or like a directory's.
        Init(crate::init::InitArgs),
        /// Embed sequences: per-token last hidden state and the mean over the sequence's own tokens.
        Embed(crate::embed::EmbedArgs),
        /// Time an encoder: one warm-up run, then the median of --runs (JSON on stdout).
        Bench(crate::bench::BenchArgs),
        /// Predict expression in 30 tissues with IsoFormer: one transcript, or a batch (TSV or FASTA).
        Predict(crate::predict::PredictArgs),
        /// Score VCF variants per transcript isoform and tissue on a gene's annotation (GenBank,
        /// or GFF3/GTF + FASTA); or protein mutations with ESM-2 weights alone.
        Variants(crate::variants::VariantsArgs),
    }

    #[derive(Clone, Copy, ValueEnum)]
    pub enum Backend {
        Cpu,
        Wgpu,
    }

    pub fn main() -> ExitCode {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(error) => return command_line_error(error),
        };
        let result = configure(&cli).and_then(|()| run(cli.command));
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => report(&error),
        }
    }

    /// `error[CODE]: message` on stderr, exit status 2. Written without eprintln!, which panics
    /// when stderr is gone (a reader such as `head` closed the pipe): the status still says it.
    fn report(error: &Error) -> ExitCode {
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "error[{}]: {error}", error.code());
        ExitCode::from(2)
    }

    /// clap's refusal of the command line (an unknown option, a value of the wrong type) is an
    /// `INVALID_ARGUMENT` like any other bad argument, so scripts branch on one form of error;
    /// `--help`, `--version` and a bare `isoformer` print what clap prints.
    fn command_line_error(error: clap::Error) -> ExitCode {
        // --help and --version: clap's answer on stdout, not an error.
        if !error.use_stderr() {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            let _ = error.print();
            return ExitCode::from(2);
        }
        let text = error.render().to_string();
        report(&Error::InvalidArgument(text.trim_start_matches("error: ").trim_end().to_string()))
    }

    /// Process-wide settings, before any device work.
    fn configure(cli: &Cli) -> Result<()> {
        isoformer::runtime::backend::set_cpu_threads(cli.threads)?;
        isoformer::runtime::backend::set_fusion(!cli.no_fusion)
    }

    fn run(command: Command) -> Result<()> {
        match command {
            Command::Inspect(args) => crate::inspect::run(&args),
            Command::Convert(args) => crate::convert::run(&args),
            Command::Quantize(args) => crate::convert::quantize(&args),
            Command::Init(args) => crate::init::run(&args),
            Command::Embed(args) => crate::embed::run(&args),
            Command::Bench(args) => crate::bench::run(&args),
            Command::Predict(args) => crate::predict::run(&args),
            Command::Variants(args) => crate::variants::run(&args),
        }
    }

    /// A command-line sequence argument: the text itself, or `@file`.
    pub fn read_input(argument: &str) -> Result<String> {
        match argument.strip_prefix('@') {
            Some(path) => read_text(std::path::Path::new(path)),
            None => Ok(argument.to_string()),
        }
    }

    /// A sequence file's text. A file that is not UTF-8 (binary junk, a compressed file) is
    /// `INVALID_FASTA` naming where its text breaks, not an I/O error: it was read.
    pub fn read_text(path: &std::path::Path) -> Result<String> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            Error::Fasta(format!("{}: not text (no UTF-8 at byte {at}); give FASTA or a bare sequence", path.display()))
        })
    }

    pub fn backend_kind(backend: Backend) -> BackendKind {
        match backend {
            Backend::Cpu => BackendKind::Cpu,
            Backend::Wgpu => BackendKind::Wgpu,
        }
    }

    /// Said on stderr whenever an output comes from random weights.
    pub const RANDOM_WEIGHTS_NOTE: &str =
        "note: these weights are RANDOM (untrained); the values mean nothing biologically";
}

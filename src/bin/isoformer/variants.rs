//! `isoformer variants`: VCF variants on a gene's annotation scored per transcript isoform
//! (IsoFormer's Δ per tissue, ESM-2 / NT-v2 masked marginals, NT-v2 embedding distances,
//! Enformer's track Δ) as a resumable TSV or JSON; or, with ESM-2 weights alone, the masked
//! marginal of protein mutations (`--protein SEQ --mutations M1A,K5R`).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use isoformer::models::isoformer::{Isoformer, RunOptions, TISSUES};
use isoformer::runtime::backend;
use isoformer::variants::score::{GeneScorer, VariantScore};
use isoformer::variants::{Annotation, WindowStrand, protein_llr, read_vcf, refuses_record};
use isoformer::weights::{self, Part};
use isoformer::{AmbiguityPolicy, CropPolicy, Error, Modality, Result, SequenceEncoder};
use sha2::{Digest, Sha256};

use crate::cli::{Backend, RANDOM_WEIGHTS_NOTE, backend_kind, read_input};

#[derive(clap::Args)]
pub struct VariantsArgs {
    /// An IsoFormer weight directory (isoformer.json); with --protein, an ESM-2 weight directory
    /// with its masked-LM head.
    #[arg(long)]
    weights: PathBuf,
    /// The gene's GenBank record (features and sequence).
    #[arg(long, conflicts_with_all = ["gff", "protein"], required_unless_present_any = ["gff", "protein"])]
    annotation: Option<PathBuf>,
    /// Or its GFF3 or GTF annotation, with --fasta.
    #[arg(long, requires = "fasta", conflicts_with = "protein")]
    gff: Option<PathBuf>,
    /// The FASTA of the sequence the GFF3/GTF annotates.
    #[arg(long, requires = "gff")]
    fasta: Option<PathBuf>,
    /// The variants (VCF; the header may be left out). CHROM names the annotated sequence (its
    /// name, accession, or chromosome: `chr1`, `1`); POS is on the chromosome (a GenBank REGION
    /// extract's offset is applied).
    #[arg(long, required_unless_present = "protein", conflicts_with = "protein")]
    vcf: Option<PathBuf>,
    /// Only this gene's transcripts (GenBank /gene, GFF3 Name, GTF gene_name).
    #[arg(long)]
    gene: Option<String>,
    /// The strand the DNA window is read on: the genome's forward strand, or the transcript's
    /// (minus-strand windows reverse-complemented).
    #[arg(long, value_enum, default_value_t = WindowStrand::Genome)]
    window_strand: WindowStrand,
    /// A protein (SEQUENCE or @file) for the ESM-2 form, with --mutations.
    #[arg(long, requires = "mutations")]
    protein: Option<String>,
    /// Substitutions on --protein: `M1A,K5R` (reference residue, 1-based position, alternate).
    #[arg(long, requires = "protein")]
    mutations: Option<String>,
    /// Most RNA tokens (with <cls>), as `predict` reads transcripts (default 2048).
    #[arg(long, alias = "max-rna-tokens")]
    max_tokens: Option<usize>,
    /// RNA over --max-tokens: an error, or keep its 5' start or 3' end.
    #[arg(long, alias = "rna-crop", value_enum, default_value_t = CropPolicy::Reject)]
    crop: CropPolicy,
    /// Most protein residues, as `predict` reads proteins (default: ESM-2's 1,024).
    #[arg(long)]
    max_residues: Option<usize>,
    /// IUPAC ambiguity codes in the sequences: an error, or read as N.
    #[arg(long, value_enum, default_value_t = AmbiguityPolicy::Reject)]
    ambiguous: AmbiguityPolicy,
    #[arg(long, value_enum, default_value_t = VariantsFormat::Tsv)]
    format: VariantsFormat,
    /// Where to write (stdout when absent). A TSV that exists is resumed: variants already in it
    /// are skipped (its header must record the same settings).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum VariantsFormat {
    Tsv,
    Json,
}

pub fn run(args: &VariantsArgs) -> Result<()> {
    if let (Some(protein), Some(mutations)) = (&args.protein, &args.mutations) {
        return protein_form(args, protein, mutations);
    }
    let gene = read_annotation(args)?;
    let vcf_path = args.vcf.as_deref().expect("clap requires --vcf");
    let variants = read_vcf(&std::fs::read_to_string(vcf_path).map_err(|e| Error::io(vcf_path.display(), e))?);
    // Refused before the gene's reference is computed for nothing (as the browser's scoreVariants does).
    if variants.is_empty() {
        return Err(Error::InvalidArgument(format!("{}: the VCF has no records", vcf_path.display())));
    }
    let header = Header::of(args, gene.transcripts.len())?;
    let done = match (&args.out, args.format) {
        (Some(out), VariantsFormat::Tsv) if out.exists() => header.resume(out, gene.transcripts.len())?,
        _ => HashSet::new(),
    };
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let model = Isoformer::load_dir(device, &args.weights, &Part::ALL)?;
    let run = RunOptions {
        max_rna_tokens: args.max_tokens,
        max_protein_residues: args.max_residues,
        rna_crop: args.crop,
        ambiguous: args.ambiguous,
        ..Default::default()
    };
    eprintln!("reference: {} transcripts of {}", gene.transcripts.len(), gene.name);
    let scorer = pollster::block_on(GeneScorer::new(&model, gene, args.window_strand, run))?;
    let progress = indicatif::ProgressBar::new(variants.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} variants, {elapsed} elapsed, ETA {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // A header is written unless the output already has one (a file that is not there has length 0 too).
    let fresh = args.out.as_ref().is_none_or(|out| std::fs::metadata(out).map_or(true, |m| m.len() == 0));
    let mut output = Output::open(args, &header, fresh)?;
    let (mut failed, mut scored, mut resumed) = (0, 0, 0);
    for variant in variants {
        let result = match variant {
            Ok(variant) if done.contains(&variant_key(&variant)) => {
                resumed += 1;
                progress.inc(1);
                continue;
            }
            Ok(variant) => pollster::block_on(scorer.score(&variant)),
            Err(error) => Err(error),
        };
        match result {
            Ok(score) => {
                scored += 1;
                output.write(&score)?;
            }
            Err(error) if !refuses_record(&error) => return Err(error),
            Err(error) => {
                failed += 1;
                progress.suspend(|| eprintln!("error[{}]: {error}", error.code()));
                // A record refused before is not written twice.
                if !done.contains(&error_text(&error)) {
                    output.error(&error)?;
                }
            }
        }
        progress.inc(1);
    }
    progress.finish_with_message("done");
    output.finish()?;
    eprintln!("{scored} variant(s) scored, {failed} record(s) refused, {resumed} resumed");
    if model.random_weights() {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    Ok(())
}

fn read_annotation(args: &VariantsArgs) -> Result<isoformer::variants::GeneRecord> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| Error::io(path.display(), e));
    let mut gene = match (&args.annotation, &args.gff, &args.fasta) {
        (Some(path), _, _) => Annotation::GenBank(&read(path)?).read()?,
        (None, Some(gff), Some(fasta)) => Annotation::Gff { features: &read(gff)?, fasta: &read(fasta)? }.read()?,
        _ => return Err(Error::InvalidArgument("give --annotation FILE.gb, or --gff and --fasta".into())),
    };
    if let Some(name) = &args.gene {
        gene.keep_gene(name)?;
    }
    Ok(gene)
}

/// What the output's rows depend on, written as its first lines and checked on resume.
struct Header {
    lines: Vec<String>,
}

impl Header {
    fn of(args: &VariantsArgs, transcripts: usize) -> Result<Self> {
        // Each file read once: hashed as it is, parsed from the same text.
        let read = |path: PathBuf| std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e));
        let index_text = read(args.weights.join(weights::ISOFORMER_INDEX_FILE))?;
        let index = weights::IsoformerIndex::from_json(&index_text)?;
        let mut hash = Sha256::new();
        hash.update(&index_text);
        let mut dtypes = Vec::new();
        for part in &index.parts {
            let manifest = read(args.weights.join(part.dir_name()).join(weights::MANIFEST_FILE))?;
            hash.update(&manifest);
            dtypes.push(format!("{}={}", part.dir_name(), weights::Manifest::from_json(&manifest)?.dtype.name()));
        }
        let settings = format!(
            "window_strand={:?} gene={:?} max_tokens={:?} crop={:?} max_residues={:?} ambiguous={:?} transcripts={transcripts}",
            args.window_strand, args.gene, args.max_tokens, args.crop, args.max_residues, args.ambiguous
        );
        Ok(Header {
            lines: vec![
                "# isoformer variants".into(),
                format!("# model=isoformer weights={}", args.weights.display()),
                // The manifests pin every shard's SHA-256, so this hash names the weights.
                format!("# weights_sha256={:x} dtype={}", hash.finalize(), dtypes.join(",")),
                format!("# random_weights={}", index.source.random_weights),
                format!("# settings {settings}"),
            ],
        })
    }

    /// The variant ids an existing output holds; an error if it was written with other settings.
    /// `transcripts`: the rows a scored variant has; a variant cut short by an interruption
    /// (fewer rows) is dropped from the file and scored again.
    fn resume(&self, out: &Path, transcripts: usize) -> Result<HashSet<String>> {
        let text = std::fs::read_to_string(out).map_err(|e| Error::io(out.display(), e))?;
        let written: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        if text.is_empty() {
            return Ok(HashSet::new());
        }
        if written != self.lines {
            return Err(Error::InvalidArgument(format!(
                "{} was written with other weights or settings; give another --out",
                out.display()
            )));
        }
        // A scored row's key is its variant (id, position, alleles); a refused record's, its error.
        let rows: Vec<(&str, String)> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .map(|row| (row, row_key(&row.split('\t').collect::<Vec<_>>())))
            .collect();
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (row, key) in &rows {
            *counts.entry(key.as_str()).or_default() += !row.starts_with('\t') as usize;
        }
        let complete = |key: &str| counts[key] == 0 || counts[key] == transcripts;
        if rows.iter().any(|(_, key)| !complete(key)) {
            let mut kept: Vec<&str> = text.lines().take_while(|l| !l.starts_with("variant\t")).collect();
            kept.extend(text.lines().find(|l| l.starts_with("variant\t")));
            kept.extend(rows.iter().filter(|(_, key)| complete(key)).map(|(row, _)| *row));
            std::fs::write(out, kept.join("\n") + "\n").map_err(|e| Error::io(out.display(), e))?;
        }
        Ok(rows.iter().filter(|(_, key)| complete(key)).map(|(_, key)| key.clone()).collect())
    }
}

/// What identifies a TSV row on resume: the variant's id, position and alleles, or, for a refused
/// record, its error (the last column).
fn row_key(fields: &[&str]) -> String {
    match fields.first() {
        Some(id) if !id.is_empty() => fields.iter().take(5).copied().collect::<Vec<_>>().join("\t"),
        _ => fields.last().copied().unwrap_or_default().to_string(),
    }
}

fn variant_key(variant: &isoformer::variants::Variant) -> String {
    let position = variant.position.to_string();
    row_key(&[&variant.id, &variant.chrom, &position, &variant.reference, &variant.alternate])
}

fn error_text(error: &Error) -> String {
    format!("{}: {error}", error.code()).replace(['\t', '\n'], " ")
}

/// Where scores go: TSV rows appended and flushed per variant, or one JSON document at the end.
struct Output {
    format: VariantsFormat,
    sink: Box<dyn Write>,
    json: Vec<serde_json::Value>,
    errors: Vec<serde_json::Value>,
    header: Vec<String>,
}

const FIXED_COLUMNS: [&str; 16] = [
    "variant",
    "chrom",
    "pos",
    "ref",
    "alt",
    "transcript",
    "gene",
    "consequences",
    "protein_change",
    "in_window",
    "esm_llr",
    "nt_cosine",
    "nt_l2",
    "nt_llr",
    "enformer_top_track",
    "enformer_top_delta",
];

impl Output {
    fn open(args: &VariantsArgs, header: &Header, fresh: bool) -> Result<Self> {
        let sink: Box<dyn Write> = match &args.out {
            Some(out) => {
                let appending = args.format == VariantsFormat::Tsv;
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(appending)
                    .truncate(!appending)
                    .open(out)
                    .map_err(|e| Error::io(out.display(), e))?;
                Box::new(file)
            }
            None => Box::new(std::io::stdout()),
        };
        let mut output =
            Output { format: args.format, sink, json: Vec::new(), errors: Vec::new(), header: header.lines.clone() };
        if args.format == VariantsFormat::Tsv && fresh {
            let mut columns: Vec<String> = FIXED_COLUMNS.iter().map(|c| c.to_string()).collect();
            columns.extend(TISSUES.iter().map(|t| format!("delta:{t}")));
            columns.extend(TISSUES.iter().map(|t| format!("share_delta:{t}")));
            columns.push("error".into());
            let lines = header.lines.join("\n");
            output.line(&format!("{lines}\n{}", columns.join("\t")))?;
        }
        Ok(output)
    }

    fn line(&mut self, line: &str) -> Result<()> {
        writeln!(self.sink, "{line}").and_then(|()| self.sink.flush()).map_err(|e| Error::io("output", e))
    }

    fn write(&mut self, score: &VariantScore) -> Result<()> {
        if self.format == VariantsFormat::Json {
            self.json.push(serde_json::to_value(score).map_err(|e| Error::InvalidArgument(e.to_string()))?);
            return Ok(());
        }
        let number = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.6}"));
        let v = &score.variant;
        let mut rows = Vec::with_capacity(score.transcripts.len());
        for t in &score.transcripts {
            let top = t.enformer.as_ref().and_then(|e| e.largest());
            let mut fields = vec![
                v.id.clone(),
                v.chrom.clone(),
                v.position.to_string(),
                v.reference.clone(),
                v.alternate.clone(),
                t.transcript.clone(),
                t.gene.clone(),
                t.effect.consequences.join(","),
                t.effect.protein_change.clone().unwrap_or_default(),
                t.effect.in_window.to_string(),
                number(t.esm_llr),
                number(t.nt_cosine),
                number(t.nt_l2),
                number(t.nt_llr),
                top.as_ref().map(|(track, _)| track.clone()).unwrap_or_default(),
                number(top.map(|(_, delta)| delta)),
            ];
            fields.extend(t.delta.iter().map(|d| format!("{d:.6}")));
            fields.extend(t.share_delta.iter().map(|d| number(*d)));
            fields.push(String::new());
            rows.push(fields.join("\t"));
        }
        // All of a variant's rows in one write, so an interruption rarely cuts a variant short
        // (and a resume drops one that it did).
        self.line(&rows.join("\n"))
    }

    fn error(&mut self, error: &Error) -> Result<()> {
        let message = error_text(error);
        if self.format == VariantsFormat::Json {
            self.errors.push(serde_json::json!({ "code": error.code(), "message": error.to_string() }));
            return Ok(());
        }
        let mut fields = vec![String::new(); FIXED_COLUMNS.len() + 2 * TISSUES.len()];
        fields.push(message);
        self.line(&fields.join("\t"))
    }

    fn finish(mut self) -> Result<()> {
        if self.format == VariantsFormat::Json {
            let document = serde_json::json!({
                "header": self.header,
                "tissues": TISSUES,
                "variants": self.json,
                "errors": self.errors,
            });
            let text = serde_json::to_string_pretty(&document).map_err(|e| Error::InvalidArgument(e.to_string()))?;
            self.line(&text)?;
        }
        Ok(())
    }
}

/// `--protein SEQ --mutations M1A,K5R` on ESM-2 weights: each mutation's masked marginal, as JSON.
fn protein_form(args: &VariantsArgs, protein: &str, mutations: &str) -> Result<()> {
    let records = isoformer::read_sequences(&read_input(protein)?)?;
    let [record] = <[_; 1]>::try_from(records)
        .map_err(|r| Error::InvalidArgument(format!("--protein: {} sequences; give one", r.len())))?;
    let protein = record.sequence.to_ascii_uppercase();
    let parsed: Vec<(String, String)> = mutations
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| apply_mutation(&protein, m).map(|alternate| (m.to_string(), alternate)))
        .collect::<Result<_>>()?;
    if parsed.is_empty() {
        return Err(Error::InvalidArgument("--mutations: none given (M1A,K5R)".into()));
    }
    let device = backend::init_native(backend_kind(args.backend))?;
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = weights::load_dir(&args.weights, &device.device)?;
    if manifest.model != "esm2" {
        return Err(Error::WrongModality { requested: Modality::Protein, loaded: Modality::Dna });
    }
    let encoder = SequenceEncoder::new(device, &manifest, loaded)?;
    let mut scores = Vec::new();
    for (name, alternate) in &parsed {
        let llr = pollster::block_on(protein_llr(&encoder, &protein, alternate))?;
        scores.push(serde_json::json!({ "mutation": name, "llr": llr }));
    }
    let document = serde_json::json!({
        "model": manifest.model,
        "weights": args.weights.display().to_string(),
        "random_weights": encoder.random_weights(),
        "score": "masked marginal: log p(alt) - log p(ref) at the masked position (ESM-1v)",
        "mutations": scores,
    });
    let text = serde_json::to_string_pretty(&document).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    match &args.out {
        Some(out) => std::fs::write(out, text + "\n").map_err(|e| Error::io(out.display(), e))?,
        None => println!("{text}"),
    }
    if encoder.random_weights() {
        eprintln!("{RANDOM_WEIGHTS_NOTE}");
    }
    Ok(())
}

/// `K5R` on `protein`: the mutated protein; an error when the notation or the reference residue is wrong.
fn apply_mutation(protein: &str, mutation: &str) -> Result<String> {
    let invalid = |why: String| Error::InvalidArgument(format!("--mutations {mutation:?}: {why}"));
    let bytes = mutation.as_bytes();
    if bytes.len() < 3 || !bytes[0].is_ascii_alphabetic() || !bytes[bytes.len() - 1].is_ascii_alphabetic() {
        return Err(invalid("expected reference residue, 1-based position, alternate residue (K5R)".into()));
    }
    let position: usize =
        mutation[1..mutation.len() - 1].parse().map_err(|_| invalid("the position is not a number".into()))?;
    let (reference, alternate) = (bytes[0].to_ascii_uppercase(), bytes[bytes.len() - 1].to_ascii_uppercase());
    match protein.as_bytes().get(position.wrapping_sub(1)) {
        None => Err(invalid(format!("position {position} is outside the {}-residue protein", protein.len()))),
        Some(&found) if found != reference => {
            Err(invalid(format!("residue {position} is {}, not {}", found as char, reference as char)))
        }
        Some(_) => {
            let mut mutated = protein.as_bytes().to_vec();
            mutated[position - 1] = alternate;
            Ok(String::from_utf8_lossy(&mutated).into_owned())
        }
    }
}

//! The fuzz targets' short run in `make test`: every input of fuzz/corpus/<target>/ (the seeds
//! and what the long libFuzzer runs kept, FUZZING.md) replayed, then mutated for a few seconds per
//! target. The long runs are coverage-guided (cargo-fuzz, nightly); this one runs on the normal
//! release build, so CI compiles nothing more. Byte mutations in libFuzzer's manner (flips,
//! interesting values, inserts, erases, copies, splices of two corpus inputs), seeded, so a
//! failure names the seed and the input is written to target/fuzz-failures/.
//!
//! `FUZZ_SECONDS` sets the time per target (default 5; at most 60), `FUZZ_SEED` the seed.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus");
const MAX_LEN: usize = 1 << 16;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let folder = Path::new(CORPUS).join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.into_iter().map(|path| std::fs::read(path).unwrap()).collect()
}

/// One libFuzzer-style mutation of `input` (another corpus input for splices).
fn mutate(rng: &mut ChaCha8Rng, input: &mut Vec<u8>, other: &[u8]) {
    const INTERESTING: [u8; 12] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b'\t', b'>', b'/', b'.', b'"', b'9'];
    let len = input.len();
    match rng.random_range(0..7) {
        0 if len > 0 => {
            let at = rng.random_range(0..len);
            input[at] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let at = rng.random_range(0..len);
            input[at] = INTERESTING[rng.random_range(0..INTERESTING.len())];
        }
        2 => {
            let at = rng.random_range(0..=len);
            let byte = if rng.random() { rng.random() } else { INTERESTING[rng.random_range(0..INTERESTING.len())] };
            input.insert(at, byte);
        }
        3 if len > 0 => {
            let at = rng.random_range(0..len);
            let end = (at + rng.random_range(1..=16)).min(len);
            input.drain(at..end);
        }
        4 if len > 0 => {
            // Copy a chunk of the input elsewhere in it (repeats fields, lines, records).
            let from = rng.random_range(0..len);
            let chunk: Vec<u8> = input[from..(from + rng.random_range(1..=64)).min(len)].to_vec();
            let at = rng.random_range(0..=len);
            input.splice(at..at, chunk);
        }
        5 if !other.is_empty() => {
            // Splice: this input's head with the other's tail.
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        _ if len > 0 => {
            // A decimal number written over a digit run's place (sizes, offsets, coordinates).
            let at = rng.random_range(0..len);
            let number = [0u64, 1, 255, 65_535, u32::MAX as u64, u64::MAX][rng.random_range(0..6)];
            input.splice(at..(at + 1).min(len), number.to_string().into_bytes());
        }
        _ => input.push(rng.random()),
    }
    input.truncate(MAX_LEN);
}

fn run_one(name: &str, target: fn(&[u8]), input: &[u8], seed: u64) {
    if std::panic::catch_unwind(|| target(input)).is_err() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{}", isoformer::weights::sha256_hex(input)));
        std::fs::write(&path, input).unwrap();
        panic!(
            "fuzz target {name} failed (FUZZ_SEED={seed}); the input is {} — replay it with \
             `cargo +nightly fuzz run {name} {}` and add it to fuzz/corpus/{name}/ as a regression",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn fuzz_targets_short_run() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5).min(60);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x1503);
    for (name, target) in isoformer::fuzzing::TARGETS {
        let inputs = corpus(name);
        assert!(!inputs.is_empty(), "fuzz/corpus/{name} is empty");
        for input in &inputs {
            run_one(name, target, input, seed);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut executions = inputs.len();
        while Instant::now() < deadline {
            let mut input = inputs[rng.random_range(0..inputs.len())].clone();
            let other = &inputs[rng.random_range(0..inputs.len())];
            for _ in 0..rng.random_range(1..=4) {
                mutate(&mut rng, &mut input, other);
            }
            run_one(name, target, &input, seed);
            executions += 1;
        }
        eprintln!("fuzz {name}: {} corpus inputs, {executions} executions in {seconds} s", inputs.len());
    }
}

/// Every target has a cargo-fuzz binary and a corpus folder, and the other way round.
#[test]
fn fuzz_targets_match_the_cargo_fuzz_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let names = |dir: &Path, suffix: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(suffix).to_string())
            .collect();
        names.sort();
        names
    };
    let mut targets: Vec<String> = isoformer::fuzzing::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    targets.sort();
    assert_eq!(names(&root.join("fuzz_targets"), ".rs"), targets);
    assert_eq!(names(&root.join("corpus"), ""), targets);
}

/// What the fuzzers found, each now a typed error (its input is in the corpus as `regression-*`).
#[test]
fn fuzz_findings_are_typed_errors() {
    use isoformer::variants::{Annotation, read_vcf};
    let read = |target: &str, name: &str| std::fs::read(Path::new(CORPUS).join(target).join(name)).unwrap();
    // Features past the end of a record's sequence: splicing them read past it (a panic). The
    // input also holds bytes past ASCII, refused first since; made ASCII, the coordinates refuse it.
    let genbank = read("genbank", "regression-exon-beyond-sequence");
    let error = Annotation::GenBank(&genbank).read().unwrap_err();
    assert!(error.to_string().contains("is not ASCII"), "{error}");
    let ascii: Vec<u8> = genbank.iter().map(|&b| if b.is_ascii() { b } else { b'X' }).collect();
    let error = Annotation::GenBank(&ascii).read().unwrap_err();
    assert_eq!(error.code(), "INVALID_ANNOTATION", "{error}");
    assert!(error.to_string().contains("outside the record's sequence"), "{error}");
    // A byte ≥ 0x80 ending a GenBank record: gb-io's parser sliced past the input (a panic).
    let error = Annotation::GenBank(&read("genbank", "regression-non-ascii-byte")).read().unwrap_err();
    assert_eq!(error.code(), "INVALID_ANNOTATION", "{error}");
    assert!(error.to_string().contains("byte 0xAF on line"), "{error}");
    // A GTF attribute field noodles-gtf cannot parse: its format-neutral view unwrapped it (a panic).
    let gff = read("gff", "regression-gtf-bad-attributes");
    let (features, fasta) = isoformer::fuzzing::gff_parts(&gff);
    assert!(Annotation::Gff { features, fasta }.read().is_err());
    // U+FFFD in a GFF's FASTA: an exon ending inside it had an empty RNA (silently).
    let gff = read("gff", "regression-sequence-not-letters");
    let (features, fasta) = isoformer::fuzzing::gff_parts(&gff);
    let error = Annotation::Gff { features, fasta }.read().unwrap_err();
    assert_eq!(error.code(), "INVALID_ANNOTATION", "{error}");
    assert!(error.to_string().contains("not a letter"), "{error}");
    // ALT equal to REF: a "variant" that changes nothing was scored as one.
    let vcf = String::from_utf8_lossy(&read("vcf", "regression-alt-equals-ref")).into_owned();
    let same = read_vcf(&vcf).into_iter().filter_map(Result::err).find(|e| e.to_string().contains("equals REF"));
    assert_eq!(same.expect("the ALT = REF record is refused").code(), "INVALID_VARIANT");
}

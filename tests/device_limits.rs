//! Device limits are typed errors, never traps: an input whose activations would exceed one
//! storage binding is refused with `SEQUENCE_TOO_LONG` before any device work; attention scores
//! larger than a binding are split by query rows (the same values); a batch too large for the
//! device runs in passes. Natively on wgpu (lavapipe in CI) against Burn's CPU backend, and
//! through the CLI's `--max-tokens` / `--max-residues` / `--batch-size`.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Distribution, Tensor};
use isoformer::models::nn::{MAX_SCORE_ELEMENTS, attend};
use isoformer::runtime::backend::{self, BackendKind, GPU_LENGTH_BUCKET};
use isoformer::synthetic::synthetic_sequence;
use isoformer::tokenize::{NucleotideTokenizer, Tokenizer};
use isoformer::weights::load_dir;
use isoformer::{Error, SequenceEncoder};
use support::PARITY_TOLERANCE;

fn tiny(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/isoformer-tiny-random").join(part)
}

fn encoder(part: &str, kind: BackendKind) -> SequenceEncoder {
    let device = backend::init_native(kind).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let (manifest, loaded) = load_dir(&tiny(part), &device.device).unwrap();
    SequenceEncoder::new(device, &manifest, loaded).unwrap()
}

/// RNA of `tokens` NT-v2 tokens (`<cls>` and 6-mers).
fn rna_of_tokens(tokens: usize) -> String {
    synthetic_sequence(6 * (tokens - 1), b"ACGT")
}

fn long_rna_encoder(kind: BackendKind) -> SequenceEncoder {
    let unlimited = Tokenizer::Nucleotide(NucleotideTokenizer::new(usize::MAX));
    encoder("rna", kind).with_tokenizer(unlimited).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn attention_split_by_query_rows_equals_the_whole_softmax() {
    // One head of 6,000 × 6,000 scores: over MAX_SCORE_ELEMENTS, so `attend` takes query blocks.
    let device = burn::tensor::Device::flex();
    let (length, dim) = (6000, 8);
    assert!(length * length > MAX_SCORE_ELEMENTS);
    let random = || Tensor::<4>::random([1, 1, length, dim], Distribution::Normal(0.0, 1.0), &device);
    let (q, k, v) = (random(), random(), random());
    let whole = burn::tensor::activation::softmax(q.clone().matmul(k.clone().swap_dims(2, 3)) / (dim as f64).sqrt(), 3)
        .matmul(v.clone());
    let blocked = attend(q, k, v, None);
    let diff = max_abs_diff(
        &blocked.into_data().try_to_vec::<f32>().unwrap(),
        &whole.into_data().try_to_vec::<f32>().unwrap(),
    );
    assert!(diff <= 1e-5, "max |Δ| {diff}");
}

#[test]
fn at_the_device_limit_the_encoder_runs_and_one_token_more_is_refused() {
    // A buffer limit set so the longest sequence is 6,016 tokens (a bucket multiple, over the
    // attention-score split): it embeds on lavapipe as on the CPU; one bucket more is refused.
    let gpu = long_rna_encoder(BackendKind::Wgpu);
    let widest = gpu.activation_limit(false).widest as u64;
    let at_limit = 94 * GPU_LENGTH_BUCKET;
    let gpu = gpu.with_buffer_limit(at_limit as u64 * widest * 4);
    assert_eq!(gpu.activation_limit(false).max_length(1), at_limit);
    let rna = rna_of_tokens(at_limit);
    let on_gpu = pollster::block_on(gpu.embed(&[rna.as_str()])).unwrap().remove(0);
    let on_cpu = pollster::block_on(long_rna_encoder(BackendKind::Cpu).embed(&[rna.as_str()])).unwrap().remove(0);
    assert_eq!(on_gpu.shape, [at_limit, 16]);
    let diff = max_abs_diff(&on_gpu.last_hidden_state, &on_cpu.last_hidden_state);
    assert!(diff <= PARITY_TOLERANCE, "at the limit, lavapipe vs CPU max |Δ| {diff}");

    let over = rna_of_tokens(at_limit + 1);
    let error = pollster::block_on(gpu.embed(&[over.as_str()])).unwrap_err();
    assert!(matches!(error, Error::TooLongForDevice { max, batch: 1, .. } if max == at_limit), "{error}");
    assert_eq!(error.code(), "SEQUENCE_TOO_LONG");
    assert!(error.to_string().contains("MiB"), "the message names the limit: {error}");
    // The prediction path refuses it too, before uploading anything.
    assert!(matches!(gpu.fits(&gpu.tokenize(&over).unwrap(), 0), Err(Error::TooLongForDevice { .. })));

    // Two sequences at the limit do not fit one pass: they run in two, with the values alone.
    let two = pollster::block_on(gpu.embed(&[rna.as_str(), rna.as_str()])).unwrap();
    for embedding in &two {
        assert_eq!(max_abs_diff(&embedding.last_hidden_state, &on_gpu.last_hidden_state), 0.0);
    }
    // hidden_batch is one pass: refused.
    let error = gpu.hidden_batch(&[rna.as_str(), rna.as_str()]).err().expect("refused");
    assert!(matches!(error, Error::TooLongForDevice { batch: 2, .. }), "{error}");
}

#[test]
fn the_device_limit_is_the_adapters_own_binding_limit() {
    let gpu = encoder("rna", BackendKind::Wgpu);
    let (binding, buffer) = gpu.device().limits.expect("a GPU reports its limits");
    assert_eq!(gpu.activation_limit(true).budget, binding.min(buffer));
    // The logits' vocabulary (4,107 for NT-v2) is the widest tensor when logits are asked for.
    assert_eq!(gpu.activation_limit(true).widest, 4107);
    let cpu = encoder("protein", BackendKind::Cpu);
    assert_eq!(cpu.activation_limit(false).budget, isoformer::runtime::limits::CPU_BUFFER_BUDGET);
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_isoformer")).args(args).output().unwrap()
}

fn error_code(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.split("error[").nth(1).and_then(|rest| rest.split(']').next()).unwrap_or_default().to_string()
}

#[test]
fn the_cli_refuses_what_the_device_cannot_hold() {
    // The adapter's own limit, reached through --max-tokens and --max-residues: refused before any
    // device work (the input is only tokenized), whatever the binding size of this Vulkan driver.
    let dir = std::env::temp_dir().join(format!("isoformer-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (part, option) in [("rna", "--max-tokens"), ("protein", "--max-residues")] {
        let max = encoder(part, BackendKind::Wgpu).activation_limit(false).max_length(1);
        let sequence = match part {
            "rna" => rna_of_tokens(max + GPU_LENGTH_BUCKET),
            _ => synthetic_sequence(max + GPU_LENGTH_BUCKET, b"ACDEFGHIKLMNPQRSTVWY"),
        };
        let file = dir.join(format!("long_{part}.fa"));
        std::fs::write(&file, format!(">long\n{sequence}\n")).unwrap();
        let weights = tiny(part);
        let input = format!("@{}", file.display());
        let args = ["embed", "--backend", "wgpu", "--weights", weights.to_str().unwrap(), &format!("--{part}"), &input];
        let output = cli(&[&args[..], &[option, "100000000"]].concat());
        assert_eq!(error_code(&output), "SEQUENCE_TOO_LONG", "{part}: {}", String::from_utf8_lossy(&output.stderr));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

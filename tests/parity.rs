//! Parity with the PyTorch references on random weights, natively: Burn's CPU backend (`flex`) and
//! wgpu (Vulkan; lavapipe in CI). ESM-2 against transformers' `EsmForMaskedLM`, NT-v2 against
//! tests/fixtures/nt_reference.py (transformers' ESM with the SwiGLU feed-forward), each at a tiny
//! configuration and at a published one (ESM-2 8M, NT-v2 50M: regenerated from their tensor
//! lists, converted, then embedded).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};

use isoformer::SequenceEncoder;
use isoformer::config::EsmFamily;
use isoformer::runtime::backend::{self, BackendKind, ComputeDevice};
use isoformer::weights::load_dir;
use support::{Case, PARITY_TOLERANCE, TempWeights, cases, esm2_8m_weights, max_abs_diff_rows};

fn fixtures(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(family)
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures("esm2").join(name)).unwrap()
}

fn read_nt_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures("nt").join(name)).unwrap()
}

fn device(kind: BackendKind) -> ComputeDevice {
    // A missing Vulkan driver fails here, loudly.
    backend::init_native(kind).expect("a device (wgpu: install mesa-vulkan-drivers)")
}

fn encoder(weights: &Path, kind: BackendKind) -> SequenceEncoder {
    let device = device(kind);
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = load_dir(weights, &device.device).unwrap();
    SequenceEncoder::new(device, &manifest, loaded).unwrap()
}

/// Every case within [`PARITY_TOLERANCE`] (its sensitivity probe too: the same input with one
/// residue or one 6-mer changed), and each probe's reference at least 100× that away from its case's.
fn check(encoder: &SequenceEncoder, cases: &[Case]) {
    assert!(
        support::assert_case_probes_move(cases, PARITY_TOLERANCE) > 0,
        "every parity fixture has a sensitivity probe"
    );
    for case in cases {
        let sequences: Vec<&str> = case.sequences.iter().map(String::as_str).collect();
        let embeddings = pollster::block_on(encoder.embed(&sequences)).unwrap();
        assert_eq!(embeddings.len(), sequences.len(), "{}: one embedding per sequence", case.label);
        for (b, embedding) in embeddings.iter().enumerate() {
            assert_eq!(embedding.tokens, case.tokens[b], "{}: token ids", case.label);
            let rows = embedding.tokens.len();
            let diff = max_abs_diff_rows(&embedding.last_hidden_state, &case.hidden, b, rows);
            eprintln!("{} [{b}] {rows} tokens: max |Δ| = {diff:.3e}", case.label);
            assert!(diff <= PARITY_TOLERANCE, "{} [{b}]: max |Δ| {diff} > {PARITY_TOLERANCE}", case.label);
            // The mean embedding is over the sequence's own tokens: no <cls>, no <eos>.
            let width = embedding.shape[1];
            let own = 1..rows - encoder.tokenizer().trailing_special_tokens();
            let rows_f64: Vec<f64> = (0..width)
                .map(|j| {
                    own.clone().map(|i| embedding.last_hidden_state[i * width + j] as f64).sum::<f64>()
                        / own.len() as f64
                })
                .collect();
            let mean_diff =
                embedding.mean_embedding.iter().zip(&rows_f64).map(|(a, e)| (*a as f64 - e).abs()).fold(0.0, f64::max);
            assert!(mean_diff < 1e-6, "mean embedding");
        }
        if let Some(expected) = &case.logits {
            let logits = pollster::block_on(encoder.logits(&sequences)).unwrap();
            assert_eq!(logits.len(), sequences.len(), "{}: logits per sequence", case.label);
            for (b, l) in logits.iter().enumerate() {
                let diff = max_abs_diff_rows(&l.logits, expected, b, l.tokens.len());
                eprintln!("{} [{b}] logits: max |Δ| = {diff:.3e}", case.label);
                assert!(diff <= PARITY_TOLERANCE, "{} logits: {diff}", case.label);
            }
        }
    }
}

fn tiny_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/isoformer-tiny-random/protein")
}

fn nt_tiny_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/isoformer-tiny-random/rna")
}

/// NT-v2 50M multi-species with its published config fields.
fn nt_50m_weights(tag: &str) -> TempWeights {
    let nt = fixtures("nt");
    support::generated_weights(
        &nt.join("nt_50M_config.json"),
        &nt.join("nt_50M_weights.json"),
        EsmFamily::NucleotideTransformer,
        &format!("nt50m-{tag}"),
    )
}

fn tiny_cases() -> Vec<Case> {
    cases(include_str!("fixtures/esm2/tiny_expected.json"), read_fixture)
}

fn esm2_8m_cases() -> Vec<Case> {
    cases(include_str!("fixtures/esm2/esm2_8M_expected.json"), read_fixture)
}

fn nt_tiny_cases() -> Vec<Case> {
    cases(include_str!("fixtures/nt/tiny_expected.json"), read_nt_fixture)
}

fn nt_50m_cases() -> Vec<Case> {
    cases(include_str!("fixtures/nt/nt_50M_expected.json"), read_nt_fixture)
}

#[test]
fn nt_tiny_matches_reference_on_cpu() {
    check(&encoder(&nt_tiny_weights(), BackendKind::Cpu), &nt_tiny_cases());
}

#[test]
fn nt_tiny_matches_reference_on_wgpu() {
    check(&encoder(&nt_tiny_weights(), BackendKind::Wgpu), &nt_tiny_cases());
}

#[test]
fn nt_published_50m_matches_reference_on_cpu() {
    check(&encoder(&nt_50m_weights("cpu").weights, BackendKind::Cpu), &nt_50m_cases());
}

#[test]
fn nt_published_50m_matches_reference_on_wgpu() {
    check(&encoder(&nt_50m_weights("wgpu").weights, BackendKind::Wgpu), &nt_50m_cases());
}

#[test]
fn bad_rna_is_a_typed_error_not_a_panic() {
    let encoder = encoder(&nt_tiny_weights(), BackendKind::Cpu);
    let code = |sequences: &[&str]| pollster::block_on(encoder.embed(sequences)).unwrap_err().code();
    assert_eq!(code(&["ACGUX"]), "INVALID_CHARACTER");
    assert_eq!(code(&["ACGR"]), "INVALID_CHARACTER");
    assert_eq!(code(&[""]), "EMPTY_SEQUENCE");
    assert_eq!(code(&[&"ACGTAC".repeat(2048)]), "SEQUENCE_TOO_LONG");
    let protein = isoformer::Tokenizer::Protein(isoformer::ProteinTokenizer::new(100));
    assert_eq!(pollster::block_on(encoder.embed_with(&protein, &["MKV"])).unwrap_err().code(), "WRONG_MODALITY");
}

#[test]
fn tiny_matches_transformers_on_cpu() {
    check(&encoder(&tiny_weights(), BackendKind::Cpu), &tiny_cases());
}

#[test]
fn published_8m_matches_transformers_on_cpu() {
    check(&encoder(&esm2_8m_weights("cpu").weights, BackendKind::Cpu), &esm2_8m_cases());
}

#[test]
fn tiny_matches_transformers_on_wgpu() {
    check(&encoder(&tiny_weights(), BackendKind::Wgpu), &tiny_cases());
}

#[test]
fn published_8m_matches_transformers_on_wgpu() {
    check(&encoder(&esm2_8m_weights("wgpu").weights, BackendKind::Wgpu), &esm2_8m_cases());
}

#[test]
fn bad_input_is_a_typed_error_not_a_panic() {
    let encoder = encoder(&tiny_weights(), BackendKind::Cpu);
    let code = |sequences: &[&str]| pollster::block_on(encoder.embed(sequences)).unwrap_err().code();
    assert_eq!(code(&["MKV*"]), "INVALID_CHARACTER");
    assert_eq!(code(&[""]), "EMPTY_SEQUENCE");
    assert_eq!(code(&[&"A".repeat(1025)]), "SEQUENCE_TOO_LONG");
    assert_eq!(code(&[]), "INVALID_ARGUMENT");
}

/// Length buckets: on a GPU two sequences whose lengths fall in the same bucket reach the device
/// with the same shape (so the second compiles and tunes no kernel: every kernel is keyed by
/// shape), and the bucket's padding, masked out of attention, changes nothing: the embeddings
/// equal the CPU's, which pads nothing.
#[test]
fn lengths_in_one_bucket_share_the_device_shape_and_padding_changes_nothing() {
    let gpu = encoder(&tiny_weights(), BackendKind::Wgpu);
    let cpu = encoder(&tiny_weights(), BackendKind::Cpu);
    let bucket = backend::GPU_LENGTH_BUCKET;
    let residues = |n: usize| isoformer::synthetic::synthetic_sequence(n, b"ACDEFGHIKLMNPQRSTVWY");
    let short = residues(bucket + 3);
    let long = residues(2 * bucket - 10);
    let shape = |sequence: &str| gpu.upload(&gpu.tokenize(sequence).unwrap()).unwrap().mask.tokens.dims();
    assert_eq!(shape(&short), [1, 2 * bucket], "{} tokens padded up to the bucket", short.len() + 2);
    assert_eq!(shape(&short), shape(&long), "both lengths share one device shape");
    assert_eq!(
        cpu.upload(&cpu.tokenize(&short).unwrap()).unwrap().mask.tokens.dims(),
        [1, short.len() + 2],
        "no padding on the CPU"
    );
    for sequence in [&short, &long] {
        let on_gpu = &pollster::block_on(gpu.embed(&[sequence.as_str()])).unwrap()[0];
        let on_cpu = &pollster::block_on(cpu.embed(&[sequence.as_str()])).unwrap()[0];
        assert_eq!(on_gpu.shape, on_cpu.shape, "the padding is not returned");
        let diff = on_gpu
            .last_hidden_state
            .iter()
            .zip(&on_cpu.last_hidden_state)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff <= PARITY_TOLERANCE, "{} residues: padded GPU vs unpadded CPU max |Δ| {diff}", sequence.len());
    }
}

/// Intermediate layers against transformers' `output_hidden_states` (`*_layers.json`): every index
/// the fixture holds, asked for at once (one pass), within [`PARITY_TOLERANCE`]; −1 is the last
/// hidden state; and the layers' references differ from each other by at least 100× the
/// tolerance, so a layer choice that is ignored cannot pass.
fn check_layers(encoder: &SequenceEncoder, layers_json: &str, read: impl Fn(&str) -> Vec<u8>) {
    let fixture = support::layers_fixture(layers_json, read);
    let sequences: Vec<&str> = fixture.sequences.iter().map(String::as_str).collect();
    let per_sequence = pollster::block_on(encoder.embed_layers(&sequences, &fixture.indices)).unwrap();
    support::assert_layers_match(&fixture, &per_sequence);
    let last = encoder.resolve_layers(&[-1]).unwrap()[0] as i64;
    if let Some(position) = fixture.indices.iter().position(|&i| i == last) {
        let by_minus_one = pollster::block_on(encoder.embed_layers(&sequences[..1], &[-1])).unwrap();
        assert_eq!(
            by_minus_one[0][0].last_hidden_state, per_sequence[0][position].last_hidden_state,
            "-1 is the last layer"
        );
    }
    assert_eq!(encoder.resolve_layers(&[last + 1]).unwrap_err().code(), "INVALID_ARGUMENT");
    assert_eq!(encoder.resolve_layers(&[-(last + 2)]).unwrap_err().code(), "INVALID_ARGUMENT");
}

#[test]
fn intermediate_layers_match_transformers_on_cpu() {
    check_layers(
        &encoder(&tiny_weights(), BackendKind::Cpu),
        include_str!("fixtures/esm2/tiny_layers.json"),
        read_fixture,
    );
    check_layers(
        &encoder(&esm2_8m_weights("layers").weights, BackendKind::Cpu),
        include_str!("fixtures/esm2/esm2_8M_layers.json"),
        read_fixture,
    );
    check_layers(
        &encoder(&nt_tiny_weights(), BackendKind::Cpu),
        include_str!("fixtures/nt/tiny_layers.json"),
        read_nt_fixture,
    );
    check_layers(
        &encoder(&nt_50m_weights("layers").weights, BackendKind::Cpu),
        include_str!("fixtures/nt/nt_50M_layers.json"),
        read_nt_fixture,
    );
}

#[test]
fn intermediate_layers_match_transformers_on_wgpu() {
    check_layers(
        &encoder(&tiny_weights(), BackendKind::Wgpu),
        include_str!("fixtures/esm2/tiny_layers.json"),
        read_fixture,
    );
    check_layers(
        &encoder(&nt_tiny_weights(), BackendKind::Wgpu),
        include_str!("fixtures/nt/tiny_layers.json"),
        read_nt_fixture,
    );
}

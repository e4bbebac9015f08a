//! Enformer parity with enformer-pytorch 0.8.12 on random weights at the full 196,608 bp: a tiny-width
//! model (every length-dependent path: chunked convolutions, 1,536-bin relative attention, crop,
//! heads) on the CPU and on wgpu (lavapipe), chunked and unchunked; and the published trunk
//! (dim 1536, 11 layers) on the CPU. Inputs: the TP73 region from data/, N-padded around
//! its centre, and a synthetic sequence with N.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};

use isoformer::convert::ConvertOptions;
use isoformer::convert::enformer::convert_enformer;
use isoformer::models::enformer::{ConvChunks, DEFAULT_BINDING_LIMIT};
use isoformer::runtime::backend::{self, BackendKind};
use isoformer::weights::load_dir;
use isoformer::{Cancel, DnaCropPolicy, DnaEncoder, DnaOneHot};
use serde_json::Value;
use support::{TempWeights, npy, relative_diff};

/// Largest |ours − enformer-pytorch| relative to the largest |expected| value.
const ENFORMER_RELATIVE_TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/enformer")
}

fn tp73_genbank() -> String {
    support::data_text("gentle_rs/tp73.ncbi.gb")
}

/// Regenerates a fixture's enformer-pytorch checkpoint (`save_pretrained` layout) and converts it.
fn converted(weights_json: &str, tag: &str) -> TempWeights {
    let root = std::env::temp_dir().join(format!("isoformer-enformer-{tag}-{}", std::process::id()));
    let (hf, out) = (root.join("hf"), root.join("weights"));
    std::fs::create_dir_all(&hf).unwrap();
    let text = std::fs::read_to_string(fixtures().join(weights_json)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    std::fs::write(hf.join("config.json"), doc["config"].to_string()).unwrap();
    std::fs::write(hf.join("model.safetensors"), support::generated_safetensors(&text)).unwrap();
    convert_enformer(&hf, &out, &ConvertOptions { random_weights: true, ..Default::default() }).unwrap();
    let _ = std::fs::remove_dir_all(&hf);
    TempWeights { root, weights: out }
}

fn encoder(weights: &Path, kind: BackendKind) -> DnaEncoder {
    let device = backend::init_native(kind).expect("a device (wgpu: install mesa-vulkan-drivers)");
    eprintln!("device: {}", device.description);
    let (manifest, loaded) = load_dir(weights, &device.device).unwrap();
    DnaEncoder::new(device, &manifest, loaded).unwrap()
}

/// Every case of `expected_json` (embeddings, and head outputs where present) within the tolerance,
/// the sensitivity probe too (one base at the window's centre changed), whose reference is at least
/// 100× the tolerance from its case's.
fn check(encoder: &DnaEncoder, expected_json: &str, bin_step: usize) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join(expected_json)).unwrap()).unwrap();
    let genbank = tp73_genbank();
    let references: Vec<(String, Option<String>, Vec<f32>)> = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let embedding = npy(&std::fs::read(fixtures().join(case["embedding"].as_str().unwrap())).unwrap()).1;
            (case["label"].as_str().unwrap().to_string(), case["perturbs"].as_str().map(str::to_string), embedding)
        })
        .collect();
    let probes = support::assert_probes_move(&references, ENFORMER_RELATIVE_TOLERANCE, |a, b| relative_diff(a, b));
    assert_eq!(probes, 1, "{expected_json} has a sensitivity probe");
    for case in doc["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let sequence = support::enformer_input(label, &genbank);
        let started = std::time::Instant::now();
        let output = pollster::block_on(encoder.embed(&sequence)).unwrap();
        eprintln!(
            "{label}: {:?} in {:.1} s with {:?}",
            output.shape,
            started.elapsed().as_secs_f64(),
            encoder.chunks()
        );
        let (shape, expected) = npy(&std::fs::read(fixtures().join(case["embedding"].as_str().unwrap())).unwrap());
        let width = output.shape[1];
        let ours: Vec<f32> = output.last_hidden_state.chunks(width).step_by(bin_step).flatten().copied().collect();
        assert_eq!(shape, vec![output.shape[0].div_ceil(bin_step), width]);
        let diff = relative_diff(&ours, &expected);
        eprintln!("{label}: relative max |Δ| = {diff:.3e}");
        assert!(diff <= ENFORMER_RELATIVE_TOLERANCE, "{label}: {diff}");
        // The fixture's heads, not ours: a head we failed to run (or ran without being asked) fails.
        let heads: Vec<&str> = ["human", "mouse"].into_iter().filter(|h| case.get(*h).is_some()).collect();
        assert_eq!(output.tracks.keys().map(String::as_str).collect::<Vec<_>>(), heads, "{label}: the heads");
        for head in heads {
            let (_, expected) = npy(&std::fs::read(fixtures().join(case[head].as_str().unwrap())).unwrap());
            let diff = relative_diff(&output.tracks[head].values, &expected);
            eprintln!("{label} {head} head: relative max |Δ| = {diff:.3e}");
            assert!(diff <= ENFORMER_RELATIVE_TOLERANCE, "{label} {head}: {diff}");
        }
    }
}

#[test]
fn tiny_matches_enformer_pytorch_on_cpu_chunked_and_whole() {
    let weights = converted("tiny_weights.json", "tiny-cpu");
    let whole = encoder(&weights.weights, BackendKind::Cpu);
    assert_eq!(whole.head_names(), vec!["human", "mouse"]);
    let halo = whole.chunks().halo_bins;
    check(&whole.with_chunks(ConvChunks { chunk_bins: 1536, halo_bins: halo }), "tiny_expected.json", 1);
    // Small chunks: 16 windows with their halos must give the same result.
    check(
        &encoder(&weights.weights, BackendKind::Cpu).with_chunks(ConvChunks { chunk_bins: 96, halo_bins: halo }),
        "tiny_expected.json",
        1,
    );
}

#[test]
fn tiny_matches_enformer_pytorch_on_wgpu_at_the_default_limits() {
    let weights = converted("tiny_weights.json", "tiny-wgpu");
    let encoder = encoder(&weights.weights, BackendKind::Wgpu).with_buffer_limit(DEFAULT_BINDING_LIMIT);
    let halo = encoder.chunks().halo_bins;
    check(&encoder.with_chunks(ConvChunks { chunk_bins: 256, halo_bins: halo }), "tiny_expected.json", 1);
}

#[test]
fn published_trunk_matches_enformer_pytorch_on_cpu() {
    let weights = converted("published_weights.json", "published-cpu");
    let encoder = encoder(&weights.weights, BackendKind::Cpu).with_buffer_limit(DEFAULT_BINDING_LIMIT);
    assert!(encoder.chunks().chunk_bins < 1536, "the published stem needs chunks at 128 MiB: {:?}", encoder.chunks());
    check(&encoder, "published_expected.json", 64);
}

#[test]
fn bad_dna_is_a_typed_error_and_long_dna_can_be_centre_cropped() {
    let weights = converted("tiny_weights.json", "tiny-errors");
    let encoder = encoder(&weights.weights, BackendKind::Cpu);
    let code = |sequence: &str| pollster::block_on(encoder.embed(sequence)).unwrap_err().code();
    assert_eq!(code("ACGTU"), "INVALID_CHARACTER");
    assert_eq!(code(""), "EMPTY_SEQUENCE");
    let long = isoformer::synthetic::synthetic_sequence(196_608 + 1000, b"ACGT");
    assert_eq!(code(&long), "SEQUENCE_TOO_LONG");
    let cropped = DnaOneHot::new(196_608).with_crop(DnaCropPolicy::Centre);
    let centre = pollster::block_on(encoder.embed_with(&cropped, &long, &Cancel::never())).unwrap();
    let same = pollster::block_on(encoder.embed(&long[500..500 + 196_608])).unwrap();
    assert_eq!(centre.shape, [896, 96]);
    assert_eq!(centre.bases, 197_608);
    assert_eq!(centre.last_hidden_state, same.last_hidden_state, "the centre crop is the central 196,608 bp");
}

//! In-browser parity on WebGPU (headless Chromium through wasm-bindgen-test): the committed tiny
//! ESM-2, NT-v2 and Enformer weights against the PyTorch references' outputs, with async readback
//! only. Enformer runs at the full 196,608 bp with chunks planned for WebGPU's default limits.
//!
//! Chromium here offers SwiftShader, a GPU emulated on the CPU, where the wasm build sends the
//! Linear layers' and attention's products through cubek's `CpuGemm` (`models::gpu_matmul`). A
//! user's real GPU runs Burn's matmul and fused attention instead, so every parity case runs twice:
//! with that routing, and with it forced off (`gpu_matmul::set_routing(false)`) — Burn's kernels,
//! checked against the same references in the browser.
#![cfg(target_arch = "wasm32")]

mod support;

use isoformer::models::enformer::{ConvChunks, DEFAULT_BINDING_LIMIT};
use isoformer::models::gpu_matmul;
use isoformer::runtime::backend::{gpu_is_software, init_webgpu};
use isoformer::web::to_js_error;
use isoformer::weights::{LoadedWeights, Manifest};
use isoformer::{DnaEncoder, Error, SequenceEncoder};
use support::{PARITY_TOLERANCE, cases, max_abs_diff_rows};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

// In a dedicated worker: a long WebGPU (SwiftShader) pass then blocks the worker, not the page, so
// chromedriver's 30-s wait on the renderer never runs out on a busy machine.
wasm_bindgen_test_configure!(run_in_dedicated_worker);

const MANIFEST: &str = include_str!("../weights/isoformer-tiny-random/protein/manifest.json");
const SHARD: &[u8] = include_bytes!("../weights/isoformer-tiny-random/protein/esm2-00000-of-00001.safetensors");
const ENFORMER_MANIFEST: &str = include_str!("../weights/isoformer-tiny-random/dna/manifest.json");
const ENFORMER_SHARD: &[u8] =
    include_bytes!("../weights/isoformer-tiny-random/dna/enformer-00000-of-00001.safetensors");
const AGGREGATOR_MANIFEST: &str = include_str!("../weights/isoformer-tiny-random/aggregator/manifest.json");
const AGGREGATOR_SHARD: &[u8] =
    include_bytes!("../weights/isoformer-tiny-random/aggregator/aggregator-00000-of-00001.safetensors");
const TP73_TRANSCRIPTS: &str = include_str!("../data/gentle_rs/ensembl_human_tp73_all.fasta");
const TP73_GENBANK: &str = include_str!("../data/gentle_rs/tp73.ncbi.gb");
const NT_MANIFEST: &str = include_str!("../weights/isoformer-tiny-random/rna/manifest.json");
const NT_SHARD: &[u8] = include_bytes!("../weights/isoformer-tiny-random/rna/nt-00000-of-00001.safetensors");

fn fixture(name: &str) -> Vec<u8> {
    match name {
        "tiny_0_hidden.npy" => include_bytes!("fixtures/esm2/tiny_0_hidden.npy").to_vec(),
        "tiny_0_logits.npy" => include_bytes!("fixtures/esm2/tiny_0_logits.npy").to_vec(),
        "tiny_1_hidden.npy" => include_bytes!("fixtures/esm2/tiny_1_hidden.npy").to_vec(),
        "tiny_2_hidden.npy" => include_bytes!("fixtures/esm2/tiny_2_hidden.npy").to_vec(),
        "tiny_3_hidden.npy" => include_bytes!("fixtures/esm2/tiny_3_hidden.npy").to_vec(),
        "tiny_4_hidden.npy" => include_bytes!("fixtures/esm2/tiny_4_hidden.npy").to_vec(),
        "tiny_layer_0.npy" => include_bytes!("fixtures/esm2/tiny_layer_0.npy").to_vec(),
        "tiny_layer_1.npy" => include_bytes!("fixtures/esm2/tiny_layer_1.npy").to_vec(),
        "tiny_layer_2.npy" => include_bytes!("fixtures/esm2/tiny_layer_2.npy").to_vec(),
        other => panic!("fixture {other} is not embedded in the web test"),
    }
}

fn nt_fixture(name: &str) -> Vec<u8> {
    match name {
        "tiny_0_hidden.npy" => include_bytes!("fixtures/nt/tiny_0_hidden.npy").to_vec(),
        "tiny_0_logits.npy" => include_bytes!("fixtures/nt/tiny_0_logits.npy").to_vec(),
        "tiny_1_hidden.npy" => include_bytes!("fixtures/nt/tiny_1_hidden.npy").to_vec(),
        "tiny_2_hidden.npy" => include_bytes!("fixtures/nt/tiny_2_hidden.npy").to_vec(),
        "tiny_3_hidden.npy" => include_bytes!("fixtures/nt/tiny_3_hidden.npy").to_vec(),
        "tiny_4_hidden.npy" => include_bytes!("fixtures/nt/tiny_4_hidden.npy").to_vec(),
        "tiny_layer_0.npy" => include_bytes!("fixtures/nt/tiny_layer_0.npy").to_vec(),
        "tiny_layer_1.npy" => include_bytes!("fixtures/nt/tiny_layer_1.npy").to_vec(),
        "tiny_layer_2.npy" => include_bytes!("fixtures/nt/tiny_layer_2.npy").to_vec(),
        other => panic!("fixture {other} is not embedded in the web test"),
    }
}

async fn load_encoder(manifest: &str, shard: &[u8]) -> SequenceEncoder {
    let device = init_webgpu().await.expect("a WebGPU adapter (Chromium with --enable-unsafe-webgpu)");
    let manifest = Manifest::from_json(manifest).unwrap();
    assert_eq!(manifest.files.len(), 1);
    let mut weights = LoadedWeights::new(&device.device, &manifest);
    weights.add_shard(&manifest.files[0], shard.to_vec()).unwrap();
    SequenceEncoder::new(device, &manifest, weights).unwrap()
}

async fn tiny_encoder() -> SequenceEncoder {
    load_encoder(MANIFEST, SHARD).await
}

/// Sets the software-adapter routing for what follows (`true`: the products through `CpuGemm`, as
/// the shipped build does on SwiftShader; `false`: Burn's kernels, as on a real GPU) and returns the
/// check to run after it: `CpuGemm` refused no product (it would have handed it to Burn's matmul
/// silently), ran products where the routing applies, and ran none with the routing off.
fn routing(on: bool) -> impl FnOnce() {
    gpu_matmul::set_routing(on);
    let (launched, refused) = gpu_matmul::launches();
    web_sys::console::log_1(&format!("products through CpuGemm: {on}").into());
    move || {
        let (now, refused_now) = gpu_matmul::launches();
        let software = gpu_is_software();
        web_sys::console::log_1(
            &format!("CpuGemm ran {} products (software adapter: {software})", now - launched).into(),
        );
        assert_eq!(refused_now, refused, "CpuGemm refused a product, which Burn's matmul then ran");
        if !on {
            assert_eq!(now, launched, "with the routing off, no product goes through CpuGemm");
        } else if software {
            assert!(now > launched, "on a software adapter the products go through CpuGemm");
        }
    }
}

/// Every case of a fixture file within [`PARITY_TOLERANCE`], logits included where the fixture has
/// them, the sensitivity probe too (whose reference is at least 100× the tolerance from its case's).
async fn check_parity(encoder: &SequenceEncoder, cases: Vec<support::Case>) {
    web_sys::console::log_1(&format!("device: {}", encoder.device().description).into());
    assert!(
        support::assert_case_probes_move(&cases, PARITY_TOLERANCE) > 0,
        "every parity fixture has a sensitivity probe"
    );
    for case in cases {
        let sequences: Vec<&str> = case.sequences.iter().map(String::as_str).collect();
        let embeddings = encoder.embed(&sequences).await.unwrap();
        assert_eq!(embeddings.len(), sequences.len(), "{}: one embedding per sequence", case.label);
        for (b, embedding) in embeddings.iter().enumerate() {
            assert_eq!(embedding.tokens, case.tokens[b]);
            let diff = max_abs_diff_rows(&embedding.last_hidden_state, &case.hidden, b, embedding.tokens.len());
            web_sys::console::log_1(&format!("{} [{b}]: max |Δ| = {diff:.3e}", case.label).into());
            assert!(diff <= PARITY_TOLERANCE, "{} [{b}]: {diff}", case.label);
        }
        if let Some(expected) = &case.logits {
            let logits = encoder.logits(&sequences).await.unwrap();
            assert_eq!(logits.len(), sequences.len(), "{}: logits per sequence", case.label);
            for (b, l) in logits.iter().enumerate() {
                let diff = max_abs_diff_rows(&l.logits, expected, b, l.tokens.len());
                assert!(diff <= PARITY_TOLERANCE, "{} [{b}] logits: {diff}", case.label);
            }
        }
    }
}

#[wasm_bindgen_test]
async fn tiny_matches_transformers_on_webgpu() {
    for on in [true, false] {
        let checked = routing(on);
        check_parity(&tiny_encoder().await, cases(include_str!("fixtures/esm2/tiny_expected.json"), fixture)).await;
        checked();
    }
}

#[wasm_bindgen_test]
async fn nt_tiny_matches_reference_on_webgpu() {
    for on in [true, false] {
        let checked = routing(on);
        let encoder = load_encoder(NT_MANIFEST, NT_SHARD).await;
        check_parity(&encoder, cases(include_str!("fixtures/nt/tiny_expected.json"), nt_fixture)).await;
        checked();
        let error = encoder.embed(&["ACGUZ"]).await.unwrap_err();
        assert_eq!(error.code(), "INVALID_CHARACTER");
    }
}

/// The TP73 region N-padded to 196,608 bp through the tiny Enformer, the convolutions in windows
/// planned for 128 MiB bindings (and forced small, so several windows run), heads included.
/// Hidden states of every layer (transformers' `output_hidden_states`) on WebGPU, ESM-2 and NT-v2.
#[wasm_bindgen_test]
async fn intermediate_layers_match_transformers_on_webgpu() {
    for on in [true, false] {
        let checked = routing(on);
        for (encoder, json, read) in [
            (tiny_encoder().await, include_str!("fixtures/esm2/tiny_layers.json"), fixture as fn(&str) -> Vec<u8>),
            (load_encoder(NT_MANIFEST, NT_SHARD).await, include_str!("fixtures/nt/tiny_layers.json"), nt_fixture),
        ] {
            let layers = support::layers_fixture(json, read);
            let sequences: Vec<&str> = layers.sequences.iter().map(String::as_str).collect();
            support::assert_layers_match(&layers, &encoder.embed_layers(&sequences, &layers.indices).await.unwrap());
        }
        checked();
    }
}

/// (With the routing off, Enformer's trunk and heads are checked by the IsoFormer test below, on
/// the same input from the same pass that feeds the aggregator: a full-length pass costs ≈ 100 s on
/// SwiftShader. The probe proves the fixture tells inputs apart; the routing changes no input path.)
#[wasm_bindgen_test]
async fn enformer_tiny_matches_enformer_pytorch_on_webgpu_at_full_length() {
    let checked = routing(true);
    let device = init_webgpu().await.expect("a WebGPU adapter");
    let manifest = Manifest::from_json(ENFORMER_MANIFEST).unwrap();
    let mut weights = LoadedWeights::new(&device.device, &manifest);
    weights.add_shard(&manifest.files[0], ENFORMER_SHARD.to_vec()).unwrap();
    let encoder = DnaEncoder::new(device, &manifest, weights).unwrap().with_buffer_limit(DEFAULT_BINDING_LIMIT);
    let halo = encoder.chunks().halo_bins;
    let encoder = encoder.with_chunks(ConvChunks { chunk_bins: 384, halo_bins: halo });
    let output = encoder.embed(&support::genbank_origin(TP73_GENBANK)).await.unwrap();
    assert_eq!(output.shape, [896, 96]);
    let expected = support::npy(include_bytes!("fixtures/enformer/tiny_0_embedding.npy")).1;
    let diff = support::relative_diff(&output.last_hidden_state, &expected);
    web_sys::console::log_1(
        &format!("enformer tiny, 196,608 bp, {:?}: relative max |Δ| = {diff:.3e}", encoder.chunks()).into(),
    );
    assert!(diff <= 1e-4, "{diff}");
    check_tracks(&output.tracks);
    // The sensitivity probe: one base at the window's centre changed.
    let probe = encoder.embed(&support::enformer_input("tp73_region_centre_snv", TP73_GENBANK)).await.unwrap();
    let probe_expected = support::npy(include_bytes!("fixtures/enformer/tiny_2_embedding.npy")).1;
    let diff = support::relative_diff(&probe.last_hidden_state, &probe_expected);
    web_sys::console::log_1(&format!("enformer tiny, centre SNV: relative max |Δ| = {diff:.3e}").into());
    assert!(diff <= 1e-4, "centre SNV: {diff}");
    let outputs = [("tp73".to_string(), None, expected), ("snv".to_string(), Some("tp73".to_string()), probe_expected)];
    assert_eq!(support::assert_probes_move(&outputs, 1e-4, |a, b| support::relative_diff(a, b)), 1);
    checked();
    assert_eq!(encoder.embed("ACGTZ").await.unwrap_err().code(), "INVALID_CHARACTER");
}

/// Enformer's heads on the TP73 window against enformer-pytorch's: the fixture's heads, each.
fn check_tracks(tracks: &std::collections::BTreeMap<String, isoformer::runtime::embed::Tracks>) {
    let expected = [
        ("human", support::npy(include_bytes!("fixtures/enformer/tiny_0_human.npy")).1),
        ("mouse", support::npy(include_bytes!("fixtures/enformer/tiny_0_mouse.npy")).1),
    ];
    assert_eq!(tracks.keys().map(String::as_str).collect::<Vec<_>>(), ["human", "mouse"]);
    for (head, values) in expected {
        let diff = support::relative_diff(&tracks[head].values, &values);
        web_sys::console::log_1(&format!("enformer tiny {head} head: relative max |Δ| = {diff:.3e}").into());
        assert!(diff <= 1e-4, "{head}: {diff}");
    }
}

/// Largest |ours − reference| relative to the largest reference value, end to end: as natively
/// (tests/isoformer.rs), so a one-residue or one-6-mer change clears 100× of it.
const ISOFORMER_RELATIVE_TOLERANCE: f32 = 1e-5;

/// IsoFormer end to end at tiny sizes (all three encoders at full DNA length, then the aggregator)
/// against the PyTorch reference: every fixture case that reads the unedited DNA window — each
/// subset of modalities, and the one-residue and one-6-mer probes — from one embedding of the
/// window (`predict_from`, as predictMany reuses it: an Enformer pass costs ≈ 100 s on SwiftShader;
/// the DNA probes are the Enformer test's and the native tests'). That embedding is also checked
/// against enformer-pytorch's trunk and heads. `routing` as [`routing`].
async fn check_isoformer(on: bool) {
    use isoformer::models::isoformer::load_aggregator;
    use isoformer::runtime::embed::read_back;
    use isoformer::{Isoformer, IsoformerInputs};
    let checked = routing(on);
    let device = init_webgpu().await.expect("a WebGPU adapter");
    let load = |manifest: &str, shard: &[u8]| {
        let manifest = Manifest::from_json(manifest).unwrap();
        let mut weights = LoadedWeights::new(&device.device, &manifest);
        weights.add_shard(&manifest.files[0], shard.to_vec()).unwrap();
        (manifest, weights)
    };
    let (m, w) = load(ENFORMER_MANIFEST, ENFORMER_SHARD);
    let dna = DnaEncoder::new(device.clone(), &m, w).unwrap().with_buffer_limit(DEFAULT_BINDING_LIMIT);
    let (m, w) = load(NT_MANIFEST, NT_SHARD);
    let rna = SequenceEncoder::new(device.clone(), &m, w).unwrap();
    let (m, w) = load(MANIFEST, SHARD);
    let protein = SequenceEncoder::new(device.clone(), &m, w).unwrap();
    let (m, w) = load(AGGREGATOR_MANIFEST, AGGREGATOR_SHARD);
    let (aggregator, random) = load_aggregator(&m, w).unwrap();
    let model = Isoformer::new(dna, Some(rna), Some(protein), aggregator, random).unwrap();

    let (dna, rna, protein) = support::tp73_inputs(TP73_GENBANK, TP73_TRANSCRIPTS);
    let options = isoformer::RunOptions::default();
    let window = model.dna_embedding(Some(&dna), &options).await.unwrap();
    let trunk = read_back(window.clone()).await.unwrap();
    let expected_trunk = support::npy(include_bytes!("fixtures/enformer/tiny_0_embedding.npy")).1;
    let diff = support::relative_diff(&trunk, &expected_trunk);
    web_sys::console::log_1(&format!("enformer tiny trunk, 196,608 bp: relative max |Δ| = {diff:.3e}").into());
    assert!(diff <= 1e-4, "the DNA embedding: {diff}");
    check_tracks(&model.dna_encoder().tracks(&window).await.unwrap());

    let expected: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/isoformer/tiny_expected.json")).unwrap();
    let same_window =
        |case: &&serde_json::Value| case.get("aggregator").is_none() && case["edits"].get("dna").is_none();
    let cases: Vec<&serde_json::Value> = expected["cases"].as_array().unwrap().iter().filter(same_window).collect();
    let labels: Vec<&str> = cases.iter().map(|c| c["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["dna_rna_protein", "dna_rna", "dna_protein", "dna", "dna_rna_protein_one_6mer", "dna_rna_protein_one_residue"]
    );
    let mut references = Vec::new();
    for case in cases {
        let (rna, protein) = (support::edited(&rna, case, "rna"), support::edited(&protein, case, "protein"));
        let inputs = IsoformerInputs {
            dna: Some(&dna),
            rna: case["rna"].as_bool().unwrap().then_some(rna.as_str()),
            protein: case["protein"].as_bool().unwrap().then_some(protein.as_str()),
        };
        let prediction = model.predict_from(window.clone(), &inputs, false, &options).await.unwrap();
        let values: Vec<f32> = serde_json::from_value(case["values"].clone()).unwrap();
        let diff = support::relative_diff(&prediction.values, &values);
        web_sys::console::log_1(&format!("isoformer {}: relative max |Δ| = {diff:.3e}", case["label"]).into());
        assert!(diff <= ISOFORMER_RELATIVE_TOLERANCE, "{}: {diff}", case["label"]);
        let perturbs = case["perturbs"].as_str().map(str::to_string);
        references.push((case["label"].as_str().unwrap().to_string(), perturbs, values));
    }
    // The probes (RNA dropped, protein dropped, one 6-mer, one residue) move the reference far
    // beyond the tolerance: each input path is seen.
    let probes =
        support::assert_probes_move(&references, ISOFORMER_RELATIVE_TOLERANCE, |a, b| support::relative_diff(a, b));
    assert_eq!(probes, 4);
    checked();
}

#[wasm_bindgen_test]
async fn tiny_isoformer_matches_the_reference_on_webgpu() {
    check_isoformer(true).await;
}

/// The same with Burn's matmul and fused attention, the kernels a real GPU runs in the browser.
#[wasm_bindgen_test]
async fn tiny_isoformer_matches_the_reference_on_webgpu_with_burns_kernels() {
    check_isoformer(false).await;
}

/// Two readbacks in a row must return their own bytes (cubecl once reused a staging buffer).
#[wasm_bindgen_test]
async fn consecutive_readbacks_are_distinct() {
    let encoder = tiny_encoder().await;
    let first = encoder.embed(&["MKTAYIAKQR"]).await.unwrap();
    let second = encoder.embed(&["GGGGGGGGGG"]).await.unwrap();
    let again = encoder.embed(&["MKTAYIAKQR"]).await.unwrap();
    assert_ne!(first[0].last_hidden_state, second[0].last_hidden_state);
    assert_eq!(first[0].last_hidden_state, again[0].last_hidden_state);
}

#[wasm_bindgen_test]
async fn bad_input_becomes_a_js_error_with_a_stable_code() {
    let encoder = tiny_encoder().await;
    let error = encoder.embed(&["MKV*"]).await.unwrap_err();
    assert!(matches!(error, Error::InvalidCharacter { position: 4, character: '*', .. }));
    let js = to_js_error(&error);
    let code = js_sys::Reflect::get(&js, &JsValue::from_str("code")).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("INVALID_CHARACTER"));
}

/// WebGPU's default 128 MiB storage binding: an RNA whose activations would exceed it is refused
/// with SEQUENCE_TOO_LONG before any device work (no validation error, no lost device); at a
/// limit set to 6,016 tokens (one head's scores over 128 MiB: split by query rows) it runs, one
/// token more is refused.
#[wasm_bindgen_test]
async fn rna_too_long_for_the_binding_limit_is_a_typed_error_on_webgpu() {
    use isoformer::models::enformer::DEFAULT_BINDING_LIMIT;
    use isoformer::tokenize::{NucleotideTokenizer, Tokenizer};
    let unlimited = Tokenizer::Nucleotide(NucleotideTokenizer::new(usize::MAX));
    let encoder = load_encoder(NT_MANIFEST, NT_SHARD).await.with_tokenizer(unlimited).unwrap();
    let encoder = encoder.with_buffer_limit(DEFAULT_BINDING_LIMIT);
    let rna = |tokens: usize| isoformer::synthetic::synthetic_sequence(6 * (tokens - 1), b"ACGT");
    let max = encoder.activation_limit(false).max_length(1);
    let error = encoder.embed(&[rna(max + 64).as_str()]).await.unwrap_err();
    let code = js_sys::Reflect::get(&to_js_error(&error), &JsValue::from_str("code")).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("SEQUENCE_TOO_LONG"), "{error}");
    assert!(error.to_string().contains("128 MiB"), "{error}");

    let at_limit = 94 * 64;
    let widest = encoder.activation_limit(false).widest as u64;
    let encoder = encoder.with_buffer_limit(at_limit as u64 * widest * 4);
    let embedded = encoder.embed(&[rna(at_limit).as_str()]).await.unwrap().remove(0);
    assert_eq!(embedded.shape, [at_limit, 16]);
    assert!(embedded.last_hidden_state.iter().all(|v| v.is_finite()));
    let error = encoder.embed(&[rna(at_limit + 1).as_str()]).await.unwrap_err();
    assert!(matches!(error, Error::TooLongForDevice { max, .. } if max == at_limit), "{error}");
}

//! IsoFormer end to end at tiny sizes against the PyTorch reference (tests/fixtures/isoformer_reference.py):
//! the committed tiny Enformer, NT-v2, ESM-2 and aggregator weights, on the TP73 region, a TP73
//! transcript and a TP73 protein, for every subset of modalities the fixture holds; CPU and wgpu.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};

use isoformer::model::load_aggregator;
use isoformer::backend::{self, BackendKind, ComputeDevice};
use isoformer::weights::load_dir;
use isoformer::{DnaEncoder, Isoformer, IsoformerInputs, SequenceEncoder, TISSUES, read_sequences};
use serde_json::Value;
use support::relative_diff;

/// Largest |ours − reference| relative to the largest |reference| value, as for Enformer.
const ISOFORMER_RELATIVE_TOLERANCE: f32 = 1e-4;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/isoformer/tiny_expected.json")).unwrap()).unwrap()
}

fn model(kind: BackendKind) -> Isoformer {
    let device = backend::init_native(kind).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let load = |dir: PathBuf| load_dir(&dir, &device.device).unwrap();
    let weights = |name: &str| root().join("weights").join(name);
    let (manifest, loaded) = load(weights("isoformer-tiny-random/dna"));
    let dna = DnaEncoder::new(device.clone(), &manifest, loaded).unwrap();
    let sequence = |name: &str, device: &ComputeDevice| {
        let (manifest, loaded) = load(weights(name));
        SequenceEncoder::new(device.clone(), &manifest, loaded).unwrap()
    };
    let (rna, protein) = (sequence("isoformer-tiny-random/rna", &device), sequence("isoformer-tiny-random/protein", &device));
    let (manifest, loaded) = load(weights("isoformer-tiny-random/aggregator"));
    let (aggregator, random) = load_aggregator(&manifest, loaded).unwrap();
    Isoformer::new(dna, Some(rna), Some(protein), aggregator, random).unwrap()
}

fn inputs() -> (String, String, String) {
    let shared = root().join("../shared/data/gentle_rs");
    let genbank = std::fs::read_to_string(shared.join("tp73.ncbi.gb")).expect("../shared/data beside the checkout");
    let transcripts = read_sequences(&std::fs::read_to_string(shared.join("ensembl_human_tp73_all.fasta")).unwrap()).unwrap();
    let rna = transcripts.into_iter().find(|r| r.id == "ENST00000713571.1").unwrap().sequence;
    let protein = genbank.split("/protein_id=\"NP_005418.1\"").nth(1).unwrap().split("/translation=\"").nth(1).unwrap().split('"').next().unwrap();
    (support::genbank_origin(&genbank), rna, protein.chars().filter(|c| !c.is_whitespace()).collect())
}

fn check(model: &Isoformer) {
    let (dna, rna, protein) = inputs();
    for case in fixture()["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let given = IsoformerInputs {
            dna: Some(&dna),
            rna: case["rna"].as_bool().unwrap().then_some(rna.as_str()),
            protein: case["protein"].as_bool().unwrap().then_some(protein.as_str()),
        };
        let prediction = pollster::block_on(model.predict(&given, label == "dna_rna_protein")).unwrap();
        let expected: Vec<f32> = serde_json::from_value(case["values"].clone()).unwrap();
        assert_eq!(prediction.tissues, TISSUES.to_vec());
        assert!(prediction.random_weights && prediction.units.contains("log(TPM + 1)"));
        let diff = relative_diff(&prediction.values, &expected);
        eprintln!("{label}: relative max |Δ| = {diff:.3e}");
        assert!(diff <= ISOFORMER_RELATIVE_TOLERANCE, "{label}: {diff}");
        if let Some(file) = case["final_dna"].as_str() {
            let (_, expected) = support::npy(&std::fs::read(root().join("tests/fixtures/isoformer").join(file)).unwrap());
            let (shape, ours) = prediction.final_dna_embeddings.unwrap();
            assert_eq!(shape, vec![896, 96]);
            let diff = relative_diff(&ours, &expected);
            eprintln!("{label} final DNA embeddings: relative max |Δ| = {diff:.3e}");
            assert!(diff <= ISOFORMER_RELATIVE_TOLERANCE, "{label} final DNA: {diff}");
        }
    }
}

#[test]
fn tiny_isoformer_matches_the_reference_on_cpu() {
    check(&model(BackendKind::Cpu));
}

/// The wgpu tests share one device (one runtime per process); the stage-timing test needs it to
/// itself, since another test's queued work would be charged to its stages.
static WGPU_ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn tiny_isoformer_matches_the_reference_on_wgpu() {
    let _alone = WGPU_ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    check(&model(BackendKind::Wgpu));
}

#[test]
fn empty_inputs_and_bad_sequences_are_typed_errors() {
    let model = model(BackendKind::Cpu);
    let predict = |inputs: IsoformerInputs| pollster::block_on(model.predict(&inputs, false)).unwrap_err().code();
    assert_eq!(predict(IsoformerInputs::default()), "INVALID_ARGUMENT");
    assert_eq!(predict(IsoformerInputs { rna: Some("ACGUX"), ..Default::default() }), "INVALID_CHARACTER");
    assert_eq!(predict(IsoformerInputs { protein: Some("MKV*"), ..Default::default() }), "INVALID_CHARACTER");
    // Without DNA the model still answers (DNA read as N), with the modalities it was given.
    let prediction = pollster::block_on(model.predict(&IsoformerInputs { protein: Some("MKTAYIAKQR"), ..Default::default() }, false)).unwrap();
    assert_eq!(prediction.values.len(), 30);
    assert_eq!(prediction.modalities, vec![isoformer::Modality::Protein]);
}

#[test]
fn absent_dna_is_computed_once_and_equals_an_all_n_window() {
    let model = model(BackendKind::Cpu);
    let protein = inputs().2;
    let without_dna = IsoformerInputs { protein: Some(&protein), ..Default::default() };
    let first = pollster::block_on(model.predict(&without_dna, false)).unwrap();
    let cached = pollster::block_on(model.predict(&without_dna, false)).unwrap();
    // An explicit all-N window of the full length goes through the trunk afresh.
    let window = "N".repeat(196_608);
    let explicit = pollster::block_on(model.predict_from(model.dna_embedding(Some(&window)).unwrap(), &without_dna, false)).unwrap();
    assert_eq!(first.values, cached.values);
    assert_eq!(first.values, explicit.values);
    assert_eq!(first.modalities, vec![isoformer::Modality::Protein]);
}

#[test]
fn stage_timings_name_each_stage_in_order_and_add_up_to_the_call() {
    // wgpu queues work and returns: without a barrier at the end of each stage, the encoders' time
    // would be charged to the readback that first waits for the device.
    let _alone = WGPU_ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let model = model(BackendKind::Wgpu);
    let (dna, rna, protein) = inputs();
    let given = IsoformerInputs { dna: Some(&dna), rna: Some(&rna), protein: Some(&protein) };
    pollster::block_on(model.predict(&given, false)).unwrap(); // shaders compiled here
    let started = std::time::Instant::now();
    let prediction = pollster::block_on(model.predict(&given, false)).unwrap();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let names: Vec<&str> = prediction.stages.0.iter().map(|(stage, _)| stage.name()).collect();
    assert_eq!(names, ["tokenize", "upload", "dna", "rna", "protein", "aggregation", "readback"]);
    let ms = |name: &str| prediction.stages.0.iter().find(|(stage, _)| stage.name() == name).unwrap().1;
    assert!(prediction.stages.0.iter().all(|(_, ms)| ms.is_finite() && *ms >= 0.0), "{:?}", prediction.stages);
    let total: f64 = prediction.stages.0.iter().map(|(_, ms)| ms).sum();
    assert!(total <= elapsed_ms && total >= 0.9 * elapsed_ms, "stages {total} ms, call {elapsed_ms} ms");
    assert!(ms("dna") > 10.0 * ms("readback"), "{:?}", prediction.stages);
    // Low-memory mode charges each part's fetch and upload to `load`.
    let low = pollster::block_on(isoformer::model::predict_dir_part_by_part(model.device(), &root().join("weights/isoformer-tiny-random"), &given, false)).unwrap();
    let names: Vec<&str> = low.stages.0.iter().map(|(stage, _)| stage.name()).collect();
    assert_eq!(names, ["load", "rna", "protein", "dna", "aggregation", "readback"]);
}

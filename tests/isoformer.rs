//! IsoFormer end to end at tiny sizes against the PyTorch reference (tests/fixtures/isoformer_reference.py):
//! the committed tiny Enformer, NT-v2, ESM-2 and aggregator weights, on the TP73 region, a TP73
//! transcript and a TP73 protein, for every subset of modalities the fixture holds; CPU and wgpu.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use isoformer::models::isoformer::load_aggregator;
use isoformer::runtime::backend::{self, BackendKind, ComputeDevice};
use isoformer::runtime::parts::{IsoformerDir, PartSource};
use isoformer::weights::{LoadedWeights, Manifest, Part, load_dir};
use isoformer::{DnaEncoder, Isoformer, IsoformerInputs, RunOptions, SequenceEncoder, TISSUES};
use serde_json::Value;
use support::{edited, relative_diff};

/// Largest |ours − reference| relative to the largest |reference| value. Measured: ≤ 1e-6 on the
/// CPU and on lavapipe; 1e-5 leaves room and lets a small input change (one residue, one 6-mer,
/// the centre 128-bp bin blanked; make_fixtures.py's ISOFORMER_TOLERANCE) clear 100× of it.
const ISOFORMER_RELATIVE_TOLERANCE: f32 = 1e-5;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/isoformer/tiny_expected.json")).unwrap())
        .unwrap()
}

fn model(kind: BackendKind) -> Isoformer {
    model_with(kind, &Value::Null)
}

/// The tiny IsoFormer with `aggregator` (a JSON object, or null) over the aggregator's config fields.
fn model_with(kind: BackendKind, aggregator: &Value) -> Isoformer {
    let device = backend::init_native(kind).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let load = |dir: PathBuf| load_dir(&dir, &device.device).unwrap();
    let weights = |name: &str| root().join("weights").join(name);
    let (manifest, loaded) = load(weights("isoformer-tiny-random/dna"));
    let dna = DnaEncoder::new(device.clone(), &manifest, loaded).unwrap();
    let sequence = |name: &str, device: &ComputeDevice| {
        let (manifest, loaded) = load(weights(name));
        SequenceEncoder::new(device.clone(), &manifest, loaded).unwrap()
    };
    let (rna, protein) =
        (sequence("isoformer-tiny-random/rna", &device), sequence("isoformer-tiny-random/protein", &device));
    let (mut manifest, loaded) = load(weights("isoformer-tiny-random/aggregator"));
    for (field, value) in aggregator.as_object().into_iter().flatten() {
        manifest.config[field] = value.clone();
    }
    let (aggregator, random) = load_aggregator(&manifest, loaded).unwrap();
    Isoformer::new(dna, Some(rna), Some(protein), aggregator, random).unwrap()
}

fn inputs() -> (String, String, String) {
    support::tp73_inputs(
        &support::data_text("gentle_rs/tp73.ncbi.gb"),
        &support::data_text("gentle_rs/ensembl_human_tp73_all.fasta"),
    )
}

/// Every case (each subset of modalities; the sensitivity probes: the full case with one residue,
/// one 6-mer or the centre DNA bin changed, or a modality dropped; the full case under another
/// reading of a modelling choice, `aggregator`) within the tolerance; each probe's reference at
/// least 100× the tolerance from the full case's.
/// The cases whose DNA differs run through `predict` (the trunk included); the others reuse one
/// trunk embedding of the unedited window through `predict_from`, as predictMany and variant
/// scoring do: the trunk over 196,608 bp is most of a case's time (seconds on lavapipe), and its
/// output for one window is one tensor whichever aggregator reads it.
fn check(kind: BackendKind) {
    let model = model(kind);
    let (dna, rna, protein) = inputs();
    let window = pollster::block_on(model.dna_embedding(Some(&dna), &RunOptions::default())).unwrap();
    let fixture = fixture();
    let references: Vec<(String, Option<String>, Vec<f32>)> = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap().into(),
                c["perturbs"].as_str().map(Into::into),
                serde_json::from_value(c["values"].clone()).unwrap(),
            )
        })
        .collect();
    assert!(support::assert_probes_move(&references, ISOFORMER_RELATIVE_TOLERANCE, |a, b| relative_diff(a, b)) >= 5);
    for case in fixture["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let (case_dna, rna, protein) =
            (edited(&dna, case, "dna"), edited(&rna, case, "rna"), edited(&protein, case, "protein"));
        let given = IsoformerInputs {
            dna: Some(&case_dna),
            rna: case["rna"].as_bool().unwrap().then_some(rna.as_str()),
            protein: case["protein"].as_bool().unwrap().then_some(protein.as_str()),
        };
        let other_model = case.get("aggregator").map(|fields| model_with(kind, fields));
        let case_model = other_model.as_ref().unwrap_or(&model);
        let final_dna = label == "dna_rna_protein";
        let prediction = pollster::block_on(async {
            if case_dna != dna {
                case_model.predict(&given, final_dna).await
            } else {
                case_model.predict_from(window.clone(), &given, final_dna, &RunOptions::default()).await
            }
        })
        .unwrap();
        let expected: Vec<f32> = serde_json::from_value(case["values"].clone()).unwrap();
        assert_eq!(prediction.tissues, TISSUES.to_vec());
        assert!(prediction.random_weights && prediction.units.contains("log(TPM + 1)"));
        let diff = relative_diff(&prediction.values, &expected);
        eprintln!("{label}: relative max |Δ| = {diff:.3e}");
        assert!(diff <= ISOFORMER_RELATIVE_TOLERANCE, "{label}: {diff}");
        if let Some(file) = case["final_dna"].as_str() {
            let (_, expected) =
                support::npy(&std::fs::read(root().join("tests/fixtures/isoformer").join(file)).unwrap());
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
    check(BackendKind::Cpu);
}

/// The wgpu tests share one device (one runtime per process); the stage-timing test needs it to
/// itself, since another test's queued work would be charged to its stages.
static WGPU_ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn tiny_isoformer_matches_the_reference_on_wgpu() {
    let _alone = WGPU_ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    check(BackendKind::Wgpu);
}

#[test]
fn empty_inputs_and_bad_sequences_are_typed_errors() {
    let model = model(BackendKind::Cpu);
    let predict = |inputs: IsoformerInputs| pollster::block_on(model.predict(&inputs, false)).unwrap_err().code();
    assert_eq!(predict(IsoformerInputs::default()), "INVALID_ARGUMENT");
    assert_eq!(predict(IsoformerInputs { rna: Some("ACGUX"), ..Default::default() }), "INVALID_CHARACTER");
    assert_eq!(predict(IsoformerInputs { protein: Some("MKV*"), ..Default::default() }), "INVALID_CHARACTER");
    // Without DNA the model still answers (DNA read as N), with the modalities it was given.
    let prediction = pollster::block_on(
        model.predict(&IsoformerInputs { protein: Some("MKTAYIAKQR"), ..Default::default() }, false),
    )
    .unwrap();
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
    let explicit = pollster::block_on(async {
        let dna = model.dna_embedding(Some(&window), &RunOptions::default()).await.unwrap();
        model.predict_from(dna, &without_dna, false, &RunOptions::default()).await
    })
    .unwrap();
    assert_eq!(first.values, cached.values);
    assert_eq!(first.values, explicit.values);
    assert_eq!(first.modalities, vec![isoformer::Modality::Protein]);
}

/// Per-call options: IUPAC codes read as N and DNA centre-cropped only when a call asks, each
/// equal to giving the sequence already so; a cancelled call ends with ABORTED and the model then
/// predicts as before.
#[test]
fn run_options_read_inputs_their_way_and_cancel_stops_a_prediction() {
    use isoformer::tokenize::{AmbiguityPolicy, DnaCropPolicy};
    let model = model(BackendKind::Cpu);
    let (dna, rna, protein) = inputs();
    let predict = |inputs: &IsoformerInputs<'_>, options: &RunOptions| {
        pollster::block_on(model.predict_with(inputs, false, options))
    };
    let as_n = RunOptions { ambiguous: AmbiguityPolicy::ReadAsN, ..Default::default() };
    let ambiguous = format!("{}RYK{}", &rna[..30], &rna[33..]);
    let with_n = format!("{}NNN{}", &rna[..30], &rna[33..]);
    fn with_protein<'a>(modality: &str, sequence: &'a str, protein: &'a str) -> IsoformerInputs<'a> {
        let inputs = IsoformerInputs { protein: Some(protein), ..Default::default() };
        match modality {
            "rna" => IsoformerInputs { rna: Some(sequence), ..inputs },
            _ => IsoformerInputs { dna: Some(sequence), ..inputs },
        }
    }
    let given = |rna| with_protein("rna", rna, &protein);
    let refused = predict(&given(&ambiguous), &RunOptions::default()).unwrap_err();
    assert_eq!(refused.code(), "INVALID_CHARACTER");
    let read_as_n = predict(&given(&ambiguous), &as_n).unwrap();
    assert_eq!(read_as_n.values, predict(&given(&with_n), &RunOptions::default()).unwrap().values);

    let flank = "ACGT".repeat(64);
    let window = format!("{}{}", dna, "N".repeat(196_608 - dna.len()));
    let long = format!("{flank}{window}{flank}");
    let dna_only = |dna| with_protein("dna", dna, &protein);
    assert_eq!(predict(&dna_only(&long), &RunOptions::default()).unwrap_err().code(), "SEQUENCE_TOO_LONG");
    let centre = RunOptions { dna_crop: DnaCropPolicy::Centre, ..Default::default() };
    let cropped = predict(&dna_only(&long), &centre).unwrap();
    assert_eq!(cropped.values, predict(&dna_only(&window), &RunOptions::default()).unwrap().values);

    let before = predict(&given(&rna), &RunOptions::default()).unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let cancelled = RunOptions { cancel: isoformer::Cancel::from_flag(flag), ..Default::default() };
    let full = IsoformerInputs { dna: Some(&dna), rna: Some(&rna), protein: Some(&protein) };
    assert_eq!(predict(&full, &cancelled).unwrap_err().code(), "ABORTED");
    assert_eq!(predict(&given(&rna), &RunOptions::default()).unwrap().values, before.values);
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
    // The stages are disjoint spans inside the call: their sum cannot exceed the call (a stage
    // counted twice or timed from the wrong start would). No bound on seconds: a busy machine
    // stretches every stage, and speed belongs in BENCHMARKS.md.
    assert!(total <= elapsed_ms, "stages {total} ms, call {elapsed_ms} ms");
    assert!(ms("dna") > 0.0, "the DNA trunk is timed: {:?}", prediction.stages);
    // Low-memory mode charges each part's fetch and upload to `load`.
    let low = pollster::block_on(isoformer::models::isoformer::predict_dir_part_by_part(
        model.device(),
        &root().join("weights/isoformer-tiny-random"),
        &given,
        false,
        &Default::default(),
    ))
    .unwrap();
    let names: Vec<&str> = low.stages.0.iter().map(|(stage, _)| stage.name()).collect();
    assert_eq!(names, ["load", "rna", "protein", "dna", "aggregation", "readback"]);
    assert!(
        support::relative_diff(&low.values, &prediction.values) <= 1e-6,
        "low-memory mode predicts the same values on wgpu"
    );
}

/// The browser's parallel CPU fallback: the RNA and protein embedded elsewhere (here by encoders
/// loaded on their own, as a helper worker's wasm instance loads them, from `token_ids`' ids) give
/// the prediction the model gives alone, bit for bit, with the encoders' times charged to their
/// stages; hidden states that do not match their sequences are refused, as are bad token ids.
#[test]
fn hidden_states_encoded_elsewhere_predict_as_the_models_own() {
    use isoformer::models::isoformer::{HostEncoded, HostHidden};
    let model = model(BackendKind::Cpu);
    let (dna, rna, protein) = inputs();
    let helper = |part: &str| {
        let (manifest, loaded) =
            load_dir(&root().join("weights/isoformer-tiny-random").join(part), &model.device().device).unwrap();
        SequenceEncoder::new(model.device().clone(), &manifest, loaded).unwrap()
    };
    let (rna_helper, protein_helper) = (helper("rna"), helper("protein"));
    let options = RunOptions::default();
    let given = IsoformerInputs { dna: Some(&dna), rna: Some(&rna), protein: Some(&protein) };
    let (rna_ids, protein_ids) = model.token_ids(&given, &options).unwrap();
    let hidden = |encoder: &SequenceEncoder, ids: &[u32], ms: f64| {
        let (shape, values) = pollster::block_on(encoder.hidden_of_ids(ids)).unwrap();
        HostHidden { shape, values, ms }
    };
    let encoded = HostEncoded {
        rna: Some(hidden(&rna_helper, rna_ids.as_ref().unwrap(), 7.0)),
        protein: Some(hidden(&protein_helper, protein_ids.as_ref().unwrap(), 5.0)),
    };
    let alone = pollster::block_on(model.predict_with(&given, false, &options)).unwrap();
    let elsewhere =
        pollster::block_on(model.predict_with_encoded(&given, async { Ok(encoded.clone()) }, &options)).unwrap();
    assert_eq!(elsewhere.values, alone.values);
    assert_eq!(elsewhere.modalities, alone.modalities);
    let names: Vec<&str> = elsewhere.stages.0.iter().map(|(stage, _)| stage.name()).collect();
    assert_eq!(names, ["tokenize", "dna", "rna", "protein", "upload", "aggregation", "readback"]);
    assert_eq!((elsewhere.stages.0[2].1, elsewhere.stages.0[3].1), (7.0, 5.0));

    // One DNA embedding, several transcripts (predictMany): the same as the model's own.
    let window = pollster::block_on(model.dna_embedding(Some(&dna), &options)).unwrap();
    let from = |given: &IsoformerInputs<'_>, encoded: HostEncoded| {
        pollster::block_on(model.predict_from_encoded(window.clone(), given, encoded, &options))
    };
    let protein_only = IsoformerInputs { rna: None, ..given.clone() };
    let own = pollster::block_on(model.predict_from(window.clone(), &protein_only, false, &options)).unwrap();
    let protein_encoded = HostEncoded { rna: None, protein: encoded.protein.clone() };
    assert_eq!(from(&protein_only, protein_encoded.clone()).unwrap().values, own.values);

    let refused = |given: &IsoformerInputs<'_>, encoded: HostEncoded| {
        let error = from(given, encoded).unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT", "{error}");
        error.to_string()
    };
    let rna_states = encoded.rna.clone().unwrap();
    let [rows, width] = rna_states.shape;
    let with_rna = |states: HostHidden| HostEncoded { rna: Some(states), protein: encoded.protein.clone() };
    assert!(
        refused(&given, protein_encoded.clone())
            .contains("RNA hidden states: missing, though the call gives the RNA sequence")
    );
    assert!(refused(&protein_only, encoded.clone()).contains("the call has no RNA sequence"));
    let short =
        HostHidden { shape: [rows - 1, width], values: rna_states.values[width..].to_vec(), ..rna_states.clone() };
    assert!(refused(&given, with_rna(short)).contains(&format!("{} rows for {rows} tokens", rows - 1)));
    let truncated = HostHidden { values: rna_states.values[1..].to_vec(), ..rna_states.clone() };
    assert!(refused(&given, with_rna(truncated)).contains("values for the shape"));
    let mut not_finite = rna_states.clone();
    not_finite.values[3] = f32::NAN;
    assert!(refused(&given, with_rna(not_finite)).contains("not finite"));
    let wider = HostHidden { shape: [rows, width + 1], values: vec![0.0; rows * (width + 1)], ..rna_states.clone() };
    assert!(refused(&given, with_rna(wider)).contains("the aggregator expects"));

    // The helper's side: ids outside the vocabulary, or none, are refused before any work.
    let vocabulary = protein_helper.config().vocab_size as u32;
    let bad_id = pollster::block_on(protein_helper.hidden_of_ids(&[0, vocabulary, 2])).unwrap_err();
    assert_eq!(bad_id.code(), "INVALID_ARGUMENT");
    assert!(pollster::block_on(protein_helper.hidden_of_ids(&[])).is_err());
}

/// Bytes of live allocations in Burn's device pools.
fn bytes_in_use(device: &ComputeDevice) -> u64 {
    device.device.memory_pool_usage().expect("wgpu reports its memory pools").bytes_in_use
}

#[test]
fn low_memory_mode_frees_each_parts_device_weights_before_loading_the_next() {
    // The point of low-memory mode: the device holds one part's weights at a time, plus the
    // embeddings kept for the aggregator, so its peak is the largest part, not the sum.
    let _alone = WGPU_ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let device = backend::init_native(BackendKind::Wgpu).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let in_use = || bytes_in_use(&device);
    let dir = root().join("weights/isoformer-tiny-random");
    // Short RNA and protein keep their embeddings to a few KiB; the DNA embedding is
    // [896 bins, dna_dim] f32 whatever the input, and stays until the aggregator has run.
    let (dna, _, _) = inputs();
    let given = IsoformerInputs {
        dna: Some(&dna),
        rna: Some("ATGGCCCAGTCCACCGCCACCTCCCCTGATGGGGGCACCACGTTTGAGCACCTCTGGAGC"),
        protein: Some("MAQSTATSPDGGTTFEHLW"),
    };
    let aggregator: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("aggregator/manifest.json")).unwrap()).unwrap();
    let dna_embedding_bytes = 896 * aggregator["config"]["dna_dim"].as_u64().unwrap() * 4;
    let start = in_use();
    // The directory as a part source that records, per load: (part, bytes in use above the start
    // before it, bytes its weights added).
    struct Measured<F: Fn() -> u64> {
        dir: IsoformerDir,
        in_use: F,
        loads: Vec<(Part, u64, u64)>,
    }
    impl<F: Fn() -> u64> PartSource for Measured<F> {
        fn has(&self, part: Part) -> bool {
            self.dir.has(part)
        }
        async fn manifest(&mut self, part: Part) -> isoformer::Result<Manifest> {
            self.dir.manifest(part).await
        }
        async fn weights(
            &mut self,
            part: Part,
            manifest: &Manifest,
            device: &Device,
        ) -> isoformer::Result<LoadedWeights> {
            let before = (self.in_use)();
            let loaded = self.dir.weights(part, manifest, device).await;
            self.loads.push((part, before, (self.in_use)() - before));
            loaded
        }
    }
    let mut source =
        Measured { dir: IsoformerDir::open(&dir).unwrap(), in_use: || in_use() - start, loads: Vec::new() };
    pollster::block_on(isoformer::models::isoformer::predict_part_by_part(
        &device,
        &given,
        false,
        &RunOptions::default(),
        &mut source,
    ))
    .unwrap();
    let loads = source.loads;
    let left = in_use() - start;
    let parts: Vec<Part> = loads.iter().map(|(part, _, _)| *part).collect();
    assert_eq!(parts, [Part::Rna, Part::Protein, Part::Dna, Part::Aggregator]);
    let added = |part: Part| loads.iter().find(|(p, _, _)| *p == part).unwrap().2;
    let before = |part: Part| loads.iter().find(|(p, _, _)| *p == part).unwrap().1;
    assert!(loads.iter().all(|(_, _, added)| *added > 16 * 1024), "{loads:?}");
    assert!(before(Part::Protein) < added(Part::Rna) / 4, "NT-v2's weights still on the device; loads {loads:?}");
    assert!(before(Part::Dna) < added(Part::Protein) / 4, "ESM-2's weights still on the device; loads {loads:?}");
    assert!(
        before(Part::Aggregator) < dna_embedding_bytes + added(Part::Dna) / 4,
        "Enformer's weights still on the device; loads {loads:?}"
    );
    let peak = loads.iter().map(|(_, before, added)| before + added).max().unwrap();
    let sum: u64 = loads.iter().map(|(_, _, added)| added).sum();
    assert!(peak < sum * 3 / 4, "peak {peak} bytes vs {sum} for all parts; loads {loads:?}");
    assert!(left < 16 * 1024, "{left} bytes left in use after the prediction");
}

#[test]
fn q8_matrices_stay_quantized_on_the_gpu_and_predict_as_when_widened_on_the_cpu() {
    use isoformer::weights::Part;
    use isoformer::weights::quantize::WeightDtype;
    use isoformer::weights::writer::{Storage, requantize};
    let _alone = WGPU_ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let q8 = std::env::temp_dir().join(format!("isoformer-test-{}-q8-on-device", std::process::id()));
    let storage = Storage { dtype: WeightDtype::Q8, block_size: 32, max_shard_bytes: 24 << 20 };
    requantize(&root().join("weights/isoformer-tiny-random"), &q8, &storage).unwrap();
    let gpu = backend::init_native(BackendKind::Wgpu).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let device_bytes = |dir: &Path| {
        let before = bytes_in_use(&gpu);
        let loaded = load_dir(dir, &gpu.device).unwrap();
        let added = bytes_in_use(&gpu) - before;
        drop(loaded);
        added
    };
    // ESM-2's matrices are q8 with 32 columns; its norms and biases stay f32 either way.
    let (widened, kept) =
        (device_bytes(&root().join("weights/isoformer-tiny-random/protein")), device_bytes(&q8.join("protein")));
    assert!(kept < widened / 2, "q8 protein weights take {kept} device bytes, f32 {widened}");
    let (dna, rna, protein) = inputs();
    let given = IsoformerInputs { dna: Some(&dna), rna: Some(&rna), protein: Some(&protein) };
    let predict = |device: ComputeDevice| {
        let model = Isoformer::load_dir(device, &q8, &[Part::Rna, Part::Protein]).unwrap();
        pollster::block_on(model.predict(&given, false)).unwrap().values
    };
    let on_gpu = predict(gpu.clone());
    let on_cpu = predict(backend::init_native(BackendKind::Cpu).unwrap());
    let _ = std::fs::remove_dir_all(&q8);
    let difference = relative_diff(&on_gpu, &on_cpu);
    assert!(
        difference <= ISOFORMER_RELATIVE_TOLERANCE,
        "quantized on the GPU vs widened on the CPU: relative max |Δ| {difference}"
    );
}

//! The published IsoFormer configuration end to end: tests/fixtures/isoformer/published_config.json
//! (every field docs/isoformer-architecture.md lists, with its published value, among them
//! `enformer_output_heads: 0`) beside a whole checkpoint at its sizes (ESM-2 150M, NT-v2 250M, the
//! Enformer trunk, the aggregator on 3,072-wide DNA: 2.6 GB of random weights regenerated from
//! published_weights.json) converts, and predicts the PyTorch reference's 30 values on the TP73
//! inputs (make_fixtures.py's `isoformer_published_fixtures`), with a sensitivity probe per input
//! (the protein dropped, one RNA 6-mer changed, the centre DNA bin blanked), natively on the CPU. Its own test
//! binary, so nothing else runs beside its memory.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::Path;
use std::process::Command;

use isoformer::convert::ConvertOptions;
use isoformer::convert::isoformer::convert_isoformer;
use isoformer::runtime::backend::{self, BackendKind};
use isoformer::weights::Part;
use isoformer::{Isoformer, IsoformerInputs, RunOptions};
use serde_json::Value;
use support::{TempWeights, relative_diff};

/// As tests/isoformer.rs (make_fixtures.py's ISOFORMER_TOLERANCE).
const ISOFORMER_RELATIVE_TOLERANCE: f32 = 1e-5;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/isoformer"))
}

#[test]
fn published_config_converts_and_predicts_the_reference() {
    let root = std::env::temp_dir().join(format!("isoformer-published-config-{}", std::process::id()));
    let temp = TempWeights { root: root.clone(), weights: root.join("weights") };
    let checkpoint = root.join("checkpoint");
    std::fs::create_dir_all(&checkpoint).unwrap();
    std::fs::copy(fixtures().join("published_config.json"), checkpoint.join("config.json")).unwrap();
    let started = std::time::Instant::now();
    support::write_generated_safetensors(
        &std::fs::read_to_string(fixtures().join("published_weights.json")).unwrap(),
        &checkpoint.join("model.safetensors"),
    );
    eprintln!("checkpoint regenerated in {:.1} s", started.elapsed().as_secs_f64());

    // `inspect` says how it reads the published `enformer_output_heads: 0`.
    let inspect =
        Command::new(env!("CARGO_BIN_EXE_isoformer")).args(["inspect", checkpoint.to_str().unwrap()]).output().unwrap();
    assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
    let listing = String::from_utf8_lossy(&inspect.stdout);
    let note = listing
        .lines()
        .find(|l| l.contains("enformer_output_heads"))
        .unwrap_or_else(|| panic!("no output_heads note in:\n{}", &listing[listing.len().saturating_sub(2000)..]));
    assert!(note.contains("0") && note.contains("no track heads"), "{note}");
    assert!(listing.contains("unmapped keys: 0"), "every key of the published layout maps");

    let options = ConvertOptions { random_weights: true, ..Default::default() };
    let report = convert_isoformer(&checkpoint, &temp.weights, &options).unwrap();
    std::fs::remove_dir_all(&checkpoint).unwrap();
    assert_eq!(report.index.parts, Part::ALL.to_vec());
    eprintln!("converted in {:.1} s", started.elapsed().as_secs_f64());

    let device = backend::init_native(BackendKind::Cpu).unwrap();
    let model = Isoformer::load_dir(device, &temp.weights, &Part::ALL).unwrap();
    assert!(model.dna_encoder().head_names().is_empty(), "output_heads 0: no track heads");
    assert!(model.random_weights());

    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("published_expected.json")).unwrap()).unwrap();
    let (dna, rna, protein) = support::tp73_inputs(
        &support::data_text("gentle_rs/tp73.ncbi.gb"),
        &support::data_text("gentle_rs/ensembl_human_tp73_all.fasta"),
    );
    let dna_embedding = pollster::block_on(model.dna_embedding(Some(&dna), &RunOptions::default())).unwrap();
    let mut references = Vec::new();
    for case in expected["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let (case_dna, rna, protein) = (
            support::edited(&dna, case, "dna"),
            support::edited(&rna, case, "rna"),
            support::edited(&protein, case, "protein"),
        );
        let inputs = IsoformerInputs {
            dna: Some(&case_dna),
            rna: case["rna"].as_bool().unwrap().then_some(rna.as_str()),
            protein: case["protein"].as_bool().unwrap().then_some(protein.as_str()),
        };
        // The unedited window's embedding is reused; the DNA probe runs the trunk on its own window.
        let prediction = pollster::block_on(async {
            if case_dna == dna {
                model.predict_from(dna_embedding.clone(), &inputs, false, &RunOptions::default()).await
            } else {
                model.predict(&inputs, false).await
            }
        })
        .unwrap();
        let values: Vec<f32> = serde_json::from_value(case["values"].clone()).unwrap();
        let diff = relative_diff(&prediction.values, &values);
        eprintln!("published {label}: relative max |Δ| = {diff:.3e} ({:.1} s so far)", started.elapsed().as_secs_f64());
        assert!(diff <= ISOFORMER_RELATIVE_TOLERANCE, "{label}: {diff}");
        references.push((label.to_string(), case["perturbs"].as_str().map(str::to_string), values));
    }
    // A probe per input path: the protein dropped, one RNA 6-mer changed, the centre DNA bin blanked.
    let labels: Vec<&str> = references.iter().map(|(label, _, _)| label.as_str()).collect();
    assert_eq!(labels, ["dna_rna_protein", "dna_rna", "dna_rna_protein_one_6mer", "dna_rna_protein_centre_bin_n"]);
    assert_eq!(support::assert_probes_move(&references, ISOFORMER_RELATIVE_TOLERANCE, |a, b| relative_diff(a, b)), 3);
}

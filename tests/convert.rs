//! `isoformer convert` on Hugging Face ESM-2 directories: both file formats, the committed tiny
//! model, and mismatched checkpoints reported in one error.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

use isoformer::config::EsmFamily;
use isoformer::convert::{ConvertOptions, convert_esm};
use isoformer::error::Error;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esm2").join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("isoformer-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn safetensors_and_pytorch_bin_convert_to_identical_shards() {
    let a = convert_esm(&fixture("tiny_hf"), &temp_dir("st"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap();
    let b = convert_esm(&fixture("tiny_hf_bin"), &temp_dir("bin"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap();
    assert!(a.manifest.source.random_weights, "the fixture's config marks its weights random");
    let hashes = |m: &isoformer::Manifest| m.files.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&a.manifest), hashes(&b.manifest));
    assert!(a.ignored.iter().any(|n| n.contains("contact_head")), "{:?}", a.ignored);
}

#[test]
fn committed_tiny_weights_are_the_converters_output() {
    let out = temp_dir("committed");
    let report = convert_esm(&fixture("tiny_hf"), &out, EsmFamily::Esm2, &ConvertOptions::default()).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/esm2-tiny-random");
    for file in &report.manifest.files {
        let ours = std::fs::read(out.join(&file.name)).unwrap();
        let theirs = std::fs::read(committed.join(&file.name)).expect("weights/esm2-tiny-random is up to date (make weights)");
        assert!(ours == theirs, "{} differs: regenerate weights/esm2-tiny-random", file.name);
    }
}

#[test]
fn committed_nt_tiny_weights_are_the_converters_output() {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nt/tiny_hf");
    let out = temp_dir("committed-nt");
    let report = convert_esm(&from, &out, EsmFamily::NucleotideTransformer, &ConvertOptions::default()).unwrap();
    assert_eq!(report.manifest.model, "nt");
    assert!(report.manifest.source.licence.contains("CC BY-NC-SA"), "{}", report.manifest.source.licence);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/nt-tiny-random");
    for file in &report.manifest.files {
        let ours = std::fs::read(out.join(&file.name)).unwrap();
        let theirs = std::fs::read(committed.join(&file.name)).expect("weights/nt-tiny-random is up to date (make weights)");
        assert!(ours == theirs, "{} differs: regenerate weights/nt-tiny-random", file.name);
    }
}

/// A checkpoint of one family converted as the other is refused with a config error, not mangled.
#[test]
fn family_mismatch_is_a_typed_error() {
    let nt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nt/tiny_hf");
    let error = convert_esm(&nt, &temp_dir("nt-as-esm"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG", "{error}");
    let error = convert_esm(&fixture("tiny_hf"), &temp_dir("esm-as-nt"), EsmFamily::NucleotideTransformer, &ConvertOptions::default()).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG", "{error}");
}

#[test]
fn small_shards_split_the_model() {
    let out = temp_dir("shards");
    let options = ConvertOptions { max_shard_bytes: 16 * 1024, ..Default::default() };
    let report = convert_esm(&fixture("tiny_hf"), &out, EsmFamily::Esm2, &options).unwrap();
    assert!(report.manifest.files.len() > 3);
    for file in &report.manifest.files {
        let single_tensor = file.tensors.len() == 1;
        assert!(file.bytes <= 16 * 1024 + 4096 || single_tensor, "{} is {} bytes", file.name, file.bytes);
    }
}

/// Rewrites the tiny checkpoint with one tensor dropped, one renamed to an unknown name and one
/// truncated; the converter must name all three in one error.
#[test]
fn mismatched_checkpoint_lists_every_problem() {
    let source = std::fs::read(fixture("tiny_hf/model.safetensors")).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&source).unwrap();
    let mut kept: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in parsed.tensors() {
        let (mut name, mut shape, mut data) = (name.clone(), view.shape().to_vec(), view.data().to_vec());
        if name == "esm.encoder.layer.0.attention.self.key.bias" {
            continue; // missing
        }
        if name == "esm.encoder.layer.1.intermediate.dense.bias" {
            name = "esm.encoder.layer.1.intermediate.gate.bias".into(); // unknown (and so fc1.bias missing)
        }
        if name == "esm.encoder.layer.1.output.dense.weight" {
            shape = vec![shape[0], shape[1] - 1]; // mis-shaped
            data.truncate(shape[0] * shape[1] * 4);
        }
        kept.push((name, shape, data));
    }
    let dir = temp_dir("mismatch");
    std::fs::copy(fixture("tiny_hf/config.json"), dir.join("config.json")).unwrap();
    let views = kept.iter().map(|(n, s, d)| (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d).unwrap()));
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();

    match convert_esm(&dir, &temp_dir("mismatch-out"), EsmFamily::Esm2, &ConvertOptions::default()) {
        Err(Error::Checkpoint(mismatch)) => {
            assert_eq!(mismatch.unknown.len(), 1, "{mismatch}");
            assert!(mismatch.unknown[0].starts_with("esm.encoder.layer.1.intermediate.gate.bias"));
            assert_eq!(mismatch.missing, vec!["layers.0.attention.key.bias", "layers.1.ffn.fc1.bias"]);
            assert_eq!(mismatch.misshaped.len(), 1, "{mismatch}");
            assert!(mismatch.misshaped[0].starts_with("layers.1.ffn.fc2.weight"), "{mismatch}");
            let message = Error::Checkpoint(mismatch).to_string();
            assert!(message.contains("1 unknown") && message.contains("2 missing") && message.contains("1 mis-shaped"), "{message}");
        }
        other => panic!("expected a checkpoint mismatch, got {:?}", other.map(|r| r.manifest.files.len())),
    }
}

#[test]
fn unsupported_config_is_a_typed_error() {
    let dir = temp_dir("config");
    let text = std::fs::read_to_string(fixture("tiny_hf/config.json")).unwrap().replace("\"rotary\"", "\"absolute\"");
    std::fs::write(dir.join("config.json"), text).unwrap();
    std::fs::copy(fixture("tiny_hf/model.safetensors"), dir.join("model.safetensors")).unwrap();
    let error = convert_esm(&dir, &temp_dir("config-out"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG", "{error}");
}

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

/// `dir/model.safetensors` with these (name, shape, f32 bytes) tensors.
fn write_safetensors(dir: &Path, tensors: &[(String, Vec<usize>, Vec<u8>)]) {
    let views = tensors.iter().map(|(n, s, d)| {
        (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d).unwrap())
    });
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
}

/// Every shard the converter wrote to `out` is byte-identical to the committed `weights/<name>`.
fn assert_committed(report: &isoformer::convert::ConvertReport, out: &Path, name: &str) {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights").join(name);
    for file in &report.manifest.files {
        let ours = std::fs::read(out.join(&file.name)).unwrap();
        let theirs = std::fs::read(committed.join(&file.name))
            .unwrap_or_else(|_| panic!("weights/{name} is up to date (make weights)"));
        assert!(ours == theirs, "{} differs: regenerate weights/{name}", file.name);
    }
}

#[test]
fn safetensors_and_pytorch_bin_convert_to_identical_shards() {
    let a = convert_esm(&fixture("tiny_hf"), &temp_dir("st"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap();
    let b =
        convert_esm(&fixture("tiny_hf_bin"), &temp_dir("bin"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap();
    assert!(a.manifest.source.random_weights, "the fixture's config marks its weights random");
    let hashes = |m: &isoformer::Manifest| m.files.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&a.manifest), hashes(&b.manifest));
    assert!(a.ignored.iter().any(|n| n.contains("contact_head")), "{:?}", a.ignored);
}

#[test]
fn committed_tiny_weights_are_the_converters_output() {
    let out = temp_dir("committed");
    let report = convert_esm(&fixture("tiny_hf"), &out, EsmFamily::Esm2, &ConvertOptions::default()).unwrap();
    assert_committed(&report, &out, "isoformer-tiny-random/protein");
}

#[test]
fn committed_nt_tiny_weights_are_the_converters_output() {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nt/tiny_hf");
    let out = temp_dir("committed-nt");
    let report = convert_esm(&from, &out, EsmFamily::NucleotideTransformer, &ConvertOptions::default()).unwrap();
    assert_eq!(report.manifest.model, "nt");
    assert!(report.manifest.source.licence.contains("CC BY-NC-SA"), "{}", report.manifest.source.licence);
    assert_committed(&report, &out, "isoformer-tiny-random/rna");
}

/// A checkpoint of one family converted as the other is refused with a config error, not mangled.
#[test]
fn family_mismatch_is_a_typed_error() {
    let nt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nt/tiny_hf");
    let error = convert_esm(&nt, &temp_dir("nt-as-esm"), EsmFamily::Esm2, &ConvertOptions::default()).unwrap_err();
    assert_eq!(error.code(), "INVALID_CONFIG", "{error}");
    let error = convert_esm(
        &fixture("tiny_hf"),
        &temp_dir("esm-as-nt"),
        EsmFamily::NucleotideTransformer,
        &ConvertOptions::default(),
    )
    .unwrap_err();
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
    let views = kept.iter().map(|(n, s, d)| {
        (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d).unwrap())
    });
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();

    match convert_esm(&dir, &temp_dir("mismatch-out"), EsmFamily::Esm2, &ConvertOptions::default()) {
        Err(Error::Checkpoint(mismatch)) => {
            assert_eq!(mismatch.unknown.len(), 1, "{mismatch}");
            assert!(mismatch.unknown[0].starts_with("esm.encoder.layer.1.intermediate.gate.bias"));
            assert_eq!(mismatch.missing, vec!["layers.0.attention.key.bias", "layers.1.ffn.fc1.bias"]);
            assert_eq!(mismatch.misshaped.len(), 1, "{mismatch}");
            assert!(mismatch.misshaped[0].starts_with("layers.1.ffn.fc2.weight"), "{mismatch}");
            let message = Error::Checkpoint(mismatch).to_string();
            assert!(
                message.contains("1 unknown") && message.contains("2 missing") && message.contains("1 mis-shaped"),
                "{message}"
            );
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

mod enformer {
    use super::*;
    use isoformer::Manifest;
    use isoformer::convert::enformer::convert_enformer;

    fn state_dict_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/enformer/tiny_state_dict")
    }

    /// The tensors of the tiny enformer-pytorch state dict (both key sets), as (name, shape, bytes).
    fn state_dict_tensors() -> Vec<(String, Vec<usize>, Vec<u8>)> {
        let checkpoint =
            isoformer::convert::checkpoint::Checkpoint::open(&state_dict_dir().join("pytorch_model.bin")).unwrap();
        checkpoint
            .tensors
            .iter()
            .filter(|(name, _)| !name.ends_with("num_batches_tracked"))
            .map(|(name, t)| {
                (name.clone(), t.shape.clone(), t.read_f32().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect())
            })
            .collect()
    }

    #[test]
    fn committed_tiny_weights_are_the_converters_output_of_a_state_dict() {
        let out = temp_dir("committed-enformer");
        let report = convert_enformer(&state_dict_dir(), &out, &ConvertOptions::default()).unwrap();
        assert_eq!(report.manifest.model, "enformer");
        assert!(report.manifest.source.random_weights);
        assert!(report.ignored.iter().all(|n| n.ends_with("num_batches_tracked")), "{:?}", report.ignored);
        assert_committed(&report, &out, "isoformer-tiny-random/dna");
    }

    /// The Enformer part of an IsoFormer-style checkpoint: keys under a prefix, other parts beside
    /// them, the config as `enformer_*` fields. Only the `_trunk.` copies are kept, to show either
    /// key set is enough.
    #[test]
    fn prefixed_enformer_inside_a_larger_checkpoint() {
        let dir = temp_dir("isoformer-like");
        let mut tensors: Vec<_> = state_dict_tensors()
            .into_iter()
            .filter(|(n, _, _)| n.starts_with("_trunk.") || n.starts_with("_heads."))
            .map(|(n, s, d)| (format!("enformer.{n}"), s, d))
            .collect();
        tensors.push(("cross_attention_layer_rna.query.weight".into(), vec![2, 2], vec![0; 16]));
        write_safetensors(&dir, &tensors);
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(state_dict_dir().join("config.json")).unwrap()).unwrap();
        let prefixed: serde_json::Map<String, serde_json::Value> =
            config.as_object().unwrap().iter().map(|(k, v)| (format!("enformer_{k}"), v.clone())).collect();
        std::fs::write(dir.join("config.json"), serde_json::Value::Object(prefixed).to_string()).unwrap();
        let out = temp_dir("isoformer-like-out");
        let report = convert_enformer(&dir, &out, &ConvertOptions::default()).unwrap();
        assert_eq!(report.ignored, vec!["cross_attention_layer_rna.query.weight (not Enformer)"]);
        let committed = Manifest::from_json(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/isoformer-tiny-random/dna/manifest.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(report.manifest.files[0].sha256, committed.files[0].sha256, "same tensors as the plain state dict");
    }

    #[test]
    fn disagreeing_duplicates_and_missing_tensors_are_reported() {
        let dir = temp_dir("enformer-broken");
        let tensors: Vec<_> = state_dict_tensors()
            .into_iter()
            .filter(|(n, _, _)| n != "transformer.1.1.fn.4.bias" && n != "_trunk.4.1.1.fn.4.bias")
            .map(|(n, s, mut d)| {
                if n == "_trunk.1.0.bias" {
                    d[0] ^= 0x01; // the duplicate of stem.0.bias now differs
                }
                (n, s, d)
            })
            .collect();
        write_safetensors(&dir, &tensors);
        std::fs::copy(state_dict_dir().join("config.json"), dir.join("config.json")).unwrap();
        match convert_enformer(&dir, &temp_dir("enformer-broken-out"), &ConvertOptions::default()) {
            Err(Error::Checkpoint(mismatch)) => {
                assert_eq!(mismatch.missing, vec!["transformer.1.ffn.fc2.bias"], "{mismatch}");
                assert!(mismatch.misshaped.iter().any(|m| m.contains("stem.0.bias")), "{mismatch}");
            }
            other => panic!("expected a checkpoint mismatch, got {:?}", other.map(|r| r.manifest.files.len())),
        }
        let no_enformer = temp_dir("not-enformer");
        std::fs::copy(fixture("tiny_hf/model.safetensors"), no_enformer.join("model.safetensors")).unwrap();
        assert_eq!(
            convert_enformer(&no_enformer, &temp_dir("x"), &ConvertOptions::default()).unwrap_err().code(),
            "CHECKPOINT_MISMATCH"
        );
    }
}

/// The committed tiny aggregator is the converter's output of the fixture's checkpoint, and the
/// same tensors as its generator list.
#[test]
fn committed_tiny_aggregator_is_the_converters_output() {
    use isoformer::convert::aggregator::convert_aggregator;
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/isoformer/tiny_aggregator");
    let out = temp_dir("committed-aggregator");
    let report = convert_aggregator(&from, &out, &ConvertOptions::default()).unwrap();
    assert_eq!(report.manifest.model, "aggregator");
    assert!(report.manifest.source.random_weights);
    assert_committed(&report, &out, "isoformer-tiny-random/aggregator");
    // An unknown tensor is an error naming it.
    let broken = temp_dir("aggregator-broken");
    std::fs::copy(from.join("config.json"), broken.join("config.json")).unwrap();
    let source = std::fs::read(from.join("model.safetensors")).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&source).unwrap();
    let renamed: Vec<(String, safetensors::tensor::TensorView)> = parsed
        .tensors()
        .into_iter()
        .map(|(n, v)| (if n == "fc1.bias" { "fc1.gate".to_string() } else { n }, v))
        .collect();
    std::fs::write(broken.join("model.safetensors"), safetensors::serialize(renamed, None).unwrap()).unwrap();
    match convert_aggregator(&broken, &temp_dir("aggregator-broken-out"), &ConvertOptions::default()) {
        Err(Error::Checkpoint(mismatch)) => {
            assert!(mismatch.unknown[0].starts_with("fc1.gate"), "{mismatch}");
            assert_eq!(mismatch.missing, vec!["head.fc1.bias"]);
        }
        other => panic!("expected a checkpoint mismatch, got {:?}", other.map(|r| r.manifest.files.len())),
    }
}

/// A whole IsoFormer checkpoint with one key that fits no part (here an extra aggregator tensor,
/// as a different released layout would have) is refused, naming the key — never silently dropped.
/// Without an aggregator at all, the error says so.
#[test]
fn whole_isoformer_checkpoint_with_an_unmappable_key_is_an_error() {
    use isoformer::convert::checkpoint::Checkpoint;
    use isoformer::convert::isoformer::convert_isoformer;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/isoformer/checkpoint");
    let checkpoint = Checkpoint::open(&fixture.join("pytorch_model.bin")).unwrap();
    let write = |name: &str, keep: &dyn Fn(&str) -> bool, extra: Option<&str>| {
        let dir = temp_dir(name);
        std::fs::copy(fixture.join("config.json"), dir.join("config.json")).unwrap();
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = checkpoint
            .tensors
            .iter()
            .filter(|(key, t)| t.dtype == "F32" && keep(key))
            .map(|(key, t)| {
                (key.clone(), t.shape.clone(), t.read_f32().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect())
            })
            .collect();
        if let Some(extra) = extra {
            tensors.push((extra.to_string(), vec![2, 2], vec![0; 16]));
        }
        write_safetensors(&dir, &tensors);
        dir
    };
    let extra = write("isoformer-extra-key", &|_| true, Some("cross_attention_layer_rna.gate.weight"));
    match convert_isoformer(&extra, &temp_dir("isoformer-extra-out"), &ConvertOptions::default()) {
        Err(Error::Checkpoint(mismatch)) => assert!(
            mismatch.unknown.iter().any(|k| k.contains("aggregator part: cross_attention_layer_rna.gate.weight")),
            "{mismatch:?}"
        ),
        other => panic!("expected a checkpoint mismatch, got {:?}", other.map(|r| r.index)),
    }
    let headless =
        write("isoformer-no-aggregator", &|key| key.starts_with("enformer.") || key.starts_with("esm_model."), None);
    match convert_isoformer(&headless, &temp_dir("isoformer-headless-out"), &ConvertOptions::default()) {
        Err(Error::Checkpoint(mismatch)) => {
            assert!(mismatch.missing.iter().any(|k| k.contains("aggregator")), "{mismatch:?}")
        }
        other => panic!("expected a checkpoint mismatch, got {:?}", other.map(|r| r.index)),
    }
}

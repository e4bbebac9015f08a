//! Loading a weight directory: integrity checks and hostile manifests give typed errors.
#![cfg(not(target_arch = "wasm32"))]

use burn::tensor::Device;
use isoformer::weights::{LoadedWeights, Manifest};

const MANIFEST: &str = include_str!("../weights/isoformer-tiny-random/protein/manifest.json");
const SHARD: &[u8] = include_bytes!("../weights/isoformer-tiny-random/protein/esm2-00000-of-00001.safetensors");

fn load(manifest: &Manifest, bytes: Vec<u8>) -> Result<(), isoformer::Error> {
    LoadedWeights::new(&Device::flex(), manifest).add_shard(&manifest.files[0], bytes)
}

#[test]
fn intact_shard_loads() {
    let manifest = Manifest::from_json(MANIFEST).unwrap();
    load(&manifest, SHARD.to_vec()).unwrap();
}

#[test]
fn corrupt_truncated_and_swapped_shards_are_refused() {
    let manifest = Manifest::from_json(MANIFEST).unwrap();
    let mut flipped = SHARD.to_vec();
    flipped[SHARD.len() / 2] ^= 0x40;
    assert_eq!(load(&manifest, flipped).unwrap_err().code(), "WEIGHTS_CORRUPT");
    assert_eq!(load(&manifest, SHARD[..SHARD.len() - 10].to_vec()).unwrap_err().code(), "INVALID_WEIGHT_FILE");
    let other =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/esm2/tiny_hf/model.safetensors")).unwrap();
    assert!(matches!(load(&manifest, other).unwrap_err().code(), "WEIGHTS_CORRUPT" | "INVALID_WEIGHT_FILE"));
}

#[test]
fn hostile_or_foreign_manifests_are_refused() {
    let edit = |from: &str, to: &str| {
        assert!(MANIFEST.contains(from), "{from}");
        Manifest::from_json(&MANIFEST.replacen(from, to, 1)).unwrap_err().code()
    };
    assert_eq!(edit("esm2-00000-of-00001.safetensors", "../../etc/passwd"), "INVALID_MANIFEST");
    assert_eq!(edit("esm2-00000-of-00001.safetensors", "/abs/path"), "INVALID_MANIFEST");
    assert_eq!(edit("isoformer-web-weights", "something-else"), "INVALID_MANIFEST");
    assert_eq!(edit("\"format_version\": 2", "\"format_version\": 99"), "INVALID_MANIFEST");
    assert_eq!(edit("\"format_version\": 2", "\"format_version\": 1"), "INVALID_MANIFEST");
    assert_eq!(
        edit("\"dtype\": \"f32\"", "\"dtype\": \"q8\""),
        "INVALID_MANIFEST",
        "q8 without its quantization block"
    );
    assert_eq!(
        edit("\"shape\": [\n", "\"shape\": [\n            4294967296,\n            4294967296,\n"),
        "INVALID_MANIFEST",
        "a shape that overflows or cannot fit its shard"
    );
    let bytes = format!("\"bytes\": {}", SHARD.len());
    assert_eq!(edit(&bytes, "\"bytes\": 99999999999999"), "INVALID_MANIFEST", "a shard larger than any shard may be");
    assert_eq!(edit("\"dtype\": \"f32\"", "\"dtype\": \"q3\""), "INVALID_MANIFEST");
    assert_eq!(Manifest::from_json("{not json").unwrap_err().code(), "INVALID_MANIFEST");
    assert_eq!(Manifest::from_json("").unwrap_err().code(), "INVALID_MANIFEST");
}

/// A shard whose tensor index disagrees with its contents is refused before anything is used.
#[test]
fn index_that_disagrees_with_the_shard_is_refused() {
    let retyped = Manifest::from_json(&MANIFEST.replacen("\"dtype\": \"f32\"\n", "\"dtype\": \"f16\"\n", 1)).unwrap();
    assert_eq!(
        load(&retyped, SHARD.to_vec()).unwrap_err().code(),
        "INVALID_WEIGHT_FILE",
        "a tensor listed as f16 is stored as F32"
    );
    let mut dropped = Manifest::from_json(MANIFEST).unwrap();
    dropped.files[0].tensors.pop();
    assert_eq!(
        load(&dropped, SHARD.to_vec()).unwrap_err().code(),
        "INVALID_WEIGHT_FILE",
        "the shard holds a tensor the index does not list"
    );
}

/// f16, q8 and q4 copies of the tiny ESM-2 (via `quantize`) load and embed close to f32; q4 loses
/// more than q8, q8 more than f16.
#[test]
fn quantized_directories_load_and_embed_close_to_f32() {
    use isoformer::runtime::backend;
    use isoformer::weights::quantize::WeightDtype;
    use isoformer::weights::writer::{Storage, requantize};
    use isoformer::{BackendKind, SequenceEncoder, weights};
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/isoformer-tiny-random/protein");
    let protein = "MAQSTATSPDGGTTFEHLWSSLEPDSTYFDLPQSSRGNNEVVGGTDSSMDVFHLEGMTTSVMAQFNLLSSTMDQMSSRAAS";
    let embed = |dir: &std::path::Path| {
        let device = backend::init_native(BackendKind::Cpu).unwrap();
        let (manifest, loaded) = weights::load_dir(dir, &device.device).unwrap();
        let encoder = SequenceEncoder::new(device, &manifest, loaded).unwrap();
        (manifest, pollster::block_on(encoder.embed(&[protein])).unwrap().remove(0).last_hidden_state)
    };
    let (_, reference) = embed(&from);
    let mut errors = Vec::new();
    // Lower bounds of the cosine similarity: 4 bits leave ±1/14 of each block's maximum per weight,
    // which on these uniform random weights costs about 2% after two layers (measured 0.98).
    for (dtype, min_cosine) in [(WeightDtype::F16, 0.9999), (WeightDtype::Q8, 0.999), (WeightDtype::Q4, 0.95)] {
        let out = std::env::temp_dir().join(format!("isoformer-weights-{}-{}", std::process::id(), dtype.name()));
        let _ = std::fs::remove_dir_all(&out);
        requantize(&from, &out, &Storage { dtype, block_size: 32, max_shard_bytes: 24 << 20 }).unwrap();
        let (manifest, values) = embed(&out);
        assert_eq!(manifest.dtype, dtype);
        assert!(
            manifest.files.iter().flat_map(|f| &f.tensors).any(|t| t.dtype == dtype),
            "{dtype:?}: the matrices are stored {dtype:?}"
        );
        let dot: f32 = values.iter().zip(&reference).map(|(a, b)| a * b).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cosine = dot / (norm(&values) * norm(&reference));
        let max_abs = values.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(cosine > min_cosine, "{dtype:?}: cosine {cosine}");
        errors.push(max_abs);
    }
    assert!(errors[0] < errors[1] && errors[1] < errors[2], "f16 < q8 < q4 in max |Δ|: {errors:?}");
    let out = std::env::temp_dir().join(format!("isoformer-weights-{}-zero-block", std::process::id()));
    let zero = requantize(&from, &out, &Storage { dtype: WeightDtype::Q8, block_size: 0, max_shard_bytes: 24 << 20 });
    assert_eq!(zero.unwrap_err().code(), "INVALID_ARGUMENT", "a zero block size is refused, not divided by");
}

//! Loading a weight directory: integrity checks and hostile manifests give typed errors.
#![cfg(not(target_arch = "wasm32"))]

use burn::tensor::Device;
use isoformer::weights::{LoadedWeights, Manifest};

const MANIFEST: &str = include_str!("../weights/esm2-tiny-random/manifest.json");
const SHARD: &[u8] = include_bytes!("../weights/esm2-tiny-random/esm2-00000-of-00001.safetensors");

fn load(manifest: &Manifest, bytes: Vec<u8>) -> Result<(), isoformer::Error> {
    LoadedWeights::new(&Device::flex()).add_shard(&manifest.files[0], bytes)
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
    let other = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/esm2/tiny_hf/model.safetensors")).unwrap();
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
    assert_eq!(edit("\"format_version\": 1", "\"format_version\": 99"), "INVALID_MANIFEST");
    assert_eq!(edit("\"dtype\": \"f32\"", "\"dtype\": \"q3\""), "INVALID_MANIFEST");
    assert_eq!(Manifest::from_json("{not json").unwrap_err().code(), "INVALID_MANIFEST");
    assert_eq!(Manifest::from_json("").unwrap_err().code(), "INVALID_MANIFEST");
}

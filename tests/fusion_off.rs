//! The fusion switch (`--no-fusion`, JS `{ fusion: false }`): with Burn's kernel fusion off for the
//! whole process, wgpu still matches transformers on the tiny ESM-2 fixture, and the switch refuses
//! to flip back once the GPU has run. A test binary of its own: the switch is process-wide and must
//! come before the first GPU operation.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::Path;

use isoformer::runtime::backend::{self, BackendKind};
use isoformer::weights::load_dir;
use isoformer::{Error, SequenceEncoder};
use support::{PARITY_TOLERANCE, cases, max_abs_diff_rows};

#[test]
fn wgpu_without_fusion_matches_transformers() {
    backend::set_fusion(false).expect("before any GPU work, fusion can be switched off");
    backend::set_fusion(false).expect("asking again for what is set is not an error");
    let device = backend::init_native(BackendKind::Wgpu).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (manifest, loaded) = load_dir(&root.join("weights/isoformer-tiny-random/protein"), &device.device).unwrap();
    let encoder = SequenceEncoder::new(device, &manifest, loaded).unwrap();
    let fixture = |name: &str| std::fs::read(root.join("tests/fixtures/esm2").join(name)).unwrap();
    for case in cases(&std::fs::read_to_string(root.join("tests/fixtures/esm2/tiny_expected.json")).unwrap(), fixture) {
        let sequences: Vec<&str> = case.sequences.iter().map(String::as_str).collect();
        for (b, embedding) in pollster::block_on(encoder.embed(&sequences)).unwrap().iter().enumerate() {
            let diff = max_abs_diff_rows(&embedding.last_hidden_state, &case.hidden, b, embedding.tokens.len());
            assert!(diff <= PARITY_TOLERANCE, "{} [{b}]: max |Δ| {diff} without fusion", case.label);
        }
    }
    assert!(
        matches!(backend::set_fusion(true), Err(Error::InvalidArgument(_))),
        "fusion cannot come back on in this process"
    );
}

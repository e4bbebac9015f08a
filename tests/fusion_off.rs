//! The fusion switch (`--no-fusion`, JS `{ fusion: false }`): with Burn's kernel fusion off for the
//! whole process, wgpu still matches transformers on the tiny ESM-2 fixture, no fused kernel is
//! compiled (where the same pass with fusion on compiles several), and the switch refuses to flip
//! back once the GPU has run. The switch is process-wide and must come before the first GPU
//! operation, so each setting runs in a child process of this test binary (the ignored test
//! `one_process`), with CubeCL's compilation log written to a file the parent then reads.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use isoformer::runtime::backend::{self, BackendKind};
use isoformer::weights::load_dir;
use isoformer::{Error, SequenceEncoder};
use support::{PARITY_TOLERANCE, cases, max_abs_diff_rows};

/// The child's setting: "off" or "on".
const SETTING: &str = "ISOFORMER_TEST_FUSION";

/// What a fused kernel's name starts with in CubeCL's compilation log (Burn's fusion crate:
/// elementwise, matmul and reduce fusions all live there).
const FUSED_KERNEL: &str = "name: burn_cubecl_fusion::";

/// Runs [`one_process`] in a child with fusion `setting`, and returns its compilation log.
fn compilation_log(setting: &str) -> String {
    let log = std::env::temp_dir().join(format!("isoformer-fusion-{setting}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "one_process", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(SETTING, setting)
        .env("CUBECL_DEBUG_LOG", &log)
        .output()
        .expect("the test binary runs again");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert!(output.status.success(), "fusion {setting}: {}\n{}", text(&output.stdout), text(&output.stderr));
    assert!(text(&output.stdout).contains("1 passed"), "fusion {setting}: the child ran its test");
    let compiled = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let _ = std::fs::remove_file(&log);
    compiled
}

/// How many kernels a compilation log shows compiled, and how many of them are fused.
fn kernels(log: &str) -> (usize, usize) {
    (log.matches("[START_KERNEL_COMPILATION]").count(), log.matches(FUSED_KERNEL).count())
}

#[test]
fn wgpu_without_fusion_matches_transformers_and_fuses_nothing() {
    let (on, fused_on) = kernels(&compilation_log("on"));
    let (off, fused_off) = kernels(&compilation_log("off"));
    eprintln!("kernels compiled: fusion on {on} ({fused_on} fused), off {off} ({fused_off} fused)");
    assert!(fused_on > 0, "with fusion on, Burn compiles fused kernels ({on} kernels, none fused)");
    assert_eq!(fused_off, 0, "with fusion off, no kernel is fused");
    assert!(off > 0, "the log saw the kernels of the pass without fusion");
}

/// One child process: the tiny ESM-2 parity cases on wgpu with fusion as [`SETTING`] says.
#[test]
#[ignore = "run by wgpu_without_fusion_matches_transformers_and_fuses_nothing in a process of its own"]
fn one_process() {
    let fusion = match std::env::var(SETTING).as_deref() {
        Ok("on") => true,
        Ok("off") => false,
        other => panic!("{SETTING} is {other:?}: this test runs as a child of the fusion test"),
    };
    if !fusion {
        backend::set_fusion(false).expect("before any GPU work, fusion can be switched off");
        backend::set_fusion(false).expect("asking again for what is set is not an error");
    }
    let device = backend::init_native(BackendKind::Wgpu).expect("a device (wgpu: install mesa-vulkan-drivers)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (manifest, loaded) = load_dir(&root.join("weights/isoformer-tiny-random/protein"), &device.device).unwrap();
    let encoder = SequenceEncoder::new(device, &manifest, loaded).unwrap();
    let fixtures: PathBuf = root.join("tests/fixtures/esm2");
    let fixture = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
    let all = cases(&std::fs::read_to_string(fixtures.join("tiny_expected.json")).unwrap(), fixture);
    assert!(!all.is_empty());
    for case in all {
        let sequences: Vec<&str> = case.sequences.iter().map(String::as_str).collect();
        let embeddings = pollster::block_on(encoder.embed(&sequences)).unwrap();
        assert_eq!(embeddings.len(), sequences.len(), "{}: one embedding per sequence", case.label);
        for (b, embedding) in embeddings.iter().enumerate() {
            assert_eq!(embedding.tokens, case.tokens[b], "{}: token ids", case.label);
            let diff = max_abs_diff_rows(&embedding.last_hidden_state, &case.hidden, b, embedding.tokens.len());
            assert!(diff <= PARITY_TOLERANCE, "{} [{b}]: max |Δ| {diff} with fusion {fusion}", case.label);
        }
    }
    if !fusion {
        assert!(
            matches!(backend::set_fusion(true), Err(Error::InvalidArgument(_))),
            "fusion cannot come back on in this process"
        );
    }
}

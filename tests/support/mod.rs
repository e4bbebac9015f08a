//! Shared by the native and in-browser tests: fixture files, the deterministic weight generator
//! that mirrors tests/fixtures/make_fixtures.py, and the parity comparison.
#![allow(dead_code)]

use serde_json::Value;

/// A file of the repository's real-sequence data (`data/`, sources in data/PROVENANCE.txt).
#[cfg(not(target_arch = "wasm32"))]
pub fn data_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(relative)
}

/// The text of a file under `data/`.
#[cfg(not(target_arch = "wasm32"))]
pub fn data_text(relative: &str) -> String {
    let path = data_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Largest absolute difference allowed between our outputs and transformers' (f32 on both sides).
pub const PARITY_TOLERANCE: f32 = 1e-4;

/// One parity case of a fixture file: inputs, expected token ids, expected `[B, L, D]` states.
pub struct Case {
    pub label: String,
    pub sequences: Vec<String>,
    pub tokens: Vec<Vec<u32>>,
    /// Expected last hidden state, `[batch, padded length, hidden]`.
    pub hidden: (Vec<usize>, Vec<f32>),
    pub logits: Option<(Vec<usize>, Vec<f32>)>,
    /// For a sensitivity probe: the label of the case whose input it changes slightly.
    pub perturbs: Option<String>,
}

/// How far a probe must move the reference output: a parity test whose tolerance a small input
/// change cannot exceed could pass with an input path that does nothing.
pub const PROBE_FACTOR: f32 = 100.0;

/// Asserts that the reference output of every probe (`perturbs`: the label of the case it changes)
/// differs from its case's by at least [`PROBE_FACTOR`] × `tolerance`, measured by `distance`.
/// Returns how many probes were checked, so a caller can insist there is one.
pub fn assert_probes_move<T>(
    cases: &[(String, Option<String>, T)],
    tolerance: f32,
    distance: impl Fn(&T, &T) -> f32,
) -> usize {
    let mut probes = 0;
    for (label, perturbs, output) in cases {
        let Some(original) = perturbs else { continue };
        let (_, _, reference) = cases
            .iter()
            .find(|(l, _, _)| l == original)
            .unwrap_or_else(|| panic!("{label} probes {original}, which is not a case"));
        let moved = distance(output, reference);
        eprintln!("probe {label}: the reference moves by {moved:.3e} ({:.0}× the tolerance)", moved / tolerance);
        assert!(
            moved >= PROBE_FACTOR * tolerance,
            "probe {label}: the reference moves by only {moved:.3e}, under {PROBE_FACTOR}× the tolerance {tolerance:e}"
        );
        probes += 1;
    }
    probes
}

/// [`assert_probes_move`] over parity cases: max |Δ| of the expected hidden states (same shape).
pub fn assert_case_probes_move(cases: &[Case], tolerance: f32) -> usize {
    let outputs: Vec<_> = cases.iter().map(|c| (c.label.clone(), c.perturbs.clone(), &c.hidden)).collect();
    assert_probes_move(&outputs, tolerance, |a, b| {
        assert_eq!(a.0, b.0, "a probe keeps its case's shape");
        a.1.iter().zip(&b.1).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    })
}

/// Reads a `.npy` of f32 into its shape and values.
pub fn npy(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    let file = npyz::NpyFile::new(bytes).expect("valid npy");
    assert_eq!(file.order(), npyz::Order::C, "fixture .npy files are written in C order");
    let shape = file.shape().iter().map(|&d| d as usize).collect();
    (shape, file.into_vec::<f32>().expect("f32 npy"))
}

/// Parses `*_expected.json`, reading each `.npy` it names through `read`.
pub fn cases(json: &str, read: impl Fn(&str) -> Vec<u8>) -> Vec<Case> {
    let doc: Value = serde_json::from_str(json).expect("expected json");
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|case| Case {
            label: case["label"].as_str().unwrap_or_default().to_string(),
            sequences: serde_json::from_value(case["sequences"].clone()).expect("sequences"),
            tokens: serde_json::from_value(case["tokens"].clone()).expect("tokens"),
            hidden: npy(&read(case["hidden"].as_str().expect("hidden file"))),
            logits: case["logits"].as_str().map(|file| npy(&read(file))),
            perturbs: case["perturbs"].as_str().map(str::to_string),
        })
        .collect()
}

/// Max |ours − expected| over the valid rows of batch item `b` of an expected `[B, L, D]` tensor.
pub fn max_abs_diff_rows(ours: &[f32], expected: &(Vec<usize>, Vec<f32>), b: usize, rows: usize) -> f32 {
    let (batch, length, width) = (expected.0[0], expected.0[1], expected.0[2]);
    assert!(b < batch && rows <= length, "item {b} of {rows} rows is outside the expected {:?}", expected.0);
    assert_eq!(ours.len(), rows * width, "output size");
    let start = b * length * width;
    ours.iter().zip(&expected.1[start..start + rows * width]).map(|(a, e)| (a - e).abs()).fold(0.0, f32::max)
}

fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3))
}

/// Values in [-1, 1) for tensor `name`: SplitMix64 of FNV-1a(name) and the element index.
pub fn uniform(name: &str, count: usize) -> impl Iterator<Item = f64> {
    let seed = fnv1a64(name);
    (0..count as u64).map(move |i| {
        let mut z = seed.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

/// Regenerates a checkpoint from `*_weights.json` as a Hugging Face `model.safetensors`.
pub fn generated_safetensors(weights_json: &str) -> Vec<u8> {
    let tensors = generated_tensors(weights_json);
    safetensors::serialize(views(&tensors), None).expect("serialize")
}

/// The same, written straight to `path` (the published IsoFormer's 2.6 GB are not held twice).
#[cfg(not(target_arch = "wasm32"))]
pub fn write_generated_safetensors(weights_json: &str, path: &std::path::Path) {
    let tensors = generated_tensors(weights_json);
    safetensors::serialize_to_file(views(&tensors), None, path).expect("write safetensors");
}

/// safetensors views of (name, shape, little-endian f32 bytes) tensors.
fn views(
    tensors: &[(String, Vec<usize>, Vec<u8>)],
) -> impl Iterator<Item = (String, safetensors::tensor::TensorView<'_>)> {
    tensors.iter().map(|(name, shape, bytes)| {
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes).expect("view");
        (name.clone(), view)
    })
}

/// Every tensor of `*_weights.json` as (name, shape, little-endian f32 bytes).
fn generated_tensors(weights_json: &str) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let doc: Value = serde_json::from_str(weights_json).expect("weights json");
    doc["tensors"]
        .as_array()
        .expect("tensors")
        .iter()
        .map(|t| {
            let name = t["name"].as_str().expect("name").to_string();
            let shape: Vec<usize> = serde_json::from_value(t["shape"].clone()).expect("shape");
            let count = shape.iter().product();
            let values: Vec<f32> = match t.get("values") {
                Some(values) => serde_json::from_value(values.clone()).expect("values"),
                None => {
                    let (centre, scale) = (t["centre"].as_f64().expect("centre"), t["scale"].as_f64().expect("scale"));
                    uniform(&name, count).map(|u| (centre + scale * u) as f32).collect()
                }
            };
            (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect()
}

/// The genomic sequence of a GenBank file's ORIGIN section, upper case (TP73 region: 83,686 bp).
pub fn genbank_origin(text: &str) -> String {
    let origin = text.split("ORIGIN").nth(1).unwrap_or_default().split("//").next().unwrap_or_default();
    origin.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect()
}

/// The `/translation` of the CDS whose `/protein_id` is `protein_id` in a GenBank record.
pub fn genbank_translation(genbank: &str, protein_id: &str) -> String {
    let cds = genbank.split(&format!("/protein_id=\"{protein_id}\"")).nth(1).expect("the protein_id in the record");
    let translation =
        cds.split("/translation=\"").nth(1).expect("its translation").split('"').next().unwrap_or_default();
    translation.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The end-to-end fixtures' inputs (make_fixtures.py's): the TP73 region of `genbank` (DNA), the
/// Ensembl cDNA ENST00000713571.1 from `transcripts` (RNA) and RefSeq NP_005418.1 (protein).
pub fn tp73_inputs(genbank: &str, transcripts: &str) -> (String, String, String) {
    let records = isoformer::read_sequences(transcripts).expect("the TP73 cDNAs");
    let rna = records.into_iter().find(|r| r.id == "ENST00000713571.1").expect("ENST00000713571.1").sequence;
    (genbank_origin(genbank), rna, genbank_translation(genbank, "NP_005418.1"))
}

/// `sequence` with an IsoFormer fixture case's edit for `modality` (`[index, replacement]`) applied.
pub fn edited(sequence: &str, case: &Value, modality: &str) -> String {
    match case["edits"][modality].as_array() {
        Some(edit) => {
            let (index, replacement) = (edit[0].as_u64().unwrap() as usize, edit[1].as_str().unwrap());
            format!("{}{replacement}{}", &sequence[..index], &sequence[index + replacement.len()..])
        }
        None => sequence.to_string(),
    }
}

/// The Enformer fixture inputs by label (tests/fixtures/make_fixtures.py builds the same ones).
pub fn enformer_input(label: &str, tp73_genbank: &str) -> String {
    match label {
        "tp73_region_centre_padded" => genbank_origin(tp73_genbank),
        "synthetic_full_length" => isoformer::synthetic::synthetic_sequence(196_608, b"ACGTN"),
        // The sensitivity probe: the base at the centre of the 196,608-bp window changed.
        "tp73_region_centre_snv" => {
            let region = genbank_origin(tp73_genbank);
            substitute(&region, 196_608 / 2 - (196_608 - region.len()) / 2, b"ACGT")
        }
        other => panic!("unknown Enformer fixture input {other}"),
    }
}

/// `sequence` with the letter at `index` replaced by the first of `alphabet` that differs from it
/// (make_fixtures.py's `substitute`).
pub fn substitute(sequence: &str, index: usize, alphabet: &[u8]) -> String {
    let mut bytes = sequence.as_bytes().to_vec();
    let current = bytes[index].to_ascii_uppercase();
    bytes[index] = *alphabet.iter().find(|&&a| a != current).expect("an alphabet of two letters or more");
    String::from_utf8(bytes).expect("ASCII")
}

/// max |ours − expected| / max |expected| over every element (`expected` row-major, same layout).
pub fn relative_diff(ours: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(ours.len(), expected.len(), "output size");
    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
    ours.iter().zip(expected).map(|(a, e)| (a - e).abs()).fold(0.0, f32::max) / scale
}

/// A weight directory written under the system temp dir for one test, deleted when dropped (the
/// published-size ones are hundreds of MB to 1 GB).
pub struct TempWeights {
    pub root: std::path::PathBuf,
    pub weights: std::path::PathBuf,
}

impl Drop for TempWeights {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A `*_layers.json` fixture: sequences, their tokens, the `hidden_states` indices transformers
/// gave and each index's reference `[batch, L, D]` states.
pub struct LayersFixture {
    pub sequences: Vec<String>,
    pub tokens: Vec<Vec<u32>>,
    pub indices: Vec<i64>,
    pub expected: Vec<(Vec<usize>, Vec<f32>)>,
}

/// Reads a layers fixture; each layer's reference must differ from the first's by the probe
/// factor, so a layer choice that does nothing cannot pass.
pub fn layers_fixture(layers_json: &str, read: impl Fn(&str) -> Vec<u8>) -> LayersFixture {
    let doc: Value = serde_json::from_str(layers_json).unwrap();
    let layers = doc["layers"].as_array().unwrap();
    let fixture = LayersFixture {
        sequences: serde_json::from_value(doc["sequences"].clone()).unwrap(),
        tokens: serde_json::from_value(doc["tokens"].clone()).unwrap(),
        indices: layers.iter().map(|l| l["index"].as_i64().unwrap()).collect(),
        expected: layers.iter().map(|l| npy(&read(l["hidden"].as_str().unwrap()))).collect(),
    };
    let references: Vec<(String, Option<String>, &Vec<f32>)> = fixture
        .indices
        .iter()
        .zip(&fixture.expected)
        .enumerate()
        .map(|(n, (index, (_, values)))| (index.to_string(), (n > 0).then(|| fixture.indices[0].to_string()), values))
        .collect();
    let distance =
        |a: &&Vec<f32>, b: &&Vec<f32>| a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert_eq!(assert_probes_move(&references, PARITY_TOLERANCE, distance), fixture.indices.len() - 1);
    fixture
}

/// `embed_layers`' output (per sequence, per layer) within [`PARITY_TOLERANCE`] of the fixture.
pub fn assert_layers_match(fixture: &LayersFixture, per_sequence: &[Vec<isoformer::Embedding>]) {
    assert_eq!(per_sequence.len(), fixture.sequences.len());
    for (b, per_layer) in per_sequence.iter().enumerate() {
        assert_eq!(per_layer.len(), fixture.indices.len(), "sequence {b}: one embedding per layer asked");
        for ((index, embedding), expected) in fixture.indices.iter().zip(per_layer).zip(&fixture.expected) {
            assert_eq!(embedding.tokens, fixture.tokens[b]);
            let diff = max_abs_diff_rows(&embedding.last_hidden_state, expected, b, fixture.tokens[b].len());
            println!("layer {index} [{b}] {} tokens: max |Δ| = {diff:.3e}", fixture.tokens[b].len());
            assert!(diff <= PARITY_TOLERANCE, "layer {index} [{b}]: max |Δ| {diff}");
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// A published configuration with generated weights, written as a Hugging Face directory
/// (`config` copied as config.json, the tensors regenerated from `weights_json`) and converted;
/// returns the weight directory.
pub fn generated_weights(
    config: &std::path::Path,
    weights_json: &std::path::Path,
    family: isoformer::config::EsmFamily,
    tag: &str,
) -> TempWeights {
    let root = std::env::temp_dir().join(format!("isoformer-{tag}-{}", std::process::id()));
    let (hf, out) = (root.join("hf"), root.join("weights"));
    std::fs::create_dir_all(&hf).unwrap();
    std::fs::copy(config, hf.join("config.json")).expect("the config file");
    let weights_json = std::fs::read_to_string(weights_json).unwrap();
    std::fs::write(hf.join("model.safetensors"), generated_safetensors(&weights_json)).unwrap();
    let options = isoformer::convert::ConvertOptions { random_weights: true, ..Default::default() };
    isoformer::convert::convert_esm(&hf, &out, family, &options).unwrap();
    let _ = std::fs::remove_dir_all(&hf);
    TempWeights { root, weights: out }
}

#[cfg(not(target_arch = "wasm32"))]
/// ESM-2 8M with the real `config.json` from data/.
pub fn esm2_8m_weights(tag: &str) -> TempWeights {
    let config = data_path("esm2_hf_configs/esm2_t6_8M_UR50D/config.json");
    generated_weights(
        &config,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esm2/esm2_8M_weights.json"),
        isoformer::config::EsmFamily::Esm2,
        &format!("8m-{tag}"),
    )
}

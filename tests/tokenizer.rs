//! Our protein tokenizer against transformers' `EsmTokenizer` (tests/fixtures/esm2/tokenizer_table.json).
#![cfg(not(target_arch = "wasm32"))]

use isoformer::tokenize::{PROTEIN_VOCAB, ProteinTokenizer};

#[test]
fn protein_ids_equal_transformers_esm_tokenizer() {
    let text = include_str!("fixtures/esm2/tokenizer_table.json");
    let table: serde_json::Value = serde_json::from_str(text).unwrap();
    let sequences: Vec<String> = serde_json::from_value(table["sequences"].clone()).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(table["ids"].clone()).unwrap();
    assert!(sequences.len() >= 40, "table too small: {}", sequences.len());
    let tokenizer = ProteinTokenizer::new(10_000);
    for (sequence, expected) in sequences.iter().zip(&ids) {
        assert_eq!(&tokenizer.encode(sequence).unwrap(), expected, "{sequence}");
        assert_eq!(&tokenizer.encode(&sequence.to_lowercase()).unwrap(), expected, "lower case of {sequence}");
    }
}

#[test]
fn vocabulary_equals_the_published_vocab_file() {
    let vocab = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/esm2_hf_configs/esm2_t6_8M_UR50D/vocab.txt"))
        .expect("../shared/data beside the checkout");
    let published: Vec<&str> = vocab.lines().collect();
    assert_eq!(published, PROTEIN_VOCAB.to_vec());
}

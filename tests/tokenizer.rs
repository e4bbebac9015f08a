//! Our tokenizers against transformers' `EsmTokenizer`: the ESM-2 alphabet
//! (tests/fixtures/esm2/tokenizer_table.json) and NT-v2's 6-mer vocabulary
//! (tests/fixtures/nt/tokenizer_table.json, over every Ensembl TP53/TP63/TP73 cDNA in data/).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use isoformer::read_sequences;
use isoformer::tokenize::{
    CropPolicy, NUCLEOTIDE_MAX_TOKENS, NucleotideTokenizer, PROTEIN_VOCAB, ProteinTokenizer, nucleotide_vocab,
};

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
    let vocab = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/esm2_hf_configs/esm2_t6_8M_UR50D/vocab.txt"
    ))
    .expect("data/esm2_hf_configs");
    let published: Vec<&str> = vocab.lines().collect();
    assert_eq!(published, PROTEIN_VOCAB.to_vec());
}

fn nt_table() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/nt/tokenizer_table.json")).unwrap()
}

/// `{record id: sequence}` of a FASTA file under data/.
fn data_fasta(file: &str) -> HashMap<String, String> {
    let path = format!("{}/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    read_sequences(&text).unwrap().into_iter().map(|r| (r.id, r.sequence)).collect()
}

#[test]
fn nucleotide_vocabulary_equals_the_reference_definition() {
    let expected: Vec<String> = serde_json::from_value(nt_table()["vocab"].clone()).unwrap();
    assert_eq!(nucleotide_vocab(), expected);
}

/// Every Ensembl transcript, as given and in lower case with U for T: the ids transformers gives.
#[test]
fn nucleotide_ids_equal_transformers_on_real_transcripts() {
    let tokenizer = NucleotideTokenizer::new(NUCLEOTIDE_MAX_TOKENS);
    let mut files: HashMap<String, HashMap<String, String>> = HashMap::new();
    let transcripts = nt_table()["transcripts"].as_array().unwrap().clone();
    assert!(transcripts.len() >= 50, "{} transcripts", transcripts.len());
    for entry in transcripts {
        let file = entry["file"].as_str().unwrap();
        let id = entry["id"].as_str().unwrap();
        let sequence = files.entry(file.into()).or_insert_with(|| data_fasta(file))[id].clone();
        let expected: Vec<u32> = serde_json::from_value(entry["ids"].clone()).unwrap();
        assert_eq!(tokenizer.encode(&sequence).unwrap(), expected, "{id}");
        let rna_lower = sequence.to_lowercase().replace('t', "u");
        assert_eq!(tokenizer.encode(&rna_lower).unwrap(), expected, "{id} as lower-case RNA");
    }
}

/// N runs, leftovers of every length, lower case and U (transformers sees them upper-cased, U as T).
#[test]
fn nucleotide_ids_equal_transformers_on_edge_cases() {
    let tokenizer = NucleotideTokenizer::new(NUCLEOTIDE_MAX_TOKENS);
    for entry in nt_table()["edge_cases"].as_array().unwrap() {
        let sequence = entry["sequence"].as_str().unwrap();
        let expected: Vec<u32> = serde_json::from_value(entry["ids"].clone()).unwrap();
        assert_eq!(tokenizer.encode(sequence).unwrap(), expected, "{sequence}");
    }
}

/// The longest transcripts against a smaller limit: a typed error by default; cropping keeps the
/// uncropped tokenization's first or last tokens.
#[test]
fn long_transcripts_hit_the_token_limit() {
    let tp73 = data_fasta("gentle_rs/ensembl_human_tp73_all.fasta");
    let longest = tp73.values().max_by_key(|s| s.len()).unwrap();
    let full = NucleotideTokenizer::new(NUCLEOTIDE_MAX_TOKENS).encode(longest).unwrap();
    assert!(full.len() > 500, "{} tokens", full.len());
    let limited = NucleotideTokenizer::new(500);
    assert_eq!(limited.encode(longest).unwrap_err().code(), "SEQUENCE_TOO_LONG");
    let start = limited.clone().with_crop(CropPolicy::KeepStart).encode(longest).unwrap();
    assert_eq!(start, full[..500]);
    let end = limited.with_crop(CropPolicy::KeepEnd).encode(longest).unwrap();
    assert_eq!(end[0], full[0]);
    assert_eq!(end[1..], full[full.len() - 499..]);
}

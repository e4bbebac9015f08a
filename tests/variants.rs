//! Variant effects against independent references: the transcripts of the TP73 GenBank record and
//! of DOC2B's GFF3/GTF equal Biopython's splicing and translation; the VCF records of
//! tests/fixtures/variants/tp73.vcf get their constructed consequence and Biopython's alternate
//! RNA and protein; ESM-2's masked marginal equals transformers' `EsmForMaskedLM` on the random
//! ESM-2 8M model; IsoFormer's Δ equals two separate predictions, and NT-v2's and ESM-2's
//! zero-shot scores their PyTorch references (tiny random weights, CPU).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use isoformer::runtime::backend::{self, BackendKind};
use isoformer::variants::effect::{Reference, effect};
use isoformer::variants::gene::{WINDOW_LENGTH, translate, window_start};
use isoformer::variants::{Annotation, Edit, GeneRecord, GeneScorer, Variant, WindowStrand, protein_llr, read_vcf};
use isoformer::weights::{Part, load_dir};
use isoformer::{Isoformer, IsoformerInputs, RunOptions, SequenceEncoder};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn tp73() -> GeneRecord {
    Annotation::GenBank(&std::fs::read(support::data_path("gentle_rs/tp73.ncbi.gb")).unwrap()).read().unwrap()
}

fn tp73_variants() -> Vec<Result<Variant, isoformer::Error>> {
    read_vcf(&std::fs::read_to_string(root().join("tests/fixtures/variants/tp73.vcf")).unwrap())
}

fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

#[test]
fn tp73_transcripts_equal_biopython() {
    let gene = tp73();
    let expected = fixture("variants/tp73_biopython.json");
    let transcripts = expected["transcripts"].as_array().unwrap();
    assert_eq!(gene.transcripts.len(), transcripts.len());
    assert_eq!(gene.offset, 3_652_515, "the REGION's start");
    assert!(gene.is_named("chr1") && gene.is_named("1") && gene.is_named("NC_000001.11"));
    let proteins: BTreeMap<&str, &str> = expected["proteins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["protein_id"].as_str().unwrap(), p["protein"].as_str().unwrap()))
        .collect();
    let mut paired = 0;
    for (ours, theirs) in gene.transcripts.iter().zip(transcripts) {
        assert_eq!(ours.id, theirs["id"].as_str().unwrap());
        assert_eq!(ours.kind, theirs["kind"].as_str().unwrap());
        assert_eq!(ours.rna(&gene.sequence), theirs["rna"].as_str().unwrap(), "{} spliced", ours.id);
        if let Some(cds) = &ours.cds {
            paired += 1;
            let protein = ours.protein(&gene.sequence).unwrap();
            let id = cds.protein_id.as_deref().unwrap();
            assert_eq!(protein, proteins[id], "{}: our translation of {id}", ours.id);
            assert_eq!(Some(protein.as_str()), cds.translation.as_deref(), "{}: the record's /translation", ours.id);
        }
    }
    // Every mRNA found its CDS; the ncRNAs and misc_RNAs have none.
    let mrnas = gene.transcripts.iter().filter(|t| t.kind == "mRNA").count();
    assert_eq!((paired, mrnas), (15, 15));
}

#[test]
fn doc2b_gff3_and_gtf_equal_biopython() {
    let expected = fixture("variants/doc2b_biopython.json");
    let fasta = std::fs::read(support::data_path("pyfaidx/chr17.hg19.part.fa")).unwrap();
    for file in ["doc2b.gff3", "doc2b.gtf"] {
        let features = std::fs::read(root().join("tests/fixtures/variants").join(file)).unwrap();
        let gene = Annotation::Gff { features: &features, fasta: &fasta }.read().unwrap();
        let [transcript] = gene.transcripts.as_slice() else { panic!("{file}: one transcript") };
        assert_eq!(transcript.id, expected["transcript"].as_str().unwrap(), "{file}");
        assert_eq!(transcript.gene, "DOC2B", "{file}");
        assert_eq!(transcript.strand, isoformer::variants::Strand::Reverse, "{file}");
        assert_eq!(transcript.rna(&gene.sequence), expected["rna"].as_str().unwrap(), "{file}: spliced");
        assert_eq!(transcript.protein(&gene.sequence).as_deref(), expected["protein"].as_str(), "{file}: protein");
    }
}

#[test]
fn tp73_vcf_records_get_their_consequences_and_biopythons_sequences() {
    let gene = tp73();
    let expected = fixture("variants/tp73_variants.json");
    let transcript = gene.transcripts.iter().find(|t| t.id == "NM_005427.4").unwrap();
    let reference = Reference::of(transcript, &gene.sequence);
    let vcf = std::fs::read_to_string(root().join("tests/fixtures/variants/tp73.vcf")).unwrap();
    let expect: BTreeMap<&str, &str> = vcf
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            Some((fields[2], fields.get(7)?.strip_prefix("EXPECT=")?))
        })
        .collect();
    let mut checked = 0;
    let mut errors = BTreeMap::new();
    let mut multi_allelic = Vec::new();
    for variant in tp73_variants() {
        let variant = match variant {
            Ok(variant) => variant,
            Err(error) => {
                errors.insert("malformed".to_string(), error.code());
                continue;
            }
        };
        let edit = match Edit::new(&gene, &variant) {
            Ok(edit) => edit,
            Err(error) => {
                errors.insert(variant.id.clone(), error.code());
                continue;
            }
        };
        let alternate = edit.apply(&gene.sequence);
        let found = effect(transcript, &reference, &edit, &alternate, WindowStrand::Genome);
        if variant.id == "multi_allelic" {
            multi_allelic.push(variant.alternate.clone());
            continue;
        }
        let term = expect[variant.id.as_str()];
        assert_eq!(found.consequences[0], term, "{}: {:?}", variant.id, found.consequences);
        if let Some(theirs) = expected["variants"].get(&variant.id) {
            assert_eq!(found.rna.len() as u64, theirs["rna_length"].as_u64().unwrap(), "{}", variant.id);
            assert_eq!(sha256(&found.rna), theirs["rna_sha256"].as_str().unwrap(), "{}: alternate RNA", variant.id);
            assert_eq!(found.protein.as_deref(), theirs["protein"].as_str(), "{}: alternate protein", variant.id);
            checked += 1;
        }
        if variant.id == "exon_boundary_del" {
            // Two exon bases go with the donor: the RNA is 2 shorter, the reading frame shifted.
            assert_eq!(found.rna.len(), reference.rna.len() - 2);
            assert!(found.consequences.contains(&"frameshift_variant"), "{:?}", found.consequences);
        }
        if variant.id == "missense_snv" {
            assert_eq!(found.substitutions.len(), 1);
            let (position, from, to) = found.substitutions[0];
            let name = format!("{from}{}{to}", position + 1);
            assert_eq!(found.protein_change.as_deref(), Some(name.as_str()));
        }
    }
    assert_eq!(checked, 12, "every record with a Biopython reference was compared");
    assert_eq!(multi_allelic.len(), 2, "a multi-allelic record is one variant per ALT");
    assert_eq!(errors.get("ref_mismatch"), Some(&"REF_MISMATCH"));
    assert_eq!(errors.get("outside"), Some(&"INVALID_VARIANT"));
    assert_eq!(errors.get("malformed"), Some(&"INVALID_VARIANT"));
    // The antisense ncRNA (minus strand) sees the same SNV in its exon, complemented.
    let antisense = gene.transcripts.iter().find(|t| t.id == "NR_187362.1").unwrap();
    let variant = tp73_variants().into_iter().flatten().find(|v| v.id == "antisense_exon_snv").unwrap();
    let edit = Edit::new(&gene, &variant).unwrap();
    let reference = Reference::of(antisense, &gene.sequence);
    let found = effect(antisense, &reference, &edit, &edit.apply(&gene.sequence), WindowStrand::Genome);
    assert_eq!(found.consequences, vec!["non_coding_transcript_exon_variant"]);
    let differing: Vec<(u8, u8)> = reference.rna.bytes().zip(found.rna.bytes()).filter(|(a, b)| a != b).collect();
    assert_eq!(differing, vec![(b'C', b'T')], "G>A on the forward strand reads C>T on the minus strand");
}

#[test]
fn a_minus_strand_missense_changes_the_protein_biopython_gives() {
    let expected = fixture("variants/doc2b_biopython.json");
    let fasta = std::fs::read(support::data_path("pyfaidx/chr17.hg19.part.fa")).unwrap();
    let features = std::fs::read(root().join("tests/fixtures/variants/doc2b.gff3")).unwrap();
    let gene = Annotation::Gff { features: &features, fasta: &fasta }.read().unwrap();
    let transcript = &gene.transcripts[0];
    // DOC2B's CDS ends (on the forward strand) at 31,270 and the transcript at 31,420: the CDS
    // starts 150 bases into the RNA, and codon 10's first base is genomic base 31,270 − 1 − 30.
    let genomic = 31_270 - 1 - 30;
    let rna = expected["rna"].as_str().unwrap();
    let complement = |b: u8| match b {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        _ => b'A',
    };
    assert_eq!(complement(gene.sequence[genomic]), rna.as_bytes()[150 + 30]);
    let alternate_base = if gene.sequence[genomic] == b'G' { "T" } else { "G" };
    let variant = Variant {
        record: 1,
        id: "doc2b".into(),
        chrom: "chr17".into(),
        position: genomic as u64 + 1,
        reference: (gene.sequence[genomic] as char).to_string(),
        alternate: alternate_base.into(),
    };
    let edit = Edit::new(&gene, &variant).unwrap();
    let reference = Reference::of(transcript, &gene.sequence);
    let found = effect(transcript, &reference, &edit, &edit.apply(&gene.sequence), WindowStrand::Genome);
    let mut theirs = rna.as_bytes().to_vec();
    theirs[180] = complement(alternate_base.as_bytes()[0]);
    assert_eq!(found.rna.as_bytes(), theirs.as_slice());
    let protein = translate(&theirs[150..], true);
    assert_eq!(found.protein.as_deref(), Some(protein.as_str()));
    assert_ne!(protein, expected["protein"].as_str().unwrap());
    assert_eq!(found.consequences, vec!["missense_variant"], "{:?}", found.protein_change);
}

#[test]
fn masked_marginal_equals_transformers_on_esm2_8m() {
    let weights = support::esm2_8m_weights("llr");
    let device = backend::init_native(BackendKind::Cpu).unwrap();
    let (manifest, loaded) = load_dir(&weights.weights, &device.device).unwrap();
    let encoder = SequenceEncoder::new(device, &manifest, loaded).unwrap();
    let expected = fixture("esm2/esm2_8M_llr.json");
    let protein = support::genbank_translation(&support::data_text("gentle_rs/tp73.ncbi.gb"), "NP_005418.1");
    let mut scores = Vec::new();
    for case in expected["cases"].as_array().unwrap() {
        let mut mutated = protein.clone().into_bytes();
        for name in case["mutations"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            let position: usize = name[1..name.len() - 1].parse().unwrap();
            assert_eq!(mutated[position - 1], name.as_bytes()[0]);
            mutated[position - 1] = name.as_bytes()[name.len() - 1];
        }
        let ours = pollster::block_on(protein_llr(&encoder, &protein, &String::from_utf8(mutated).unwrap()))
            .unwrap()
            .expect("a score");
        let theirs = case["llr"].as_f64().unwrap() as f32;
        println!("{:?}: ours {ours:.6}, transformers {theirs:.6}", case["mutations"]);
        assert!((ours - theirs).abs() <= 1e-4, "{:?}: {ours} vs {theirs}", case["mutations"]);
        scores.push(theirs);
    }
    // The scores differ from case to case by far more than the tolerance (a wrong position or
    // token would not pass unnoticed).
    let spread =
        scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s)) - scores.iter().fold(f32::INFINITY, |m, &s| m.min(s));
    assert!(spread > 1.0);
}

fn tiny_model() -> Isoformer {
    let device = backend::init_native(BackendKind::Cpu).unwrap();
    Isoformer::load_dir(device, &root().join("weights/isoformer-tiny-random"), &Part::ALL).unwrap()
}

#[test]
fn isoformer_delta_equals_two_separate_predictions() {
    let model = tiny_model();
    let mut gene = tp73();
    // TAp73 (TSS at the record's start), ΔNp73 (its own promoter) and an antisense ncRNA.
    gene.transcripts.retain(|t| ["NM_005427.4", "NM_001126240.3", "NR_187362.1"].contains(&t.id.as_str()));
    let scorer =
        pollster::block_on(GeneScorer::new(&model, gene.clone(), WindowStrand::Genome, RunOptions::default())).unwrap();
    let variants: Vec<Variant> = tp73_variants().into_iter().flatten().collect();
    let missense = variants.iter().find(|v| v.id == "missense_snv").unwrap();
    let score = pollster::block_on(scorer.score(missense)).unwrap();
    let edit = Edit::new(&gene, missense).unwrap();
    assert_eq!(score.transcripts.len(), 3, "one score per transcript");
    for (transcript, scored) in gene.transcripts.iter().zip(&score.transcripts) {
        assert_eq!(scored.transcript, transcript.id, "scores in the gene's order");
        // The alternate built here by hand: the window with the base replaced, the RNA with its
        // transcript position replaced, the protein translated again.
        let tss = transcript.tss();
        let start = window_start(tss, false);
        let window = transcript.window(&gene.sequence, WindowStrand::Genome);
        let mut alternate_window = window.clone().into_bytes();
        let index = edit.start as i64 - start;
        if (0..WINDOW_LENGTH as i64).contains(&index) {
            alternate_window[index as usize] = edit.alt[0];
        }
        let alternate_window = String::from_utf8(alternate_window).unwrap();
        let rna = transcript.rna(&gene.sequence);
        let mut offset = 0;
        let mut alternate_rna = rna.clone().into_bytes();
        for exon in &transcript.exons {
            if exon.contains(&edit.start) {
                alternate_rna[offset + edit.start - exon.start] = edit.alt[0];
            }
            offset += exon.len();
        }
        let alternate_rna = String::from_utf8(alternate_rna).unwrap();
        let protein = transcript.protein(&gene.sequence);
        let cds_offset = transcript
            .cds
            .as_ref()
            .map(|_| transcript.cds_start_in_rna(&transcript.exons, transcript.cds_boundary().unwrap()));
        let alternate_protein = cds_offset.map(|o| translate(&alternate_rna.as_bytes()[o..], true));
        let predict = |dna: &str, rna: &str, protein: Option<&str>| {
            let inputs = IsoformerInputs { dna: Some(dna), rna: Some(rna), protein };
            pollster::block_on(model.predict_with(&inputs, false, &RunOptions::default())).unwrap().values
        };
        let before = predict(&window, &rna, protein.as_deref());
        let after = predict(&alternate_window, &alternate_rna, alternate_protein.as_deref());
        let delta: Vec<f32> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!((before.len(), scored.delta.len()), (30, 30), "{}: a Δ per tissue", transcript.id);
        let scale = before.iter().fold(0f32, |m, v| m.max(v.abs()));
        let difference = delta.iter().zip(&scored.delta).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!(
            "{}: {:?}, max |Δ| {:.3e}, vs two predictions {difference:.3e}",
            transcript.id,
            scored.effect.consequences,
            delta.iter().fold(0f32, |m, v| m.max(v.abs()))
        );
        assert!(
            difference <= 1e-5 * scale.max(1.0),
            "{}: Δ differs from two predictions by {difference}",
            transcript.id
        );
        assert!(scored.delta.iter().any(|d| *d != 0.0), "{}: the variant changes its inputs", transcript.id);
        let coding = transcript.cds.is_some();
        assert_eq!(scored.esm_llr.is_some(), coding, "{}: ESM-2's score only for the missense change", transcript.id);
        assert!(scored.nt_cosine.is_some_and(|c| c < 1.0) == (alternate_rna != rna));
        assert!(scored.nt_llr.is_some() == (alternate_rna != rna), "{}: NT-v2's masked marginal", transcript.id);
    }
    // The zero-shot scores against their references (the same tiny NT-v2 and ESM-2 in
    // nt_reference.py and transformers' EsmForMaskedLM, tests/fixtures/variant_fixtures.py).
    let expected = fixture("variants/tp73_variants.json")["missense_scores"].clone();
    let tap73 = score.transcripts.iter().find(|t| t.transcript == "NM_005427.4").unwrap();
    for (name, ours, tolerance) in [
        ("nt_cosine", tap73.nt_cosine, 1e-5),
        ("nt_l2", tap73.nt_l2, 1e-5),
        ("nt_llr", tap73.nt_llr, 1e-4),
        ("esm_llr", tap73.esm_llr, 1e-4),
    ] {
        let theirs = expected[name].as_f64().unwrap() as f32;
        let ours = ours.unwrap_or_else(|| panic!("{name}: a score"));
        println!("{name}: ours {ours:.7}, reference {theirs:.7}");
        assert!((ours - theirs).abs() <= tolerance, "{name}: {ours} vs the reference {theirs}");
    }
    // Shares: the isoforms' share changes sum to 0 in every tissue where they are defined, and
    // they are defined somewhere (a share that is never computed would pass the sum vacuously).
    // (A tissue where one isoform holds all the predicted TPM keeps its shares: Δ 0 there.)
    let (mut tissues_with_shares, mut tissues_moved) = (0, 0);
    for tissue in 0..30 {
        let shares: Option<Vec<f32>> = score.transcripts.iter().map(|t| t.share_delta[tissue]).collect();
        if let Some(shares) = shares {
            assert!(shares.iter().sum::<f32>().abs() < 1e-5, "tissue {tissue}: {shares:?}");
            tissues_with_shares += 1;
            tissues_moved += usize::from(shares.iter().any(|s| *s != 0.0));
        }
    }
    assert!(
        tissues_with_shares > 0 && tissues_moved > 0,
        "{tissues_with_shares} tissues have shares, {tissues_moved} move"
    );
    assert!(score.transcripts.iter().all(|t| t.share_delta.len() == 30), "a share Δ per tissue");
    // Enformer's track Δ where the variant falls in the predicted bins (ΔNp73's window; TAp73's
    // TSS is 75 kb away, outside its central 114,688 bp).
    let by_id: BTreeMap<&str, _> = score.transcripts.iter().map(|t| (t.transcript.as_str(), t)).collect();
    assert!(by_id["NM_005427.4"].enformer.is_none());
    let tracks = by_id["NM_001126240.3"].enformer.as_ref().expect("ΔNp73's window predicts the variant's bin");
    assert_eq!(tracks.heads.keys().collect::<Vec<_>>(), ["human", "mouse"]);
    assert!(tracks.largest().is_some_and(|(_, d)| d != 0.0));
    // … equal to enformer-pytorch's on the same two windows.
    let reference = &expected["enformer"];
    assert_eq!(tracks.bin as u64, reference["bin"].as_u64().unwrap());
    for (head, deltas) in &tracks.heads {
        let theirs: Vec<f32> =
            reference["heads"][head].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let worst = deltas.iter().zip(&theirs).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!("enformer {head}: max |ours − enformer-pytorch| = {worst:.2e}");
        assert_eq!(deltas.len(), theirs.len());
        assert!(worst <= 1e-4, "enformer {head}: track Δ differs from enformer-pytorch's by {worst}");
    }
}

#[test]
fn a_bad_record_is_refused_and_the_scorer_goes_on() {
    let model = tiny_model();
    let mut gene = tp73();
    gene.transcripts.retain(|t| t.id == "NM_001126240.3");
    let scorer =
        pollster::block_on(GeneScorer::new(&model, gene, WindowStrand::Genome, RunOptions::default())).unwrap();
    let variants: Vec<Variant> = tp73_variants().into_iter().flatten().collect();
    let mismatch = variants.iter().find(|v| v.id == "ref_mismatch").unwrap();
    let error = pollster::block_on(scorer.score(mismatch)).unwrap_err();
    assert_eq!(error.code(), "REF_MISMATCH");
    assert!(error.to_string().contains("ref_mismatch") || error.to_string().contains("VCF record"), "{error}");
    let synonymous = variants.iter().find(|v| v.id == "synonymous_snv").unwrap();
    let score = pollster::block_on(scorer.score(synonymous)).unwrap();
    assert_eq!(score.transcripts[0].effect.consequences, vec!["synonymous_variant"]);
    assert_eq!(score.transcripts[0].esm_llr, None, "no missense change, no ESM-2 score");
}

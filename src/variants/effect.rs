//! What one variant does to one transcript: its alternate RNA, protein and DNA window (built by
//! the same code as the reference's, on the edited sequence with the transcript's boundaries
//! moved by the edit) and its consequences, named with Sequence Ontology terms as VEP names them.

use std::ops::Range;

use serde::Serialize;

use crate::variants::gene::{
    Strand, Transcript, WINDOW_LENGTH, WindowStrand, splice, translate, window_around, window_start,
};
use crate::variants::vcf::Edit;

/// A transcript's reference sequences, built once per gene and shared by every variant.
#[derive(Debug, Clone)]
pub struct Reference {
    pub rna: String,
    pub protein: Option<String>,
    /// The CDS in the RNA: its first base and its length (stop codon included when annotated).
    pub cds: Option<Range<usize>>,
}

impl Reference {
    pub fn of(transcript: &Transcript, genome: &[u8]) -> Reference {
        let rna = transcript.rna(genome);
        let cds = transcript.cds.as_ref().zip(transcript.cds_boundary()).map(|(cds, boundary)| {
            let start = transcript.cds_start_in_rna(&transcript.exons, boundary);
            start..start + cds.segments.iter().map(|s| s.len()).sum::<usize>()
        });
        Reference { protein: transcript.protein(genome), rna, cds }
    }
}

/// One variant on one transcript.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    /// Sequence Ontology terms, most severe first.
    pub consequences: Vec<&'static str>,
    /// `R248W` (missense; several joined by `,`), `R248*`, `R248fs`, `=` (synonymous)…
    pub protein_change: Option<String>,
    /// Amino-acid substitutions (0-based position, reference, alternate) when the protein keeps its length.
    #[serde(skip)]
    pub substitutions: Vec<(usize, char, char)>,
    #[serde(skip)]
    pub rna: String,
    #[serde(skip)]
    pub protein: Option<String>,
    /// Whether the edit lies inside the transcript's DNA window (else the window is unchanged).
    pub in_window: bool,
}

impl Effect {
    pub fn rna_changed(&self, reference: &Reference) -> bool {
        self.rna != reference.rna
    }

    pub fn protein_changed(&self, reference: &Reference) -> bool {
        self.protein != reference.protein
    }
}

/// The alternate window of `transcript` (its TSS moved by the edit, still at the centre).
pub fn alternate_window(transcript: &Transcript, edit: &Edit, alternate_genome: &[u8], strand: WindowStrand) -> String {
    let tss = match transcript.strand {
        Strand::Forward => edit.lift_start(transcript.tss()),
        Strand::Reverse => edit.lift_end(transcript.tss() + 1).saturating_sub(1),
    };
    window_around(alternate_genome, tss, transcript.read_reverse(strand))
}

/// Whether `edit` changes `transcript`'s DNA window.
pub fn in_window(transcript: &Transcript, edit: &Edit, strand: WindowStrand) -> bool {
    let start = window_start(transcript.tss(), transcript.read_reverse(strand));
    let window = start..start + WINDOW_LENGTH as i64;
    let (a, b) = (edit.start as i64, edit.end as i64);
    if a == b { window.start < a && a < window.end } else { a < window.end && b > window.start }
}

/// The effect of `edit` on `transcript`; `alternate_genome` is the record's sequence with it applied.
pub fn effect(
    transcript: &Transcript,
    reference: &Reference,
    edit: &Edit,
    alternate_genome: &[u8],
    strand: WindowStrand,
) -> Effect {
    let exons: Vec<Range<usize>> = transcript
        .exons
        .iter()
        .map(|e| edit.lift_start(e.start)..edit.lift_end(e.end))
        .filter(|e| e.start < e.end)
        .collect();
    let rna = splice(alternate_genome, &exons, transcript.strand);
    let start_codon = |rna: &str, at: usize| rna.as_bytes().get(at..at + 3).map(<[u8]>::to_vec);
    let (protein, start_lost) = match (&reference.cds, transcript.cds_boundary()) {
        (Some(cds), Some(boundary)) => {
            let boundary = match transcript.strand {
                Strand::Forward => edit.lift_start(boundary),
                Strand::Reverse => edit.lift_end(boundary),
            };
            let at = transcript.cds_start_in_rna(&exons, boundary);
            let start_lost = start_codon(&rna, at) != start_codon(&reference.rna, cds.start);
            // A lost start codon: translation taken from the next ATG (the scanning ribosome's
            // first), in any frame; nothing when there is none.
            let from = if start_lost { rna.get(at..).and_then(|r| r.find("ATG")).map(|i| at + i) } else { Some(at) };
            let protein = from.map(|from| translate(&rna.as_bytes()[from..], true)).unwrap_or_default();
            (Some(protein), start_lost)
        }
        _ => (None, false),
    };
    let mut effect = Effect {
        consequences: Vec::new(),
        protein_change: None,
        substitutions: Vec::new(),
        in_window: in_window(transcript, edit, strand),
        rna,
        protein,
    };
    classify(transcript, reference, edit, start_lost, &mut effect);
    effect
}

/// Fills in the consequences: where the edit falls (flanks, splice sites, intron) from its
/// coordinates, what it does to the RNA and protein from the sequences.
fn classify(transcript: &Transcript, reference: &Reference, edit: &Edit, start_lost: bool, effect: &mut Effect) {
    // An insertion touches the two bases around it.
    let span = if edit.start == edit.end { edit.start.saturating_sub(1)..edit.start + 1 } else { edit.start..edit.end };
    let overlaps = |r: Range<usize>| span.start < r.end && r.start < span.end;
    let tx = transcript.span();
    let forward = transcript.strand == Strand::Forward;
    let mut terms: Vec<&'static str> = Vec::new();
    if span.end <= tx.start || span.start >= tx.end {
        let before = span.end <= tx.start;
        terms.push(if before == forward { "upstream_gene_variant" } else { "downstream_gene_variant" });
        effect.consequences = terms;
        return;
    }
    let mut splice_region = false;
    for pair in transcript.exons.windows(2) {
        let (a, b) = (pair[0].end, pair[1].start);
        // (Saturating: adjacent or overlapping exons, as a malformed annotation may give, leave empty ranges.)
        let (donor, acceptor) =
            if forward { (a..a + 2, b.saturating_sub(2)..b) } else { (b.saturating_sub(2)..b, a..a + 2) };
        if overlaps(donor) {
            terms.push("splice_donor_variant");
        }
        if overlaps(acceptor) {
            terms.push("splice_acceptor_variant");
        }
        splice_region |= [a.saturating_sub(3)..a, b..b + 3, a + 2..a + 8, b.saturating_sub(8)..b.saturating_sub(2)]
            .into_iter()
            .any(|r| r.start < r.end && overlaps(r));
    }
    if !effect.rna_changed(reference) {
        if terms.is_empty() {
            terms.push("intron_variant");
        }
    } else {
        terms.extend(coding_terms(reference, start_lost, effect));
    }
    if splice_region && !terms.iter().any(|t| t.starts_with("splice_")) {
        terms.push("splice_region_variant");
    }
    effect.consequences = terms;
}

/// The consequences of a change of the RNA (and its protein).
fn coding_terms(reference: &Reference, start_lost: bool, effect: &mut Effect) -> Vec<&'static str> {
    let (Some(cds), Some(ref_protein), Some(alt_protein)) = (&reference.cds, &reference.protein, &effect.protein)
    else {
        return vec!["non_coding_transcript_exon_variant"];
    };
    let (old, new) = (reference.rna.as_bytes(), effect.rna.as_bytes());
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old.iter().rev().zip(new.iter().rev()).take_while(|(a, b)| a == b).count().min(room);
    let changed = prefix..old.len() - suffix;
    if changed.end <= cds.start && changed.start < cds.start {
        return vec!["5_prime_UTR_variant"];
    }
    if changed.start >= cds.end {
        return vec!["3_prime_UTR_variant"];
    }
    let delta = new.len() as i64 - old.len() as i64;
    let stop_codon = cds.end.saturating_sub(3)..cds.end;
    let touches_stop = changed.start < stop_codon.end && stop_codon.start < changed.end.max(changed.start + 1);
    let first_difference = ref_protein.chars().zip(alt_protein.chars()).take_while(|(a, b)| a == b).count();
    let residue = |i: usize| ref_protein.chars().nth(i).map_or("*".to_string(), |c| c.to_string());
    let at = |suffix: &str| format!("{}{}{suffix}", residue(first_difference), first_difference + 1);
    if start_lost {
        effect.protein_change = Some("M1?".into());
        return vec!["start_lost"];
    }
    if delta % 3 != 0 {
        effect.protein_change = Some(at("fs"));
        return vec!["frameshift_variant"];
    }
    if ref_protein == alt_protein {
        effect.protein_change = Some("=".into());
        return vec![if touches_stop { "stop_retained_variant" } else { "synonymous_variant" }];
    }
    let expected = ref_protein.len() as i64 + delta / 3;
    let length = alt_protein.len() as i64;
    if length < expected {
        effect.protein_change = Some(at("*"));
        return vec!["stop_gained"];
    }
    if length > expected && touches_stop {
        effect.protein_change = Some(at("ext"));
        return vec!["stop_lost"];
    }
    if delta == 0 {
        effect.substitutions = ref_protein
            .chars()
            .zip(alt_protein.chars())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| (i, a, b))
            .collect();
        let names: Vec<String> = effect.substitutions.iter().map(|(i, a, b)| format!("{a}{}{b}", i + 1)).collect();
        effect.protein_change = Some(names.join(","));
        return vec!["missense_variant"];
    }
    effect.protein_change = Some(at(if delta > 0 { "ins" } else { "del" }));
    vec![if delta > 0 { "inframe_insertion" } else { "inframe_deletion" }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variants::gene::Cds;

    /// A forward gene: exon 1 = 10..30 (CDS from 20), intron 30..50, exon 2 = 50..80 (CDS to 61, stop TAA at 58).
    fn gene() -> (Vec<u8>, Transcript) {
        let mut genome = vec![b'C'; 100];
        // ATG AAA CGT T|GG CGA TGG TAA: M K R W R W, stop.
        genome[20..30].copy_from_slice(b"ATGAAACGTT");
        genome[30..32].copy_from_slice(b"GT");
        genome[48..50].copy_from_slice(b"AG");
        genome[50..62].copy_from_slice(b"GGCGATGGTAAC");
        let transcript = Transcript {
            id: "t".into(),
            gene: "g".into(),
            kind: "mRNA".into(),
            strand: Strand::Forward,
            exons: vec![10..30, 50..80],
            cds: Some(Cds { segments: vec![20..30, 50..61], protein_id: None, translation: None }),
        };
        (genome, transcript)
    }

    fn run(position: usize, reference: &[u8], alternate: &[u8]) -> Effect {
        let (genome, transcript) = gene();
        assert_eq!(&genome[position..position + reference.len()], reference);
        let edit = Edit { start: position, end: position + reference.len(), alt: alternate.to_vec() };
        let edit = if reference.is_empty() { Edit { end: position, ..edit } } else { edit };
        let reference = Reference::of(&transcript, &genome);
        assert_eq!(reference.protein.as_deref(), Some("MKRWRW"));
        effect(&transcript, &reference, &edit, &edit.apply(&genome), WindowStrand::Genome)
    }

    #[test]
    fn coding_changes_are_named() {
        let missense = run(23, b"A", b"G"); // AAA (K) → GAA (E)
        assert_eq!(
            (missense.consequences.clone(), missense.protein_change.clone()),
            (vec!["missense_variant"], Some("K2E".into()))
        );
        assert_eq!(missense.substitutions, vec![(1, 'K', 'E')]);
        assert_eq!(run(25, b"A", b"G").consequences, vec!["synonymous_variant"]);
        assert_eq!(run(23, b"A", b"T").consequences, vec!["stop_gained"]); // TAA
        assert_eq!(run(24, b"A", b"").consequences, vec!["frameshift_variant"]);
        assert_eq!(run(23, b"AAA", b"").consequences, vec!["inframe_deletion"]);
        assert_eq!(run(21, b"T", b"C").consequences, vec!["start_lost"]);
        assert_eq!(run(15, b"C", b"A").consequences, vec!["5_prime_UTR_variant"]);
        assert_eq!(run(70, b"C", b"A").consequences, vec!["3_prime_UTR_variant"]);
        assert_eq!(run(60, b"A", b"C").consequences, vec!["stop_lost"]); // TAA → TCA
    }

    #[test]
    fn non_coding_positions_are_named() {
        assert_eq!(run(40, b"C", b"A").consequences, vec!["intron_variant"]);
        assert_eq!(run(31, b"T", b"A").consequences, vec!["splice_donor_variant"]);
        assert_eq!(run(49, b"G", b"A").consequences, vec!["splice_acceptor_variant"]);
        assert_eq!(run(5, b"C", b"A").consequences, vec!["upstream_gene_variant"]);
        assert_eq!(run(90, b"C", b"A").consequences, vec!["downstream_gene_variant"]);
        // A deletion across the exon 1 / intron boundary: the donor is hit and the exon loses its last base.
        let across = run(29, b"TGT", b"");
        assert!(across.consequences.contains(&"splice_donor_variant"), "{:?}", across.consequences);
        assert_eq!(across.rna.len(), 49);
    }
}

//! Reading a gene's annotation, whichever format it comes in (GenBank, or GFF3/GTF with the
//! sequence as FASTA), and what the readers share: pairing an mRNA with its CDS, and the
//! chromosome names a RefSeq accession stands for.

use std::ops::Range;

use crate::error::Result;
use crate::variants::gene::{Cds, GeneRecord, Strand, Transcript, translate};
use crate::variants::{genbank, gff};

/// A gene's annotation as the user gave it.
pub enum Annotation<'a> {
    /// GenBank text: features and sequence in one record.
    GenBank(&'a [u8]),
    /// GFF3 or GTF text (told apart by their attribute syntax) and the FASTA of its sequence.
    Gff { features: &'a [u8], fasta: &'a [u8] },
}

impl Annotation<'_> {
    pub fn read(&self) -> Result<GeneRecord> {
        let gene = match self {
            Annotation::GenBank(text) => genbank::read_genbank(text)?,
            Annotation::Gff { features, fasta } => gff::read_gff(features, fasta)?,
        };
        gene.check_sequence()?;
        gene.check_coordinates()?;
        Ok(gene)
    }
}

/// The CDS of an mRNA among a record's CDS features: one on its strand whose segments are the
/// mRNA's exons cut to the CDS span, preferring the one whose stop is the mRNA's first in-frame
/// stop from its start, then a protein id of the mRNA's kind (NM_ → NP_, XM_ → XP_), then the
/// first in the file.
pub fn pair_cds(transcript: &Transcript, genome: &[u8], candidates: &[(Strand, Cds)]) -> Option<Cds> {
    let rna = transcript.rna(genome);
    let prefix = transcript.id.get(..1).unwrap_or_default();
    let mut best: Option<(u8, &Cds)> = None;
    for (strand, cds) in candidates {
        if *strand != transcript.strand || !fits(&transcript.exons, &cds.segments) {
            continue;
        }
        let start = match transcript.strand {
            Strand::Forward => cds.segments[0].start,
            Strand::Reverse => cds.segments[cds.segments.len() - 1].end,
        };
        let offset = transcript.cds_start_in_rna(&transcript.exons, start);
        let length: usize = cds.segments.iter().map(|s| s.len()).sum();
        let protein = translate(rna.as_bytes().get(offset..).unwrap_or_default(), true);
        let stops_there = protein.len() * 3 + 3 == length || protein.len() * 3 == length;
        let same_kind = cds.protein_id.as_deref().is_some_and(|id| id.starts_with(prefix));
        let score = 2 * stops_there as u8 + same_kind as u8;
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, cds));
        }
    }
    best.map(|(_, cds)| cds.clone())
}

/// Whether `cds` is `exons` cut to the CDS's span (so its introns are the mRNA's).
fn fits(exons: &[Range<usize>], cds: &[Range<usize>]) -> bool {
    let (Some(first), Some(last)) = (cds.first(), cds.last()) else { return false };
    let cut: Vec<Range<usize>> =
        exons.iter().map(|e| e.start.max(first.start)..e.end.min(last.end)).filter(|r| r.start < r.end).collect();
    cut == cds
}

/// The chromosome a RefSeq chromosome accession stands for (NC_000001 → 1 … NC_000023 → X,
/// NC_000024 → Y, NC_012920 → MT; with or without a version), so a VCF's `chr1` finds it.
pub fn refseq_chromosome(accession: &str) -> Option<String> {
    let number = accession.strip_prefix("NC_")?.split('.').next()?;
    if number == "012920" {
        return Some("MT".into());
    }
    match number.strip_prefix("0000")?.parse::<u32>().ok()? {
        n @ 1..=22 => Some(n.to_string()),
        23 => Some("X".into()),
        24 => Some("Y".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refseq_accessions_name_their_chromosome() {
        assert_eq!(refseq_chromosome("NC_000001.11").as_deref(), Some("1"));
        assert_eq!(refseq_chromosome("NC_000023").as_deref(), Some("X"));
        assert_eq!(refseq_chromosome("NC_012920.1").as_deref(), Some("MT"));
        assert_eq!(refseq_chromosome("NM_005427.4"), None);
    }

    #[test]
    fn a_sequence_of_anything_but_letters_is_refused() {
        let features =
            b"##gff-version 3\nchr1\t.\tmRNA\t1\t12\t.\t+\t.\tID=tx1\nchr1\t.\texon\t1\t12\t.\t+\t.\tParent=tx1\n";
        let read = |fasta: &[u8]| Annotation::Gff { features, fasta }.read();
        assert_eq!(read(b">chr1\nACGTACGTACGT\n").unwrap().transcripts[0].rna(b"ACGTACGTACGT"), "ACGTACGTACGT");
        // What the fuzzer found (fuzz/corpus/gff/regression-sequence-not-letters): a character of
        // several UTF-8 bytes (U+FFFD) in the FASTA; an exon cut through it had an empty RNA.
        for (fasta, shown, base) in [
            (">chr1\nACGTAC\u{FFFD}GTACG\n".as_bytes(), "byte 0xEF", 7),
            (b">chr1\nACGTACGTAC-T\n".as_slice(), "'-'", 11),
            (b">chr1\nACGTACGT ACGT\n", "byte 0x20", 9),
        ] {
            let result = read(fasta);
            let Err(crate::Error::Annotation(message)) = result else { panic!("{fasta:?}: {result:?}") };
            assert!(message.contains(&format!("base {base} ")) && message.contains(shown), "{message}");
        }
    }

    #[test]
    fn a_cds_fits_the_exons_it_is_cut_from() {
        assert!(fits(&[0..10, 20..30, 40..50], &[5..10, 20..30, 40..45]));
        assert!(!fits(&[0..10, 20..30, 40..50], &[5..10, 40..45]));
        assert!(!fits(&[0..10, 20..30], &[5..12, 20..25]));
    }
}

//! A gene's annotated sequence and its transcripts: the spliced RNA, the CDS translation and the
//! DNA window IsoFormer reads, built from coordinates on the record's forward strand (0-based,
//! half-open). Every builder takes the genome as an argument, so the same code builds the
//! reference sequences and, after a variant ([`crate::variants::effect`]), the alternate ones.

use std::ops::Range;

use serde::Serialize;

use crate::error::{Error, Result};

/// Enformer's input length: the DNA window IsoFormer reads, centred on the transcript's TSS.
pub const WINDOW_LENGTH: usize = 196_608;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Strand {
    #[serde(rename = "+")]
    Forward,
    #[serde(rename = "-")]
    Reverse,
}

/// Which strand the DNA window is read on. Enformer was trained on the reference's forward strand
/// (with reverse-complement augmentation); IsoFormer's dataset takes the window around the TSS and
/// whether it reverse-complements minus-strand genes is not confirmed (docs/variants.md), so
/// `Genome` (the forward strand, as the reference FASTA reads) is the default and `Transcript`
/// (minus-strand windows reverse-complemented) the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum WindowStrand {
    #[default]
    Genome,
    Transcript,
}

/// The coding part of a transcript: its segments on the record (ascending), the protein the
/// record gives (`/translation`, checked against ours by the tests) and its id.
#[derive(Debug, Clone, Serialize)]
pub struct Cds {
    pub segments: Vec<Range<usize>>,
    pub protein_id: Option<String>,
    #[serde(skip)]
    pub translation: Option<String>,
}

/// One transcript isoform: its exons on the record (ascending, non-overlapping) and strand.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub id: String,
    pub gene: String,
    /// The feature kind: `mRNA`, `ncRNA`, `transcript`…
    pub kind: String,
    pub strand: Strand,
    pub exons: Vec<Range<usize>>,
    pub cds: Option<Cds>,
}

/// An annotated genomic sequence: upper-case bases, where base 0 sits on the chromosome
/// (`offset`: VCF position − 1 − index), the names a VCF's CHROM may give it, and its transcripts.
#[derive(Debug, Clone)]
pub struct GeneRecord {
    pub name: String,
    pub sequence: Vec<u8>,
    pub offset: u64,
    pub aliases: Vec<String>,
    pub transcripts: Vec<Transcript>,
}

impl GeneRecord {
    /// Only the transcripts of `gene` (an error naming the genes there are when none match).
    pub fn keep_gene(&mut self, gene: &str) -> Result<()> {
        let genes: std::collections::BTreeSet<String> = self.transcripts.iter().map(|t| t.gene.clone()).collect();
        self.transcripts.retain(|t| t.gene == gene);
        if self.transcripts.is_empty() {
            let genes: Vec<String> = genes.into_iter().collect();
            return Err(Error::Annotation(format!(
                "no transcript of gene {gene:?}; the record has {}",
                genes.join(", ")
            )));
        }
        Ok(())
    }

    /// Refuses a record whose features do not lie on its sequence (a record cut short, a wrong
    /// FASTA for a GFF): every transcript has exons, and every exon and CDS segment is a non-empty
    /// range within the sequence, so splicing and windows never read past it.
    pub fn check_coordinates(&self) -> Result<()> {
        let length = self.sequence.len();
        for transcript in &self.transcripts {
            let segments = transcript.cds.iter().flat_map(|cds| &cds.segments);
            let outside = transcript.exons.iter().chain(segments).find(|r| r.start >= r.end || r.end > length);
            if transcript.exons.is_empty() || outside.is_some() {
                return Err(Error::Annotation(format!(
                    "transcript {}: {} lies outside the record's sequence ({length} bp); is the sequence complete?",
                    transcript.id,
                    outside.map_or("no exon".to_string(), |r| format!("{}..{}", r.start + 1, r.end)),
                )));
            }
        }
        Ok(())
    }

    /// Refuses a sequence with anything but letters (IUPAC codes): a FASTA line keeps whatever it
    /// holds, and splicing, translation and windows read one byte per base.
    pub fn check_sequence(&self) -> Result<()> {
        let Some(at) = self.sequence.iter().position(|b| !b.is_ascii_alphabetic()) else { return Ok(()) };
        let byte = self.sequence[at];
        let shown = if byte.is_ascii_graphic() { format!("'{}'", byte as char) } else { format!("byte 0x{byte:02X}") };
        Err(Error::Annotation(format!(
            "base {} of the record's sequence is {shown}, not a letter (IUPAC nucleotide codes)",
            at + 1
        )))
    }

    /// Whether a VCF CHROM names this record: its name or an alias, with or without `chr`.
    pub fn is_named(&self, chrom: &str) -> bool {
        let bare = |name: &str| name.strip_prefix("chr").unwrap_or(name).to_ascii_lowercase();
        let chrom = bare(chrom);
        std::iter::once(&self.name).chain(&self.aliases).any(|name| bare(name) == chrom)
    }
}

impl Transcript {
    /// The first transcribed base on the record (0-based): the TSS.
    pub fn tss(&self) -> usize {
        match self.strand {
            Strand::Forward => self.exons[0].start,
            Strand::Reverse => self.exons[self.exons.len() - 1].end - 1,
        }
    }

    /// The record span from the first to the last exon base.
    pub fn span(&self) -> Range<usize> {
        self.exons[0].start..self.exons[self.exons.len() - 1].end
    }

    /// The spliced RNA on `genome` (A C G T, 5′→3′), exons as given.
    pub fn rna(&self, genome: &[u8]) -> String {
        splice(genome, &self.exons, self.strand)
    }

    /// Where the CDS starts in the spliced RNA (its first base, 0-based) given the exons and the
    /// CDS's first codon boundary on the record (forward: its start; reverse: its end).
    pub fn cds_start_in_rna(&self, exons: &[Range<usize>], cds_boundary: usize) -> usize {
        exons
            .iter()
            .map(|exon| match self.strand {
                Strand::Forward => exon.end.min(cds_boundary).saturating_sub(exon.start),
                Strand::Reverse => exon.end.saturating_sub(exon.start.max(cds_boundary)),
            })
            .sum()
    }

    /// The CDS's first-codon boundary on the record (forward: its first base; reverse: one past
    /// its last base), the coordinate a variant moves.
    pub fn cds_boundary(&self) -> Option<usize> {
        let cds = self.cds.as_ref()?;
        Some(match self.strand {
            Strand::Forward => cds.segments[0].start,
            Strand::Reverse => cds.segments[cds.segments.len() - 1].end,
        })
    }

    /// The reference protein: the CDS translated to its first stop (not included).
    pub fn protein(&self, genome: &[u8]) -> Option<String> {
        let cds = self.cds.as_ref()?;
        Some(translate(splice(genome, &cds.segments, self.strand).as_bytes(), true))
    }

    /// The 196,608-bp DNA window centred on the TSS (base `WINDOW_LENGTH / 2` is the TSS in the
    /// orientation read), N beyond the record's ends.
    pub fn window(&self, genome: &[u8], strand: WindowStrand) -> String {
        window_around(genome, self.tss(), self.read_reverse(strand))
    }

    /// Whether the window is read reverse-complemented.
    pub fn read_reverse(&self, strand: WindowStrand) -> bool {
        strand == WindowStrand::Transcript && self.strand == Strand::Reverse
    }
}

/// The window's first base on the record (may be negative: N padding) for a TSS at `tss`, so
/// that the TSS lands on base `WINDOW_LENGTH / 2` of the orientation read.
pub fn window_start(tss: usize, reverse: bool) -> i64 {
    let half = (WINDOW_LENGTH / 2) as i64;
    if reverse { tss as i64 - half + 1 } else { tss as i64 - half }
}

/// `WINDOW_LENGTH` bases of `genome` from [`window_start`], N outside it, reverse-complemented
/// when `reverse`.
pub fn window_around(genome: &[u8], tss: usize, reverse: bool) -> String {
    let start = window_start(tss, reverse);
    let end = start + WINDOW_LENGTH as i64;
    // N before the genome, the bases on it copied whole, N after it (not a branch per base).
    let before = (-start).clamp(0, WINDOW_LENGTH as i64) as usize;
    let (from, to) = (start.max(0), end.min(genome.len() as i64));
    let inside = if from < to { &genome[from as usize..to as usize] } else { &[][..] };
    let mut bases = Vec::with_capacity(WINDOW_LENGTH);
    bases.resize(before, b'N');
    bases.extend_from_slice(inside);
    bases.resize(WINDOW_LENGTH, b'N');
    let bases = if reverse { reverse_complement(&bases) } else { bases };
    String::from_utf8(bases).unwrap_or_default()
}

/// The bases of `segments` (ascending on the record) joined, reverse-complemented on the minus strand.
pub fn splice(genome: &[u8], segments: &[Range<usize>], strand: Strand) -> String {
    let mut bases: Vec<u8> = segments
        .iter()
        .flat_map(|s| genome[s.start.min(genome.len())..s.end.min(genome.len())].iter().copied())
        .collect();
    if strand == Strand::Reverse {
        bases = reverse_complement(&bases);
    }
    String::from_utf8(bases).unwrap_or_default()
}

pub fn reverse_complement(bases: &[u8]) -> Vec<u8> {
    bases.iter().rev().map(|&b| COMPLEMENT[b as usize]).collect()
}

/// Each byte's complement: A↔T, C↔G, any other byte itself (a table, not a branch per base).
const COMPLEMENT: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte as u8;
        byte += 1;
    }
    table[b'A' as usize] = b'T';
    table[b'T' as usize] = b'A';
    table[b'C' as usize] = b'G';
    table[b'G' as usize] = b'C';
    table
};

/// The standard genetic code (NCBI table 1) in TCAG order: codon index 16·i + 4·j + k.
const CODE: &[u8; 64] = b"FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG";

/// The amino acid of one codon (`X` when it has a base other than A C G T).
pub fn codon_amino_acid(codon: &[u8]) -> u8 {
    let digit = |b: u8| match b {
        b'T' => Some(0),
        b'C' => Some(1),
        b'A' => Some(2),
        b'G' => Some(3),
        _ => None,
    };
    match (digit(codon[0]), digit(codon[1]), digit(codon[2])) {
        (Some(i), Some(j), Some(k)) => CODE[16 * i + 4 * j + k],
        _ => b'X',
    }
}

/// Table 1's start codons: a CDS's first codon is read as M when it is one of these (as GenBank's
/// /translation and Biopython's `translate(cds=True)` do).
const START_CODONS: [&[u8]; 3] = [b"ATG", b"CTG", b"TTG"];

/// Translates codons up to the first stop (excluded) or the last whole codon; `as_cds`: the first
/// codon, when a start codon, is M.
pub fn translate(bases: &[u8], as_cds: bool) -> String {
    let mut protein = String::with_capacity(bases.len() / 3);
    for (index, codon) in bases.chunks_exact(3).enumerate() {
        let amino = codon_amino_acid(codon);
        if amino == b'*' {
            break;
        }
        let start = index == 0 && as_cds && START_CODONS.contains(&codon);
        protein.push(if start { 'M' } else { amino as char });
    }
    protein
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_follows_the_standard_code() {
        assert_eq!(translate(b"ATGGCCTTTTAAGGG", true), "MAF");
        assert_eq!(translate(b"CTGAAA", true), "MK");
        assert_eq!(translate(b"CTGAAA", false), "LK");
        assert_eq!(translate(b"ATGNNA", true), "MX");
    }

    #[test]
    fn a_minus_strand_transcript_is_spliced_reverse_complemented() {
        let genome = b"AAACCCGGGTTT";
        let transcript = Transcript {
            id: "t".into(),
            gene: "g".into(),
            kind: "mRNA".into(),
            strand: Strand::Reverse,
            exons: vec![0..3, 6..9],
            cds: None,
        };
        assert_eq!(transcript.rna(genome), "CCCTTT");
        assert_eq!(transcript.tss(), 8);
        let window = transcript.window(genome, WindowStrand::Transcript);
        assert_eq!(window.len(), WINDOW_LENGTH);
        // The TSS (G at 8, read as C) is base WINDOW_LENGTH / 2 of the reverse-complemented window.
        assert_eq!(&window[WINDOW_LENGTH / 2..WINDOW_LENGTH / 2 + 3], "CCC");
        let forward = transcript.window(genome, WindowStrand::Genome);
        assert_eq!(&forward[WINDOW_LENGTH / 2 - 2..WINDOW_LENGTH / 2 + 1], "GGG");
    }

    #[test]
    fn a_window_is_the_genome_base_by_base_with_n_off_it() {
        // A genome longer than the window, so windows can start before, inside and past it.
        let genome: Vec<u8> = (0..WINDOW_LENGTH + 5_000).map(|i| b"ACGTN"[i * 7 % 5]).collect();
        let half = WINDOW_LENGTH / 2;
        for tss in [0, 1, 17, half - 1, half, half + 1, genome.len() - half, genome.len() - 1, genome.len() + half + 3]
        {
            for reverse in [false, true] {
                let start = window_start(tss, reverse);
                let expected: Vec<u8> = (start..start + WINDOW_LENGTH as i64)
                    .map(|i| if i < 0 || i >= genome.len() as i64 { b'N' } else { genome[i as usize] })
                    .collect();
                let expected = if reverse {
                    expected
                        .iter()
                        .rev()
                        .map(|&b| match b {
                            b'A' => b'T',
                            b'T' => b'A',
                            b'C' => b'G',
                            b'G' => b'C',
                            b => b,
                        })
                        .collect()
                } else {
                    expected
                };
                assert_eq!(window_around(&genome, tss, reverse).as_bytes(), expected, "TSS {tss}, reverse {reverse}");
            }
        }
        assert_eq!(reverse_complement(b"ACGTNacgt-"), b"-tgcaNACGT");
    }
}

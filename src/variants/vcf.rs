//! VCF records (noodles-vcf) as variants: one per alternate allele (multi-allelic sites split),
//! each checked against the annotated sequence and turned into an [`Edit`] of it. A bad record is
//! a typed error naming it; the records after it are still read.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::variants::gene::GeneRecord;

/// One alternate allele of one VCF record.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// The record's line among the VCF's data lines (1-based).
    pub record: usize,
    /// The VCF ID, or `CHROM:POS:REF:ALT`.
    pub id: String,
    pub chrom: String,
    pub position: u64,
    pub reference: String,
    pub alternate: String,
}

impl Variant {
    /// How errors name this variant.
    pub fn label(&self) -> String {
        format!("VCF record {} ({}:{} {}>{})", self.record, self.chrom, self.position, self.reference, self.alternate)
    }
}

/// A variant on the record's sequence: `sequence[start..end]` becomes `alt` (0-based; the
/// alleles' shared first and last bases trimmed, so an insertion has `start == end`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub alt: Vec<u8>,
}

impl Edit {
    /// Checks `variant` against `gene` (its CHROM, its position on the record, its REF bases) and
    /// trims the alleles.
    pub fn new(gene: &GeneRecord, variant: &Variant) -> Result<Edit> {
        let invalid = |reason: String| Error::Variant { record: variant.label(), reason };
        if !gene.is_named(&variant.chrom) {
            let mut names = vec![gene.name.clone()];
            names.extend(gene.aliases.iter().cloned());
            return Err(invalid(format!("CHROM is not the annotated sequence ({})", names.join(", "))));
        }
        let reference = variant.reference.as_bytes().to_ascii_uppercase();
        let alternate = variant.alternate.as_bytes().to_ascii_uppercase();
        for (allele, what) in [(&reference, "REF"), (&alternate, "ALT")] {
            if allele.is_empty() || allele.iter().any(|b| !b"ACGTN".contains(b)) {
                return Err(invalid(format!(
                    "{what} {:?}: only sequence alleles (A C G T N) are scored, not symbolic or missing ones",
                    String::from_utf8_lossy(allele)
                )));
            }
        }
        let first = variant.position.checked_sub(1 + gene.offset).map(|p| p as usize);
        let covered = gene.offset + 1..=gene.offset + gene.sequence.len() as u64;
        let start = match first {
            Some(start) if start + reference.len() <= gene.sequence.len() => start,
            _ => {
                return Err(invalid(format!(
                    "position {} is outside the annotated sequence ({}..{})",
                    variant.position,
                    covered.start(),
                    covered.end()
                )));
            }
        };
        let found = &gene.sequence[start..start + reference.len()];
        if found != reference.as_slice() {
            return Err(Error::ReferenceMismatch {
                record: variant.label(),
                expected: String::from_utf8_lossy(found).into_owned(),
            });
        }
        let suffix = reference.iter().rev().zip(alternate.iter().rev()).take_while(|(a, b)| a == b).count();
        let (reference, alternate) = (&reference[..reference.len() - suffix], &alternate[..alternate.len() - suffix]);
        let prefix = reference.iter().zip(alternate).take_while(|(a, b)| a == b).count();
        if reference.len() == prefix && alternate.len() == prefix {
            return Err(invalid("ALT equals REF: nothing changes".into()));
        }
        Ok(Edit { start: start + prefix, end: start + reference.len(), alt: alternate[prefix..].to_vec() })
    }

    /// Length change (alt − ref).
    pub fn delta(&self) -> i64 {
        self.alt.len() as i64 - (self.end - self.start) as i64
    }

    /// The sequence with this edit applied.
    pub fn apply(&self, sequence: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity((sequence.len() as i64 + self.delta()).max(0) as usize);
        out.extend_from_slice(&sequence[..self.start]);
        out.extend_from_slice(&self.alt);
        out.extend_from_slice(&sequence[self.end..]);
        out
    }

    /// Where a feature's start boundary moves: bases inserted at it fall before the feature.
    pub fn lift_start(&self, x: usize) -> usize {
        if x < self.start {
            x
        } else if x >= self.end {
            (x as i64 + self.delta()) as usize
        } else {
            self.start + (x - self.start).min(self.alt.len())
        }
    }

    /// Where a feature's end boundary (exclusive) moves: bases inserted at it fall after the feature.
    pub fn lift_end(&self, x: usize) -> usize {
        if x <= self.start {
            x
        } else if x >= self.end {
            (x as i64 + self.delta()) as usize
        } else {
            self.start + (x - self.start).min(self.alt.len())
        }
    }
}

/// Reads VCF text: every data line's alleles, in order, each a variant or the error that names
/// its record. The header (`##` lines and `#CHROM`) may be absent, so typed lines work.
pub fn read_vcf(text: &str) -> Vec<Result<Variant>> {
    let mut out = Vec::new();
    let data = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    for (index, line) in data.enumerate() {
        let record = index + 1;
        match read_line(line, record) {
            Ok(variants) => out.extend(variants.into_iter().map(Ok)),
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

fn read_line(line: &str, record: usize) -> Result<Vec<Variant>> {
    let fields: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
    let invalid = |reason: String| Error::Variant {
        record: format!("VCF record {record} ({})", fields.iter().take(5).copied().collect::<Vec<_>>().join(" ")),
        reason,
    };
    if fields.len() < 5 {
        return Err(invalid(format!(
            "{} tab-separated fields; a VCF record has at least CHROM POS ID REF ALT",
            fields.len()
        )));
    }
    // noodles reads at least eight fields; typed lines often stop after ALT.
    let mut padded = fields.clone();
    padded.resize(padded.len().max(8), ".");
    let parsed = noodles_vcf::Record::try_from(padded.join("\t").as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let position = match parsed.variant_start() {
        Some(Ok(position)) => position.get() as u64,
        Some(Err(e)) => return Err(invalid(format!("POS: {e}"))),
        None => return Err(invalid("POS is missing".into())),
    };
    let chrom = parsed.reference_sequence_name().to_string();
    let reference = parsed.reference_bases().to_string();
    let ids: String = parsed.ids().as_ref().to_string();
    use noodles_vcf::variant::record::AlternateBases as _;
    let alternates: Vec<String> = parsed
        .alternate_bases()
        .iter()
        .map(|a| a.map(str::to_string))
        .collect::<std::io::Result<_>>()
        .map_err(|e| invalid(format!("ALT: {e}")))?;
    if alternates.is_empty() {
        return Err(invalid("ALT is missing ('.'): no variant to score".into()));
    }
    if let Some(same) = alternates.iter().find(|a| a.eq_ignore_ascii_case(&reference)) {
        return Err(invalid(format!("ALT {same} equals REF: no change to score")));
    }
    Ok(alternates
        .into_iter()
        .map(|alternate| Variant {
            record,
            id: match ids.as_str() {
                "." | "" => format!("{chrom}:{position}:{reference}:{alternate}"),
                ids => ids.to_string(),
            },
            chrom: chrom.clone(),
            position,
            reference: reference.clone(),
            alternate,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variants::gene::GeneRecord;

    fn gene() -> GeneRecord {
        GeneRecord {
            name: "NC_000001".into(),
            sequence: b"ACGTACGTAC".to_vec(),
            offset: 100,
            aliases: vec!["1".into()],
            transcripts: vec![],
        }
    }

    fn variant(position: u64, reference: &str, alternate: &str) -> Variant {
        Variant {
            record: 1,
            id: "v".into(),
            chrom: "chr1".into(),
            position,
            reference: reference.into(),
            alternate: alternate.into(),
        }
    }

    #[test]
    fn alleles_are_trimmed_to_what_changes() {
        let gene = gene();
        assert_eq!(Edit::new(&gene, &variant(102, "C", "T")).unwrap(), Edit { start: 1, end: 2, alt: b"T".to_vec() });
        // A deletion keeps VCF's anchor base out of the edit; an insertion is empty on the reference.
        assert_eq!(Edit::new(&gene, &variant(102, "CGT", "C")).unwrap(), Edit { start: 2, end: 4, alt: vec![] });
        assert_eq!(
            Edit::new(&gene, &variant(102, "C", "CAA")).unwrap(),
            Edit { start: 2, end: 2, alt: b"AA".to_vec() }
        );
    }

    #[test]
    fn bad_records_are_typed() {
        let gene = gene();
        assert_eq!(Edit::new(&gene, &variant(102, "G", "T")).unwrap_err().code(), "REF_MISMATCH");
        assert_eq!(Edit::new(&gene, &variant(100, "A", "T")).unwrap_err().code(), "INVALID_VARIANT");
        assert_eq!(Edit::new(&gene, &variant(110, "CA", "T")).unwrap_err().code(), "INVALID_VARIANT");
        assert_eq!(Edit::new(&gene, &variant(102, "C", "<DEL>")).unwrap_err().code(), "INVALID_VARIANT");
        let mut other = variant(102, "C", "T");
        other.chrom = "chr2".into();
        assert_eq!(Edit::new(&gene, &other).unwrap_err().code(), "INVALID_VARIANT");
    }

    #[test]
    fn multi_allelic_records_split_and_bad_lines_do_not_stop_the_rest() {
        let text = "##fileformat=VCFv4.3\n#CHROM\tPOS\tID\tREF\tALT\n1\t102\trs1\tC\tT,G\n1\tx\t.\tC\tT\n1\t103\n1\t104\t.\tT\tA\n";
        let read = read_vcf(text);
        assert_eq!(read.len(), 5);
        assert_eq!(read[0].as_ref().unwrap().alternate, "T");
        assert_eq!(read[1].as_ref().unwrap().alternate, "G");
        assert_eq!(read[2].as_ref().unwrap_err().code(), "INVALID_VARIANT");
        assert_eq!(read[3].as_ref().unwrap_err().code(), "INVALID_VARIANT");
        assert_eq!(read[4].as_ref().unwrap().id, "1:104:T:A");
    }

    #[test]
    fn edits_lift_feature_boundaries() {
        let deletion = Edit { start: 4, end: 6, alt: vec![] };
        assert_eq!((deletion.lift_start(5), deletion.lift_end(5), deletion.lift_end(8)), (4, 4, 6));
        let insertion = Edit { start: 4, end: 4, alt: b"AA".to_vec() };
        // Inserted bases at a boundary stay outside the feature on either side.
        assert_eq!((insertion.lift_start(4), insertion.lift_end(4)), (6, 4));
        assert_eq!(insertion.apply(b"ACGTACGT"), b"ACGTAAACGT");
    }
}

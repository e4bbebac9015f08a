//! A GenBank record (gb-io) as a [`GeneRecord`]: its RNA features (mRNA, ncRNA, …) are the
//! transcripts, each paired with the CDS feature whose segments are its coding exons.

use std::ops::Range;

use gb_io::seq::{Feature, Location, Seq};

use crate::error::{Error, Result};
use crate::variants::annotation::{pair_cds, refseq_chromosome};
use crate::variants::gene::{Cds, GeneRecord, Strand, Transcript};

/// Feature kinds read as transcripts.
const TRANSCRIPT_KINDS: [&str; 5] = ["mRNA", "ncRNA", "misc_RNA", "transcript", "lnc_RNA"];

/// Reads the first record of GenBank text that has transcripts.
pub fn read_genbank(text: &[u8]) -> Result<GeneRecord> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    // GenBank flat files are 7-bit ASCII; gb-io 0.9's parsers (nom 8 reading bytes as chars)
    // panicked at a final byte ≥ 0x80 (found by fuzzing, FUZZING.md), so such text is refused.
    if let Some(at) = text.iter().position(|b| !b.is_ascii()) {
        let line = text[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(Error::Annotation(format!(
            "GenBank: byte 0x{:02X} on line {line} is not ASCII (GenBank flat files are ASCII text)",
            text[at]
        )));
    }
    let records = gb_io::reader::parse_slice(text).map_err(|e| Error::Annotation(format!("GenBank: {e}")))?;
    if records.is_empty() {
        return Err(Error::Annotation("GenBank: no record (a LOCUS line starts one)".into()));
    }
    let mut last_error = None;
    for record in records {
        match gene_record(record) {
            Ok(gene) => return Ok(gene),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Annotation("GenBank: no record".into())))
}

fn gene_record(record: Seq) -> Result<GeneRecord> {
    let name = record.name.clone().unwrap_or_default();
    if record.seq.is_empty() {
        return Err(Error::Annotation(format!("GenBank record {name:?} has no sequence (ORIGIN)")));
    }
    let sequence = record.seq.to_ascii_uppercase();
    let (offset, mut aliases) = names(&record);
    for feature in record.features.iter().filter(|f| f.kind == "source") {
        aliases.extend(feature.qualifier_values("chromosome").map(str::to_string));
    }
    let qualifier = |feature: &Feature, key: &str| feature.qualifier_values(key).next().map(str::to_string);
    let mut cds = Vec::new();
    for feature in record.features.iter().filter(|f| f.kind == "CDS") {
        let (strand, mut segments) = segments(&feature.location, &name)?;
        let codon_start: usize = qualifier(feature, "codon_start").and_then(|c| c.parse().ok()).unwrap_or(1);
        // A partial CDS starts mid-codon: its first codon_start − 1 bases are not translated.
        let skip = codon_start.saturating_sub(1);
        match strand {
            Strand::Forward => segments[0].start += skip,
            Strand::Reverse => segments.last_mut().expect("non-empty").end -= skip,
        }
        let entry = Cds {
            segments,
            protein_id: qualifier(feature, "protein_id"),
            translation: qualifier(feature, "translation").map(|t| t.split_whitespace().collect()),
        };
        cds.push((strand, entry));
    }
    let mut transcripts = Vec::new();
    for (index, feature) in record.features.iter().filter(|f| TRANSCRIPT_KINDS.contains(&&*f.kind)).enumerate() {
        let (strand, exons) = segments(&feature.location, &name)?;
        let mut transcript = Transcript {
            id: qualifier(feature, "transcript_id")
                .or_else(|| qualifier(feature, "product"))
                .unwrap_or_else(|| format!("transcript_{}", index + 1)),
            gene: qualifier(feature, "gene").or_else(|| qualifier(feature, "locus_tag")).unwrap_or_default(),
            kind: feature.kind.to_string(),
            strand,
            exons,
            cds: None,
        };
        if transcript.kind == "mRNA" {
            transcript.cds = pair_cds(&transcript, &sequence, &cds);
        }
        transcripts.push(transcript);
    }
    if transcripts.is_empty() {
        return Err(Error::Annotation(format!(
            "GenBank record {name:?} has no transcript features ({})",
            TRANSCRIPT_KINDS.join(", ")
        )));
    }
    Ok(GeneRecord { name, sequence, offset, aliases, transcripts })
}

/// The chromosome offset (a `REGION: a..b` extract starts at `a`) and the record's other names:
/// the accession, its version, and for a RefSeq chromosome (NC_0000NN) the chromosome's name.
fn names(record: &Seq) -> (u64, Vec<String>) {
    let mut aliases = Vec::new();
    let mut offset = 0;
    if let Some(accession) = &record.accession {
        let mut words = accession.split_whitespace();
        if let Some(first) = words.next() {
            aliases.push(first.to_string());
        }
        if let Some(region) = accession.split("REGION:").nth(1) {
            let start = region.trim().split("..").next().and_then(|s| s.trim().parse::<u64>().ok());
            offset = start.map_or(0, |s| s.saturating_sub(1));
        }
    }
    aliases.extend(record.version.clone());
    let chromosomes: Vec<String> = aliases.iter().filter_map(|a| refseq_chromosome(a)).collect();
    aliases.extend(chromosomes);
    (offset, aliases)
}

/// A feature location as its strand and ascending 0-based segments (`join`, `complement`, and
/// `order`, read as `join`); an error naming the record for remote or ambiguous locations.
fn segments(location: &Location, record: &str) -> Result<(Strand, Vec<Range<usize>>)> {
    let mut parts: Vec<(Strand, Range<usize>)> = Vec::new();
    collect(location, Strand::Forward, &mut parts).map_err(|what| {
        Error::Annotation(format!("GenBank record {record:?}: location {location} ({what} is not supported)"))
    })?;
    let strand = parts[0].0;
    if parts.iter().any(|(s, _)| *s != strand) {
        return Err(Error::Annotation(format!("GenBank record {record:?}: location {location} mixes strands")));
    }
    let mut ranges: Vec<Range<usize>> = parts.into_iter().map(|(_, r)| r).collect();
    ranges.sort_by_key(|r| r.start);
    Ok((strand, ranges))
}

fn collect(location: &Location, strand: Strand, out: &mut Vec<(Strand, Range<usize>)>) -> Result<(), &'static str> {
    match location {
        Location::Range((start, _), (end, _)) if *start >= 0 && end > start => {
            out.push((strand, *start as usize..*end as usize));
            Ok(())
        }
        Location::Range(..) => Err("an empty range"),
        Location::Complement(inner) => {
            let flipped = if strand == Strand::Forward { Strand::Reverse } else { Strand::Forward };
            collect(inner, flipped, out)
        }
        Location::Join(parts) | Location::Order(parts) if !parts.is_empty() => {
            parts.iter().try_for_each(|part| collect(part, strand, out))
        }
        Location::Join(_) | Location::Order(_) => Err("an empty join"),
        Location::Between(..) => Err("a between-bases site"),
        Location::External(..) => Err("another record's location"),
        Location::Bond(_) | Location::OneOf(_) | Location::Gap(_) => Err("bond, one-of or gap"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = "LOCUS       TEST                      12 bp    DNA     linear   SYN 01-JAN-2000
FEATURES             Location/Qualifiers
     source          1..12
     mRNA            1..12
                     /gene=\"g\"
ORIGIN
        1 acgtacgtac gt
//
";

    #[test]
    fn a_byte_past_ascii_is_a_typed_error_naming_its_line() {
        assert_eq!(read_genbank(RECORD.as_bytes()).unwrap().transcripts.len(), 1);
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), RECORD.as_bytes()].concat();
        assert_eq!(read_genbank(&with_bom).unwrap().transcripts.len(), 1);
        // What the fuzzer found (fuzz/corpus/genbank/regression-non-ascii-byte): gb-io panicked on
        // a byte ≥ 0x80 that ends the text; a UTF-8 note is refused the same way.
        for (text, byte, line) in [
            (RECORD.replace("gt\n//\n", "gt\n//\n\u{AF}").into_bytes(), "0xC2", 9),
            (RECORD.replace("/gene=\"g\"", "/note=\"café\"").into_bytes(), "0xC3", 5),
            ([RECORD.as_bytes(), b"\xAF"].concat(), "0xAF", 9),
        ] {
            let Err(Error::Annotation(message)) = read_genbank(&text) else { panic!("{text:?} was read") };
            assert!(message.contains(byte) && message.contains(&format!("line {line} ")), "{message}");
        }
    }
}

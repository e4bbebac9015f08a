//! GFF3 (noodles-gff) or GTF (noodles-gtf) with the sequence as FASTA, as a [`GeneRecord`]:
//! transcripts are the features their exons and CDS name as parent (GFF3 `Parent`, GTF
//! `transcript_id`); GTF's `stop_codon` belongs to the CDS.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::tokenize::fasta::stream_sequences;
use crate::variants::annotation::refseq_chromosome;
use crate::variants::gene::{Cds, GeneRecord, Strand, Transcript};

/// One feature line, whichever format it came from.
struct Feature {
    seqid: String,
    kind: String,
    range: Range<usize>,
    strand: Option<Strand>,
    attributes: BTreeMap<String, Vec<String>>,
}

impl Feature {
    fn first(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(|v| v.first()).map(String::as_str)
    }
}

/// Transcript feature kinds (GFF3's column 3; GTF has `transcript`).
const TRANSCRIPT_KINDS: [&str; 7] =
    ["mRNA", "transcript", "ncRNA", "lnc_RNA", "lncRNA", "misc_RNA", "primary_transcript"];

/// Reads GFF3 or GTF (GTF when its attributes read `key "value";`) and the FASTA record its
/// transcripts lie on.
pub fn read_gff(features: &[u8], fasta: &[u8]) -> Result<GeneRecord> {
    let features = if looks_like_gtf(features) { read_gtf_lines(features)? } else { read_gff3_lines(features)? };
    let seqids: Vec<&str> = {
        let mut ids: Vec<&str> = features.iter().filter(|f| f.kind == "exon").map(|f| f.seqid.as_str()).collect();
        ids.dedup();
        ids
    };
    let Some(&seqid) = seqids.first() else {
        return Err(Error::Annotation("GFF/GTF: no exon features".into()));
    };
    if seqids.iter().any(|s| *s != seqid) {
        return Err(Error::Annotation(format!(
            "GFF/GTF: exons on several sequences ({}); give one sequence's annotation",
            seqids.join(", ")
        )));
    }
    let mut sequence = None;
    for record in stream_sequences(fasta) {
        let record = record?;
        if record.id == seqid || record.id.split_whitespace().next() == Some(seqid) {
            sequence = Some(record.sequence.into_bytes().to_ascii_uppercase());
            break;
        }
    }
    let sequence = sequence.ok_or_else(|| Error::Annotation(format!("the FASTA has no record named {seqid:?}")))?;
    let transcripts = transcripts(&features, sequence.len())?;
    let aliases = refseq_chromosome(seqid).into_iter().collect();
    Ok(GeneRecord { name: seqid.to_string(), sequence, offset: 0, aliases, transcripts })
}

fn looks_like_gtf(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&text[..text.len().min(1 << 16)]);
    if text.lines().any(|l| l.starts_with("##gff-version")) {
        return false;
    }
    let record = text.lines().find(|l| !l.starts_with('#') && !l.trim().is_empty());
    record.and_then(|l| l.split('\t').nth(8)).is_some_and(|a| a.contains('"') && !a.contains('='))
}

fn strand(strand: noodles_gff::feature::record::Strand) -> Option<Strand> {
    match strand {
        noodles_gff::feature::record::Strand::Forward => Some(Strand::Forward),
        noodles_gff::feature::record::Strand::Reverse => Some(Strand::Reverse),
        _ => None,
    }
}

fn values(value: noodles_gff::feature::record::attributes::field::Value<'_>) -> Vec<String> {
    use noodles_gff::feature::record::attributes::field::Value;
    match value {
        Value::String(s) => vec![s.to_string()],
        Value::Array(array) => array.iter().filter_map(|v| v.ok()).map(|v| v.to_string()).collect(),
    }
}

fn line_error(format: &str, line: usize, e: impl std::fmt::Display) -> Error {
    Error::Annotation(format!("{format} line {line}: {e}"))
}

/// One feature line, read through noodles' format-neutral record (GFF3's and GTF's records both
/// implement it), 1-based closed positions made 0-based half-open. Generic rather than `dyn`: a
/// trait object would keep every method in the wasm module (`score` alone pulls in a float parser).
fn feature<R: noodles_gff::feature::Record>(record: &R, format: &str, line: usize) -> Result<Feature> {
    let error = |e: std::io::Error| line_error(format, line, e);
    let (start, end) = (record.feature_start().map_err(error)?.get(), record.feature_end().map_err(error)?.get());
    let mut attributes = BTreeMap::new();
    for field in record.attributes().iter() {
        let (key, value) = field.map_err(error)?;
        attributes.insert(key.to_string(), values(value));
    }
    Ok(Feature {
        seqid: record.reference_sequence_name().to_string(),
        kind: record.ty().to_string(),
        range: start - 1..end,
        strand: strand(record.strand().map_err(error)?),
        attributes,
    })
}

fn read_gff3_lines(text: &[u8]) -> Result<Vec<Feature>> {
    let mut reader = noodles_gff::io::Reader::new(text);
    let mut features = Vec::new();
    let mut line = noodles_gff::Line::default();
    let mut number = 0;
    loop {
        number += 1;
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(line_error("GFF3", number, e)),
        }
        if line.as_directive().is_some_and(|d| d.key() == "FASTA") {
            break;
        }
        let Some(record) = line.as_record() else { continue };
        features.push(feature(&record.map_err(|e| line_error("GFF3", number, e))?, "GFF3", number)?);
    }
    Ok(features)
}

fn read_gtf_lines(text: &[u8]) -> Result<Vec<Feature>> {
    let mut reader = noodles_gtf::io::Reader::new(text);
    let mut features = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| line_error("GTF", number, e))?;
        let Some(record) = line.as_record() else { continue };
        let record = record.map_err(|e| line_error("GTF", number, e))?;
        // noodles-gtf's format-neutral view unwraps the attributes' parse (a panic on a bad
        // field, found by fuzzing): parsed here first, so a bad field is this line's error.
        record.attributes().map_err(|e| line_error("GTF", number, e))?;
        features.push(feature(&record, "GTF", number)?);
    }
    Ok(features)
}

/// One transcript's pieces as the lines give them.
#[derive(Default)]
struct Parts {
    exons: Vec<Range<usize>>,
    cds: Vec<Range<usize>>,
    strand: Option<Strand>,
}

/// Groups exons and CDS under their transcript: GFF3 by `Parent` (the transcript's `ID`), GTF by
/// `transcript_id`.
fn transcripts(features: &[Feature], length: usize) -> Result<Vec<Transcript>> {
    let key = |f: &Feature| -> Vec<String> {
        match f.attributes.get("Parent") {
            Some(parents) => parents.clone(),
            None => f.first("transcript_id").map(|id| vec![id.to_string()]).unwrap_or_default(),
        }
    };
    let genes: BTreeMap<&str, &Feature> =
        features.iter().filter(|f| f.kind == "gene").filter_map(|f| Some((f.first("ID")?, f))).collect();
    let mut order: Vec<String> = Vec::new();
    let mut parts: BTreeMap<String, Parts> = BTreeMap::new();
    let mut headers: BTreeMap<String, &Feature> = BTreeMap::new();
    let mut first_parts: BTreeMap<String, &Feature> = BTreeMap::new();
    for feature in features {
        if TRANSCRIPT_KINDS.contains(&feature.kind.as_str()) {
            let id = feature.first("ID").or_else(|| feature.first("transcript_id"));
            if let Some(id) = id {
                headers.insert(id.to_string(), feature);
            }
            continue;
        }
        let is_exon = feature.kind == "exon";
        if !is_exon && feature.kind != "CDS" && feature.kind != "stop_codon" {
            continue;
        }
        if feature.range.end > length {
            return Err(Error::Annotation(format!(
                "{} {}..{} lies beyond the sequence's {length} bp",
                feature.kind,
                feature.range.start + 1,
                feature.range.end
            )));
        }
        for parent in key(feature) {
            if !parts.contains_key(&parent) {
                order.push(parent.clone());
                // GTF has no transcript line: the first exon's attributes name the gene.
                first_parts.insert(parent.clone(), feature);
            }
            let entry = parts.entry(parent).or_default();
            if is_exon { &mut entry.exons } else { &mut entry.cds }.push(feature.range.clone());
            entry.strand = entry.strand.or(feature.strand);
        }
    }
    let mut transcripts = Vec::new();
    for id in order {
        let Parts { mut exons, mut cds, strand } = parts.remove(&id).unwrap_or_default();
        if exons.is_empty() {
            continue;
        }
        let header = headers.get(&id).or(first_parts.get(&id)).copied();
        let strand = strand
            .or(header.and_then(|h| h.strand))
            .ok_or_else(|| Error::Annotation(format!("transcript {id:?} has no strand (+ or -) on its exons")))?;
        exons.sort_by_key(|r| r.start);
        cds.sort_by_key(|r| r.start);
        let cds = merge_adjacent(cds);
        let attribute = |key: &str| header.and_then(|h| h.first(key));
        let parent_gene =
            attribute("Parent").and_then(|p| genes.get(p)).and_then(|g| g.first("Name").or(g.first("gene_name")));
        let gene = parent_gene.or(attribute("gene_name")).or(attribute("gene")).or(attribute("gene_id"));
        let protein_id = attribute("protein_id").map(str::to_string);
        transcripts.push(Transcript {
            id: attribute("transcript_id").map(str::to_string).unwrap_or_else(|| {
                // Ensembl's GFF3 ids read `transcript:ENST…`.
                id.rsplit_once(':').map_or(id.clone(), |(_, bare)| bare.to_string())
            }),
            gene: gene.unwrap_or_default().to_string(),
            kind: headers.get(&id).map_or("transcript".to_string(), |h| h.kind.clone()),
            strand,
            exons,
            cds: (!cds.is_empty()).then_some(Cds { segments: cds, protein_id, translation: None }),
        });
    }
    if transcripts.is_empty() {
        return Err(Error::Annotation("GFF/GTF: no transcript with exons".into()));
    }
    Ok(transcripts)
}

/// GTF splits a CDS and its stop codon (and an exon boundary may split them again): touching
/// pieces are one segment.
fn merge_adjacent(ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

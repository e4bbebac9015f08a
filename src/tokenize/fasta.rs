//! FASTA input through noodles-fasta: headers and line breaks are handled here, so tokenizers
//! only ever see one sequence. Plain text without a `>` header is taken as a single sequence.

use crate::error::{Error, Result};

/// One named sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceRecord {
    pub id: String,
    pub sequence: String,
}

/// Reads FASTA text, or a bare sequence (surrounding whitespace trimmed; it is named `sequence`).
pub fn read_sequences(text: &str) -> Result<Vec<SequenceRecord>> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if !trimmed.starts_with('>') {
        return Ok(vec![SequenceRecord { id: "sequence".into(), sequence: trimmed.to_string() }]);
    }
    let mut reader = noodles_fasta::io::Reader::new(trimmed.as_bytes());
    let mut records = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::Fasta(format!("record {}: {e}", index + 1)))?;
        let id = String::from_utf8_lossy(record.name()).into_owned();
        let sequence = std::str::from_utf8(record.sequence().as_ref())
            .map_err(|_| Error::Fasta(format!("record {id:?} is not UTF-8 text")))?
            .to_string();
        records.push(SequenceRecord { id, sequence });
    }
    if records.is_empty() {
        return Err(Error::Fasta("no records".into()));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_line_records() {
        let records = read_sequences(">a first\nMKV\nLA\n>b\r\nGG\r\n").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0], SequenceRecord { id: "a".into(), sequence: "MKVLA".into() });
        assert_eq!(records[1].sequence, "GG");
    }

    #[test]
    fn bare_sequence_is_one_record() {
        assert_eq!(
            read_sequences("  MKV\n").unwrap(),
            vec![SequenceRecord { id: "sequence".into(), sequence: "MKV".into() }]
        );
    }

    #[test]
    fn header_without_sequence_is_empty_not_an_error_here() {
        // Emptiness is the tokenizer's typed error, which names the modality.
        assert_eq!(read_sequences(">x\n").unwrap()[0].sequence, "");
    }
}

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
    let records: Vec<SequenceRecord> = stream_sequences(trimmed.as_bytes()).collect::<Result<_>>()?;
    if records.is_empty() {
        return Err(Error::Fasta("no records".into()));
    }
    Ok(records)
}

/// Streams the records of FASTA read from `input` one at a time (gene sets of tens of thousands of
/// records without holding them): record `n`'s error names `n`, and a record's sequence is its
/// lines joined. The caller decides what a file without a `>` header is (see [`read_sequences`]).
pub fn stream_sequences<R: std::io::BufRead>(input: R) -> impl Iterator<Item = Result<SequenceRecord>> {
    let mut reader = noodles_fasta::io::Reader::new(input);
    let mut index = 0;
    std::iter::from_fn(move || {
        index += 1;
        let mut definition = noodles_fasta::record::Definition::default();
        match reader.read_definition(&mut definition) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(Error::Fasta(format!("record {index}: {e}")))),
        }
        let mut sequence = Vec::new();
        if let Err(e) = reader.read_sequence(&mut sequence) {
            return Some(Err(Error::Fasta(format!("record {index}: {e}"))));
        }
        let id = String::from_utf8_lossy(definition.name()).into_owned();
        Some(match String::from_utf8(sequence) {
            Ok(sequence) => Ok(SequenceRecord { id, sequence }),
            Err(_) => Err(Error::Fasta(format!("record {id:?} is not UTF-8 text"))),
        })
    })
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

    #[test]
    fn streamed_records_equal_read_records() {
        let text = ">a first\nMKV\nLA\n>b\r\nGG\r\n>c\n";
        let streamed: Vec<SequenceRecord> = stream_sequences(text.as_bytes()).collect::<Result<_>>().unwrap();
        assert_eq!(streamed, read_sequences(text).unwrap());
        let error = stream_sequences("no header\n".as_bytes()).next().unwrap().unwrap_err();
        assert_eq!(error.code(), "INVALID_FASTA");
    }
}

//! Sequence inputs too large to hold: a FASTA file streamed record by record ([`Source`]), or
//! looked up by record id through an index of where each record starts ([`FastaById`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use isoformer::{Error, Result, SequenceRecord, read_sequences, stream_sequences};

/// A record id as messages show it: at most 80 characters (a FASTA header can be megabytes).
pub fn shown_id(id: &str) -> String {
    match id.char_indices().nth(80) {
        Some((end, _)) => format!("{:?}… ({} bytes)", &id[..end], id.len()),
        None => format!("{id:?}"),
    }
}

/// A sequence argument: `@file` (streamed) or the text itself.
pub enum Source {
    File(PathBuf),
    Text(String),
}

impl Source {
    pub fn from_argument(argument: &str) -> Self {
        match argument.strip_prefix('@') {
            Some(path) => Source::File(PathBuf::from(path)),
            None => Source::Text(argument.to_string()),
        }
    }

    /// Every record, one at a time: FASTA is streamed; a bare sequence is one record.
    pub fn records(&self) -> Result<Box<dyn Iterator<Item = Result<SequenceRecord>>>> {
        let path = match self {
            Source::Text(text) => return Ok(Box::new(read_sequences(text)?.into_iter().map(Ok))),
            Source::File(path) => path,
        };
        let io = |e| Error::io(path.display(), e);
        let mut file = File::open(path).map_err(io)?;
        let mut start = Vec::with_capacity(4096);
        file.by_ref().take(4096).read_to_end(&mut start).map_err(io)?;
        let text = String::from_utf8_lossy(&start);
        if !text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']).starts_with('>') {
            let text = crate::cli::read_text(path)?;
            return Ok(Box::new(read_sequences(&text)?.into_iter().map(Ok)));
        }
        let offset = start.iter().position(|&b| b == b'>').unwrap_or(0);
        file.seek(SeekFrom::Start(offset as u64)).map_err(io)?;
        Ok(Box::new(stream_sequences(BufReader::new(file))))
    }

    /// Whether the input holds more than one record (read until the second header).
    pub fn has_several(&self) -> Result<bool> {
        Ok(self.records()?.take(2).count() > 1)
    }
}

/// A FASTA file's records by id, read from disk when asked: memory holds each record's id and
/// offset, not its sequence (a gene set's DNA windows are 196,608 bp each).
pub struct FastaById {
    path: PathBuf,
    /// Ids in file order, with the byte offset of each record's `>`.
    offsets: Vec<(String, u64)>,
    by_id: HashMap<String, usize>,
}

impl FastaById {
    /// Scans `path` once; an id that appears twice is an error naming it.
    pub fn index(path: &Path) -> Result<Self> {
        let io = |e| Error::io(path.display(), e);
        let mut reader = BufReader::new(File::open(path).map_err(io)?);
        let (mut offsets, mut by_id) = (Vec::new(), HashMap::new());
        let (mut line, mut at) = (Vec::new(), 0u64);
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(io)?;
            if read == 0 {
                break;
            }
            if let Some(header) = line.strip_prefix(b">") {
                let id = String::from_utf8_lossy(header).split_whitespace().next().unwrap_or_default().to_string();
                if by_id.insert(id.clone(), offsets.len()).is_some() {
                    return Err(Error::InvalidArgument(format!(
                        "{}: record id {} appears twice",
                        path.display(),
                        shown_id(&id)
                    )));
                }
                offsets.push((id, at));
            }
            at += read as u64;
        }
        Ok(FastaById { path: path.to_path_buf(), offsets, by_id })
    }

    /// The ids in file order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.offsets.iter().map(|(id, _)| id.as_str())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// The sequence of record `id`, read from disk; `None` if the file has no such record.
    pub fn get(&self, id: &str) -> Result<Option<String>> {
        let Some(&index) = self.by_id.get(id) else { return Ok(None) };
        let io = |e| Error::io(self.path.display(), e);
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(self.offsets[index].1)).map_err(io)?;
        match stream_sequences(BufReader::new(file)).next() {
            Some(record) => Ok(Some(record?.sequence)),
            None => Err(Error::Fasta(format!("{}: record {id:?} vanished while reading", self.path.display()))),
        }
    }
}

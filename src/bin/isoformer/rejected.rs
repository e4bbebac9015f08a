//! `--on-error`: what a gene-set run (`embed` into a directory, `predict --batch`) does with a
//! record it cannot read — refuse the whole run before computing anything (the default), or set the
//! record aside in a `rejected.tsv` with its typed error and go on.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use isoformer::{Error, Result};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug, Default)]
pub enum OnError {
    /// A bad record stops the run before anything is computed, naming it.
    #[default]
    Refuse,
    /// A bad record goes to the rejected file with its error code and message; the run goes on.
    Skip,
}

pub const HEADER: &str = "record\tid\tcode\tmessage";

/// The rejected records of one run: `record` (its place in the input, from 0), `id`, the error's
/// `code` and `message`. Written afresh by every run (a resumed run finds them again).
pub struct Rejected {
    path: PathBuf,
    file: std::fs::File,
    count: u64,
}

impl Rejected {
    pub fn create(path: &Path) -> Result<Self> {
        let io = |e| Error::io(path.display(), e);
        let mut file = std::fs::File::create(path).map_err(io)?;
        writeln!(file, "{HEADER}").map_err(io)?;
        Ok(Rejected { path: path.to_path_buf(), file, count: 0 })
    }

    /// Sets `id` aside with its error (said on stderr too); flushed at once.
    pub fn add(&mut self, record: u64, id: &str, error: &Error) -> Result<()> {
        eprintln!("skipped record {}: error[{}]: {error}", crate::sequences::shown_id(id), error.code());
        // Tabs and line breaks would break the table: an id is a FASTA header's first word, a
        // message one line, but neither is trusted.
        let clean = |text: &str| text.replace(['\t', '\n', '\r'], " ");
        writeln!(self.file, "{record}\t{}\t{}\t{}", clean(id), error.code(), clean(&error.to_string()))
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::io(self.path.display(), e))?;
        self.count += 1;
        Ok(())
    }

    /// The run's closing line about what it set aside (nothing when nothing was).
    pub fn summary(&self) -> Option<String> {
        (self.count > 0).then(|| format!("{} record(s) rejected: see {}", self.count, self.path.display()))
    }
}

//! One error type for the whole crate. Every variant has a stable code (`Error::code`) that the
//! JavaScript API exposes as `error.code`, so applications can branch on it without parsing text.

use std::fmt;

/// Which input a sequence error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Protein,
    Rna,
    Dna,
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Modality::Protein => "protein",
            Modality::Rna => "RNA",
            Modality::Dna => "DNA",
        })
    }
}

/// Everything that can go wrong, from user input to GPU readback.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {modality} character {character:?} at position {position} (1-based); allowed: {allowed}")]
    InvalidCharacter { modality: Modality, position: usize, character: char, allowed: &'static str },

    #[error("the {modality} sequence is empty")]
    EmptySequence { modality: Modality },

    #[error("the {modality} sequence has {length} {unit}; this model accepts at most {max}{hint}")]
    SequenceTooLong { modality: Modality, length: usize, max: usize, unit: &'static str, hint: &'static str },

    /// Longer than the device can hold (a tensor over its storage-binding limit), before any device work.
    #[error(
        "{batch} {modality} sequence(s) of {length} tokens do not fit this device: it holds at most {max} tokens per sequence at this batch size (one buffer may take {limit_mib} MiB; {what})"
    )]
    TooLongForDevice { modality: Modality, length: usize, batch: usize, max: usize, limit_mib: u64, what: &'static str },

    #[error("these weights encode {loaded} sequences, not {requested}")]
    WrongModality { requested: Modality, loaded: Modality },

    #[error("FASTA input: {0}")]
    Fasta(String),

    #[error("model configuration: {0}")]
    Config(String),

    #[error("weights manifest: {0}")]
    Manifest(String),

    #[error("weight file {file} is corrupt: SHA-256 {actual}, the manifest says {expected}")]
    Integrity { file: String, expected: String, actual: String },

    #[error("weight file {file}: {reason}")]
    WeightFile { file: String, reason: String },

    #[error("checkpoint does not match the model: {0}")]
    Checkpoint(#[from] CheckpointMismatch),

    #[error("no usable GPU: {0}")]
    NoGpu(String),

    #[error("GPU execution failed: {0}")]
    Device(String),

    #[error("could not fetch {url}: {reason}")]
    Network { url: String, reason: String },

    #[error("{path}: {reason}")]
    Io { path: String, reason: String },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The caller cancelled the work (an `AbortSignal`; see `runtime::cancel`).
    #[error("aborted: {0}")]
    Aborted(String),

    #[error("annotation: {0}")]
    Annotation(String),

    #[error("{record}: {reason}")]
    Variant { record: String, reason: String },

    #[error("{record}: REF does not match the annotated sequence, which reads {expected:?} there")]
    ReferenceMismatch { record: String, expected: String },
}

impl Error {
    /// Stable machine-readable code; mirrored in `www/` as `IsoformerError.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidCharacter { .. } => "INVALID_CHARACTER",
            Error::EmptySequence { .. } => "EMPTY_SEQUENCE",
            Error::SequenceTooLong { .. } | Error::TooLongForDevice { .. } => "SEQUENCE_TOO_LONG",
            Error::WrongModality { .. } => "WRONG_MODALITY",
            Error::Fasta(_) => "INVALID_FASTA",
            Error::Config(_) => "INVALID_CONFIG",
            Error::Manifest(_) => "INVALID_MANIFEST",
            Error::Integrity { .. } => "WEIGHTS_CORRUPT",
            Error::WeightFile { .. } => "INVALID_WEIGHT_FILE",
            Error::Checkpoint(_) => "CHECKPOINT_MISMATCH",
            Error::NoGpu(_) => "NO_GPU",
            Error::Device(_) => "DEVICE_ERROR",
            Error::Network { .. } => "NETWORK_ERROR",
            Error::Io { .. } => "IO_ERROR",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Aborted(_) => "ABORTED",
            Error::Annotation(_) => "INVALID_ANNOTATION",
            Error::Variant { .. } => "INVALID_VARIANT",
            Error::ReferenceMismatch { .. } => "REF_MISMATCH",
        }
    }

    /// Whether this is about reading one sequence (a letter, a length, an empty or malformed
    /// record), as opposed to the run (weights, the device, files, an abort): a gene-set run can
    /// set such a record aside and go on.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidCharacter { .. }
                | Error::SequenceTooLong { .. }
                | Error::TooLongForDevice { .. }
                | Error::EmptySequence { .. }
                | Error::Fasta(_)
        )
    }

    /// An I/O failure at `path` (a file, or a stream such as "stdout").
    pub fn io(path: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::Io { path: path.to_string(), reason: err.to_string() }
    }
}

/// Every difference between a checkpoint and what the model expects, reported at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckpointMismatch {
    /// Tensors in the checkpoint that the model has no place for.
    pub unknown: Vec<String>,
    /// Tensors the model needs that the checkpoint lacks.
    pub missing: Vec<String>,
    /// `name: checkpoint shape vs expected shape`.
    pub misshaped: Vec<String>,
}

impl CheckpointMismatch {
    pub fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.missing.is_empty() && self.misshaped.is_empty()
    }
}

impl std::error::Error for CheckpointMismatch {}

impl fmt::Display for CheckpointMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = [("unknown", &self.unknown), ("missing", &self.missing), ("mis-shaped", &self.misshaped)];
        let mut first = true;
        for (label, names) in groups {
            if names.is_empty() {
                continue;
            }
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{} {label} tensor(s): {}", names.len(), names.join(", "))?;
        }
        Ok(())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

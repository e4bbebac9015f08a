//! `isoformer.json`: an IsoFormer weight directory's index of parts (one weight directory each).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Modality, Result};
use crate::weights::manifest::{FORMAT, FORMAT_VERSION, MANIFEST_FILE, Manifest, Source};

/// `isoformer.json`: an IsoFormer weight directory, one ordinary weight directory per part in the
/// sub-directory named after it (`dna/`, `rna/`, `protein/`, `aggregator/`), so a client fetches
/// only the parts it needs.
pub const ISOFORMER_INDEX_FILE: &str = "isoformer.json";

/// A part of IsoFormer: the three encoders and the aggregator with the tissue head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Dna,
    Rna,
    Protein,
    Aggregator,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Dna, Part::Rna, Part::Protein, Part::Aggregator];

    /// The encoder that reads `modality`.
    pub fn encoder_of(modality: Modality) -> Part {
        match modality {
            Modality::Dna => Part::Dna,
            Modality::Rna => Part::Rna,
            Modality::Protein => Part::Protein,
        }
    }

    /// The sub-directory holding this part's weight directory.
    pub fn dir_name(self) -> &'static str {
        match self {
            Part::Dna => "dna",
            Part::Rna => "rna",
            Part::Protein => "protein",
            Part::Aggregator => "aggregator",
        }
    }

    /// The `model` its manifest must name.
    pub fn model_names(self) -> &'static [&'static str] {
        match self {
            Part::Dna => &["enformer"],
            Part::Rna => &["nt"],
            Part::Protein => &["esm2"],
            Part::Aggregator => &["aggregator"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsoformerIndex {
    pub format: String,
    pub format_version: u32,
    /// Always `isoformer`.
    pub model: String,
    /// The parts present (DNA and the aggregator always are: missing DNA is read as N).
    pub parts: Vec<Part>,
    pub source: Source,
}

impl IsoformerIndex {
    pub fn new(parts: Vec<Part>, source: Source) -> Self {
        IsoformerIndex {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            model: "isoformer".into(),
            parts,
            source,
        }
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let index: IsoformerIndex =
            serde_json::from_str(text).map_err(|e| Error::Manifest(format!("{ISOFORMER_INDEX_FILE}: {e}")))?;
        if index.format != FORMAT || index.format_version != FORMAT_VERSION || index.model != "isoformer" {
            return Err(Error::Manifest(format!(
                "{ISOFORMER_INDEX_FILE}: expected format {FORMAT:?} version {FORMAT_VERSION}, model \"isoformer\"; found {:?} version {}, model {:?}",
                index.format, index.format_version, index.model
            )));
        }
        for needed in [Part::Dna, Part::Aggregator] {
            if !index.parts.contains(&needed) {
                return Err(Error::Manifest(format!(
                    "{ISOFORMER_INDEX_FILE}: no {} part (IsoFormer always needs it)",
                    needed.dir_name()
                )));
            }
        }
        Ok(index)
    }

    pub fn has(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }

    /// Checks that a part's manifest is the kind of model the part needs.
    pub fn check_part(part: Part, manifest: &Manifest) -> Result<()> {
        if part.model_names().contains(&manifest.model.as_str()) {
            return Ok(());
        }
        Err(Error::Manifest(format!(
            "{}/{MANIFEST_FILE}: model {:?}, expected {:?}",
            part.dir_name(),
            manifest.model,
            part.model_names()[0]
        )))
    }
}

//! How sequences are read — length limits, crops, IUPAC codes — one set of options for `embed` and
//! `predict` (the JS API's `maxTokens`, `maxResidues`, `crop`, `cropDna`, `ambiguous`).

use isoformer::{AmbiguityPolicy, CropPolicy, DnaCropPolicy, Error, Modality, Result, RunOptions};

#[derive(clap::Args, Clone)]
pub struct InputArgs {
    /// Most protein residues (default: the model's trained context, max_position_embeddings − 2;
    /// 1,024 for ESM-2). Rotary positions extrapolate beyond it; quality there is unknown.
    #[arg(long)]
    pub max_residues: Option<usize>,
    /// Most RNA tokens, <cls> included (default: 2048, IsoFormer's RNA length).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// RNA longer than --max-tokens: an error (none), or keep its 5' start or 3' end tokens.
    #[arg(long, value_enum, default_value_t = CropPolicy::Reject)]
    pub crop: CropPolicy,
    /// DNA longer than 196,608 bp: an error (none), or keep the central 196,608 bp (centre).
    #[arg(long, value_enum, default_value_t = DnaCropPolicy::Reject)]
    pub crop_dna: DnaCropPolicy,
    /// IUPAC ambiguity codes (R Y S W K M B D H V) in RNA or DNA: an error (reject) or read as N.
    #[arg(long, value_enum, default_value_t = AmbiguityPolicy::Reject)]
    pub ambiguous: AmbiguityPolicy,
}

impl InputArgs {
    /// The options as a prediction reads them.
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            max_rna_tokens: self.max_tokens,
            max_protein_residues: self.max_residues,
            rna_crop: self.crop,
            dna_crop: self.crop_dna,
            ambiguous: self.ambiguous,
            ..Default::default()
        }
    }

    /// Refuses an option given for another modality than the one read (`embed` reads one).
    pub fn check_for(&self, modality: Modality) -> Result<()> {
        let given = [
            ("--max-residues", self.max_residues.is_some(), modality == Modality::Protein),
            ("--max-tokens", self.max_tokens.is_some(), modality == Modality::Rna),
            ("--crop", self.crop != CropPolicy::Reject, modality == Modality::Rna),
            ("--crop-dna", self.crop_dna != DnaCropPolicy::Reject, modality == Modality::Dna),
            ("--ambiguous", self.ambiguous != AmbiguityPolicy::Reject, modality != Modality::Protein),
        ];
        match given.into_iter().find(|&(_, given, applies)| given && !applies) {
            Some((option, _, _)) => Err(Error::InvalidArgument(format!("{option} does not apply to {modality} input"))),
            None => Ok(()),
        }
    }

    /// One line for a resumable output's settings (a resume with other options is refused).
    pub fn describe(&self) -> String {
        format!(
            "max_residues={:?} max_tokens={:?} crop={:?} ambiguous={:?} crop_dna={:?}",
            self.max_residues, self.max_tokens, self.crop, self.ambiguous, self.crop_dna
        )
    }
}

//! Tokenizers with input validation. Each one matches its Hugging Face counterpart on valid input
//! and returns a typed error (position and character) where Hugging Face would emit `<unk>`.

pub mod fasta;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Modality, Result};

/// The ESM-2 alphabet in id order, exactly as the facebook/esm2_* `vocab.txt`.
pub const PROTEIN_VOCAB: [&str; 33] = [
    "<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y",
    "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>",
];
pub const PROTEIN_CLS: u32 = 0;
pub const PROTEIN_PAD: u32 = 1;
pub const PROTEIN_EOS: u32 = 2;
pub const PROTEIN_MASK: u32 = 32;
const PROTEIN_ALLOWED: &str =
    "the 20 standard amino acids, X B U Z O, '.' and '-' (gaps); lower case is read as upper case";

/// `<cls>` + residues + `<eos>`, as `EsmTokenizer` encodes a single ESM-2 sequence.
#[derive(Debug, Clone)]
pub struct ProteinTokenizer {
    max_residues: usize,
}

impl ProteinTokenizer {
    /// `max_residues` excludes the two special tokens (ESM-2: 1,024 = 1,026 positions − 2).
    pub fn new(max_residues: usize) -> Self {
        ProteinTokenizer { max_residues }
    }

    pub fn max_residues(&self) -> usize {
        self.max_residues
    }

    /// Token ids of one protein. Whitespace is not allowed inside the sequence: FASTA line breaks
    /// are removed by the FASTA reader, not here.
    pub fn encode(&self, sequence: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(sequence.len() + 2);
        ids.push(PROTEIN_CLS);
        for (index, character) in sequence.chars().enumerate() {
            let id = protein_residue_id(character).ok_or(Error::InvalidCharacter {
                modality: Modality::Protein,
                position: index + 1,
                character,
                allowed: PROTEIN_ALLOWED,
            })?;
            ids.push(id);
        }
        let residues = ids.len() - 1;
        if residues == 0 {
            return Err(Error::EmptySequence { modality: Modality::Protein });
        }
        if residues > self.max_residues {
            return Err(Error::SequenceTooLong {
                modality: Modality::Protein,
                length: residues,
                max: self.max_residues,
                unit: "residues",
                hint: "",
            });
        }
        ids.push(PROTEIN_EOS);
        Ok(ids)
    }
}

fn protein_residue_id(character: char) -> Option<u32> {
    let upper = character.to_ascii_uppercase();
    // Residue tokens are the single-character entries 4..=30 of the vocabulary.
    PROTEIN_VOCAB[4..=30].iter().position(|token| token.len() == 1 && token.starts_with(upper)).map(|i| i as u32 + 4)
}

/// NT-v2's special tokens, ids 0–5 (InstaDeep's `compute_tokens_to_ids_v2`).
pub const NUCLEOTIDE_SPECIAL_TOKENS: [&str; 6] = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"];
pub const NUCLEOTIDE_PAD: u32 = 1;
pub const NUCLEOTIDE_MASK: u32 = 2;
pub const NUCLEOTIDE_CLS: u32 = 3;
/// 6 specials + 4⁶ 6-mers + A T C G N.
pub const NUCLEOTIDE_VOCAB_SIZE: usize = 6 + 4096 + 5;
/// IsoFormer's RNA input length in tokens, `<cls>` included (NT-v2's 2,048-token context).
pub const NUCLEOTIDE_MAX_TOKENS: usize = 2048;
const KMER: usize = 6;
/// The vocabulary's nucleotide order: 6-mers follow `itertools.product("ATCG", repeat=6)`.
const NUCLEOTIDE_ORDER: [char; 4] = ['A', 'T', 'C', 'G'];
const FIRST_KMER_ID: u32 = 6;
const FIRST_SINGLE_ID: u32 = FIRST_KMER_ID + 4096;
const N_ID: u32 = FIRST_SINGLE_ID + 4;
/// IUPAC ambiguity codes other than N; read as N only when the caller asks for it.
const IUPAC_AMBIGUITY_CODES: &str = "RYSWKMBDHV";
const NUCLEOTIDE_ALLOWED: &str = "A C G T U N (lower case is read as upper case, U as T); the IUPAC codes R Y S W K M B D H V only with the read-as-N option";

/// The 4,107 NT-v2 tokens in id order, generated from their definition: the specials, the 4,096
/// 6-mers (first letter most significant, digits A=0 T=1 C=2 G=3), then single A T C G N.
pub fn nucleotide_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = NUCLEOTIDE_SPECIAL_TOKENS.iter().map(|t| t.to_string()).collect();
    for index in 0..4096usize {
        vocab.push((0..KMER).map(|i| NUCLEOTIDE_ORDER[(index >> (2 * (KMER - 1 - i))) & 3]).collect());
    }
    vocab.extend(NUCLEOTIDE_ORDER.iter().map(char::to_string));
    vocab.push("N".into());
    vocab
}

/// What the nucleotide tokenizer does with IUPAC ambiguity codes (R, Y, S, W, K, M, B, D, H, V).
/// Named `reject` and `as-n` in options (JSON and JS) and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum AmbiguityPolicy {
    /// A typed error naming the position (default): the model was trained on A C G T N only.
    #[default]
    Reject,
    /// Read each one as N (breaking the 6-mers there, as N does).
    #[serde(rename = "as-n")]
    #[cfg_attr(feature = "cli", value(name = "as-n"))]
    ReadAsN,
}

/// What the nucleotide tokenizer does with a sequence longer than its maximum. Named `none`,
/// `keep-start` and `keep-end` in options and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum CropPolicy {
    /// A typed error (`SEQUENCE_TOO_LONG`), the default: nothing is dropped silently.
    #[default]
    #[serde(rename = "none")]
    #[cfg_attr(feature = "cli", value(name = "none"))]
    Reject,
    /// Keep the first tokens (the 5′ end). The whole sequence is tokenized first, so the 6-mer
    /// frame is the uncropped sequence's.
    KeepStart,
    /// Keep the last tokens (the 3′ end, with the 3′ UTR), after `<cls>`; same 6-mer frame.
    KeepEnd,
}

/// NT-v2's 6-mer tokenizer, identical to its Hugging Face `EsmTokenizer` on A C G T N input:
/// `<cls>`, then left to right the non-overlapping 6-mers of each run without N, a run's leftover
/// (< 6) as single nucleotides, each N as its own token; no `<eos>`.
#[derive(Debug, Clone)]
pub struct NucleotideTokenizer {
    max_tokens: usize,
    ambiguity: AmbiguityPolicy,
    crop: CropPolicy,
}

impl NucleotideTokenizer {
    /// `max_tokens` includes `<cls>` (IsoFormer: [`NUCLEOTIDE_MAX_TOKENS`]).
    pub fn new(max_tokens: usize) -> Self {
        NucleotideTokenizer { max_tokens, ambiguity: AmbiguityPolicy::Reject, crop: CropPolicy::Reject }
    }

    pub fn with_ambiguity(mut self, ambiguity: AmbiguityPolicy) -> Self {
        self.ambiguity = ambiguity;
        self
    }

    pub fn with_crop(mut self, crop: CropPolicy) -> Self {
        self.crop = crop;
        self
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Token ids of one RNA (or DNA) sequence. Whitespace is an error, as for proteins.
    pub fn encode(&self, sequence: &str) -> Result<Vec<u32>> {
        if self.max_tokens < 2 {
            return Err(Error::InvalidArgument(format!(
                "a maximum of {} tokens leaves no room after <cls>",
                self.max_tokens
            )));
        }
        let mut ids = Vec::with_capacity(sequence.len() / KMER + 8);
        ids.push(NUCLEOTIDE_CLS);
        let mut run: Vec<u32> = Vec::with_capacity(KMER);
        let flush =
            |ids: &mut Vec<u32>, run: &mut Vec<u32>| ids.extend(run.drain(..).map(|digit| FIRST_SINGLE_ID + digit));
        for (index, character) in sequence.chars().enumerate() {
            let upper = character.to_ascii_uppercase();
            if let Some(digit) = nucleotide_digit(upper) {
                run.push(digit);
                if run.len() == KMER {
                    ids.push(FIRST_KMER_ID + run.drain(..).fold(0, |id, digit| id * 4 + digit));
                }
            } else if upper == 'N'
                || (self.ambiguity == AmbiguityPolicy::ReadAsN && IUPAC_AMBIGUITY_CODES.contains(upper))
            {
                flush(&mut ids, &mut run);
                ids.push(N_ID);
            } else {
                return Err(Error::InvalidCharacter {
                    modality: Modality::Rna,
                    position: index + 1,
                    character,
                    allowed: NUCLEOTIDE_ALLOWED,
                });
            }
        }
        flush(&mut ids, &mut run);
        if ids.len() == 1 {
            return Err(Error::EmptySequence { modality: Modality::Rna });
        }
        if ids.len() > self.max_tokens {
            match self.crop {
                CropPolicy::Reject => {
                    return Err(Error::SequenceTooLong {
                        modality: Modality::Rna,
                        length: ids.len(),
                        max: self.max_tokens,
                        unit: "tokens (with <cls>)",
                        hint: "; pick a crop policy (keep the 5' start or the 3' end) to crop it",
                    });
                }
                CropPolicy::KeepStart => ids.truncate(self.max_tokens),
                CropPolicy::KeepEnd => {
                    ids.drain(1..ids.len() - (self.max_tokens - 1));
                }
            }
        }
        Ok(ids)
    }
}

/// A C G T (U read as T) → their digit in the vocabulary's order.
fn nucleotide_digit(upper: char) -> Option<u32> {
    let upper = if upper == 'U' { 'T' } else { upper };
    NUCLEOTIDE_ORDER.iter().position(|&c| c == upper).map(|i| i as u32)
}

/// What the DNA encoder does with a sequence longer than the model's input length. Named `none`
/// and `centre` (or `center`) in options and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DnaCropPolicy {
    /// A typed error (`SEQUENCE_TOO_LONG`), the default.
    #[default]
    #[serde(rename = "none")]
    #[cfg_attr(feature = "cli", value(name = "none"))]
    Reject,
    /// Keep the central window: `(len − length) / 2` bases dropped before it, the rest after.
    #[serde(alias = "center")]
    #[cfg_attr(feature = "cli", value(alias = "center"))]
    Centre,
}

/// One-hot DNA for Enformer: A C G T → rows of the identity, N (and, on request, IUPAC ambiguity
/// codes) → zeros, exactly enformer-pytorch's `str_to_one_hot`; lower case is read as upper case.
/// A shorter sequence is N-padded around its centre (`(length − len) / 2` N before it, the rest
/// after), so the model's centre is the sequence's centre.
#[derive(Debug, Clone)]
pub struct DnaOneHot {
    length: usize,
    ambiguity: AmbiguityPolicy,
    crop: DnaCropPolicy,
}

const DNA_ALLOWED: &str =
    "A C G T N (lower case is read as upper case); the IUPAC codes R Y S W K M B D H V only with the read-as-N option";

impl DnaOneHot {
    /// `length`: the model's input length in base pairs (Enformer: 196,608).
    pub fn new(length: usize) -> Self {
        DnaOneHot { length, ambiguity: AmbiguityPolicy::Reject, crop: DnaCropPolicy::Reject }
    }

    pub fn with_ambiguity(mut self, ambiguity: AmbiguityPolicy) -> Self {
        self.ambiguity = ambiguity;
        self
    }

    pub fn with_crop(mut self, crop: DnaCropPolicy) -> Self {
        self.crop = crop;
        self
    }

    pub fn length(&self) -> usize {
        self.length
    }

    /// `[length, 4]` row-major one-hot of the (padded or cropped) sequence.
    pub fn encode(&self, sequence: &str) -> Result<Vec<f32>> {
        let mut rows: Vec<Option<usize>> = Vec::with_capacity(sequence.len());
        for (index, character) in sequence.chars().enumerate() {
            let upper = character.to_ascii_uppercase();
            let row = match upper {
                'A' => Some(0),
                'C' => Some(1),
                'G' => Some(2),
                'T' => Some(3),
                'N' => None,
                c if self.ambiguity == AmbiguityPolicy::ReadAsN && IUPAC_AMBIGUITY_CODES.contains(c) => None,
                _ => {
                    return Err(Error::InvalidCharacter {
                        modality: Modality::Dna,
                        position: index + 1,
                        character,
                        allowed: DNA_ALLOWED,
                    });
                }
            };
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(Error::EmptySequence { modality: Modality::Dna });
        }
        if rows.len() > self.length {
            if self.crop == DnaCropPolicy::Reject {
                return Err(Error::SequenceTooLong {
                    modality: Modality::Dna,
                    length: rows.len(),
                    max: self.length,
                    unit: "bp",
                    hint: "; ask for the centre crop to keep the central window",
                });
            }
            let start = (rows.len() - self.length) / 2;
            rows = rows[start..start + self.length].to_vec();
        }
        let left = (self.length - rows.len()) / 2;
        let mut one_hot = vec![0f32; self.length * 4];
        for (offset, row) in rows.iter().enumerate() {
            if let Some(column) = row {
                one_hot[(left + offset) * 4 + column] = 1.0;
            }
        }
        Ok(one_hot)
    }
}

/// The tokenizer of a loaded encoder.
#[derive(Debug, Clone)]
pub enum Tokenizer {
    Protein(ProteinTokenizer),
    Nucleotide(NucleotideTokenizer),
}

impl Tokenizer {
    pub fn encode(&self, sequence: &str) -> Result<Vec<u32>> {
        match self {
            Tokenizer::Protein(t) => t.encode(sequence),
            Tokenizer::Nucleotide(t) => t.encode(sequence),
        }
    }

    pub fn modality(&self) -> Modality {
        match self {
            Tokenizer::Protein(_) => Modality::Protein,
            Tokenizer::Nucleotide(_) => Modality::Rna,
        }
    }

    pub fn pad_id(&self) -> u32 {
        match self {
            Tokenizer::Protein(_) => PROTEIN_PAD,
            Tokenizer::Nucleotide(_) => NUCLEOTIDE_PAD,
        }
    }

    /// `<mask>`, which masked-LM scoring puts where a variant is.
    pub fn mask_id(&self) -> u32 {
        match self {
            Tokenizer::Protein(_) => PROTEIN_MASK,
            Tokenizer::Nucleotide(_) => NUCLEOTIDE_MASK,
        }
    }

    /// Special tokens after the sequence's own (`<eos>` for proteins, none for NT-v2); `<cls>`
    /// always comes first.
    pub fn trailing_special_tokens(&self) -> usize {
        match self {
            Tokenizer::Protein(_) => 1,
            Tokenizer::Nucleotide(_) => 0,
        }
    }
}

/// Pads token-id lists to one length with `pad_id` — the longest, rounded up to a multiple of
/// `bucket` (1: no rounding) — returning the flat `[batch, length]` ids, the matching 1/0
/// attention mask and the length.
pub fn pad_batch(batch: &[Vec<u32>], pad_id: u32, bucket: usize) -> (Vec<u32>, Vec<f32>, usize) {
    let length = batch.iter().map(Vec::len).max().unwrap_or(0).next_multiple_of(bucket.max(1));
    let mut ids = Vec::with_capacity(batch.len() * length);
    let mut mask = Vec::with_capacity(batch.len() * length);
    for sequence in batch {
        ids.extend_from_slice(sequence);
        mask.extend(std::iter::repeat_n(1.0, sequence.len()));
        ids.extend(std::iter::repeat_n(pad_id, length - sequence.len()));
        mask.extend(std::iter::repeat_n(0.0, length - sequence.len()));
    }
    (ids, mask, length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_residue_letter_to_its_vocab_index() {
        let tokenizer = ProteinTokenizer::new(1024);
        for (id, token) in PROTEIN_VOCAB.iter().enumerate().filter(|(_, t)| t.len() == 1) {
            assert_eq!(tokenizer.encode(token).unwrap(), vec![PROTEIN_CLS, id as u32, PROTEIN_EOS], "{token}");
        }
    }

    #[test]
    fn lower_case_equals_upper_case() {
        let tokenizer = ProteinTokenizer::new(1024);
        assert_eq!(tokenizer.encode("mkvl").unwrap(), tokenizer.encode("MKVL").unwrap());
    }

    #[test]
    fn rejects_other_characters_with_their_position() {
        let tokenizer = ProteinTokenizer::new(1024);
        for (input, position, character) in
            [("MK*", 3, '*'), ("M K", 2, ' '), ("MKJ", 3, 'J'), ("1", 1, '1'), ("MÄ", 2, 'Ä')]
        {
            match tokenizer.encode(input) {
                Err(Error::InvalidCharacter { position: p, character: c, .. }) => {
                    assert_eq!((p, c), (position, character))
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_empty_and_too_long() {
        let tokenizer = ProteinTokenizer::new(3);
        assert!(matches!(tokenizer.encode(""), Err(Error::EmptySequence { .. })));
        assert!(tokenizer.encode("MKV").is_ok());
        assert!(matches!(tokenizer.encode("MKVL"), Err(Error::SequenceTooLong { length: 4, max: 3, .. })));
    }

    fn tokens(ids: &[u32]) -> Vec<String> {
        let vocab = nucleotide_vocab();
        ids.iter().map(|&id| vocab[id as usize].clone()).collect()
    }

    #[test]
    fn nucleotide_vocab_follows_its_definition() {
        let vocab = nucleotide_vocab();
        assert_eq!(vocab.len(), NUCLEOTIDE_VOCAB_SIZE);
        assert_eq!(&vocab[..7], &["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>", "AAAAAA"]);
        assert_eq!(vocab[7], "AAAAAT");
        assert_eq!(vocab[4101], "GGGGGG");
        assert_eq!(&vocab[4102..], &["A", "T", "C", "G", "N"]);
    }

    #[test]
    fn six_mers_from_the_left_with_single_leftovers() {
        let tokenizer = NucleotideTokenizer::new(2048);
        let ids = tokenizer.encode("ATCGAATGGCGATGCAC").unwrap();
        assert_eq!(tokens(&ids), ["<cls>", "ATCGAA", "TGGCGA", "T", "G", "C", "A", "C"]);
        assert_eq!(tokens(&tokenizer.encode("ACGTACGTNAC").unwrap()), ["<cls>", "ACGTAC", "G", "T", "N", "A", "C"]);
        assert_eq!(tokenizer.encode("acguac").unwrap(), tokenizer.encode("ACGTAC").unwrap());
    }

    #[test]
    fn nucleotide_errors_and_policies() {
        let tokenizer = NucleotideTokenizer::new(2048);
        assert!(matches!(tokenizer.encode("ACGR"), Err(Error::InvalidCharacter { position: 4, character: 'R', .. })));
        assert!(matches!(tokenizer.encode("AC GT"), Err(Error::InvalidCharacter { position: 3, .. })));
        assert!(matches!(tokenizer.encode(""), Err(Error::EmptySequence { modality: Modality::Rna })));
        let as_n = NucleotideTokenizer::new(2048).with_ambiguity(AmbiguityPolicy::ReadAsN);
        assert_eq!(as_n.encode("ACGRyA").unwrap(), tokenizer.encode("ACGNNA").unwrap());
        assert!(matches!(as_n.encode("ACG*"), Err(Error::InvalidCharacter { character: '*', .. })));

        let sequence = "AAAAAACCCCCCGGGGGGTT"; // <cls> + 3 six-mers + T T = 6 tokens
        let short = NucleotideTokenizer::new(4);
        assert!(matches!(short.encode(sequence), Err(Error::SequenceTooLong { length: 6, max: 4, .. })));
        assert_eq!(
            tokens(&short.clone().with_crop(CropPolicy::KeepStart).encode(sequence).unwrap()),
            ["<cls>", "AAAAAA", "CCCCCC", "GGGGGG"]
        );
        assert_eq!(
            tokens(&short.with_crop(CropPolicy::KeepEnd).encode(sequence).unwrap()),
            ["<cls>", "GGGGGG", "T", "T"]
        );
        assert!(NucleotideTokenizer::new(1).encode("A").is_err());
    }

    #[test]
    fn dna_one_hot_pads_and_crops_around_the_centre() {
        let one_hot = DnaOneHot::new(8);
        let rows = |v: Vec<f32>| {
            v.chunks(4)
                .map(|r| r.iter().position(|&x| x == 1.0).map_or('N', |i| b"ACGT"[i] as char))
                .collect::<String>()
        };
        assert_eq!(rows(one_hot.encode("acgt").unwrap()), "NNACGTNN");
        assert_eq!(rows(one_hot.encode("ACG").unwrap()), "NNACGNNN");
        assert!(matches!(one_hot.encode("ACGTACGTA"), Err(Error::SequenceTooLong { length: 9, max: 8, .. })));
        assert_eq!(rows(one_hot.clone().with_crop(DnaCropPolicy::Centre).encode("AACCGGTTAC").unwrap()), "ACCGGTTA");
        assert!(matches!(one_hot.encode("ACGU"), Err(Error::InvalidCharacter { position: 4, character: 'U', .. })));
        assert!(matches!(one_hot.encode("ACRT"), Err(Error::InvalidCharacter { position: 3, .. })));
        assert_eq!(rows(one_hot.clone().with_ambiguity(AmbiguityPolicy::ReadAsN).encode("ACRT").unwrap()), "NNACNTNN");
        assert!(matches!(one_hot.encode(""), Err(Error::EmptySequence { modality: Modality::Dna })));
    }

    #[test]
    fn pads_with_mask() {
        let (ids, mask, length) = pad_batch(&[vec![0, 5, 2], vec![0, 2]], PROTEIN_PAD, 1);
        assert_eq!(length, 3);
        assert_eq!(ids, vec![0, 5, 2, 0, 2, 1]);
        assert_eq!(mask, vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn pads_up_to_the_length_bucket() {
        let (ids, mask, length) = pad_batch(&[vec![0, 5, 2]], PROTEIN_PAD, 4);
        assert_eq!((length, ids, mask), (4, vec![0, 5, 2, PROTEIN_PAD], vec![1.0, 1.0, 1.0, 0.0]));
        assert_eq!(pad_batch(&[vec![0; 64]], PROTEIN_PAD, 64).2, 64, "a full bucket gains nothing");
    }
}

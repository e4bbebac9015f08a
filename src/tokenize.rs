//! Tokenizers with input validation. Each one matches its Hugging Face counterpart on valid input
//! and returns a typed error (position and character) where Hugging Face would emit `<unk>`.

use crate::error::{Error, Modality, Result};

/// The ESM-2 alphabet in id order, exactly as the facebook/esm2_* `vocab.txt`.
pub const PROTEIN_VOCAB: [&str; 33] = [
    "<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F",
    "Y", "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>",
];
pub const PROTEIN_CLS: u32 = 0;
pub const PROTEIN_PAD: u32 = 1;
pub const PROTEIN_EOS: u32 = 2;
pub const PROTEIN_MASK: u32 = 32;
const PROTEIN_ALLOWED: &str = "the 20 standard amino acids, X B U Z O, '.' and '-' (gaps); lower case is read as upper case";

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
            return Err(Error::SequenceTooLong { modality: Modality::Protein, length: residues, max: self.max_residues });
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

/// Pads token-id lists to one length with `pad_id`, returning the flat `[batch, length]` ids and the
/// matching 1/0 attention mask.
pub fn pad_batch(batch: &[Vec<u32>], pad_id: u32) -> (Vec<u32>, Vec<f32>, usize) {
    let length = batch.iter().map(Vec::len).max().unwrap_or(0);
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
        for (input, position, character) in [("MK*", 3, '*'), ("M K", 2, ' '), ("MKJ", 3, 'J'), ("1", 1, '1'), ("MÄ", 2, 'Ä')] {
            match tokenizer.encode(input) {
                Err(Error::InvalidCharacter { position: p, character: c, .. }) => assert_eq!((p, c), (position, character)),
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

    #[test]
    fn pads_with_mask() {
        let (ids, mask, length) = pad_batch(&[vec![0, 5, 2], vec![0, 2]], PROTEIN_PAD);
        assert_eq!(length, 3);
        assert_eq!(ids, vec![0, 5, 2, 0, 2, 1]);
        assert_eq!(mask, vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    }
}

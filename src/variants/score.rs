//! Scores of variants × transcripts with a loaded IsoFormer: its Δ per tissue and the change of
//! the isoform's share of the gene's expression, ESM-2's masked marginal for missense changes,
//! NT-v2's embedding distances and masked marginal on the transcript, Enformer's track Δ at the
//! variant. The reference (sequences, DNA embeddings, the encoders' outputs, predictions, RNA
//! mean embeddings) is computed once per gene and reused by every variant: a variant that changes
//! a transcript's DNA window only runs Enformer once per window and the aggregator per transcript;
//! RNA and protein go through their encoders again only when they change.

use std::collections::BTreeMap;

use burn::tensor::Tensor;
use serde::Serialize;

use crate::error::{Error, Modality, Result};
use crate::models::isoformer::{EncodedTranscript, Isoformer, IsoformerInputs, Prediction, RunOptions};
use crate::runtime::embed::{SequenceEncoder, Tracks};
use crate::variants::effect::{Effect, Reference, alternate_window, effect};
use crate::variants::gene::{GeneRecord, Transcript, WINDOW_LENGTH, WindowStrand, window_start};
use crate::variants::vcf::{Edit, Variant};

/// A DNA window as the gene's transcripts share it: its first base and orientation.
type WindowKey = (i64, bool);

/// One transcript's reference, computed once.
struct ReferenceState {
    sequences: Reference,
    window: WindowKey,
    encoded: EncodedTranscript,
    prediction: Prediction,
    rna_mean: Option<Vec<f32>>,
}

/// The gene's reference state and the model that scores its variants.
pub struct GeneScorer<'a> {
    model: &'a Isoformer,
    gene: GeneRecord,
    strand: WindowStrand,
    run: RunOptions,
    references: Vec<ReferenceState>,
    dna: BTreeMap<WindowKey, (Tensor<3>, BTreeMap<String, Tracks>)>,
}

/// Enformer's track change at the variant: alt − ref summed over the variant's 128-bp bin and its
/// two neighbours, per head and track.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackDelta {
    pub bin: usize,
    pub heads: BTreeMap<String, Vec<f32>>,
}

impl TrackDelta {
    /// The track with the largest |Δ| as `head:index` and its Δ.
    pub fn largest(&self) -> Option<(String, f32)> {
        let mut best: Option<(String, f32)> = None;
        for (head, deltas) in &self.heads {
            for (index, &delta) in deltas.iter().enumerate() {
                if best.as_ref().is_none_or(|(_, b)| delta.abs() > b.abs()) {
                    best = Some((format!("{head}:{index}"), delta));
                }
            }
        }
        best
    }
}

/// One variant on one transcript.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptScore {
    pub transcript: String,
    pub gene: String,
    #[serde(flatten)]
    pub effect: Effect,
    /// IsoFormer alt − ref per tissue (the model's units; see `Prediction::units`).
    pub delta: Vec<f32>,
    /// The change of this isoform's share of the gene's predicted expression per tissue, reading
    /// the values as log(TPM + 1) (TPM = eᵛ − 1, negative values as 0); `None` where a side sums to 0.
    pub share_delta: Vec<Option<f32>>,
    /// ESM-2 masked marginal Σ log p(alt) − log p(ref) over the substituted residues.
    pub esm_llr: Option<f32>,
    /// NT-v2: cosine similarity and L2 distance of the transcript's mean embeddings (ref, alt).
    pub nt_cosine: Option<f32>,
    pub nt_l2: Option<f32>,
    /// NT-v2 masked marginal of the 6-mer tokens the variant changes (substitutions only).
    pub nt_llr: Option<f32>,
    pub enformer: Option<TrackDelta>,
}

/// Every transcript's scores for one variant.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantScore {
    #[serde(flatten)]
    pub variant: Variant,
    pub transcripts: Vec<TranscriptScore>,
}

impl<'a> GeneScorer<'a> {
    /// Builds every transcript's reference sequences, DNA embedding (once per distinct window),
    /// prediction and RNA embedding.
    pub async fn new(model: &'a Isoformer, gene: GeneRecord, strand: WindowStrand, run: RunOptions) -> Result<Self> {
        let mut scorer = GeneScorer { model, gene, strand, run, references: Vec::new(), dna: BTreeMap::new() };
        for index in 0..scorer.gene.transcripts.len() {
            let transcript = &scorer.gene.transcripts[index];
            let sequences = Reference::of(transcript, &scorer.gene.sequence);
            let reverse = transcript.read_reverse(strand);
            let window = (window_start(transcript.tss(), reverse), reverse);
            if !scorer.dna.contains_key(&window) {
                let text = transcript.window(&scorer.gene.sequence, strand);
                let embedded = scorer.embed_window(&text).await?;
                scorer.dna.insert(window, embedded);
            }
            let inputs = scorer.inputs(&sequences.rna, &sequences.protein);
            let encoded = scorer.model.encode_transcript(&inputs, &scorer.run).await.map_err(|e| {
                if e.is_input_error() {
                    Error::Annotation(format!("transcript {}: the reference cannot be read: {e}", transcript.id))
                } else {
                    e
                }
            })?;
            let dna = scorer.dna[&window].0.clone();
            let prediction = scorer.model.predict_encoded(dna, &encoded, &inputs).await?;
            let rna_mean = scorer.rna_mean(&encoded).await?;
            scorer.references.push(ReferenceState { sequences, window, encoded, prediction, rna_mean });
        }
        Ok(scorer)
    }

    /// The reference prediction of each transcript, in order.
    pub fn reference_predictions(&self) -> impl Iterator<Item = (&Transcript, &Prediction)> {
        self.gene.transcripts.iter().zip(self.references.iter().map(|r| &r.prediction))
    }

    async fn embed_window(&self, window: &str) -> Result<(Tensor<3>, BTreeMap<String, Tracks>)> {
        let trunk = self.model.dna_embedding(Some(window), &self.run).await?;
        let tracks = self.model.dna_encoder().tracks(&trunk).await?;
        Ok((trunk, tracks))
    }

    /// A transcript's inputs as the model reads them: the RNA when it has an RNA encoder, the
    /// protein (a non-coding transcript has none) when it has a protein encoder.
    fn inputs<'s>(&self, rna: &'s str, protein: &'s Option<String>) -> IsoformerInputs<'s> {
        let reads = self.model.modalities();
        IsoformerInputs {
            dna: None,
            rna: Some(rna).filter(|_| reads.contains(&Modality::Rna)),
            protein: protein.as_deref().filter(|p| reads.contains(&Modality::Protein) && !p.is_empty()),
        }
    }

    fn rna_encoder(&self) -> Option<&SequenceEncoder> {
        self.model.sequence_encoder(Modality::Rna).ok()
    }

    /// The RNA's mean embedding from its encoded hidden states (no second pass).
    async fn rna_mean(&self, encoded: &EncodedTranscript) -> Result<Option<Vec<f32>>> {
        let (Some(encoder), Some((tokens, embedding))) = (self.rna_encoder(), &encoded.rna) else { return Ok(None) };
        encoder.mean_of(tokens, embedding).await.map(Some)
    }

    /// The alternate transcript's encoders' outputs: the reference's for a part the variant leaves
    /// as it was, a new pass for one it changes.
    fn encode_alternate(&self, reference: &ReferenceState, effect: &Effect) -> Result<EncodedTranscript> {
        let inputs = self.inputs(&effect.rna, &effect.protein);
        let mut encoded = reference.encoded.clone();
        if effect.rna_changed(&reference.sequences) {
            encoded.rna = inputs.rna.map(|rna| self.model.encode_part(Modality::Rna, rna, &self.run)).transpose()?;
        }
        if effect.protein_changed(&reference.sequences) {
            encoded.protein =
                inputs.protein.map(|p| self.model.encode_part(Modality::Protein, p, &self.run)).transpose()?;
        }
        Ok(encoded)
    }

    /// Scores one variant on every transcript. Its errors (a REF mismatch, a position off the
    /// sequence) name it; the scorer stays usable for the next.
    pub async fn score(&self, variant: &Variant) -> Result<VariantScore> {
        let edit = Edit::new(&self.gene, variant)?;
        let alternate_genome = edit.apply(&self.gene.sequence);
        let mut alternate_dna: BTreeMap<WindowKey, (Tensor<3>, BTreeMap<String, Tracks>)> = BTreeMap::new();
        let mut scores = Vec::with_capacity(self.gene.transcripts.len());
        let mut predictions = Vec::with_capacity(self.gene.transcripts.len());
        for (transcript, reference) in self.gene.transcripts.iter().zip(&self.references) {
            self.run.cancel.checkpoint().await?;
            let effect = effect(transcript, &reference.sequences, &edit, &alternate_genome, self.strand);
            if effect.in_window && !alternate_dna.contains_key(&reference.window) {
                let window = alternate_window(transcript, &edit, &alternate_genome, self.strand);
                alternate_dna.insert(reference.window, self.embed_window(&window).await?);
            }
            let dna = if effect.in_window { &alternate_dna[&reference.window] } else { &self.dna[&reference.window] };
            let unchanged = !effect.in_window
                && !effect.rna_changed(&reference.sequences)
                && !effect.protein_changed(&reference.sequences);
            let encoded = self.encode_alternate(reference, &effect).map_err(|e| {
                if e.is_input_error() {
                    let reason = format!("transcript {}: the alternate cannot be read: {e}", transcript.id);
                    Error::Variant { record: variant.label(), reason }
                } else {
                    e
                }
            })?;
            let prediction = if unchanged {
                reference.prediction.clone()
            } else {
                let inputs = self.inputs(&effect.rna, &effect.protein);
                self.model.predict_encoded(dna.0.clone(), &encoded, &inputs).await?
            };
            let delta: Vec<f32> =
                prediction.values.iter().zip(&reference.prediction.values).map(|(a, r)| a - r).collect();
            let enformer = effect
                .in_window
                .then(|| track_delta(transcript, &edit, self.strand, &self.dna[&reference.window].1, &dna.1))
                .flatten();
            let (nt_cosine, nt_l2, nt_llr) = self.rna_scores(reference, &effect, &encoded).await?;
            let esm_llr = self.esm_llr(reference, &effect).await?;
            predictions.push(prediction);
            scores.push(TranscriptScore {
                transcript: transcript.id.clone(),
                gene: transcript.gene.clone(),
                effect,
                delta,
                share_delta: Vec::new(),
                esm_llr,
                nt_cosine,
                nt_l2,
                nt_llr,
                enformer,
            });
        }
        let reference_values: Vec<&[f32]> = self.references.iter().map(|r| r.prediction.values.as_slice()).collect();
        let alternate_values: Vec<&[f32]> = predictions.iter().map(|p| p.values.as_slice()).collect();
        let (before, after) = (shares(&reference_values), shares(&alternate_values));
        for (index, score) in scores.iter_mut().enumerate() {
            score.share_delta =
                before[index].iter().zip(&after[index]).map(|(b, a)| Some(a.as_ref()? - b.as_ref()?)).collect();
        }
        Ok(VariantScore { variant: variant.clone(), transcripts: scores })
    }

    /// NT-v2's cosine, L2 and masked marginal for a changed transcript.
    async fn rna_scores(
        &self,
        reference: &ReferenceState,
        effect: &Effect,
        encoded: &EncodedTranscript,
    ) -> Result<(Option<f32>, Option<f32>, Option<f32>)> {
        let (Some(encoder), Some(reference_mean), Some((reference_tokens, _)), Some((tokens, _))) =
            (self.rna_encoder(), &reference.rna_mean, &reference.encoded.rna, &encoded.rna)
        else {
            return Ok((None, None, None));
        };
        if !effect.rna_changed(&reference.sequences) {
            return Ok((Some(1.0), Some(0.0), None));
        }
        let Some(alternate_mean) = self.rna_mean(encoded).await? else { return Ok((None, None, None)) };
        let dot: f64 = reference_mean.iter().zip(&alternate_mean).map(|(a, b)| *a as f64 * *b as f64).sum();
        let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let l2 = reference_mean.iter().zip(&alternate_mean).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
        let cosine = dot / (norm(reference_mean) * norm(&alternate_mean)).max(f64::MIN_POSITIVE);
        // Weights without the masked-LM head give the distances only.
        let llr = if encoder.has_lm_head() { encoder.masked_marginal(reference_tokens, tokens).await? } else { None };
        Ok((Some(cosine as f32), Some(l2 as f32), llr))
    }

    /// ESM-2's masked marginal over the substituted residues (missense changes).
    async fn esm_llr(&self, reference: &ReferenceState, effect: &Effect) -> Result<Option<f32>> {
        let (Ok(encoder), Some(protein), Some(alternate)) =
            (self.model.sequence_encoder(Modality::Protein), &reference.sequences.protein, &effect.protein)
        else {
            return Ok(None);
        };
        if effect.substitutions.is_empty() || !encoder.has_lm_head() {
            return Ok(None);
        }
        protein_llr(encoder, protein, alternate).await
    }
}

/// Whether an error is about one record (the others can still be scored), not about the run
/// (a device error, an abort).
pub fn refuses_record(error: &Error) -> bool {
    matches!(error, Error::Variant { .. } | Error::ReferenceMismatch { .. })
}

/// ESM-2's masked marginal of `alternate` (same length as `protein`), on a window of the
/// encoder's most residues around the first substitution when the protein is longer (ESM-1v's way).
pub async fn protein_llr(encoder: &SequenceEncoder, protein: &str, alternate: &str) -> Result<Option<f32>> {
    let (protein, alternate) = (protein.as_bytes(), alternate.as_bytes());
    let first = protein.iter().zip(alternate).position(|(a, b)| a != b).unwrap_or(0);
    let limit = match encoder.tokenizer() {
        crate::tokenize::Tokenizer::Protein(t) => t.max_residues(),
        _ => return Err(Error::WrongModality { requested: Modality::Protein, loaded: encoder.modality() }),
    };
    let start = if protein.len() > limit { first.saturating_sub(limit / 2).min(protein.len() - limit) } else { 0 };
    let end = (start + limit).min(protein.len());
    let text = |bytes: &[u8]| String::from_utf8_lossy(&bytes[start..end.min(bytes.len())]).into_owned();
    let tokenizer = encoder.tokenizer();
    encoder.masked_marginal(&tokenizer.encode(&text(protein))?, &tokenizer.encode(&text(alternate))?).await
}

/// Each isoform's share of the gene's expression per tissue, from log(TPM + 1) values.
fn shares(values: &[&[f32]]) -> Vec<Vec<Option<f32>>> {
    let tissues = values.first().map_or(0, |v| v.len());
    let tpm = |v: f32| (v as f64).exp_m1().max(0.0);
    let totals: Vec<f64> = (0..tissues).map(|t| values.iter().map(|v| tpm(v[t])).sum()).collect();
    values
        .iter()
        .map(|v| (0..tissues).map(|t| (totals[t] > 0.0).then(|| (tpm(v[t]) / totals[t]) as f32)).collect())
        .collect()
}

/// Enformer's track Δ around the variant, when the weights carry heads and the variant falls in
/// the bins the heads predict.
fn track_delta(
    transcript: &Transcript,
    edit: &Edit,
    strand: WindowStrand,
    reference: &BTreeMap<String, Tracks>,
    alternate: &BTreeMap<String, Tracks>,
) -> Option<TrackDelta> {
    let tracks = reference.values().next()?;
    let bins = tracks.shape[0];
    let reverse = transcript.read_reverse(strand);
    let offset = edit.start as i64 - window_start(transcript.tss(), reverse);
    let index = if reverse { WINDOW_LENGTH as i64 - 1 - offset } else { offset };
    let bin_width = 128;
    let first_bin_base = (WINDOW_LENGTH as i64 - (bins as i64 * bin_width)) / 2;
    let bin = (index - first_bin_base).div_euclid(bin_width);
    if !(0..bins as i64).contains(&bin) {
        return None;
    }
    let bin = bin as usize;
    let mut heads = BTreeMap::new();
    for (name, before) in reference {
        let after = alternate.get(name)?;
        let count = before.shape[1];
        let around = bin.saturating_sub(1)..(bin + 2).min(bins);
        let delta = (0..count)
            .map(|track| {
                around.clone().map(|b| after.values[b * count + track] - before.values[b * count + track]).sum()
            })
            .collect();
        heads.insert(name.clone(), delta);
    }
    Some(TrackDelta { bin, heads })
}

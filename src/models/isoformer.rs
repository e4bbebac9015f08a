//! IsoFormer: the three encoders and the aggregator. Any non-empty subset of DNA, RNA and protein
//! can be given: a missing RNA or protein skips its cross-attention term; missing DNA is read as a
//! window of N (all-zero one-hot), since the released model is DNA-centred and needs DNA queries.

use burn::tensor::Tensor;
use serde::Serialize;

use crate::config::AggregatorConfig;
use crate::error::{Error, Modality, Result};
use crate::models::aggregator::Aggregator;
use crate::models::nn::{KeyMask, ModalityEmbedding};
use crate::runtime::cancel::Cancel;
use crate::runtime::embed::{DnaEncoder, SequenceEncoder, TokensOnDevice, read_back};
use crate::runtime::parts::PartSource;
use crate::runtime::stages::{Stage, StageClock, StageTimes};
use crate::tokenize::{
    AmbiguityPolicy, CropPolicy, DnaCropPolicy, DnaOneHot, NucleotideTokenizer, ProteinTokenizer, Tokenizer,
};
use crate::weights::{LoadedWeights, Manifest, Part};

/// The 30 GTEx tissues in the dataset card's order ("List of tissues V1"); that the head's outputs
/// follow this order is the natural assumption, not confirmed (docs/isoformer-architecture.md §6).
pub const TISSUES: [&str; 30] = [
    "Adipose Tissue",
    "Adrenal Gland",
    "Bladder",
    "Blood",
    "Blood Vessel",
    "Brain",
    "Breast",
    "Cervix Uteri",
    "Colon",
    "Esophagus",
    "Fallopian Tube",
    "Heart",
    "Kidney",
    "Liver",
    "Lung",
    "Muscle",
    "Nerve",
    "Ovary",
    "Pancreas",
    "Pituitary",
    "Prostate",
    "Salivary Gland",
    "Skin",
    "Small Intestine",
    "Spleen",
    "Stomach",
    "Testis",
    "Thyroid",
    "Uterus",
    "Vagina",
];

/// What the head emits, said in every prediction: the training target is GTEx v8 transcript TPM as
/// log(TPM + 1), but whether the released head predicts it raw or standardised per tissue is unknown.
pub const UNITS: &str = "expression per tissue on the training target's scale: log(TPM + 1) of GTEx v8 transcript TPM, \
possibly standardised per tissue (unconfirmed for the released head)";

/// The sequences of one transcript: its gene's DNA window, the transcript, its protein.
#[derive(Debug, Clone, Default)]
pub struct IsoformerInputs<'a> {
    pub dna: Option<&'a str>,
    pub rna: Option<&'a str>,
    pub protein: Option<&'a str>,
}

/// Per-call choices: how this call reads RNA and DNA instead of the encoders' defaults (an error
/// for anything too long or ambiguous), and when to stop.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Most RNA tokens, `<cls>` included (the RNA encoder's limit when `None`).
    pub max_rna_tokens: Option<usize>,
    /// Most protein residues, `<cls>` and `<eos>` not counted (the protein encoder's limit when `None`).
    pub max_protein_residues: Option<usize>,
    /// RNA over the limit: an error, or its 5' start or 3' end tokens kept.
    pub rna_crop: CropPolicy,
    /// DNA over Enformer's window: an error, or its centre kept.
    pub dna_crop: DnaCropPolicy,
    /// IUPAC ambiguity codes in RNA and DNA: an error, or read as N.
    pub ambiguous: AmbiguityPolicy,
    /// Checked between stages, Enformer's windows and its layers.
    pub cancel: Cancel,
}

impl RunOptions {
    /// Whether RNA is read as the RNA encoder reads it by default (the DNA options aside).
    fn reads_rna_by_default(&self) -> bool {
        self.max_rna_tokens.is_none()
            && self.rna_crop == CropPolicy::default()
            && self.ambiguous == AmbiguityPolicy::default()
    }

    /// The RNA or protein tokenizer these options ask for, in place of `encoder`'s (`None`: the
    /// encoder's own).
    pub fn tokenizer(&self, encoder: &SequenceEncoder) -> Option<Tokenizer> {
        match encoder.tokenizer() {
            Tokenizer::Nucleotide(own) => (!self.reads_rna_by_default()).then(|| {
                let max_tokens = self.max_rna_tokens.unwrap_or(own.max_tokens());
                Tokenizer::Nucleotide(
                    NucleotideTokenizer::new(max_tokens).with_crop(self.rna_crop).with_ambiguity(self.ambiguous),
                )
            }),
            Tokenizer::Protein(_) => {
                self.max_protein_residues.map(|max| Tokenizer::Protein(ProteinTokenizer::new(max)))
            }
        }
    }

    /// The DNA one-hot encoder these options ask for, from `encoder`'s.
    pub fn dna_one_hot(&self, encoder: &DnaEncoder) -> DnaOneHot {
        encoder.one_hot().clone().with_crop(self.dna_crop).with_ambiguity(self.ambiguous)
    }
}

/// A transcript's encoders' outputs on the device (`[1, tokens, width]` each) with their token ids.
#[derive(Clone)]
pub struct EncodedTranscript {
    pub rna: Option<(Vec<u32>, ModalityEmbedding)>,
    pub protein: Option<(Vec<u32>, ModalityEmbedding)>,
}

/// An RNA's or protein's last hidden state computed outside this model: in the browser's CPU
/// fallback, a helper worker (its own wasm instance, the same encoder weights) embeds the token ids
/// [`Isoformer::token_ids`] gave while this model runs the DNA trunk. `[tokens, width]` row-major.
#[derive(Debug, Clone)]
pub struct HostHidden {
    pub shape: [usize; 2],
    pub values: Vec<f32>,
    /// How long the encoder took there (charged to its stage).
    pub ms: f64,
}

/// A transcript's RNA and protein hidden states, each computed elsewhere ([`HostHidden`]).
#[derive(Debug, Clone, Default)]
pub struct HostEncoded {
    pub rna: Option<HostHidden>,
    pub protein: Option<HostHidden>,
}

/// The 30 tissue values, with what produced them.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub tissues: Vec<String>,
    pub values: Vec<f32>,
    pub units: &'static str,
    /// The modalities given (DNA is read as N when absent).
    pub modalities: Vec<Modality>,
    pub random_weights: bool,
    /// `[bins, dna_dim]` row-major after the cross-attentions, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_dna_embeddings: Option<(Vec<usize>, Vec<f32>)>,
    /// Where the time went: milliseconds per stage (see [`Stage`]).
    pub stages: StageTimes,
}

impl IsoformerInputs<'_> {
    /// An error when no sequence is given at all.
    fn require_one(&self) -> Result<()> {
        if self.dna.is_none() && self.rna.is_none() && self.protein.is_none() {
            return Err(Error::InvalidArgument("give at least one of DNA, RNA and protein".into()));
        }
        Ok(())
    }
}

/// The aggregator of a weight directory (manifest model `aggregator`; every tensor must be used),
/// with whether its weights are random.
pub fn load_aggregator(manifest: &Manifest, mut weights: LoadedWeights) -> Result<(Aggregator, bool)> {
    if manifest.model != "aggregator" {
        return Err(Error::Manifest(format!("model {:?} is not an IsoFormer aggregator", manifest.model)));
    }
    let config: AggregatorConfig =
        serde_json::from_value(manifest.config.clone()).map_err(|e| Error::Config(e.to_string()))?;
    let aggregator = Aggregator::load(&config, &mut weights)?;
    weights.finish()?;
    Ok((aggregator, manifest.source.random_weights))
}

/// One optional modality's token ids.
type TokenIds = Option<Vec<u32>>;
/// The RNA's and the protein's token ids.
type Tokens = (TokenIds, TokenIds);

/// The encoders and the aggregator on one device.
pub struct Isoformer {
    dna: DnaEncoder,
    rna: Option<SequenceEncoder>,
    protein: Option<SequenceEncoder>,
    aggregator: Aggregator,
    random_weights: bool,
    /// The DNA embedding of an absent window (all N), once computed.
    absent_dna: std::sync::OnceLock<Tensor<3>>,
}

impl Isoformer {
    /// Checks that the encoders' widths are the aggregator's and that each encoder reads its modality.
    pub fn new(
        dna: DnaEncoder,
        rna: Option<SequenceEncoder>,
        protein: Option<SequenceEncoder>,
        aggregator: Aggregator,
        random_weights: bool,
    ) -> Result<Self> {
        for (encoder, modality) in [(&rna, Modality::Rna), (&protein, Modality::Protein)] {
            if let Some(encoder) = encoder {
                encoder.expect_modality(modality)?;
            }
        }
        let hidden = |encoder: &Option<SequenceEncoder>| encoder.as_ref().map(|e| e.config().hidden_size);
        aggregator.config().check_widths(2 * dna.config().dim, hidden(&rna), hidden(&protein))?;
        let random_weights = random_weights
            || dna.random_weights()
            || rna.as_ref().is_some_and(|e| e.random_weights())
            || protein.as_ref().is_some_and(|e| e.random_weights());
        Ok(Isoformer { dna, rna, protein, aggregator, random_weights, absent_dna: std::sync::OnceLock::new() })
    }

    /// Loads an IsoFormer weight directory (`isoformer.json`) from the local file system: DNA and
    /// the aggregator always, RNA and protein when `wanted` names them (and the directory has them).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(device: crate::ComputeDevice, dir: &std::path::Path, wanted: &[Part]) -> Result<Self> {
        use crate::runtime::parts::{IsoformerDir, load_isoformer};
        pollster::block_on(load_isoformer(&device, &mut IsoformerDir::open(dir)?, wanted))
    }

    /// The device every part runs on.
    pub fn device(&self) -> &crate::ComputeDevice {
        self.dna.device()
    }

    pub fn random_weights(&self) -> bool {
        self.random_weights
    }

    /// Which modalities this model can read (DNA always: when absent it is read as N).
    pub fn modalities(&self) -> Vec<Modality> {
        let mut modalities = vec![Modality::Dna];
        modalities.extend(self.rna.as_ref().map(|_| Modality::Rna));
        modalities.extend(self.protein.as_ref().map(|_| Modality::Protein));
        modalities
    }

    fn encoder(encoder: &Option<SequenceEncoder>, modality: Modality) -> Result<&SequenceEncoder> {
        encoder.as_ref().ok_or_else(|| Error::InvalidArgument(format!("no {modality} encoder is loaded")))
    }

    /// The RNA or protein encoder, for embeddings alone (an error when it is not loaded, or for DNA).
    pub fn sequence_encoder(&self, modality: Modality) -> Result<&SequenceEncoder> {
        match modality {
            Modality::Rna => Self::encoder(&self.rna, modality),
            Modality::Protein => Self::encoder(&self.protein, modality),
            Modality::Dna => Err(Error::InvalidArgument(
                "DNA is embedded by the DNA encoder (Enformer), not a sequence encoder".into(),
            )),
        }
    }

    /// The DNA encoder (Enformer), for embeddings alone.
    pub fn dna_encoder(&self) -> &DnaEncoder {
        &self.dna
    }

    /// Checks every given sequence (tokenizes it) without running anything, so a batch can refuse
    /// a bad row before spending time on the good ones.
    pub fn check(&self, inputs: &IsoformerInputs<'_>, options: &RunOptions) -> Result<()> {
        inputs.require_one()?;
        self.token_ids(inputs, options).map(drop)
    }

    /// Every given sequence checked (RNA and protein first, then DNA, as a prediction reads them),
    /// and the RNA's and protein's token ids as this model reads them: what a helper worker's
    /// encoder embeds for [`Isoformer::predict_with_encoded`].
    pub fn token_ids(&self, inputs: &IsoformerInputs<'_>, options: &RunOptions) -> Result<Tokens> {
        let tokens = self.tokenize(inputs, options)?;
        if let Some(dna) = inputs.dna {
            self.one_hot(options).encode(dna)?;
        }
        Ok(tokens)
    }

    fn one_hot(&self, options: &RunOptions) -> DnaOneHot {
        options.dna_one_hot(&self.dna)
    }

    /// The RNA's and the protein's token ids (host side).
    fn tokenize(&self, inputs: &IsoformerInputs<'_>, options: &RunOptions) -> Result<Tokens> {
        let tokenize = |encoder: &Option<SequenceEncoder>, modality: Modality, sequence: &str| {
            let encoder = Self::encoder(encoder, modality)?;
            let tokens = options
                .tokenizer(encoder)
                .map_or_else(|| encoder.tokenize(sequence), |tokenizer| tokenizer.encode(sequence))?;
            encoder.fits(&tokens, self.aggregator.config().dna_dim).map(|()| tokens)
        };
        let rna = inputs.rna.map(|s| tokenize(&self.rna, Modality::Rna, s)).transpose()?;
        let protein = inputs.protein.map(|s| tokenize(&self.protein, Modality::Protein, s)).transpose()?;
        Ok((rna, protein))
    }

    /// The token ids to the device; laps `Upload` once they are there.
    async fn upload(
        &self,
        (rna, protein): (Option<Vec<u32>>, Option<Vec<u32>>),
        clock: &mut StageClock,
    ) -> Result<(Option<TokensOnDevice>, Option<TokensOnDevice>)> {
        let rna = rna.map(|t| Self::encoder(&self.rna, Modality::Rna)?.upload(&t)).transpose()?;
        let protein = protein.map(|t| Self::encoder(&self.protein, Modality::Protein)?.upload(&t)).transpose()?;
        // The queue runs in order: once the last upload is on the device, so is the first.
        match protein.as_ref().or(rna.as_ref()) {
            Some(last) => clock.lap_after(Stage::Upload, &last.mask.tokens).await?,
            None => clock.lap(Stage::Upload),
        }
        Ok((rna, protein))
    }

    /// The Enformer trunk's `[1, bins, dna_dim]` embedding of a DNA window (N when absent), which
    /// [`Isoformer::predict_from`] reuses across the isoforms of one gene.
    pub async fn dna_embedding(&self, dna: Option<&str>, options: &RunOptions) -> Result<Tensor<3>> {
        match dna {
            Some(dna) => self.dna.trunk(&self.one_hot(options), dna, &options.cancel).await,
            None => self.absent_dna_embedding(&options.cancel).await,
        }
    }

    /// Absent DNA is an all-N window: the same embedding every time, so it is computed once per
    /// model (the trunk is most of a prediction's cost).
    async fn absent_dna_embedding(&self, cancel: &Cancel) -> Result<Tensor<3>> {
        match self.absent_dna.get() {
            Some(embedding) => Ok(embedding.clone()),
            None => {
                let embedding = self.dna.trunk(self.dna.one_hot(), "N", cancel).await?;
                Ok(self.absent_dna.get_or_init(|| embedding).clone())
            }
        }
    }

    /// Every given sequence read on the host, before any device work: the RNA's and protein's
    /// token ids and the DNA's one-hot (laps `Tokenize`).
    fn read_inputs(
        &self,
        inputs: &IsoformerInputs<'_>,
        options: &RunOptions,
        clock: &mut StageClock,
    ) -> Result<(Tokens, Option<Vec<f32>>)> {
        inputs.require_one()?;
        let tokens = self.tokenize(inputs, options)?;
        let one_hot = inputs.dna.map(|dna| self.one_hot(options).encode(dna)).transpose()?;
        clock.lap(Stage::Tokenize);
        Ok((tokens, one_hot))
    }

    /// The trunk over a window's one-hot, or (no DNA given) the absent-DNA embedding.
    async fn trunk_or_absent(&self, one_hot: Option<Vec<f32>>, cancel: &Cancel) -> Result<Tensor<3>> {
        match one_hot {
            Some(one_hot) => self.dna.trunk_of(&one_hot, cancel).await,
            None => self.absent_dna_embedding(cancel).await,
        }
    }

    /// Predicts the tissue values of one transcript; `final_dna` also returns the final DNA embeddings.
    pub async fn predict(&self, inputs: &IsoformerInputs<'_>, final_dna: bool) -> Result<Prediction> {
        self.predict_with(inputs, final_dna, &RunOptions::default()).await
    }

    /// [`Isoformer::predict`] reading the inputs as `options` says, stopping between stages (and
    /// Enformer's windows and layers) once `options.cancel` asks.
    pub async fn predict_with(
        &self,
        inputs: &IsoformerInputs<'_>,
        final_dna: bool,
        options: &RunOptions,
    ) -> Result<Prediction> {
        let mut clock = StageClock::default();
        let (tokens, one_hot) = self.read_inputs(inputs, options, &mut clock)?;
        let tokens = self.upload(tokens, &mut clock).await?;
        let dna = self.trunk_or_absent(one_hot, &options.cancel).await?;
        clock.lap_after(Stage::Dna, &dna).await?;
        self.encode_and_aggregate(dna, tokens, clock, inputs, final_dna, &options.cancel).await
    }

    /// [`Isoformer::predict_with`] with the DNA embedding already computed (from `inputs.dna`).
    pub async fn predict_from(
        &self,
        dna: Tensor<3>,
        inputs: &IsoformerInputs<'_>,
        final_dna: bool,
        options: &RunOptions,
    ) -> Result<Prediction> {
        let mut clock = StageClock::default();
        let tokens = self.tokenize(inputs, options)?;
        clock.lap(Stage::Tokenize);
        let tokens = self.upload(tokens, &mut clock).await?;
        self.encode_and_aggregate(dna, tokens, clock, inputs, final_dna, &options.cancel).await
    }

    /// [`Isoformer::predict_with`] with the RNA and protein encoded elsewhere: `encoded` (the
    /// hidden states of [`Isoformer::token_ids`]' ids) is awaited once the DNA trunk has run, so
    /// the encoders run alongside it. Every input is checked before the trunk starts.
    pub async fn predict_with_encoded(
        &self,
        inputs: &IsoformerInputs<'_>,
        encoded: impl Future<Output = Result<HostEncoded>>,
        options: &RunOptions,
    ) -> Result<Prediction> {
        let mut clock = StageClock::default();
        let (tokens, one_hot) = self.read_inputs(inputs, options, &mut clock)?;
        let dna = self.trunk_or_absent(one_hot, &options.cancel).await?;
        clock.lap_after(Stage::Dna, &dna).await?;
        let encoded = encoded.await?;
        self.aggregate_encoded(dna, tokens, encoded, clock, inputs, &options.cancel).await
    }

    /// [`Isoformer::predict_from`] with the RNA and protein encoded elsewhere (as
    /// [`Isoformer::predict_with_encoded`]): a gene's transcripts against one DNA embedding.
    pub async fn predict_from_encoded(
        &self,
        dna: Tensor<3>,
        inputs: &IsoformerInputs<'_>,
        encoded: HostEncoded,
        options: &RunOptions,
    ) -> Result<Prediction> {
        let mut clock = StageClock::default();
        let tokens = self.tokenize(inputs, options)?;
        clock.lap(Stage::Tokenize);
        self.aggregate_encoded(dna, tokens, encoded, clock, inputs, &options.cancel).await
    }

    /// Hidden states from elsewhere to the device (each checked against its token ids), then the
    /// aggregator; their encoders' times are charged to their stages, the wait for them to none.
    async fn aggregate_encoded(
        &self,
        dna: Tensor<3>,
        (rna_ids, protein_ids): Tokens,
        encoded: HostEncoded,
        mut clock: StageClock,
        inputs: &IsoformerInputs<'_>,
        cancel: &Cancel,
    ) -> Result<Prediction> {
        cancel.checkpoint().await?;
        clock.restart();
        let rna = self.host_embedding(Modality::Rna, rna_ids, encoded.rna, &mut clock)?;
        let protein = self.host_embedding(Modality::Protein, protein_ids, encoded.protein, &mut clock)?;
        clock.lap(Stage::Upload);
        self.aggregate_and_read(dna, rna, protein, clock, inputs, false).await
    }

    /// One modality's [`HostHidden`] as the aggregator reads it (`[1, tokens, width]`, no padding),
    /// refused unless it is there exactly when its sequence is, one finite row per token.
    fn host_embedding(
        &self,
        modality: Modality,
        ids: TokenIds,
        hidden: Option<HostHidden>,
        clock: &mut StageClock,
    ) -> Result<Option<ModalityEmbedding>> {
        let refuse = |why: String| Err(Error::InvalidArgument(format!("{modality} hidden states: {why}")));
        let (ids, hidden) = match (ids, hidden) {
            (None, None) => return Ok(None),
            (Some(_), None) => return refuse(format!("missing, though the call gives the {modality} sequence")),
            (None, Some(_)) => return refuse(format!("given, though the call has no {modality} sequence")),
            (Some(ids), Some(hidden)) => (ids, hidden),
        };
        let [rows, width] = hidden.shape;
        if rows != ids.len() {
            return refuse(format!("{rows} rows for {} tokens", ids.len()));
        }
        if hidden.values.len() != rows * width {
            return refuse(format!("{} values for the shape [{rows}, {width}]", hidden.values.len()));
        }
        if hidden.values.iter().any(|v| !v.is_finite()) {
            return refuse("a value is not finite".into());
        }
        clock.record(if modality == Modality::Rna { Stage::Rna } else { Stage::Protein }, hidden.ms);
        let device = &self.device().device;
        let states = Tensor::from_data(burn::tensor::TensorData::new(hidden.values, [1, rows, width]), device);
        let tokens = Tensor::ones([1, rows], device);
        Ok(Some(ModalityEmbedding { hidden: states, mask: KeyMask { tokens, padded: false } }))
    }

    /// A transcript's RNA and protein through their encoders, kept on the device with their token
    /// ids, so several DNA windows can be predicted against them ([`Isoformer::predict_encoded`];
    /// variant scoring: a variant that changes only the DNA re-runs only the aggregator).
    pub async fn encode_transcript(
        &self,
        inputs: &IsoformerInputs<'_>,
        options: &RunOptions,
    ) -> Result<EncodedTranscript> {
        options.cancel.checkpoint().await?;
        let rna = inputs.rna.map(|rna| self.encode_part(Modality::Rna, rna, options)).transpose()?;
        let protein =
            inputs.protein.map(|protein| self.encode_part(Modality::Protein, protein, options)).transpose()?;
        Ok(EncodedTranscript { rna, protein })
    }

    /// One RNA or protein through its encoder (queued on the device), with its token ids.
    pub fn encode_part(
        &self,
        modality: Modality,
        sequence: &str,
        options: &RunOptions,
    ) -> Result<(Vec<u32>, ModalityEmbedding)> {
        let inputs = match modality {
            Modality::Rna => IsoformerInputs { rna: Some(sequence), ..Default::default() },
            Modality::Protein => IsoformerInputs { protein: Some(sequence), ..Default::default() },
            Modality::Dna => return Err(Error::InvalidArgument("DNA is embedded by Enformer (dna_embedding)".into())),
        };
        let (rna, protein) = self.tokenize(&inputs, options)?;
        let tokens = rna.or(protein).expect("one sequence given");
        let encoder = self.sequence_encoder(modality)?;
        let embedding = encoder.forward(encoder.upload(&tokens)?);
        Ok((tokens, embedding))
    }

    /// The aggregator over `dna` (`[1, bins, dna_dim]`) and an encoded transcript; `inputs` name
    /// the modalities given (DNA included when `dna` is a given window).
    pub async fn predict_encoded(
        &self,
        dna: Tensor<3>,
        encoded: &EncodedTranscript,
        inputs: &IsoformerInputs<'_>,
    ) -> Result<Prediction> {
        let embedding = |part: &Option<(Vec<u32>, ModalityEmbedding)>| part.as_ref().map(|(_, e)| e.clone());
        let outputs = self.aggregator.forward(dna, embedding(&encoded.rna), embedding(&encoded.protein))?;
        prediction(outputs, inputs, false, self.random_weights).await
    }

    /// Several transcripts of one gene at once: `dna` (`[1, bins, dna_dim]`, their shared window)
    /// with their RNAs and proteins encoded as padded batches and the aggregator run over the
    /// batch — the device filled by one pass instead of one per transcript. Each input must give
    /// the same modalities (RNA, protein; DNA is `dna`). Per transcript, in order; the stage
    /// timings are the batch's.
    pub async fn predict_batch_from(
        &self,
        dna: Tensor<3>,
        inputs: &[IsoformerInputs<'_>],
        options: &RunOptions,
    ) -> Result<Vec<Prediction>> {
        let Some(first) = inputs.first() else { return Ok(Vec::new()) };
        if inputs
            .iter()
            .any(|i| i.rna.is_some() != first.rna.is_some() || i.protein.is_some() != first.protein.is_some())
        {
            return Err(Error::InvalidArgument("the transcripts of a batch must give the same modalities".into()));
        }
        let mut clock = StageClock::default();
        let mut encode = async |encoder: &Option<SequenceEncoder>,
                                modality: Modality,
                                stage: Stage,
                                sequences: Option<Vec<&str>>|
               -> Result<Option<ModalityEmbedding>> {
            let Some(sequences) = sequences else { return Ok(None) };
            let encoder = Self::encoder(encoder, modality)?;
            let tokenizer = options.tokenizer(encoder).unwrap_or_else(|| encoder.tokenizer().clone());
            let embedding = encoder.hidden_batch_with(&tokenizer, &sequences)?;
            clock.lap_after(stage, &embedding.hidden).await?;
            Ok(Some(embedding))
        };
        let rna = encode(&self.rna, Modality::Rna, Stage::Rna, inputs.iter().map(|i| i.rna).collect()).await?;
        let proteins = inputs.iter().map(|i| i.protein).collect();
        let protein = encode(&self.protein, Modality::Protein, Stage::Protein, proteins).await?;
        let (values, _) = self.aggregator.forward(dna.repeat_dim(0, inputs.len()), rna, protein)?;
        clock.lap_after(Stage::Aggregation, &values).await?;
        let values = read_back(values).await?;
        clock.lap(Stage::Readback);
        let stages = clock.finish();
        let width = values.len() / inputs.len();
        Ok(inputs
            .iter()
            .zip(values.chunks(width))
            .map(|(inputs, values)| Prediction {
                stages: stages.clone(),
                ..prediction_of(values.to_vec(), inputs, None, self.random_weights)
            })
            .collect())
    }

    /// RNA and protein through their encoders, then the aggregator and the readback, each lapped.
    async fn encode_and_aggregate(
        &self,
        dna: Tensor<3>,
        (rna, protein): (Option<TokensOnDevice>, Option<TokensOnDevice>),
        mut clock: StageClock,
        inputs: &IsoformerInputs<'_>,
        final_dna: bool,
        cancel: &Cancel,
    ) -> Result<Prediction> {
        let mut encode = async |tokens: Option<TokensOnDevice>,
                                encoder: &Option<SequenceEncoder>,
                                modality: Modality,
                                stage: Stage|
               -> Result<Option<ModalityEmbedding>> {
            let Some(tokens) = tokens else { return Ok(None) };
            cancel.checkpoint().await?;
            let embedding = Self::encoder(encoder, modality)?.forward(tokens);
            clock.lap_after(stage, &embedding.hidden).await?;
            Ok(Some(embedding))
        };
        let rna = encode(rna, &self.rna, Modality::Rna, Stage::Rna).await?;
        let protein = encode(protein, &self.protein, Modality::Protein, Stage::Protein).await?;
        cancel.checkpoint().await?;
        self.aggregate_and_read(dna, rna, protein, clock, inputs, final_dna).await
    }

    /// The aggregator over the encoders' outputs, then the readback, each lapped.
    async fn aggregate_and_read(
        &self,
        dna: Tensor<3>,
        rna: Option<ModalityEmbedding>,
        protein: Option<ModalityEmbedding>,
        mut clock: StageClock,
        inputs: &IsoformerInputs<'_>,
        final_dna: bool,
    ) -> Result<Prediction> {
        let outputs = self.aggregator.forward(dna, rna, protein)?;
        clock.lap_after(Stage::Aggregation, &outputs.0).await?;
        let mut prediction = prediction(outputs, inputs, final_dna, self.random_weights).await?;
        clock.lap(Stage::Readback);
        prediction.stages = clock.finish();
        Ok(prediction)
    }
}

/// Reads the aggregator's outputs back into a [`Prediction`].
async fn prediction(
    (values, final_embeddings): (Tensor<2>, Tensor<3>),
    inputs: &IsoformerInputs<'_>,
    final_dna: bool,
    random_weights: bool,
) -> Result<Prediction> {
    let values = read_back(values).await?;
    let final_dna_embeddings = if final_dna {
        let [_, bins, width] = final_embeddings.dims();
        Some((vec![bins, width], read_back(final_embeddings).await?))
    } else {
        None
    };
    Ok(prediction_of(values, inputs, final_dna_embeddings, random_weights))
}

/// One transcript's [`Prediction`] from its values read back (no stage timings yet).
fn prediction_of(
    values: Vec<f32>,
    inputs: &IsoformerInputs<'_>,
    final_dna_embeddings: Option<(Vec<usize>, Vec<f32>)>,
    random_weights: bool,
) -> Prediction {
    let tissues =
        (0..values.len()).map(|i| TISSUES.get(i).map_or_else(|| format!("output {i}"), |t| t.to_string())).collect();
    let modalities = [(inputs.dna, Modality::Dna), (inputs.rna, Modality::Rna), (inputs.protein, Modality::Protein)]
        .into_iter()
        .filter_map(|(s, m)| s.map(|_| m))
        .collect();
    Prediction {
        tissues,
        values,
        units: UNITS,
        modalities,
        random_weights,
        final_dna_embeddings,
        stages: StageTimes::default(),
    }
}

/// Runs a part's pending work to the end: reads `tensor` back and uploads it again, so nothing
/// still refers to the part's weights once it is dropped.
async fn settle(tensor: Tensor<3>, device: &crate::ComputeDevice) -> Result<Tensor<3>> {
    let dims = tensor.dims();
    let values = read_back(tensor).await?;
    Ok(Tensor::from_data(burn::tensor::TensorData::new(values, dims), &device.device))
}

/// Low-memory prediction. [`Isoformer`] holds every part at once; this holds one: each part is
/// loaded from `source`, run, and dropped (its device pages released) before the next is loaded,
/// keeping only its embedding. Peak device memory is then the largest part with its activations,
/// not the sum — at the price of loading the parts again for every prediction.
pub async fn predict_part_by_part(
    device: &crate::ComputeDevice,
    inputs: &IsoformerInputs<'_>,
    final_dna: bool,
    options: &RunOptions,
    source: &mut impl PartSource,
) -> Result<Prediction> {
    inputs.require_one()?;
    // Stages here: `load` per part, and each encoder's stage includes its tokenize and upload.
    let mut clock = StageClock::default();
    let mut random = false;
    let mut embeddings = Vec::new();
    for (part, modality, sequence) in
        [(Part::Rna, Modality::Rna, inputs.rna), (Part::Protein, Modality::Protein, inputs.protein)]
    {
        let Some(sequence) = sequence else {
            embeddings.push(None);
            continue;
        };
        options.cancel.checkpoint().await?;
        let (manifest, weights) = source.part(part, &device.device).await?;
        let mut encoder = SequenceEncoder::new(device.clone(), &manifest, weights)?;
        encoder.expect_modality(modality)?;
        if let Some(tokenizer) = options.tokenizer(&encoder) {
            encoder = encoder.with_tokenizer(tokenizer)?;
        }
        random |= encoder.random_weights();
        clock.lap(Stage::Load);
        let (_, embedding) = encoder.hidden(sequence)?;
        let hidden = settle(embedding.hidden, device).await?;
        drop(encoder);
        device.device.memory_cleanup();
        clock.lap(if modality == Modality::Rna { Stage::Rna } else { Stage::Protein });
        embeddings.push(Some(ModalityEmbedding { hidden, mask: embedding.mask }));
    }
    options.cancel.checkpoint().await?;
    let (manifest, weights) = source.part(Part::Dna, &device.device).await?;
    let encoder = DnaEncoder::new(device.clone(), &manifest, weights)?;
    random |= encoder.random_weights();
    clock.lap(Stage::Load);
    let one_hot = options.dna_one_hot(&encoder);
    let dna = settle(encoder.trunk(&one_hot, inputs.dna.unwrap_or("N"), &options.cancel).await?, device).await?;
    drop(encoder);
    device.device.memory_cleanup();
    clock.lap(Stage::Dna);
    let (manifest, weights) = source.part(Part::Aggregator, &device.device).await?;
    let (aggregator, aggregator_random) = load_aggregator(&manifest, weights)?;
    clock.lap(Stage::Load);
    let protein = embeddings.pop().flatten();
    let rna = embeddings.pop().flatten();
    let width = |embedding: &Option<ModalityEmbedding>| embedding.as_ref().map(|e| e.hidden.dims()[2]);
    aggregator.config().check_widths(dna.dims()[2], width(&rna), width(&protein))?;
    let outputs = aggregator.forward(dna, rna, protein)?;
    clock.lap_after(Stage::Aggregation, &outputs.0).await?;
    let mut prediction = prediction(outputs, inputs, final_dna, random || aggregator_random).await?;
    clock.lap(Stage::Readback);
    prediction.stages = clock.finish();
    Ok(prediction)
}

/// [`predict_part_by_part`] over an IsoFormer weight directory on the local file system.
#[cfg(not(target_arch = "wasm32"))]
pub async fn predict_dir_part_by_part(
    device: &crate::ComputeDevice,
    dir: &std::path::Path,
    inputs: &IsoformerInputs<'_>,
    final_dna: bool,
    options: &RunOptions,
) -> Result<Prediction> {
    let mut source = crate::runtime::parts::IsoformerDir::open(dir)?;
    predict_part_by_part(device, inputs, final_dna, options, &mut source).await
}

//! Sequence in, embedding out: tokenization, the encoder's forward pass and async readback.
//! Used by the CLI (through `pollster`) and by the wasm API (awaited in the browser).

use std::collections::BTreeMap;

use burn::tensor::{Int, Tensor, TensorData};
use serde::Serialize;

use crate::config::{ENFORMER_SEQUENCE_LENGTH, EnformerConfig, EsmConfig, EsmFamily};
use crate::error::{Error, Modality, Result};
use crate::models::enformer::{ConvChunks, ConvKernel, Enformer};
use crate::models::esm::Esm;
use crate::models::nn::KeyMask;
use crate::models::nn::ModalityEmbedding;
use crate::runtime::backend::ComputeDevice;
use crate::runtime::cancel::Cancel;
use crate::runtime::limits::{ActivationLimit, buffer_budget};
use crate::tokenize::{DnaOneHot, NUCLEOTIDE_MAX_TOKENS, NucleotideTokenizer, ProteinTokenizer, Tokenizer, pad_batch};
use crate::weights::{LoadedWeights, Manifest};

/// One sequence's embedding, row-major.
#[derive(Debug, Clone, Serialize)]
pub struct Embedding {
    pub tokens: Vec<u32>,
    /// `[tokens, hidden]`, special tokens included.
    pub shape: [usize; 2],
    pub last_hidden_state: Vec<f32>,
    /// Mean over the sequence's own tokens (residues, or NT-v2's 6-mer and single-nucleotide
    /// tokens), without `<cls>`, `<eos>` or padding: `[hidden]`.
    pub mean_embedding: Vec<f32>,
}

/// How one layer's per-token states become a sequence's embedding: the `<cls>` row, the mean over
/// the sequence's own tokens (no `<cls>`, `<eos>` or padding), or every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Cls,
    #[default]
    Mean,
    None,
}

impl Embedding {
    /// One sequence's `[tokens, width]` rows, with the mean over its own rows: after `<cls>`, before
    /// its `trailing` special tokens.
    fn from_rows(tokens: Vec<u32>, width: usize, rows: Vec<f32>, trailing: usize) -> Self {
        let mean_embedding = mean_rows(&rows[width..(tokens.len() - trailing) * width], width);
        Embedding { shape: [tokens.len(), width], tokens, last_hidden_state: rows, mean_embedding }
    }

    /// The embedding pooled as `pooling` asks: its shape (`[hidden]`, or `[tokens, hidden]` for
    /// `none`) and values.
    pub fn pooled(&self, pooling: Pooling) -> (Vec<usize>, Vec<f32>) {
        let width = self.shape[1];
        match pooling {
            Pooling::Cls => (vec![width], self.last_hidden_state[..width].to_vec()),
            Pooling::Mean => (vec![width], self.mean_embedding.clone()),
            Pooling::None => (self.shape.to_vec(), self.last_hidden_state.clone()),
        }
    }
}

/// Masked-LM output for one sequence: `[tokens, vocab]` logits.
#[derive(Debug, Clone, Serialize)]
pub struct Logits {
    pub tokens: Vec<u32>,
    pub shape: [usize; 2],
    pub logits: Vec<f32>,
}

/// An ESM-family encoder on one device with its tokenizer: ESM-2 for proteins (manifest model
/// `esm2`) or NT-v2 for RNA (`nt`).
pub struct SequenceEncoder {
    device: ComputeDevice,
    model: Esm,
    tokenizer: Tokenizer,
    random_weights: bool,
    /// The most bytes one tensor may take (the device's binding limit, or a lower one set).
    buffer_budget: u64,
}

impl SequenceEncoder {
    /// Builds the encoder from a manifest and its uploaded weights; every tensor must be used.
    /// Proteins may have `max_position_embeddings − 2` residues; RNA may have
    /// [`NUCLEOTIDE_MAX_TOKENS`] tokens with `<cls>` (fewer if the config has fewer positions).
    pub fn new(device: ComputeDevice, manifest: &Manifest, mut weights: LoadedWeights) -> Result<Self> {
        let family = EsmFamily::from_model_name(&manifest.model).ok_or_else(|| {
            Error::Manifest(format!(
                "model {:?} is not an ESM-family encoder (expected \"esm2\" or \"nt\")",
                manifest.model
            ))
        })?;
        let config: EsmConfig =
            serde_json::from_value(manifest.config.clone()).map_err(|e| Error::Config(e.to_string()))?;
        let model = Esm::load(&config, family, &mut weights)?;
        weights.finish()?;
        let tokenizer = match family {
            EsmFamily::Esm2 => Tokenizer::Protein(ProteinTokenizer::new(config.max_residues())),
            EsmFamily::NucleotideTransformer => Tokenizer::Nucleotide(NucleotideTokenizer::new(
                NUCLEOTIDE_MAX_TOKENS.min(config.max_position_embeddings),
            )),
        };
        let buffer_budget = buffer_budget(&device);
        Ok(SequenceEncoder { device, model, tokenizer, random_weights: manifest.source.random_weights, buffer_budget })
    }

    /// Plans for a smaller buffer limit than the device's (tests; WebGPU's portable 128 MiB).
    pub fn with_buffer_limit(mut self, bytes: u64) -> Self {
        self.buffer_budget = bytes.min(buffer_budget(&self.device));
        self
    }

    /// What one pass may hold: `[batch, length, widest]` f32 activations within the buffer budget
    /// (the widest: hidden size, the feed-forward's first projection, or the logits' vocabulary).
    pub fn activation_limit(&self, logits: bool) -> ActivationLimit {
        let config = self.model.config();
        let feed_forward = match self.model.family() {
            EsmFamily::Esm2 => config.intermediate_size,
            EsmFamily::NucleotideTransformer => 2 * config.intermediate_size,
        };
        let vocab = if logits { config.vocab_size } else { 0 };
        let widest = config.hidden_size.max(feed_forward).max(vocab);
        ActivationLimit { modality: self.modality(), widest, budget: self.buffer_budget }
    }

    /// Replaces the tokenizer (a longer maximum, an ambiguity or crop policy); it must be for
    /// this encoder's modality. Longer than the trained context works (rotary positions
    /// extrapolate) but quality may drop.
    pub fn with_tokenizer(mut self, tokenizer: Tokenizer) -> Result<Self> {
        self.expect_modality(tokenizer.modality())?;
        self.tokenizer = tokenizer;
        Ok(self)
    }

    pub fn config(&self) -> &EsmConfig {
        self.model.config()
    }

    /// Protein for ESM-2, RNA for NT-v2.
    pub fn modality(&self) -> Modality {
        self.model.family().modality()
    }

    pub fn device(&self) -> &ComputeDevice {
        &self.device
    }

    pub fn random_weights(&self) -> bool {
        self.random_weights
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// An error unless this encoder reads `modality` (so a protein never reaches NT-v2).
    pub fn expect_modality(&self, modality: Modality) -> Result<()> {
        if modality == self.modality() {
            Ok(())
        } else {
            Err(Error::WrongModality { requested: modality, loaded: self.modality() })
        }
    }

    fn tokenize_all(&self, tokenizer: &Tokenizer, sequences: &[&str]) -> Result<Vec<Vec<u32>>> {
        if sequences.is_empty() {
            return Err(Error::InvalidArgument("no sequences given".into()));
        }
        self.expect_modality(tokenizer.modality())?;
        sequences.iter().map(|s| tokenizer.encode(s)).collect()
    }

    /// Consecutive runs of `tokens` that each fit the device in one pass (padded to their longest
    /// and the length bucket); a sequence too long alone is a run of one, which the upload refuses.
    fn passes(&self, tokens: &[Vec<u32>], logits: bool) -> Vec<std::ops::Range<usize>> {
        let limit = self.activation_limit(logits);
        let bucket = self.device.length_bucket.max(1);
        let mut passes = Vec::new();
        let (mut start, mut longest) = (0, 0);
        for (i, row) in tokens.iter().enumerate() {
            let longer = longest.max(row.len().div_ceil(bucket) * bucket);
            if i > start && limit.max_batch(longer) < i + 1 - start {
                passes.push(start..i);
                (start, longest) = (i, row.len().div_ceil(bucket) * bucket);
            } else {
                longest = longer;
            }
        }
        passes.push(start..tokens.len());
        passes
    }

    /// Token ids to the device, padded to the longest and up to the device's length bucket (so a
    /// new length in the same bucket reuses the GPU's compiled kernels): `[batch, length]` ids and
    /// mask. Refused (`SEQUENCE_TOO_LONG`) before any device work when the pass would not fit.
    fn upload_batch(&self, tokens: &[Vec<u32>], pad_id: u32, logits: bool) -> Result<(Tensor<2, Int>, KeyMask)> {
        let (ids, mask, length) = pad_batch(tokens, pad_id, self.device.length_bucket);
        self.activation_limit(logits).check(tokens.len(), length)?;
        let padded = mask.contains(&0.0);
        let shape = [tokens.len(), length];
        let ids: Vec<i32> = ids.into_iter().map(|id| id as i32).collect();
        let device = &self.device.device;
        let tokens = Tensor::from_data(TensorData::new(mask, shape), device);
        Ok((Tensor::from_data(TensorData::new(ids, shape), device), KeyMask { tokens, padded }))
    }

    /// Embeds a batch (padded to its longest member; split into passes that fit the device) and
    /// reads it back asynchronously.
    pub async fn embed(&self, sequences: &[&str]) -> Result<Vec<Embedding>> {
        self.embed_with(&self.tokenizer, sequences).await
    }

    /// [`Self::embed`] with another tokenizer for this modality (per-request crop or ambiguity policy).
    pub async fn embed_with(&self, tokenizer: &Tokenizer, sequences: &[&str]) -> Result<Vec<Embedding>> {
        let tokens = self.tokenize_all(tokenizer, sequences)?;
        let trailing = tokenizer.trailing_special_tokens();
        let mut embeddings = Vec::with_capacity(tokens.len());
        for pass in self.passes(&tokens, false) {
            let (ids, mask) = self.upload_batch(&tokens[pass.clone()], tokenizer.pad_id(), false)?;
            let per_sequence = read_rows(self.model.forward(ids, &mask), tokens[pass].to_vec()).await?;
            embeddings
                .extend(per_sequence.map(|(tokens, width, rows)| Embedding::from_rows(tokens, width, rows, trailing)));
        }
        Ok(embeddings)
    }

    /// One sequence's last hidden state on the device, not read back, with its token ids:
    /// `[1, length, hidden]` and its `[1, length]` mask (`length`: the tokens, up to the device's bucket).
    pub fn hidden(&self, sequence: &str) -> Result<(Vec<u32>, ModalityEmbedding)> {
        let tokens = self.tokenize(sequence)?;
        let embedding = self.forward(self.upload(&tokens)?);
        Ok((tokens, embedding))
    }

    /// Several sequences' last hidden states on the device, padded to the longest (and the device's
    /// bucket): `[batch, length, hidden]` with its `[batch, length]` mask, not read back; one pass,
    /// so refused when the batch does not fit the device.
    pub fn hidden_batch(&self, sequences: &[&str]) -> Result<ModalityEmbedding> {
        self.hidden_batch_with(&self.tokenizer, sequences)
    }

    /// [`Self::hidden_batch`] with another tokenizer for this modality (per-request policies).
    pub fn hidden_batch_with(&self, tokenizer: &Tokenizer, sequences: &[&str]) -> Result<ModalityEmbedding> {
        let tokens = self.tokenize_all(tokenizer, sequences)?;
        let (ids, mask) = self.upload_batch(&tokens, tokenizer.pad_id(), false)?;
        Ok(ModalityEmbedding { hidden: self.model.forward(ids, &mask), mask })
    }

    /// One sequence's last hidden state, `[tokens, hidden]` row-major, from token ids made
    /// elsewhere: in the browser's CPU fallback, IsoFormer's worker tokenizes and a helper worker
    /// (its own wasm instance, the same weights) runs this encoder. Ids outside the vocabulary, or
    /// too many for the device, are refused before anything runs.
    pub async fn hidden_of_ids(&self, ids: &[u32]) -> Result<([usize; 2], Vec<f32>)> {
        let vocabulary = self.model.config().vocab_size;
        if ids.is_empty() {
            return Err(Error::InvalidArgument("no token ids given".into()));
        }
        if let Some(id) = ids.iter().find(|&&id| id as usize >= vocabulary) {
            return Err(Error::InvalidArgument(format!("token id {id} is outside the {vocabulary}-token vocabulary")));
        }
        let (tokens, mask) = self.upload_batch(&[ids.to_vec()], self.tokenizer.pad_id(), false)?;
        let (_, width, rows) = read_rows(self.model.forward(tokens, &mask), vec![ids.to_vec()])
            .await?
            .next()
            .ok_or_else(|| Error::Device("no output".into()))?;
        Ok(([ids.len(), width], rows))
    }

    /// [`Self::hidden`]'s first step, on the host: one sequence's token ids.
    pub fn tokenize(&self, sequence: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(sequence)
    }

    /// `Ok` when one sequence of these token ids fits the device (host side, nothing run), its
    /// per-token activations at least `width` wide (IsoFormer's aggregator projects the encoder's
    /// tokens to the DNA width for its keys and values).
    pub fn fits(&self, tokens: &[u32], width: usize) -> Result<()> {
        let bucket = self.device.length_bucket.max(1);
        let mut limit = self.activation_limit(false);
        limit.widest = limit.widest.max(width);
        limit.check(1, tokens.len().div_ceil(bucket) * bucket)
    }

    /// [`Self::hidden`]'s second step: one sequence's token ids on the device (refused when too
    /// long for it).
    pub fn upload(&self, tokens: &[u32]) -> Result<TokensOnDevice> {
        let (ids, mask) = self.upload_batch(&[tokens.to_vec()], self.tokenizer.pad_id(), false)?;
        Ok(TokensOnDevice { ids, mask })
    }

    /// [`Self::hidden`]'s last step: `[1, tokens]` ids → `[1, tokens, hidden]`, queued on the device.
    pub fn forward(&self, tokens: TokensOnDevice) -> ModalityEmbedding {
        let hidden = self.model.forward(tokens.ids, &tokens.mask);
        ModalityEmbedding { hidden, mask: tokens.mask }
    }

    /// The hidden states of every sequence at the layers `layers` asked for (see
    /// [`Self::resolve_layers`]: 0 is the embeddings, the last the last hidden state; negative
    /// counts from the end), from one forward pass that stops at the deepest one: per sequence,
    /// one [`Embedding`] per layer, in the order asked.
    pub async fn embed_layers(&self, sequences: &[&str], layers: &[i64]) -> Result<Vec<Vec<Embedding>>> {
        self.embed_layers_with(&self.tokenizer, sequences, layers).await
    }

    /// [`Self::embed_layers`] with another tokenizer for this modality (per-request policies).
    pub async fn embed_layers_with(
        &self,
        tokenizer: &Tokenizer,
        sequences: &[&str],
        layers: &[i64],
    ) -> Result<Vec<Vec<Embedding>>> {
        let indices = self.resolve_layers(layers)?;
        let tokens = self.tokenize_all(tokenizer, sequences)?;
        let trailing = tokenizer.trailing_special_tokens();
        let mut per_sequence: Vec<Vec<Embedding>> = vec![Vec::with_capacity(indices.len()); tokens.len()];
        for pass in self.passes(&tokens, false) {
            let (ids, mask) = self.upload_batch(&tokens[pass.clone()], tokenizer.pad_id(), false)?;
            for states in self.model.hidden_states(ids, &mask, &indices) {
                for (b, (row, width, rows)) in read_rows(states, tokens[pass.clone()].to_vec()).await?.enumerate() {
                    per_sequence[pass.start + b].push(Embedding::from_rows(row, width, rows, trailing));
                }
            }
        }
        Ok(per_sequence)
    }

    /// Layer numbers as transformers' `hidden_states` indexes them — 0 the embeddings, `i` the
    /// output of layer `i`, `num_hidden_layers` the last hidden state (after the final layer norm);
    /// negative numbers count from the end (−1 the last). Out of range: `INVALID_ARGUMENT`.
    pub fn resolve_layers(&self, layers: &[i64]) -> Result<Vec<usize>> {
        let last = self.model.config().num_hidden_layers as i64;
        if layers.is_empty() {
            return Err(Error::InvalidArgument("no layer asked for".into()));
        }
        layers
            .iter()
            .map(|&layer| {
                let index = if layer < 0 { last + 1 + layer } else { layer };
                if (0..=last).contains(&index) {
                    Ok(index as usize)
                } else {
                    Err(Error::InvalidArgument(format!(
                        "layer {layer}: this model has {last} layers (0 = the embeddings … {last} = the last hidden state; -1 = the last)"
                    )))
                }
            })
            .collect()
    }

    /// The mean over its own tokens of a sequence already encoded on the device ([`Self::forward`]'s
    /// output for `tokens`), read back: [`Embedding::mean_embedding`] without a second pass.
    pub async fn mean_of(&self, tokens: &[u32], embedding: &ModalityEmbedding) -> Result<Vec<f32>> {
        let mut rows = read_rows(embedding.hidden.clone(), vec![tokens.to_vec()]).await?;
        let (tokens, width, values) = rows.next().expect("one sequence");
        let trailing = self.tokenizer.trailing_special_tokens();
        Ok(Embedding::from_rows(tokens, width, values, trailing).mean_embedding)
    }

    /// Whether the weights carry the masked-LM head ([`Self::logits`], [`Self::masked_marginal`]).
    pub fn has_lm_head(&self) -> bool {
        self.model.has_lm_head()
    }

    /// Masked-LM logits per token; an error if the weights carry no LM head.
    pub async fn logits(&self, sequences: &[&str]) -> Result<Vec<Logits>> {
        let no_head = || Error::InvalidArgument("these weights have no masked-LM head".into());
        // Checked before the forward pass, so a missing head costs nothing.
        if !self.model.has_lm_head() {
            return Err(no_head());
        }
        let tokens = self.tokenize_all(&self.tokenizer, sequences)?;
        self.logits_of(tokens).await
    }

    /// Masked-LM logits of token rows already encoded (a row may hold `<mask>` ids): per row
    /// `[tokens, vocab]`; an error if the weights carry no LM head.
    pub async fn logits_of(&self, tokens: Vec<Vec<u32>>) -> Result<Vec<Logits>> {
        let no_head = || Error::InvalidArgument("these weights have no masked-LM head".into());
        if !self.model.has_lm_head() {
            return Err(no_head());
        }
        if tokens.is_empty() {
            return Err(Error::InvalidArgument("no sequences given".into()));
        }
        let mut out = Vec::with_capacity(tokens.len());
        for pass in self.passes(&tokens, true) {
            let (ids, mask) = self.upload_batch(&tokens[pass.clone()], self.tokenizer.pad_id(), true)?;
            let logits = self.model.logits(self.model.forward(ids, &mask)).ok_or_else(no_head)?;
            let per_sequence = read_rows(logits, tokens[pass].to_vec()).await?;
            out.extend(per_sequence.map(|(tokens, vocab, logits)| Logits {
                shape: [tokens.len(), vocab],
                tokens,
                logits,
            }));
        }
        Ok(out)
    }

    /// The masked-marginal score of `alternate` against `reference` (token rows of one length,
    /// differing at some positions): every differing position masked at once in the reference,
    /// Σ log p(alternate token) − log p(reference token) there (ESM-1v's masked marginal).
    /// `None` when the rows differ in length or not at all.
    pub async fn masked_marginal(&self, reference: &[u32], alternate: &[u32]) -> Result<Option<f32>> {
        if reference.len() != alternate.len() || reference == alternate {
            return Ok(None);
        }
        let positions: Vec<usize> = (0..reference.len()).filter(|&i| reference[i] != alternate[i]).collect();
        let mut masked = reference.to_vec();
        for &i in &positions {
            masked[i] = self.tokenizer.mask_id();
        }
        let logits = self.logits_of(vec![masked]).await?.pop().expect("one row");
        let vocab = logits.shape[1];
        let mut score = 0f64;
        for &i in &positions {
            let row = &logits.logits[i * vocab..(i + 1) * vocab];
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
            let log_sum = row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln() + max;
            let log_p = |token: u32| row[token as usize] as f64 - log_sum;
            score += log_p(alternate[i]) - log_p(reference[i]);
        }
        Ok(Some(score as f32))
    }
}

/// One sequence's token ids on the device: `[1, length]` ids and its mask (ones, then the
/// bucket's padding).
pub struct TokensOnDevice {
    ids: Tensor<2, Int>,
    pub mask: KeyMask,
}

/// One DNA window through Enformer, row-major.
#[derive(Debug, Clone, Serialize)]
pub struct DnaEmbedding {
    /// Base pairs given, before centre padding or cropping to the model's input length.
    pub bases: usize,
    /// `[target_length, 2·dim]`: 896 bins × 3,072 for the published trunk.
    pub shape: [usize; 2],
    pub last_hidden_state: Vec<f32>,
    /// Mean over the bins: `[2·dim]`.
    pub mean_embedding: Vec<f32>,
    /// Track predictions per head (`human`, `mouse`) when the weights have heads.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tracks: BTreeMap<String, Tracks>,
}

/// One head's predictions: `[bins, tracks]` row-major (Softplus outputs, ≥ 0).
#[derive(Debug, Clone, Serialize)]
pub struct Tracks {
    pub shape: [usize; 2],
    pub values: Vec<f32>,
}

/// Enformer on one device with its one-hot encoder (manifest model `enformer`).
pub struct DnaEncoder {
    device: ComputeDevice,
    model: Enformer,
    one_hot: DnaOneHot,
    chunks: ConvChunks,
    random_weights: bool,
}

impl DnaEncoder {
    /// Builds the trunk (and the heads the weights carry); the convolution chunks are planned
    /// from the device's buffer limits, and its convolutions run as the device runs them best
    /// (shifted matmuls on a GPU, Burn's conv1d on the CPU).
    pub fn new(device: ComputeDevice, manifest: &Manifest, weights: LoadedWeights) -> Result<Self> {
        let kernel = if device.limits.is_some() { ConvKernel::ShiftedMatmuls } else { ConvKernel::Direct };
        Self::with_conv_kernel(device, manifest, weights, kernel)
    }

    /// [`Self::new`] with the convolutions' kernel chosen (benchmarks compare the two).
    pub fn with_conv_kernel(
        device: ComputeDevice,
        manifest: &Manifest,
        mut weights: LoadedWeights,
        kernel: ConvKernel,
    ) -> Result<Self> {
        if manifest.model != "enformer" {
            return Err(Error::Manifest(format!("model {:?} is not an Enformer DNA encoder", manifest.model)));
        }
        let config: EnformerConfig =
            serde_json::from_value(manifest.config.clone()).map_err(|e| Error::Config(e.to_string()))?;
        let heads: Vec<String> = manifest
            .files
            .iter()
            .flat_map(|f| &f.tensors)
            .filter_map(|t| t.name.strip_prefix("heads.").and_then(|t| t.strip_suffix(".weight")))
            .map(str::to_string)
            .collect();
        let model = Enformer::load(&config, &mut weights, &heads, kernel)?;
        weights.finish()?;
        let limit = buffer_budget(&device);
        let chunks = ConvChunks::plan(&config, limit);
        Ok(DnaEncoder {
            device,
            model,
            one_hot: DnaOneHot::new(ENFORMER_SEQUENCE_LENGTH),
            chunks,
            random_weights: manifest.source.random_weights,
        })
    }

    /// Plans the convolution chunks for a smaller buffer limit (for example WebGPU's portable
    /// 128 MiB where the adapter grants more).
    pub fn with_buffer_limit(mut self, bytes: u64) -> Self {
        self.chunks = ConvChunks::plan(self.model.config(), bytes);
        self
    }

    /// Uses explicit chunks (tests compare chunked and unchunked runs).
    pub fn with_chunks(mut self, chunks: ConvChunks) -> Self {
        self.chunks = chunks;
        self
    }

    /// Replaces the one-hot encoder (ambiguity or crop policy).
    pub fn with_one_hot(mut self, one_hot: DnaOneHot) -> Self {
        self.one_hot = one_hot;
        self
    }

    pub fn config(&self) -> &EnformerConfig {
        self.model.config()
    }

    pub fn device(&self) -> &ComputeDevice {
        &self.device
    }

    pub fn random_weights(&self) -> bool {
        self.random_weights
    }

    pub fn chunks(&self) -> ConvChunks {
        self.chunks
    }

    pub fn one_hot(&self) -> &DnaOneHot {
        &self.one_hot
    }

    pub fn head_names(&self) -> Vec<String> {
        self.model.head_names()
    }

    /// Embeds one DNA sequence and reads the result back asynchronously.
    pub async fn embed(&self, sequence: &str) -> Result<DnaEmbedding> {
        self.embed_with(&self.one_hot, sequence, &Cancel::never()).await
    }

    /// The trunk's output on the device, not read back: `[1, target_length, 2·dim]`.
    pub async fn trunk(&self, one_hot: &DnaOneHot, sequence: &str, cancel: &Cancel) -> Result<Tensor<3>> {
        self.trunk_of(&one_hot.encode(sequence)?, cancel).await
    }

    /// [`Self::trunk`] on a sequence already one-hot encoded (`[L, 4]` row-major on the host).
    pub async fn trunk_of(&self, one_hot: &[f32], cancel: &Cancel) -> Result<Tensor<3>> {
        self.model.forward(one_hot, self.chunks, &self.device.device, cancel).await
    }

    /// The heads' track predictions (`human`, `mouse`; none when the weights carry no heads) from
    /// the trunk's output `[1, bins, 2·dim]`, read back.
    pub async fn tracks(&self, output: &Tensor<3>) -> Result<BTreeMap<String, Tracks>> {
        let bins = output.dims()[1];
        let mut tracks = BTreeMap::new();
        for (name, values) in self.model.heads(output) {
            let count = values.dims()[2];
            tracks.insert(name, Tracks { shape: [bins, count], values: read_back(values).await? });
        }
        Ok(tracks)
    }

    /// [`Self::embed`] with another one-hot encoder (per-request policies), stopping at `cancel`.
    pub async fn embed_with(&self, one_hot: &DnaOneHot, sequence: &str, cancel: &Cancel) -> Result<DnaEmbedding> {
        let output = self.trunk(one_hot, sequence, cancel).await?;
        let [_, bins, width] = output.dims();
        let tracks = self.tracks(&output).await?;
        let last_hidden_state = read_back(output).await?;
        let mean_embedding = mean_rows(&last_hidden_state, width);
        Ok(DnaEmbedding {
            bases: sequence.chars().count(),
            shape: [bins, width],
            last_hidden_state,
            mean_embedding,
            tracks,
        })
    }
}

/// Reads back a padded `[batch, length, width]` output and cuts out each sequence's own
/// `[tokens, width]` rows: yields `(tokens, width, rows)`.
async fn read_rows(
    output: Tensor<3>,
    tokens: Vec<Vec<u32>>,
) -> Result<impl Iterator<Item = (Vec<u32>, usize, Vec<f32>)>> {
    let [_, length, width] = output.dims();
    let values = read_back(output).await?;
    Ok(tokens.into_iter().enumerate().map(move |(b, tokens)| {
        let start = b * length * width;
        let rows = values[start..start + tokens.len() * width].to_vec();
        (tokens, width, rows)
    }))
}

/// Column means of row-major `[rows, width]` values, accumulated in f64.
fn mean_rows(rows: &[f32], width: usize) -> Vec<f32> {
    let count = (rows.len() / width).max(1);
    let mut sum = vec![0f64; width];
    for row in rows.chunks_exact(width) {
        sum.iter_mut().zip(row).for_each(|(s, v)| *s += *v as f64);
    }
    sum.into_iter().map(|s| (s / count as f64) as f32).collect()
}

/// Asynchronous readback: the only way that works on WebGPU (a sync read panics in the browser).
pub async fn read_back<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    let data = tensor.into_data_async().await.map_err(|e| Error::Device(format!("{e:?}")))?;
    data.try_into_vec::<f32>().map_err(|e| Error::Device(format!("{e:?}")))
}

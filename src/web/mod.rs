//! The JavaScript surface (wasm-bindgen). Loads a weight directory over `fetch`, embeds proteins
//! (ESM-2) or RNA (NT-v2) on WebGPU, and turns every error into a JS `Error` whose `code` is
//! [`Error::code`]. No tensors here: the model side hands back plain vectors.

mod console_log;
pub mod loader;
mod memory;
mod typescript;
mod variants;

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint32Array};
use tsify::Tsify;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{Error, Modality};
use crate::models::isoformer::{
    HostEncoded, HostHidden, Isoformer, IsoformerInputs, Prediction, RunOptions, predict_part_by_part,
};
use crate::runtime::backend;
use crate::runtime::cancel::Cancel;
use crate::runtime::embed::{DnaEmbedding, DnaEncoder, Embedding, Pooling, SequenceEncoder};
use crate::runtime::parts::{PartSource, load_isoformer};
use crate::tokenize::fasta::read_sequences;
use crate::tokenize::{
    AmbiguityPolicy, CropPolicy, DnaCropPolicy, NUCLEOTIDE_MAX_TOKENS, NucleotideTokenizer, Tokenizer,
};
use crate::web::loader::Loader;
use crate::weights::{IsoformerIndex, LoadedWeights, Manifest, Part};

/// Short inputs embedded once while loading, so shaders compile before the first request.
const WARM_UP_PROTEIN: &str = "MKTAYIAKQRQISFVKSHFSRQ";
const WARM_UP_RNA: &str = "AUGGCCAUUGUAAUGGGCCGCUGAAAGGGUGCCCGAUAG";
/// Enformer always runs at 196,608 bp, so any sequence compiles every shader.
const WARM_UP_DNA: &str = "ACGT";

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    console_log::install();
}

/// Whether this module was compiled with WebAssembly SIMD (`+simd128`, .cargo/config.toml), which
/// the CPU fallback's kernels need for speed; the package test asks the shipped module itself.
#[wasm_bindgen(js_name = builtWithSimd)]
pub fn built_with_simd() -> bool {
    cfg!(target_feature = "simd128")
}

/// A JS `Error` with `name = "IsoformerError"` and a stable `code`.
pub fn to_js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("IsoformerError");
    let _ = Reflect::set(&js, &"code".into(), &error.code().into());
    js.into()
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &key.into(), value);
}

/// A `[rows, columns]` shape as a JS array of numbers.
fn shape_to_js(shape: [usize; 2]) -> JsValue {
    shape.iter().map(|&n| JsValue::from(n as u32)).collect::<Array>().into()
}

/// Call options from JS: `undefined` or `null` gives the defaults; unknown fields are an error.
fn options_from_js<T: serde::de::DeserializeOwned + Default>(options: JsValue, call: &str) -> Result<T, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(T::default());
    }
    if !options.is_object() {
        return Err(Error::InvalidArgument(format!("{call} options must be an object")));
    }
    from_js(options, &format!("{call} options"))
}

/// The options object without `keys` (JS values that are not data: an `AbortSignal`, callbacks),
/// and those keys' values (`undefined` when absent).
fn take_fields(options: &JsValue, keys: &[&str]) -> (JsValue, Vec<JsValue>) {
    if !options.is_object() {
        return (options.clone(), vec![JsValue::UNDEFINED; keys.len()]);
    }
    let rest = Object::assign(&Object::new(), &Object::from(options.clone()));
    let taken = keys
        .iter()
        .map(|key| {
            let value = Reflect::get(&rest, &(*key).into()).unwrap_or(JsValue::UNDEFINED);
            let _ = Reflect::delete_property(&rest, &(*key).into());
            value
        })
        .collect();
    (rest.into(), taken)
}

/// A sequence as given (surrounding whitespace trimmed, as the CLI reads it: whitespace alone is
/// an empty sequence), or the one record of FASTA text (a `>` header first): several records are
/// an error pointing to the call that takes them.
fn single_sequence(text: String, what: &str) -> Result<String, Error> {
    let mut records = read_sequences(&text)?;
    if records.len() > 1 {
        return Err(Error::InvalidArgument(format!(
            "{what}: FASTA text with {} records; one call reads one record (predictMany takes a gene's transcripts)",
            records.len()
        )));
    }
    Ok(records.remove(0).sequence)
}

/// `predict` / `predictMany` options: `{ maxTokens?, crop?: "none" | "keep-start" | "keep-end"
/// (RNA over maxTokens), maxResidues? (proteins), cropDna?: "none" | "centre" (DNA over 196,608 bp),
/// ambiguous?: "reject" | "as-n" (IUPAC codes in RNA and DNA) }`; the `signal` is taken off first.
#[derive(serde::Deserialize, Default, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PredictOptions {
    #[tsify(optional)]
    max_tokens: Option<usize>,
    #[tsify(optional)]
    max_residues: Option<usize>,
    #[serde(default)]
    #[tsify(optional, type = "RnaCrop")]
    crop: CropPolicy,
    #[serde(default)]
    #[tsify(optional, type = "DnaCrop")]
    crop_dna: DnaCropPolicy,
    #[serde(default)]
    #[tsify(optional, type = "Ambiguity")]
    ambiguous: AmbiguityPolicy,
}

impl PredictOptions {
    fn run_options(self, cancel: Cancel) -> RunOptions {
        RunOptions {
            max_rna_tokens: self.max_tokens,
            max_protein_residues: self.max_residues,
            rna_crop: self.crop,
            dna_crop: self.crop_dna,
            ambiguous: self.ambiguous,
            cancel,
        }
    }
}

/// A call's options with its `signal` (an `AbortSignal`) and `extra` function-valued keys taken
/// off: the parsed data options, the cancellation, the extra values.
fn call_options<T: serde::de::DeserializeOwned + Default>(
    options: &JsValue,
    call: &str,
    extra: &[&str],
) -> Result<(T, Cancel, Vec<JsValue>), Error> {
    let keys: Vec<&str> = std::iter::once("signal").chain(extra.iter().copied()).collect();
    let (rest, mut taken) = take_fields(options, &keys);
    let signal = taken.remove(0);
    Ok((options_from_js(rest, call)?, Cancel::from_signal(signal), taken))
}

/// A plain JS object as `T`, through a JSON value: serde-wasm-bindgen reads a struct's own fields
/// by name and never sees other keys, so `deny_unknown_fields` (a misspelt key is an error) needs
/// serde_json.
fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, Error> {
    let invalid = |e: &dyn std::fmt::Display| Error::InvalidArgument(format!("{what}: {e}"));
    let value: serde_json::Value = serde_wasm_bindgen::from_value(value).map_err(|e| invalid(&e))?;
    serde_json::from_value(value).map_err(|e| invalid(&e))
}

fn dna_embedding_to_js(embedding: &DnaEmbedding) -> JsValue {
    let object = Object::new();
    set(&object, "data", &Float32Array::from(embedding.last_hidden_state.as_slice()).into());
    set(&object, "shape", &shape_to_js(embedding.shape));
    set(&object, "meanEmbedding", &Float32Array::from(embedding.mean_embedding.as_slice()).into());
    set(&object, "bases", &(embedding.bases as u32).into());
    let tracks = Object::new();
    for (name, head) in &embedding.tracks {
        let entry = Object::new();
        set(&entry, "data", &Float32Array::from(head.values.as_slice()).into());
        set(&entry, "shape", &shape_to_js(head.shape));
        set(&tracks, name, &entry.into());
    }
    set(&object, "tracks", &tracks.into());
    object.into()
}

fn embedding_to_js(embedding: &Embedding) -> JsValue {
    let object = Object::new();
    set(&object, "data", &Float32Array::from(embedding.last_hidden_state.as_slice()).into());
    set(&object, "shape", &shape_to_js(embedding.shape));
    set(&object, "tokens", &Uint32Array::from(embedding.tokens.as_slice()).into());
    set(&object, "meanEmbedding", &Float32Array::from(embedding.mean_embedding.as_slice()).into());
    object.into()
}

/// `embedRna` options: `{ maxTokens?: number, crop?: "none" | "keep-start" | "keep-end",
/// ambiguous?: "reject" | "as-n" }` (defaults: 2048 tokens with `<cls>`, an error when longer, an
/// error on IUPAC ambiguity codes).
#[derive(serde::Deserialize, Default, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RnaOptions {
    #[tsify(optional)]
    max_tokens: Option<usize>,
    #[serde(default)]
    #[tsify(optional, type = "RnaCrop")]
    crop: CropPolicy,
    #[serde(default)]
    #[tsify(optional, type = "Ambiguity")]
    ambiguous: AmbiguityPolicy,
}

impl RnaOptions {
    fn tokenizer(&self) -> Tokenizer {
        let max_tokens = self.max_tokens.unwrap_or(NUCLEOTIDE_MAX_TOKENS);
        Tokenizer::Nucleotide(NucleotideTokenizer::new(max_tokens).with_crop(self.crop).with_ambiguity(self.ambiguous))
    }
}

/// `embedDna` options: `{ crop?: "none" | "centre", ambiguous?: "reject" | "as-n" }` (defaults:
/// an error above 196,608 bp, an error on IUPAC ambiguity codes).
#[derive(serde::Deserialize, Default, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DnaOptions {
    #[serde(default)]
    #[tsify(optional, type = "DnaCrop")]
    crop: DnaCropPolicy,
    #[serde(default)]
    #[tsify(optional, type = "Ambiguity")]
    ambiguous: AmbiguityPolicy,
}

/// `IsoformerModel.embed` options: `{ layer?: number | number[], pooling?: "cls" | "mean" | "none" }`.
/// `layer` as the CLI's `--layer` (0 the embeddings … the last hidden state; negative counts from
/// the end; several from one pass), ESM-2 and NT-v2 only; `pooling` (default mean) applies to it.
/// Also how the sequence is read: `maxTokens` (RNA), `maxResidues` (protein), `crop` (RNA: `"none"
/// | "keep-start" | "keep-end"`; DNA: `"none" | "centre"`), `ambiguous` (RNA, DNA: `"reject" | "as-n"`).
#[derive(serde::Deserialize, Default, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmbedOptions {
    #[tsify(optional, type = "number | number[]")]
    layer: Option<OneOrMany>,
    #[tsify(optional, type = "Pooling")]
    pooling: Option<Pooling>,
    #[tsify(optional)]
    max_tokens: Option<usize>,
    #[tsify(optional)]
    max_residues: Option<usize>,
    #[tsify(optional, type = "RnaCrop | DnaCrop")]
    crop: Option<String>,
    #[tsify(optional, type = "Ambiguity")]
    ambiguous: Option<AmbiguityPolicy>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(i64),
    Many(Vec<i64>),
}

impl EmbedOptions {
    /// How `modality` is read, as [`RunOptions`] (an error for a policy the modality has not).
    fn run_options(&self, modality: Modality, cancel: Cancel) -> Result<RunOptions, Error> {
        let refuse = |what: &str| Err(Error::InvalidArgument(format!("embed: {what} does not apply to {modality}")));
        let crop = self.crop.clone().map(serde_json::Value::String);
        let invalid_crop = |e: serde_json::Error| Error::InvalidArgument(format!("embed options: crop: {e}"));
        let mut run = RunOptions { ambiguous: self.ambiguous.unwrap_or_default(), cancel, ..Default::default() };
        match modality {
            Modality::Protein if self.max_tokens.is_some() => return refuse("maxTokens"),
            Modality::Rna | Modality::Dna if self.max_residues.is_some() => return refuse("maxResidues"),
            Modality::Protein if self.crop.is_some() => return refuse("crop"),
            Modality::Protein if self.ambiguous.is_some() => return refuse("ambiguous"),
            Modality::Dna if self.max_tokens.is_some() => {
                return refuse("maxTokens (DNA is read in a 196,608-bp window)");
            }
            Modality::Protein => run.max_protein_residues = self.max_residues,
            Modality::Rna => {
                run.max_rna_tokens = self.max_tokens;
                run.rna_crop = crop.map(serde_json::from_value).transpose().map_err(invalid_crop)?.unwrap_or_default();
            }
            Modality::Dna => {
                run.dna_crop = crop.map(serde_json::from_value).transpose().map_err(invalid_crop)?.unwrap_or_default();
            }
        }
        Ok(run)
    }

    /// The layers asked for, or `None` for the plain last-hidden-state output.
    fn layers(&self) -> Result<Option<Vec<i64>>, Error> {
        match (&self.layer, self.pooling) {
            (None, Some(_)) => Err(Error::InvalidArgument("embed: pooling applies to a layer (give layer)".into())),
            (None, None) => Ok(None),
            (Some(OneOrMany::One(layer)), _) => Ok(Some(vec![*layer])),
            (Some(OneOrMany::Many(layers)), _) => Ok(Some(layers.clone())),
        }
    }
}

/// `{ tokens: Uint32Array, pooling, layers: [{ layer, index, shape, data: Float32Array }] }`: one
/// sequence's hidden states at `layers` (one forward pass), pooled.
async fn embed_layers_js(
    encoder: &SequenceEncoder,
    tokenizer: &Tokenizer,
    sequence: &str,
    layers: &[i64],
    pooling: Pooling,
) -> Result<JsValue, Error> {
    let indices = encoder.resolve_layers(layers)?;
    let per_layer = encoder.embed_layers_with(tokenizer, &[sequence], layers).await?.pop().unwrap_or_default();
    let entries = Array::new();
    for (embedding, (&layer, &index)) in per_layer.iter().zip(layers.iter().zip(&indices)) {
        let (shape, values) = embedding.pooled(pooling);
        let entry = Object::new();
        set(&entry, "layer", &(layer as f64).into());
        set(&entry, "index", &(index as u32).into());
        set(&entry, "shape", &shape.iter().map(|&n| JsValue::from(n as u32)).collect::<Array>().into());
        set(&entry, "data", &Float32Array::from(values.as_slice()).into());
        entries.push(&entry);
    }
    let object = Object::new();
    let tokens = per_layer.first().map(|e| e.tokens.as_slice()).unwrap_or_default();
    set(&object, "tokens", &Uint32Array::from(tokens).into());
    set(&object, "pooling", &serde_wasm_bindgen::to_value(&pooling).unwrap_or(JsValue::NULL));
    set(&object, "layers", &entries.into());
    Ok(object.into())
}

/// A protein's or RNA's embedding as `embed`'s options ask: the plain output, or layers.
async fn embed_sequence(
    encoder: &SequenceEncoder,
    sequence: &str,
    options: &EmbedOptions,
    run: &RunOptions,
) -> Result<JsValue, Error> {
    let tokenizer = run.tokenizer(encoder).unwrap_or_else(|| encoder.tokenizer().clone());
    run.cancel.checkpoint().await?;
    match options.layers()? {
        None => embed_first(encoder, Some(&tokenizer), sequence).await,
        Some(layers) => {
            embed_layers_js(encoder, &tokenizer, sequence, &layers, options.pooling.unwrap_or_default()).await
        }
    }
}

/// DNA's embedding (Enformer's trunk and heads) read as `run` asks.
async fn embed_dna_js(encoder: &DnaEncoder, sequence: &str, run: &RunOptions) -> Result<JsValue, Error> {
    let embedding = encoder.embed_with(&run.dna_one_hot(encoder), sequence, &run.cancel).await?;
    Ok(dna_embedding_to_js(&embedding))
}

/// An encoder loaded on the browser's WebGPU device, whichever the weight directory holds:
/// ESM-2 (proteins), NT-v2 (RNA) or Enformer (DNA).
#[wasm_bindgen]
pub struct EncoderModel {
    loaded: Loaded,
}

enum Loaded {
    Sequence(Rc<SequenceEncoder>),
    Dna(Rc<DnaEncoder>),
}

/// Embeds one sequence and converts the result (or the error) for JavaScript.
fn embed_one(loaded: &Loaded, sequence: String, modality: Modality, tokenizer: Option<Tokenizer>) -> Promise {
    let encoder = match loaded {
        Loaded::Sequence(encoder) => encoder.clone(),
        Loaded::Dna(_) => {
            return Promise::reject(&to_js_error(&Error::WrongModality { requested: modality, loaded: Modality::Dna }));
        }
    };
    future_to_promise(async move {
        let run = async {
            encoder.expect_modality(modality)?;
            embed_first(&encoder, tokenizer.as_ref(), &sequence).await
        };
        run.await.map_err(|e| to_js_error(&e))
    })
}

#[wasm_bindgen]
impl EncoderModel {
    /// Fetches `<baseUrl>/manifest.json` and its shards (each verified by SHA-256 and uploaded as
    /// it arrives), builds the encoder and, on WebGPU, runs one warm-up pass. `options`: `{ fetch?,
    /// onProgress? }` (src/web/loader.rs), `device` and `fusion` ([`LoadOptions`]).
    pub async fn load(
        base_url: String,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions & LoaderHooks | undefined")] options: JsValue,
    ) -> Result<EncoderModel, JsValue> {
        Self::load_inner(&base_url, &options).await.map_err(|e| to_js_error(&e))
    }

    async fn load_inner(base_url: &str, options: &JsValue) -> Result<EncoderModel, Error> {
        let settings = LoadOptions::from_js(options, "EncoderModel.load")?;
        if settings.modalities.is_some() || settings.low_memory {
            return Err(Error::InvalidArgument(
                "EncoderModel.load: modalities and lowMemory are IsoformerModel.load's".into(),
            ));
        }
        let mut loader = Loader::from_options(options)?;
        let manifest = loader.manifest(base_url).await?;
        loader.announce(&[&manifest]);
        let device = settings.device().await?;
        let weights = loader.weights(base_url, &manifest, &device.device).await?;
        // A warm-up pass compiles the shaders now, not on the user's first request (the CPU has
        // none to compile: for Enformer the pass is a whole 196,608-bp window).
        loader.report("warm-up", None);
        let warm = !device.is_cpu();
        let loaded = if manifest.model == "enformer" {
            let encoder = DnaEncoder::new(device, &manifest, weights)?;
            if warm {
                encoder.embed(WARM_UP_DNA).await?;
            }
            Loaded::Dna(Rc::new(encoder))
        } else {
            let encoder = SequenceEncoder::new(device, &manifest, weights)?;
            if warm {
                let warm_up = if encoder.modality() == Modality::Rna { WARM_UP_RNA } else { WARM_UP_PROTEIN };
                encoder.embed(&[warm_up]).await?;
            }
            Loaded::Sequence(Rc::new(encoder))
        };
        loader.report("ready", None);
        Ok(EncoderModel { loaded })
    }

    /// Resolves to `{ data: Float32Array, shape: [L, D], tokens: Uint32Array, meanEmbedding: Float32Array }`;
    /// rejects with code `WRONG_MODALITY` if the weights are not ESM-2.
    #[wasm_bindgen(js_name = embedProtein, unchecked_return_type = "Promise<Embedding>")]
    pub fn embed_protein(&self, sequence: String) -> Promise {
        embed_one(&self.loaded, sequence, Modality::Protein, None)
    }

    /// Like `embedProtein`, for RNA on NT-v2 weights; `options` as [`RnaOptions`] describes.
    #[wasm_bindgen(js_name = embedRna, unchecked_return_type = "Promise<Embedding>")]
    pub fn embed_rna(
        &self,
        sequence: String,
        #[wasm_bindgen(unchecked_param_type = "RnaOptions | undefined")] options: JsValue,
    ) -> Promise {
        match options_from_js::<RnaOptions>(options, "embedRna").map(|o| o.tokenizer()) {
            Ok(tokenizer) => embed_one(&self.loaded, sequence, Modality::Rna, Some(tokenizer)),
            Err(error) => Promise::reject(&to_js_error(&error)),
        }
    }

    /// The last hidden state of token ids made by `IsoformerModel.tokenIds` (the parallel CPU
    /// fallback's helper workers): `{ data: Float32Array, shape: [tokens, width], ms }`, `ms` the
    /// time it took. Ids outside the vocabulary are refused (`INVALID_ARGUMENT`).
    #[wasm_bindgen(js_name = embedTokenIds, unchecked_return_type = "Promise<HiddenStates>")]
    pub fn embed_token_ids(&self, ids: Vec<u32>) -> Promise {
        let Loaded::Sequence(encoder) = &self.loaded else {
            let error = Error::InvalidArgument("embedTokenIds: Enformer reads DNA, not token ids".into());
            return Promise::reject(&to_js_error(&error));
        };
        let encoder = encoder.clone();
        future_to_promise(async move {
            let started = web_time::Instant::now();
            let (shape, rows) = encoder.hidden_of_ids(&ids).await.map_err(|e| to_js_error(&e))?;
            let object = Object::new();
            set(&object, "data", &Float32Array::from(rows.as_slice()).into());
            set(&object, "shape", &shape_to_js(shape));
            set(&object, "ms", &(started.elapsed().as_secs_f64() * 1e3).into());
            Ok(object.into())
        })
    }

    /// Resolves to `{ data: Float32Array, shape: [896, 3072], meanEmbedding, bases, tracks: { human?:
    /// { data, shape }, mouse?: … } }` on Enformer weights; shorter DNA is N-padded around its centre.
    #[wasm_bindgen(js_name = embedDna, unchecked_return_type = "Promise<DnaEmbedding>")]
    pub fn embed_dna(
        &self,
        sequence: String,
        #[wasm_bindgen(unchecked_param_type = "DnaOptions | undefined")] options: JsValue,
    ) -> Promise {
        let Loaded::Dna(encoder) = &self.loaded else {
            let loaded = self.modality();
            return Promise::reject(&to_js_error(&Error::WrongModality { requested: Modality::Dna, loaded }));
        };
        let encoder = encoder.clone();
        let one_hot = options_from_js::<DnaOptions>(options, "embedDna")
            .map(|o| encoder.one_hot().clone().with_crop(o.crop).with_ambiguity(o.ambiguous));
        future_to_promise(async move {
            let one_hot = one_hot.map_err(|e| to_js_error(&e))?;
            let embedded = encoder.embed_with(&one_hot, &sequence, &Cancel::never()).await;
            embedded.map(|e| dna_embedding_to_js(&e)).map_err(|e| to_js_error(&e))
        })
    }

    fn modality(&self) -> Modality {
        match &self.loaded {
            Loaded::Sequence(encoder) => encoder.modality(),
            Loaded::Dna(_) => Modality::Dna,
        }
    }

    /// `{ modality: "protein" | "rna" | "dna", device, randomWeights, hiddenSize, layers, maxLength }`;
    /// `maxLength` is residues for proteins, tokens (with `<cls>`) for RNA, base pairs for DNA.
    #[wasm_bindgen(getter, unchecked_return_type = "EncoderInfo")]
    pub fn info(&self) -> JsValue {
        let object = Object::new();
        let (device, random, hidden, layers, max_length) = match &self.loaded {
            Loaded::Sequence(encoder) => {
                let config = encoder.config();
                let max_length = match encoder.tokenizer() {
                    Tokenizer::Protein(t) => t.max_residues(),
                    Tokenizer::Nucleotide(t) => t.max_tokens(),
                };
                (
                    &encoder.device().description,
                    encoder.random_weights(),
                    config.hidden_size,
                    config.num_hidden_layers,
                    max_length,
                )
            }
            Loaded::Dna(encoder) => {
                let config = encoder.config();
                (
                    &encoder.device().description,
                    encoder.random_weights(),
                    2 * config.dim,
                    config.depth,
                    encoder.one_hot().length(),
                )
            }
        };
        let modality = serde_wasm_bindgen::to_value(&self.modality()).unwrap_or(JsValue::NULL);
        set(&object, "modality", &modality);
        set(&object, "device", &device.clone().into());
        set(&object, "randomWeights", &random.into());
        set(&object, "hiddenSize", &(hidden as u32).into());
        set(&object, "layers", &(layers as u32).into());
        set(&object, "maxLength", &(max_length as u32).into());
        object.into()
    }
}

/// `IsoformerModel.load` argument: the weight directories of the parts (`rna` and `protein` may be
/// left out; predictions then cannot use that modality).
#[derive(serde::Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
struct IsoformerUrls {
    dna: String,
    #[tsify(optional)]
    rna: Option<String>,
    #[tsify(optional)]
    protein: Option<String>,
    aggregator: String,
}

impl IsoformerUrls {
    /// The weight directory of `part`; an error for an encoder that was not asked for.
    fn url(&self, part: Part) -> Result<&str, Error> {
        match part {
            Part::Dna => Some(&self.dna),
            Part::Rna => self.rna.as_ref(),
            Part::Protein => self.protein.as_ref(),
            Part::Aggregator => Some(&self.aggregator),
        }
        .map(String::as_str)
        .ok_or_else(|| Error::InvalidArgument(format!("no {} encoder is loaded", part.dir_name())))
    }
}

/// The embedding of one sequence (with `tokenizer`, or the encoder's own), for JavaScript.
async fn embed_first(
    encoder: &SequenceEncoder,
    tokenizer: Option<&Tokenizer>,
    sequence: &str,
) -> Result<JsValue, Error> {
    let mut embeddings = match tokenizer {
        Some(tokenizer) => encoder.embed_with(tokenizer, &[sequence]).await?,
        None => encoder.embed(&[sequence]).await?,
    };
    embeddings.pop().map(|e| embedding_to_js(&e)).ok_or_else(|| Error::Device("no output".into()))
}

/// One modality's embedding from a loaded IsoFormer's encoders.
async fn embed_with_model(
    model: &Isoformer,
    modality: Modality,
    sequence: &str,
    options: &EmbedOptions,
    run: &RunOptions,
) -> Result<JsValue, Error> {
    match modality {
        Modality::Dna => embed_dna_js(model.dna_encoder(), sequence, run).await,
        other => embed_sequence(model.sequence_encoder(other)?, sequence, options, run).await,
    }
}

/// The parts at their URLs, fetched through the load options' loader (its fetch hook, e.g. the
/// Cache API one, and its progress events): the browser's [`PartSource`].
struct FetchedParts<'a> {
    urls: &'a IsoformerUrls,
    loader: &'a mut Loader,
}

impl PartSource for FetchedParts<'_> {
    fn has(&self, part: Part) -> bool {
        self.urls.url(part).is_ok()
    }

    async fn manifest(&mut self, part: Part) -> Result<Manifest, Error> {
        let manifest = self.loader.manifest(self.urls.url(part)?).await?;
        // As the native loader checks: each part's manifest names the model that part needs.
        IsoformerIndex::check_part(part, &manifest)?;
        Ok(manifest)
    }

    async fn weights(
        &mut self,
        part: Part,
        manifest: &Manifest,
        device: &burn::tensor::Device,
    ) -> Result<LoadedWeights, Error> {
        self.loader.weights(self.urls.url(part)?, manifest, device).await
    }

    fn manifests_read(&mut self, manifests: &[&Manifest]) {
        self.loader.announce(manifests);
    }
}

/// Load options, read like every other call's (unknown keys are errors), besides the loader's
/// `fetch` and `onProgress` hooks (src/web/loader.rs): `device` — `"auto"` (default: WebGPU, else
/// the CPU), `"webgpu"`, `"cpu"`; `fusion: false` runs every GPU operation as its own kernel
/// (diagnosis); and for `IsoformerModel.load`, `modalities` and `lowMemory`.
#[derive(serde::Deserialize, Default, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoadOptions {
    #[serde(default)]
    #[tsify(optional, type = "\"auto\" | \"webgpu\" | \"cpu\"")]
    device: backend::BrowserDevice,
    #[tsify(optional)]
    fusion: Option<bool>,
    #[tsify(optional, type = "(\"rna\" | \"protein\")[]")]
    modalities: Option<Vec<Part>>,
    #[serde(default)]
    #[tsify(optional)]
    low_memory: bool,
}

impl LoadOptions {
    fn from_js(options: &JsValue, call: &str) -> Result<Self, Error> {
        let (rest, _) = take_fields(options, &["fetch", "onProgress"]);
        options_from_js(rest, call)
    }

    /// The device asked for (fusion is set before any GPU work).
    async fn device(&self) -> Result<backend::ComputeDevice, Error> {
        backend::set_fusion(self.fusion.unwrap_or(true))?;
        backend::init_browser(self.device).await
    }
}

/// The part URLs of the IsoFormer weight directory at `base`, for the modalities asked for.
async fn part_urls(base: &str, modalities: Option<&Vec<Part>>, loader: &Loader) -> Result<IsoformerUrls, Error> {
    let base = base.trim_end_matches('/');
    let index = loader.isoformer_index(base).await?;
    let wanted = |part: Part| -> Result<Option<String>, Error> {
        let asked = modalities.is_none_or(|m| m.contains(&part));
        if asked && !index.has(part) && modalities.is_some() {
            return Err(Error::InvalidArgument(format!("{base} has no {} part", part.dir_name())));
        }
        Ok((asked && index.has(part)).then(|| format!("{base}/{}", part.dir_name())))
    };
    Ok(IsoformerUrls {
        dna: format!("{base}/{}", Part::Dna.dir_name()),
        rna: wanted(Part::Rna)?,
        protein: wanted(Part::Protein)?,
        aggregator: format!("{base}/{}", Part::Aggregator.dir_name()),
    })
}

/// `predict` argument: any non-empty subset of the three sequences.
#[derive(serde::Deserialize, Default, Tsify)]
#[serde(deny_unknown_fields)]
struct PredictInputs {
    #[tsify(optional)]
    dna: Option<String>,
    #[tsify(optional)]
    rna: Option<String>,
    #[tsify(optional)]
    protein: Option<String>,
}

impl PredictInputs {
    /// Each sequence as given, or its FASTA text's one record.
    fn read_fasta(self) -> Result<Self, Error> {
        let read = |text: Option<String>, what: &str| text.map(|t| single_sequence(t, what)).transpose();
        Ok(PredictInputs {
            dna: read(self.dna, "dna")?,
            rna: read(self.rna, "rna")?,
            protein: read(self.protein, "protein")?,
        })
    }

    fn as_inputs(&self) -> IsoformerInputs<'_> {
        IsoformerInputs { dna: self.dna.as_deref(), rna: self.rna.as_deref(), protein: self.protein.as_deref() }
    }
}

/// `predictMany` argument: one DNA window and its gene's transcripts.
#[derive(serde::Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
struct ManyInputs {
    #[tsify(optional)]
    dna: Option<String>,
    transcripts: Vec<TranscriptInput>,
}

#[derive(serde::Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
struct TranscriptInput {
    id: String,
    #[tsify(optional)]
    rna: Option<String>,
    #[tsify(optional)]
    protein: Option<String>,
}

impl ManyInputs {
    /// Each sequence as given, or its FASTA text's one record; at least one transcript.
    fn read_fasta(self) -> Result<Self, Error> {
        if self.transcripts.is_empty() {
            return Err(Error::InvalidArgument("predictMany: no transcripts".into()));
        }
        let read = |text: Option<String>, what: String| text.map(|t| single_sequence(t, &what)).transpose();
        let transcripts = self
            .transcripts
            .into_iter()
            .map(|t| {
                Ok(TranscriptInput {
                    rna: read(t.rna, format!("transcript {:?} rna", t.id))?,
                    protein: read(t.protein, format!("transcript {:?} protein", t.id))?,
                    id: t.id,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(ManyInputs { dna: read(self.dna, "dna".into())?, transcripts })
    }

    fn inputs_of<'a>(&'a self, transcript: &'a TranscriptInput) -> IsoformerInputs<'a> {
        IsoformerInputs {
            dna: self.dna.as_deref(),
            rna: transcript.rna.as_deref(),
            protein: transcript.protein.as_deref(),
        }
    }
}

/// `{ rna?: HiddenStates, protein?: HiddenStates }` from a helper worker, read into host vectors.
fn host_encoded_from_js(value: &JsValue) -> Result<HostEncoded, Error> {
    let invalid = |why: &str| Error::InvalidArgument(format!("encoded: {why}"));
    if !value.is_object() {
        return Err(invalid("expected { rna?, protein? }"));
    }
    let field = |object: &JsValue, key: &str| Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let hidden = |key: &str| -> Result<Option<HostHidden>, Error> {
        let states = field(value, key);
        if states.is_undefined() || states.is_null() {
            return Ok(None);
        }
        let data = field(&states, "data")
            .dyn_into::<Float32Array>()
            .map_err(|_| invalid(&format!("{key}.data must be a Float32Array")))?;
        let shape: Vec<f64> = serde_wasm_bindgen::from_value(field(&states, "shape"))
            .map_err(|_| invalid(&format!("{key}.shape must be [tokens, width]")))?;
        let dimension = |n: f64| (n.fract() == 0.0 && (1.0..=u32::MAX as f64).contains(&n)).then_some(n as usize);
        let [Some(rows), Some(width)] = <[f64; 2]>::try_from(shape).map(|s| s.map(dimension)).unwrap_or([None, None])
        else {
            return Err(invalid(&format!("{key}.shape must be [tokens, width], two positive integers")));
        };
        let ms = field(&states, "ms").as_f64().unwrap_or(0.0);
        Ok(Some(HostHidden { shape: [rows, width], values: data.to_vec(), ms }))
    };
    Ok(HostEncoded { rna: hidden("rna")?, protein: hidden("protein")? })
}

/// A promise of [`HostEncoded`] (the `encoded` option), awaited; a rejection keeps its message.
async fn await_encoded(promise: JsValue) -> Result<HostEncoded, Error> {
    let promise = promise
        .dyn_into::<Promise>()
        .map_err(|_| Error::InvalidArgument("encoded must be a Promise of { rna?, protein? }".into()))?;
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|error| {
        let message = Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string());
        Error::InvalidArgument(format!("encoded: {}", message.unwrap_or_else(|| format!("{error:?}"))))
    })?;
    host_encoded_from_js(&value)
}

fn prediction_to_js(prediction: &Prediction) -> JsValue {
    let object = Object::new();
    let tissues: Array = prediction.tissues.iter().map(|t| JsValue::from_str(t)).collect();
    set(&object, "tissues", &tissues.into());
    set(&object, "values", &Float32Array::from(prediction.values.as_slice()).into());
    set(&object, "units", &prediction.units.into());
    set(&object, "randomWeights", &prediction.random_weights.into());
    let modalities = serde_wasm_bindgen::to_value(&prediction.modalities).unwrap_or(JsValue::NULL);
    set(&object, "modalities", &modalities);
    let stages = Object::new();
    for (stage, ms) in &prediction.stages.0 {
        set(&stages, stage.name(), &(*ms).into());
    }
    set(&object, "stages", &stages.into());
    object.into()
}

/// IsoFormer on the browser's WebGPU device: the three encoders and the aggregator, held together,
/// or (`lowMemory`) fetched and run one part at a time for every prediction.
#[wasm_bindgen]
pub struct IsoformerModel {
    model: Held,
}

#[derive(Clone)]
enum Held {
    Whole(Rc<Isoformer>),
    /// The part URLs and the load options (the fetch hook, e.g. the Cache API one, serves the
    /// repeated loads).
    PartByPart {
        urls: Rc<IsoformerUrls>,
        options: JsValue,
        device: backend::ComputeDevice,
    },
}

#[wasm_bindgen]
impl IsoformerModel {
    /// `source`: an IsoFormer weight directory's base URL (`isoformer.json`), or `{ dna, rna?,
    /// protein?, aggregator }`, each a weight directory's base URL. `options.modalities` (with a
    /// base URL): which of `"rna"` and `"protein"` to fetch; by default every part the directory has.
    /// Only the parts needed are fetched. `options.lowMemory: true` fetches nothing now and runs
    /// each prediction one part at a time (peak GPU memory: the largest part). Also `options.fetch` and `options.onProgress` as for
    /// `EncoderModel.load` (the total is announced once every manifest is read).
    pub async fn load(
        #[wasm_bindgen(unchecked_param_type = "string | IsoformerUrls")] source: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions & LoaderHooks | undefined")] options: JsValue,
    ) -> Result<IsoformerModel, JsValue> {
        Self::load_inner(source, options).await.map_err(|e| to_js_error(&e))
    }

    async fn load_inner(source: JsValue, options: JsValue) -> Result<IsoformerModel, Error> {
        let settings = LoadOptions::from_js(&options, "IsoformerModel.load")?;
        let mut loader = Loader::from_options(&options)?;
        let urls: IsoformerUrls = match source.as_string() {
            Some(base) => part_urls(&base, settings.modalities.as_ref(), &loader).await?,
            None => from_js(source, "IsoformerModel.load weights")?,
        };
        let device = settings.device().await?;
        if settings.low_memory {
            // Nothing is fetched now; each prediction fetches (or takes from the cache) one part at a time.
            loader.report("ready", None);
            return Ok(IsoformerModel { model: Held::PartByPart { urls: Rc::new(urls), options, device } });
        }
        let model = load_isoformer(&device, &mut FetchedParts { urls: &urls, loader: &mut loader }, &Part::ALL).await?;
        // One short prediction through every loaded encoder compiles the shaders now; without DNA,
        // it also computes the absent-DNA embedding that DNA-less predictions reuse. The CPU has no
        // shaders: there that Enformer pass (≈ 6 s of a 12-s load in wasm, BENCHMARKS.md) waits for
        // the first prediction without DNA, and a load for predictions with DNA never runs it.
        loader.report("warm-up", None);
        if !device.is_cpu() {
            let modalities = model.modalities();
            let warm_up = IsoformerInputs {
                dna: None,
                rna: modalities.contains(&Modality::Rna).then_some(WARM_UP_RNA),
                protein: modalities.contains(&Modality::Protein).then_some(WARM_UP_PROTEIN),
            };
            model.predict(&warm_up, false).await?;
        }
        loader.report("ready", None);
        Ok(IsoformerModel { model: Held::Whole(Rc::new(model)) })
    }

    /// The modalities this model reads (`"dna"` always: absent DNA is read as N).
    #[wasm_bindgen(getter, unchecked_return_type = "Modality[]")]
    pub fn modalities(&self) -> JsValue {
        let modalities = match &self.model {
            Held::Whole(model) => model.modalities(),
            Held::PartByPart { urls, .. } => {
                let mut modalities = vec![Modality::Dna];
                modalities.extend(urls.rna.as_ref().map(|_| Modality::Rna));
                modalities.extend(urls.protein.as_ref().map(|_| Modality::Protein));
                modalities
            }
        };
        serde_wasm_bindgen::to_value(&modalities).unwrap_or(JsValue::NULL)
    }

    /// `{ device, lowMemory, randomWeights }` (`randomWeights` is known once parts are loaded:
    /// `null` in low-memory mode; every prediction says it).
    #[wasm_bindgen(getter, unchecked_return_type = "IsoformerInfo")]
    pub fn info(&self) -> JsValue {
        let object = Object::new();
        let (device, low_memory, random) = match &self.model {
            Held::Whole(model) => (&model.device().description, false, JsValue::from(model.random_weights())),
            Held::PartByPart { device, .. } => (&device.description, true, JsValue::NULL),
        };
        set(&object, "device", &device.as_str().into());
        set(&object, "lowMemory", &low_memory.into());
        set(&object, "randomWeights", &random);
        object.into()
    }

    /// Memory diagnostics: `{ wasmBytes, deviceAllocations, deviceBytesInUse, deviceBytesReserved }`,
    /// the wasm heap and Burn's pool on this model's device (`null` device fields on the CPU).
    #[wasm_bindgen(js_name = memoryUsage, unchecked_return_type = "MemoryUsage")]
    pub fn memory_usage(&self) -> JsValue {
        let device = match &self.model {
            Held::Whole(model) => &model.device().device,
            Held::PartByPart { device, .. } => &device.device,
        };
        memory::usage(Some(device))
    }

    /// One encoder's embedding: `modality` `"protein"` or `"rna"` resolves like
    /// `EncoderModel.embedProtein` / `embedRna` (`{ data, shape, tokens, meanEmbedding }`), `"dna"` like
    /// `embedDna`. In low-memory mode only that part is fetched (through the fetch hook) and freed after.
    /// `sequence`: plain, or FASTA text with one record. `options` as [`EmbedOptions`] describes
    /// (hidden states of chosen layers, pooled; how the sequence is read), and `signal`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Embedding | DnaEmbedding | LayerEmbeddings>")]
    pub fn embed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Modality")] modality: JsValue,
        sequence: String,
        #[wasm_bindgen(unchecked_param_type = "EmbedOptions & CallOptions | undefined")] options: JsValue,
    ) -> Promise {
        let held = self.model.clone();
        let modality = serde_wasm_bindgen::from_value::<Modality>(modality).map_err(|e| {
            Error::InvalidArgument(format!("embed: modality {e}; expected \"dna\", \"rna\" or \"protein\""))
        });
        let parsed = call_options::<EmbedOptions>(&options, "embed", &[]);
        future_to_promise(async move {
            let run = async {
                let modality = modality?;
                let (embed_options, cancel, _) = parsed?;
                let run = embed_options.run_options(modality, cancel)?;
                let sequence = single_sequence(sequence, &modality.to_string())?;
                if modality == Modality::Dna && embed_options.layer.is_some() {
                    return Err(Error::InvalidArgument(
                        "embed: Enformer gives its trunk output only (no layer)".into(),
                    ));
                }
                match held {
                    Held::Whole(model) => embed_with_model(&model, modality, &sequence, &embed_options, &run).await,
                    Held::PartByPart { urls, options, device } => {
                        let mut loader = Loader::from_options(&options)?;
                        let mut parts = FetchedParts { urls: &urls, loader: &mut loader };
                        let (manifest, weights) = parts.part(Part::encoder_of(modality), &device.device).await?;
                        // The encoder is dropped at the end of this block, before its GPU memory is released.
                        let embedded = if modality == Modality::Dna {
                            let encoder = DnaEncoder::new(device.clone(), &manifest, weights)?;
                            embed_dna_js(&encoder, &sequence, &run).await
                        } else {
                            let encoder = SequenceEncoder::new(device.clone(), &manifest, weights)?;
                            encoder.expect_modality(modality)?;
                            embed_sequence(&encoder, &sequence, &embed_options, &run).await
                        };
                        device.device.memory_cleanup();
                        embedded
                    }
                }
            };
            run.await.map_err(|e| to_js_error(&e))
        })
    }

    /// Checks `inputs` (as `predict` would, DNA included) and gives the RNA's and protein's token
    /// ids as this model reads them: `{ rna?: Uint32Array, protein?: Uint32Array }`, what the
    /// parallel CPU fallback's helper workers embed (`EncoderModel.embedTokenIds`). `options` as
    /// `predict`'s data options.
    #[wasm_bindgen(js_name = tokenIds, unchecked_return_type = "TokenIds")]
    pub fn token_ids(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PredictInputs")] inputs: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PredictOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let run = || {
            let Held::Whole(model) = &self.model else {
                return Err(Error::InvalidArgument(
                    "tokenIds needs the whole model (load it without lowMemory)".into(),
                ));
            };
            let inputs = from_js::<PredictInputs>(inputs, "tokenIds")?.read_fasta()?;
            let options = options_from_js::<PredictOptions>(options, "tokenIds")?.run_options(Cancel::never());
            let (rna, protein) = model.token_ids(&inputs.as_inputs(), &options)?;
            let object = Object::new();
            for (key, ids) in [("rna", rna), ("protein", protein)] {
                if let Some(ids) = ids {
                    set(&object, key, &Uint32Array::from(ids.as_slice()).into());
                }
            }
            Ok(object.into())
        };
        run().map_err(|e| to_js_error(&e))
    }

    /// `inputs`: `{ dna?, rna?, protein? }` (plain sequences, or FASTA text with one record) →
    /// `{ tissues: string[30], values: Float32Array, units, randomWeights, modalities, stages }`.
    /// `options` as [`PredictOptions`] describes, and `signal`: aborting it stops the prediction at
    /// its next stage, Enformer window or layer (rejects with `ABORTED`; the model stays usable).
    #[wasm_bindgen(unchecked_return_type = "Promise<Prediction>")]
    pub fn predict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PredictInputs")] inputs: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PredictCallOptions | undefined")] options: JsValue,
    ) -> Promise {
        let held = self.model.clone();
        let parsed = from_js::<PredictInputs>(inputs, "predict");
        let options = call_options::<PredictOptions>(&options, "predict", &["encoded"]);
        future_to_promise(async move {
            let run = async {
                let inputs = parsed?.read_fasta()?;
                let (options, cancel, extra) = options?;
                let run = options.run_options(cancel);
                let given = inputs.as_inputs();
                let encoded = extra.into_iter().next().filter(|e| !e.is_undefined());
                match held {
                    Held::Whole(model) => match encoded {
                        Some(encoded) => model.predict_with_encoded(&given, await_encoded(encoded), &run).await,
                        None => model.predict_with(&given, false, &run).await,
                    },
                    Held::PartByPart { .. } if encoded.is_some() => {
                        Err(Error::InvalidArgument("predict: encoded needs the whole model (not lowMemory)".into()))
                    }
                    Held::PartByPart { urls, options, device } => {
                        let mut loader = Loader::from_options(&options)?;
                        let mut parts = FetchedParts { urls: &urls, loader: &mut loader };
                        predict_part_by_part(&device, &given, false, &run, &mut parts).await
                    }
                }
            };
            run.await.map(|p| prediction_to_js(&p)).map_err(|e| to_js_error(&e))
        })
    }

    /// Every transcript of one gene against its DNA window: `input` `{ dna?, transcripts: [{ id,
    /// rna?, protein? }] }` → one prediction per transcript (each with its `id`), in order. The DNA
    /// embedding (most of a prediction's work) is computed once (in low-memory mode, per
    /// transcript). Every transcript is checked before anything runs; an error names its
    /// transcript (`error.transcript`). `options`: as `predict`'s, with `signal` and
    /// `onResult(index, result)`, called as each transcript's prediction is ready.
    #[wasm_bindgen(js_name = predictMany, unchecked_return_type = "Promise<Prediction[]>")]
    pub fn predict_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ManyInputs")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PredictManyOptions | undefined")] options: JsValue,
    ) -> Promise {
        let held = self.model.clone();
        let parsed = from_js::<ManyInputs>(input, "predictMany");
        let options = call_options::<PredictOptions>(&options, "predictMany", &["onResult", "encoded"]);
        future_to_promise(async move {
            let (options, cancel, extra) = options.map_err(|e| to_js_error(&e))?;
            let on_result = extra[0].dyn_ref::<js_sys::Function>().cloned();
            // Transcript i's RNA and protein, encoded by helper workers: `encoded(i)`, a promise.
            let encoded = extra[1].dyn_ref::<js_sys::Function>().cloned();
            let run = options.run_options(cancel);
            let input = parsed.and_then(ManyInputs::read_fasta).map_err(|e| to_js_error(&e))?;
            let named = |id: &str| {
                let id = id.to_string();
                move |error: Error| {
                    let js = to_js_error(&error);
                    set(js.unchecked_ref(), "transcript", &id.as_str().into());
                    js
                }
            };
            let results = Array::new();
            let report = |index: usize, id: &str, prediction: &Prediction| {
                let js = prediction_to_js(prediction);
                set(js.unchecked_ref(), "id", &id.into());
                if let Some(on_result) = &on_result {
                    let _ = on_result.call2(&JsValue::UNDEFINED, &(index as u32).into(), &js);
                }
                results.push(&js);
            };
            match held {
                Held::Whole(model) => {
                    for transcript in &input.transcripts {
                        model.check(&input.inputs_of(transcript), &run).map_err(named(&transcript.id))?;
                    }
                    let dna = model.dna_embedding(input.dna.as_deref(), &run).await.map_err(|e| to_js_error(&e))?;
                    for (index, transcript) in input.transcripts.iter().enumerate() {
                        let given = input.inputs_of(transcript);
                        let prediction = match &encoded {
                            Some(encoded) => {
                                let promise = encoded
                                    .call1(&JsValue::UNDEFINED, &(index as u32).into())
                                    .unwrap_or_else(|error| Promise::reject(&error).into());
                                let hidden = await_encoded(promise).await.map_err(named(&transcript.id))?;
                                model.predict_from_encoded(dna.clone(), &given, hidden, &run).await
                            }
                            None => model.predict_from(dna.clone(), &given, false, &run).await,
                        };
                        report(index, &transcript.id, &prediction.map_err(named(&transcript.id))?);
                    }
                }
                Held::PartByPart { .. } if encoded.is_some() => {
                    return Err(to_js_error(&Error::InvalidArgument(
                        "predictMany: encoded needs the whole model (not lowMemory)".into(),
                    )));
                }
                Held::PartByPart { urls, options, device } => {
                    for (index, transcript) in input.transcripts.iter().enumerate() {
                        let mut loader = Loader::from_options(&options).map_err(|e| to_js_error(&e))?;
                        let mut parts = FetchedParts { urls: &urls, loader: &mut loader };
                        let given = input.inputs_of(transcript);
                        let prediction = predict_part_by_part(&device, &given, false, &run, &mut parts)
                            .await
                            .map_err(named(&transcript.id))?;
                        report(index, &transcript.id, &prediction);
                    }
                }
            }
            Ok(results.into())
        })
    }

    /// A gene's variants scored on every transcript: `input` `{ annotation: { genbank } | { gff,
    /// fasta }, vcf, gene?, windowStrand? }` → `{ tissues, randomWeights, transcripts (each with
    /// its reference prediction), variants, errors }`. A bad VCF record is an entry of `errors`
    /// (and of `onResult`) naming it, and the others are scored; `options`: as `predict`'s, with
    /// `signal` and `onResult(index, entry, total)`. Needs the whole model (not `lowMemory`).
    #[wasm_bindgen(js_name = scoreVariants, unchecked_return_type = "Promise<VariantScores>")]
    pub fn score_variants(
        &self,
        #[wasm_bindgen(unchecked_param_type = "VariantsInput")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ScoreVariantsOptions | undefined")] options: JsValue,
    ) -> Promise {
        let held = self.model.clone();
        let parsed = from_js::<variants::VariantsInput>(input, "scoreVariants");
        let options = call_options::<PredictOptions>(&options, "scoreVariants", &["onResult"]);
        future_to_promise(async move {
            let run = async {
                let (options, cancel, extra) = options?;
                let on_result = extra[0].dyn_ref::<js_sys::Function>().cloned();
                let Held::Whole(model) = held else {
                    return Err(Error::InvalidArgument(
                        "scoreVariants needs the whole model in memory (load it without lowMemory)".into(),
                    ));
                };
                variants::score_variants(&model, parsed?, options.run_options(cancel), on_result).await
            };
            run.await.map_err(|e| to_js_error(&e))
        })
    }
}

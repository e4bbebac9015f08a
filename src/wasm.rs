//! The JavaScript surface (wasm-bindgen). Loads a weight directory over `fetch`, embeds proteins
//! (ESM-2) or RNA (NT-v2) on WebGPU, and turns every error into a JS `Error` whose `code` is
//! [`Error::code`]. No tensors here: the model side hands back plain vectors.

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint32Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::backend;
use crate::embed::{DnaEmbedding, DnaEncoder, Embedding, SequenceEncoder};
use crate::model::{Isoformer, IsoformerInputs, Prediction, load_aggregator};
use crate::error::{Error, Modality};
use crate::tokenize::{AmbiguityPolicy, CropPolicy, DnaCropPolicy, NUCLEOTIDE_MAX_TOKENS, NucleotideTokenizer, Tokenizer};
use crate::weights::{LoadedWeights, MANIFEST_FILE, Manifest};

/// Short inputs embedded once while loading, so shaders compile before the first request.
const WARM_UP_PROTEIN: &str = "MKTAYIAKQRQISFVKSHFSRQ";
const WARM_UP_RNA: &str = "AUGGCCAUUGUAAUGGGCCGCUGAAAGGGUGCCCGAUAG";
/// Enformer always runs at 196,608 bp, so any sequence compiles every shader.
const WARM_UP_DNA: &str = "ACGT";

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
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

/// GETs `url` with the page's or worker's `fetch`.
async fn fetch_bytes(url: &str) -> Result<Vec<u8>, Error> {
    let network = |reason: String| Error::Network { url: url.to_string(), reason };
    let global = js_sys::global();
    let promise = if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        window.fetch_with_str(url)
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        worker.fetch_with_str(url)
    } else {
        return Err(network("no fetch in this context".into()));
    };
    let response: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| network(format!("{e:?}")))?
        .dyn_into()
        .map_err(|_| network("not a Response".into()))?;
    if !response.ok() {
        return Err(network(format!("HTTP {}", response.status())));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| network(format!("{e:?}")))?)
        .await
        .map_err(|e| network(format!("{e:?}")))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Fetches `<base>/manifest.json` and its shards, each verified and uploaded as it arrives.
async fn fetch_weights(base_url: &str, device: &burn::tensor::Device) -> Result<(Manifest, LoadedWeights), Error> {
    let base = base_url.trim_end_matches('/');
    let manifest_bytes = fetch_bytes(&format!("{base}/{MANIFEST_FILE}")).await?;
    let manifest = Manifest::from_json(&String::from_utf8_lossy(&manifest_bytes))?;
    let mut weights = LoadedWeights::new(device);
    for entry in &manifest.files {
        let bytes = fetch_bytes(&format!("{base}/{}", entry.name)).await?;
        weights.add_shard(entry, bytes)?;
    }
    Ok((manifest, weights))
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
    serde_wasm_bindgen::from_value(options).map_err(|e| Error::InvalidArgument(format!("{call} options: {e}")))
}

/// The ESM-family encoder at `url`, when one is given.
async fn fetch_sequence_encoder(url: Option<&str>, device: &backend::ComputeDevice) -> Result<Option<SequenceEncoder>, Error> {
    let Some(url) = url else { return Ok(None) };
    let (manifest, weights) = fetch_weights(url, &device.device).await?;
    SequenceEncoder::new(device.clone(), &manifest, weights).map(Some)
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
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RnaOptions {
    max_tokens: Option<usize>,
    crop: Option<String>,
    ambiguous: Option<String>,
}

impl RnaOptions {
    fn tokenizer(&self) -> Result<Tokenizer, Error> {
        let crop = match self.crop.as_deref().unwrap_or("none") {
            "none" => CropPolicy::Reject,
            "keep-start" => CropPolicy::KeepStart,
            "keep-end" => CropPolicy::KeepEnd,
            other => return Err(Error::InvalidArgument(format!("crop {other:?}: expected \"none\", \"keep-start\" or \"keep-end\""))),
        };
        let ambiguity = ambiguity(self.ambiguous.as_deref())?;
        let max_tokens = self.max_tokens.unwrap_or(NUCLEOTIDE_MAX_TOKENS);
        Ok(Tokenizer::Nucleotide(NucleotideTokenizer::new(max_tokens).with_crop(crop).with_ambiguity(ambiguity)))
    }
}

/// `embedDna` options: `{ crop?: "none" | "centre", ambiguous?: "reject" | "as-n" }` (defaults:
/// an error above 196,608 bp, an error on IUPAC ambiguity codes).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DnaOptions {
    crop: Option<String>,
    ambiguous: Option<String>,
}

fn ambiguity(value: Option<&str>) -> Result<AmbiguityPolicy, Error> {
    match value.unwrap_or("reject") {
        "reject" => Ok(AmbiguityPolicy::Reject),
        "as-n" => Ok(AmbiguityPolicy::ReadAsN),
        other => Err(Error::InvalidArgument(format!("ambiguous {other:?}: expected \"reject\" or \"as-n\""))),
    }
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
        Loaded::Dna(_) => return Promise::reject(&to_js_error(&Error::WrongModality { requested: modality, loaded: Modality::Dna })),
    };
    future_to_promise(async move {
        let run = async {
            encoder.expect_modality(modality)?;
            let mut embeddings = match tokenizer {
                Some(tokenizer) => encoder.embed_with(&tokenizer, &[sequence.as_str()]).await?,
                None => encoder.embed(&[sequence.as_str()]).await?,
            };
            embeddings.pop().ok_or_else(|| Error::Device("no output".into()))
        };
        run.await.map(|e| embedding_to_js(&e)).map_err(|e| to_js_error(&e))
    })
}

#[wasm_bindgen]
impl EncoderModel {
    /// Fetches `<baseUrl>/manifest.json` and its shards (each verified by SHA-256 and uploaded as
    /// it arrives), builds the encoder on WebGPU and runs one warm-up pass.
    pub async fn load(base_url: String) -> Result<EncoderModel, JsValue> {
        Self::load_inner(&base_url).await.map_err(|e| to_js_error(&e))
    }

    async fn load_inner(base_url: &str) -> Result<EncoderModel, Error> {
        let device = backend::init_webgpu().await?;
        let (manifest, weights) = fetch_weights(base_url, &device.device).await?;
        // A warm-up pass compiles the shaders now, not on the user's first request.
        if manifest.model == "enformer" {
            let encoder = DnaEncoder::new(device, &manifest, weights)?;
            encoder.embed(WARM_UP_DNA).await?;
            return Ok(EncoderModel { loaded: Loaded::Dna(Rc::new(encoder)) });
        }
        let encoder = SequenceEncoder::new(device, &manifest, weights)?;
        let warm_up = if encoder.modality() == Modality::Rna { WARM_UP_RNA } else { WARM_UP_PROTEIN };
        encoder.embed(&[warm_up]).await?;
        Ok(EncoderModel { loaded: Loaded::Sequence(Rc::new(encoder)) })
    }

    /// Resolves to `{ data: Float32Array, shape: [L, D], tokens: Uint32Array, meanEmbedding: Float32Array }`;
    /// rejects with code `WRONG_MODALITY` if the weights are not ESM-2.
    #[wasm_bindgen(js_name = embedProtein)]
    pub fn embed_protein(&self, sequence: String) -> Promise {
        embed_one(&self.loaded, sequence, Modality::Protein, None)
    }

    /// Like `embedProtein`, for RNA on NT-v2 weights; `options` as [`RnaOptions`] describes.
    #[wasm_bindgen(js_name = embedRna)]
    pub fn embed_rna(&self, sequence: String, options: JsValue) -> Promise {
        match options_from_js::<RnaOptions>(options, "embedRna").and_then(|o| o.tokenizer()) {
            Ok(tokenizer) => embed_one(&self.loaded, sequence, Modality::Rna, Some(tokenizer)),
            Err(error) => Promise::reject(&to_js_error(&error)),
        }
    }

    /// Resolves to `{ data: Float32Array, shape: [896, 3072], meanEmbedding, bases, tracks: { human?:
    /// { data, shape }, mouse?: … } }` on Enformer weights; shorter DNA is N-padded around its centre.
    #[wasm_bindgen(js_name = embedDna)]
    pub fn embed_dna(&self, sequence: String, options: JsValue) -> Promise {
        let Loaded::Dna(encoder) = &self.loaded else {
            let loaded = self.modality();
            return Promise::reject(&to_js_error(&Error::WrongModality { requested: Modality::Dna, loaded }));
        };
        let encoder = encoder.clone();
        let one_hot = options_from_js::<DnaOptions>(options, "embedDna").and_then(|o| {
            let crop = match o.crop.as_deref().unwrap_or("none") {
                "none" => DnaCropPolicy::Reject,
                "centre" | "center" => DnaCropPolicy::Centre,
                other => return Err(Error::InvalidArgument(format!("crop {other:?}: expected \"none\" or \"centre\""))),
            };
            Ok(encoder.one_hot().clone().with_crop(crop).with_ambiguity(ambiguity(o.ambiguous.as_deref())?))
        });
        future_to_promise(async move {
            let one_hot = one_hot.map_err(|e| to_js_error(&e))?;
            encoder.embed_with(&one_hot, &sequence).await.map(|e| dna_embedding_to_js(&e)).map_err(|e| to_js_error(&e))
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
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> JsValue {
        let object = Object::new();
        let (device, random, hidden, layers, max_length) = match &self.loaded {
            Loaded::Sequence(encoder) => {
                let config = encoder.config();
                let max_length = match encoder.tokenizer() {
                    Tokenizer::Protein(t) => t.max_residues(),
                    Tokenizer::Nucleotide(t) => t.max_tokens(),
                };
                (&encoder.device().description, encoder.random_weights(), config.hidden_size, config.num_hidden_layers, max_length)
            }
            Loaded::Dna(encoder) => {
                let config = encoder.config();
                (&encoder.device().description, encoder.random_weights(), 2 * config.dim, config.depth, encoder.one_hot().length())
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
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct IsoformerUrls {
    dna: String,
    rna: Option<String>,
    protein: Option<String>,
    aggregator: String,
}

/// `predict` argument: any non-empty subset of the three sequences.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PredictInputs {
    dna: Option<String>,
    rna: Option<String>,
    protein: Option<String>,
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
    object.into()
}

/// IsoFormer on the browser's WebGPU device: the three encoders and the aggregator.
#[wasm_bindgen]
pub struct IsoformerModel {
    model: Rc<Isoformer>,
}

#[wasm_bindgen]
impl IsoformerModel {
    /// `urls`: `{ dna, rna?, protein?, aggregator }`, each a weight directory's base URL.
    pub async fn load(urls: JsValue) -> Result<IsoformerModel, JsValue> {
        Self::load_inner(urls).await.map_err(|e| to_js_error(&e))
    }

    async fn load_inner(urls: JsValue) -> Result<IsoformerModel, Error> {
        let urls: IsoformerUrls = serde_wasm_bindgen::from_value(urls).map_err(|e| Error::InvalidArgument(format!("IsoformerModel.load: {e}")))?;
        let device = backend::init_webgpu().await?;
        let (manifest, weights) = fetch_weights(&urls.dna, &device.device).await?;
        let dna = DnaEncoder::new(device.clone(), &manifest, weights)?;
        let rna = fetch_sequence_encoder(urls.rna.as_deref(), &device).await?;
        let protein = fetch_sequence_encoder(urls.protein.as_deref(), &device).await?;
        let (manifest, weights) = fetch_weights(&urls.aggregator, &device.device).await?;
        let (aggregator, random) = load_aggregator(&manifest, weights)?;
        let model = Isoformer::new(dna, rna, protein, aggregator, random)?;
        Ok(IsoformerModel { model: Rc::new(model) })
    }

    /// `inputs`: `{ dna?, rna?, protein? }` → `{ tissues: string[30], values: Float32Array, units,
    /// randomWeights, modalities }`.
    pub fn predict(&self, inputs: JsValue) -> Promise {
        let model = self.model.clone();
        let parsed = serde_wasm_bindgen::from_value::<PredictInputs>(inputs).map_err(|e| Error::InvalidArgument(format!("predict: {e}")));
        future_to_promise(async move {
            let inputs = parsed.map_err(|e| to_js_error(&e))?;
            let given = IsoformerInputs { dna: inputs.dna.as_deref(), rna: inputs.rna.as_deref(), protein: inputs.protein.as_deref() };
            model.predict(&given, false).await.map(|p| prediction_to_js(&p)).map_err(|e| to_js_error(&e))
        })
    }
}

//! The JavaScript surface (wasm-bindgen). Loads a weight directory over `fetch`, embeds proteins
//! (ESM-2) or RNA (NT-v2) on WebGPU, and turns every error into a JS `Error` whose `code` is
//! [`Error::code`]. No tensors here: the model side hands back plain vectors.

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint32Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::backend;
use crate::embed::{Embedding, SequenceEncoder};
use crate::error::{Error, Modality};
use crate::tokenize::{AmbiguityPolicy, CropPolicy, NUCLEOTIDE_MAX_TOKENS, NucleotideTokenizer, Tokenizer};
use crate::weights::{LoadedWeights, MANIFEST_FILE, Manifest};

/// Short inputs embedded once while loading, so shaders compile before the first request.
const WARM_UP_PROTEIN: &str = "MKTAYIAKQRQISFVKSHFSRQ";
const WARM_UP_RNA: &str = "AUGGCCAUUGUAAUGGGCCGCUGAAAGGGUGCCCGAUAG";

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

fn embedding_to_js(embedding: &Embedding) -> JsValue {
    let object = Object::new();
    set(&object, "data", &Float32Array::from(embedding.last_hidden_state.as_slice()).into());
    let shape: Array = embedding.shape.iter().map(|&n| JsValue::from(n as u32)).collect();
    set(&object, "shape", &shape.into());
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
    fn from_js(options: JsValue) -> Result<Self, Error> {
        if options.is_undefined() || options.is_null() {
            return Ok(RnaOptions::default());
        }
        serde_wasm_bindgen::from_value(options).map_err(|e| Error::InvalidArgument(format!("embedRna options: {e}")))
    }

    fn tokenizer(&self) -> Result<Tokenizer, Error> {
        let crop = match self.crop.as_deref().unwrap_or("none") {
            "none" => CropPolicy::Reject,
            "keep-start" => CropPolicy::KeepStart,
            "keep-end" => CropPolicy::KeepEnd,
            other => return Err(Error::InvalidArgument(format!("crop {other:?}: expected \"none\", \"keep-start\" or \"keep-end\""))),
        };
        let ambiguity = match self.ambiguous.as_deref().unwrap_or("reject") {
            "reject" => AmbiguityPolicy::Reject,
            "as-n" => AmbiguityPolicy::ReadAsN,
            other => return Err(Error::InvalidArgument(format!("ambiguous {other:?}: expected \"reject\" or \"as-n\""))),
        };
        let max_tokens = self.max_tokens.unwrap_or(NUCLEOTIDE_MAX_TOKENS);
        Ok(Tokenizer::Nucleotide(NucleotideTokenizer::new(max_tokens).with_crop(crop).with_ambiguity(ambiguity)))
    }
}

/// An ESM-family encoder loaded on the browser's WebGPU device: ESM-2 (proteins) or NT-v2 (RNA),
/// whichever the weight directory holds.
#[wasm_bindgen]
pub struct EncoderModel {
    encoder: Rc<SequenceEncoder>,
}

/// Embeds one sequence and converts the result (or the error) for JavaScript.
fn embed_one(encoder: Rc<SequenceEncoder>, sequence: String, modality: Modality, tokenizer: Option<Tokenizer>) -> Promise {
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
        let base = base_url.trim_end_matches('/');
        let device = backend::init_webgpu().await?;
        let manifest_bytes = fetch_bytes(&format!("{base}/{MANIFEST_FILE}")).await?;
        let manifest = Manifest::from_json(&String::from_utf8_lossy(&manifest_bytes))?;
        let mut weights = LoadedWeights::new(&device.device);
        for entry in &manifest.files {
            let bytes = fetch_bytes(&format!("{base}/{}", entry.name)).await?;
            weights.add_shard(entry, bytes)?;
        }
        let encoder = SequenceEncoder::new(device, &manifest, weights)?;
        // A warm-up pass compiles the shaders now, not on the user's first request.
        let warm_up = if encoder.modality() == Modality::Rna { WARM_UP_RNA } else { WARM_UP_PROTEIN };
        encoder.embed(&[warm_up]).await?;
        Ok(EncoderModel { encoder: Rc::new(encoder) })
    }

    /// Resolves to `{ data: Float32Array, shape: [L, D], tokens: Uint32Array, meanEmbedding: Float32Array }`;
    /// rejects with code `WRONG_MODALITY` if the weights are not ESM-2.
    #[wasm_bindgen(js_name = embedProtein)]
    pub fn embed_protein(&self, sequence: String) -> Promise {
        embed_one(self.encoder.clone(), sequence, Modality::Protein, None)
    }

    /// Like `embedProtein`, for RNA on NT-v2 weights; `options` as [`RnaOptions`] describes.
    #[wasm_bindgen(js_name = embedRna)]
    pub fn embed_rna(&self, sequence: String, options: JsValue) -> Promise {
        match RnaOptions::from_js(options).and_then(|o| o.tokenizer()) {
            Ok(tokenizer) => embed_one(self.encoder.clone(), sequence, Modality::Rna, Some(tokenizer)),
            Err(error) => Promise::reject(&to_js_error(&error)),
        }
    }

    /// `{ modality: "protein" | "rna", device, randomWeights, hiddenSize, layers, maxLength }`;
    /// `maxLength` is residues for proteins and tokens (with `<cls>`) for RNA.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> JsValue {
        let object = Object::new();
        let config = self.encoder.config();
        let modality = serde_wasm_bindgen::to_value(&self.encoder.modality()).unwrap_or(JsValue::NULL);
        let max_length = match self.encoder.tokenizer() {
            Tokenizer::Protein(t) => t.max_residues(),
            Tokenizer::Nucleotide(t) => t.max_tokens(),
        };
        set(&object, "modality", &modality);
        set(&object, "device", &self.encoder.device().description.clone().into());
        set(&object, "randomWeights", &self.encoder.random_weights().into());
        set(&object, "hiddenSize", &(config.hidden_size as u32).into());
        set(&object, "layers", &(config.num_hidden_layers as u32).into());
        set(&object, "maxLength", &(max_length as u32).into());
        object.into()
    }
}

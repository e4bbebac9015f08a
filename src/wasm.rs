//! The JavaScript surface (wasm-bindgen). Loads a weight directory over `fetch`, embeds proteins
//! on WebGPU, and turns every error into a JS `Error` whose `code` is [`Error::code`].
//! No tensors here: the model side hands back plain vectors.

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint32Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::backend;
use crate::embed::{Embedding, ProteinEncoder};
use crate::error::Error;
use crate::weights::{LoadedWeights, MANIFEST_FILE, Manifest};

/// A short protein embedded once while loading.
const WARM_UP_PROTEIN: &str = "MKTAYIAKQRQISFVKSHFSRQ";

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

/// ESM-2 loaded on the browser's WebGPU device.
#[wasm_bindgen]
pub struct ProteinModel {
    encoder: Rc<ProteinEncoder>,
}

#[wasm_bindgen]
impl ProteinModel {
    /// Fetches `<baseUrl>/manifest.json` and its shards (each verified by SHA-256 and uploaded as
    /// it arrives), builds the encoder on WebGPU and runs one warm-up pass.
    pub async fn load(base_url: String) -> Result<ProteinModel, JsValue> {
        Self::load_inner(&base_url).await.map_err(|e| to_js_error(&e))
    }

    async fn load_inner(base_url: &str) -> Result<ProteinModel, Error> {
        let base = base_url.trim_end_matches('/');
        let device = backend::init_webgpu().await?;
        let manifest_bytes = fetch_bytes(&format!("{base}/{MANIFEST_FILE}")).await?;
        let manifest = Manifest::from_json(&String::from_utf8_lossy(&manifest_bytes))?;
        let mut weights = LoadedWeights::new(&device.device);
        for entry in &manifest.files {
            let bytes = fetch_bytes(&format!("{base}/{}", entry.name)).await?;
            weights.add_shard(entry, bytes)?;
        }
        let encoder = ProteinEncoder::new(device, &manifest, weights)?;
        // A warm-up pass compiles the shaders now, not on the user's first request.
        encoder.embed(&[WARM_UP_PROTEIN]).await?;
        Ok(ProteinModel { encoder: Rc::new(encoder) })
    }

    /// Resolves to `{ data: Float32Array, shape: [L, D], tokens: Uint32Array, meanEmbedding: Float32Array }`.
    #[wasm_bindgen(js_name = embedProtein)]
    pub fn embed_protein(&self, sequence: String) -> Promise {
        let encoder = self.encoder.clone();
        future_to_promise(async move {
            let mut embeddings = encoder.embed(&[sequence.as_str()]).await.map_err(|e| to_js_error(&e))?;
            embeddings.pop().map(|e| embedding_to_js(&e)).ok_or_else(|| to_js_error(&Error::Device("no output".into())))
        })
    }

    /// `{ device, randomWeights, hiddenSize, layers, maxResidues }`.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> JsValue {
        let object = Object::new();
        let config = self.encoder.config();
        set(&object, "device", &self.encoder.device().description.clone().into());
        set(&object, "randomWeights", &self.encoder.random_weights().into());
        set(&object, "hiddenSize", &(config.hidden_size as u32).into());
        set(&object, "layers", &(config.num_hidden_layers as u32).into());
        set(&object, "maxResidues", &(self.encoder.tokenizer().max_residues() as u32).into());
        object.into()
    }
}

//! Fetching weight directories in the browser: every manifest first, so the total size is announced
//! before the first shard byte; then each shard through the page's `fetch`, or through the caller's
//! `fetch` hook (the npm package's worker passes one backed by the Cache API), verified by SHA-256
//! and uploaded as it arrives, with progress events. No tensors here.
//!
//! Load options from JavaScript: `{ fetch?: (url, expected) => Promise<ArrayBuffer | Uint8Array>,
//! onProgress?: (event) => void }`, where `expected` is `{ name, bytes, sha256 }` for a shard and
//! `null` for a manifest. Events: `{ stage, loaded, total, file?, fileBytes? }` with `stage` one of
//! `manifest` (total known, nothing downloaded yet), `download` (a shard is being fetched),
//! `verify` (its SHA-256 and tensor index are being checked), `upload` (verified and on the GPU; `loaded` counts it), `warm-up`, `ready`.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::Error;
use crate::weights::{ISOFORMER_INDEX_FILE, IsoformerIndex, LoadedWeights, MANIFEST_FILE, Manifest, ShardEntry};

/// One load: the hooks, and the bytes announced and uploaded so far.
pub struct Loader {
    fetch_hook: Option<Function>,
    on_progress: Option<Function>,
    total: u64,
    loaded: u64,
}

fn function_field(options: &JsValue, name: &str) -> Result<Option<Function>, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let value = Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_into::<Function>()
        .map(Some)
        .map_err(|_| Error::InvalidArgument(format!("options.{name} must be a function")))
}

impl Loader {
    pub fn from_options(options: &JsValue) -> Result<Self, Error> {
        Ok(Loader {
            fetch_hook: function_field(options, "fetch")?,
            on_progress: function_field(options, "onProgress")?,
            total: 0,
            loaded: 0,
        })
    }

    /// Calls `onProgress` (errors thrown by it are ignored: progress must not break a load).
    pub fn report(&self, stage: &str, file: Option<&ShardEntry>) {
        let Some(callback) = &self.on_progress else { return };
        let event = Object::new();
        let set = |key: &str, value: JsValue| {
            let _ = Reflect::set(&event, &key.into(), &value);
        };
        set("stage", stage.into());
        set("loaded", (self.loaded as f64).into());
        set("total", (self.total as f64).into());
        if let Some(file) = file {
            set("file", file.name.as_str().into());
            set("fileBytes", (file.bytes as f64).into());
        }
        let _ = callback.call1(&JsValue::NULL, &event);
    }

    /// Fetches and checks `<base>/manifest.json`.
    pub async fn manifest(&self, base: &str) -> Result<Manifest, Error> {
        let bytes = self.get(&format!("{}/{MANIFEST_FILE}", base.trim_end_matches('/')), None).await?;
        Manifest::from_json(&String::from_utf8_lossy(&bytes))
    }

    /// Fetches and checks `<base>/isoformer.json`.
    pub async fn isoformer_index(&self, base: &str) -> Result<IsoformerIndex, Error> {
        let bytes = self.get(&format!("{}/{ISOFORMER_INDEX_FILE}", base.trim_end_matches('/')), None).await?;
        IsoformerIndex::from_json(&String::from_utf8_lossy(&bytes))
    }

    /// Announces the total size of everything about to be fetched.
    pub fn announce(&mut self, manifests: &[&Manifest]) {
        self.total = manifests.iter().map(|m| m.total_bytes()).sum();
        self.report("manifest", None);
    }

    /// Fetches `manifest`'s shards from `base`, each verified and uploaded before the next.
    pub async fn weights(
        &mut self,
        base: &str,
        manifest: &Manifest,
        device: &burn::tensor::Device,
    ) -> Result<LoadedWeights, Error> {
        let base = base.trim_end_matches('/');
        let mut weights = LoadedWeights::new(device, manifest);
        for entry in &manifest.files {
            self.report("download", Some(entry));
            let bytes = self.get(&format!("{base}/{}", entry.name), Some(entry)).await?;
            // add_shard checks the SHA-256 and the tensor index before it uploads anything.
            self.report("verify", Some(entry));
            weights.add_shard(entry, bytes)?;
            self.loaded += entry.bytes;
            self.report("upload", Some(entry));
        }
        Ok(weights)
    }

    /// GETs `url` through the hook or the global `fetch`.
    async fn get(&self, url: &str, expected: Option<&ShardEntry>) -> Result<Vec<u8>, Error> {
        let network = |reason: String| Error::Network { url: url.to_string(), reason };
        let value = match &self.fetch_hook {
            Some(hook) => {
                let info = match expected {
                    Some(entry) => {
                        let info = Object::new();
                        let _ = Reflect::set(&info, &"name".into(), &entry.name.as_str().into());
                        let _ = Reflect::set(&info, &"bytes".into(), &(entry.bytes as f64).into());
                        let _ = Reflect::set(&info, &"sha256".into(), &entry.sha256.as_str().into());
                        info.into()
                    }
                    None => JsValue::NULL,
                };
                let promise: Promise = hook
                    .call2(&JsValue::NULL, &url.into(), &info)
                    .map_err(|e| network(describe(&e)))?
                    .dyn_into()
                    .map_err(|_| network("the fetch hook did not return a Promise".into()))?;
                JsFuture::from(promise).await.map_err(|e| network(describe(&e)))?
            }
            None => fetch_array_buffer(url).await?,
        };
        if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
            return Ok(bytes.to_vec());
        }
        if value.is_instance_of::<js_sys::ArrayBuffer>() {
            return Ok(js_sys::Uint8Array::new(&value).to_vec());
        }
        Err(network("the fetch hook resolved to neither an ArrayBuffer nor a Uint8Array".into()))
    }
}

/// The message of a thrown JS value.
fn describe(error: &JsValue) -> String {
    error.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{error:?}"))
}

/// GETs `url` with the page's or worker's `fetch`; resolves to its ArrayBuffer.
async fn fetch_array_buffer(url: &str) -> Result<JsValue, Error> {
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
        .map_err(|e| network(describe(&e)))?
        .dyn_into()
        .map_err(|_| network("not a Response".into()))?;
    if !response.ok() {
        return Err(network(format!("HTTP {}", response.status())));
    }
    JsFuture::from(response.array_buffer().map_err(|e| network(describe(&e)))?).await.map_err(|e| network(describe(&e)))
}

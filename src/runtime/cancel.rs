//! Cooperative cancellation. Long work (a prediction, Enformer's windows and layers) awaits
//! [`Cancel::checkpoint`] between its steps; once the caller has asked to stop, the next
//! checkpoint returns [`Error::Aborted`] and the work ends there, leaving the model as it was.
//!
//! In the browser the request comes from an `AbortSignal`, which only changes when its event loop
//! runs, so a checkpoint first yields one macrotask (`setTimeout(0)`): on the CPU fallback the
//! computation is otherwise synchronous and the abort message would wait until it finished.
//! Natively it is a flag another thread (or a Ctrl-C handler) sets.

use crate::error::{Error, Result};

#[derive(Clone, Default)]
pub struct Cancel {
    #[cfg(not(target_arch = "wasm32"))]
    flag: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// An `AbortSignal` (any object with `aborted` and `reason`).
    #[cfg(target_arch = "wasm32")]
    signal: Option<wasm_bindgen::JsValue>,
}

impl Cancel {
    /// Work that is never cancelled: its checkpoints cost nothing.
    pub fn never() -> Self {
        Self::default()
    }

    /// Cancelled once `flag` is set.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_flag(flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Cancel { flag: Some(flag) }
    }

    /// Cancelled once `signal` (an `AbortSignal`) is aborted; `undefined`/`null` never.
    #[cfg(target_arch = "wasm32")]
    pub fn from_signal(signal: wasm_bindgen::JsValue) -> Self {
        Cancel { signal: (!signal.is_undefined() && !signal.is_null()).then_some(signal) }
    }

    /// `Err(Aborted)` once the caller asked to stop.
    pub async fn checkpoint(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        if self.flag.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(Error::Aborted("the caller asked to stop".into()));
        }
        #[cfg(target_arch = "wasm32")]
        if let Some(signal) = &self.signal {
            next_macrotask().await;
            let get = |key: &str| js_sys::Reflect::get(signal, &key.into()).unwrap_or_default();
            if get("aborted").is_truthy() {
                let reason = get("reason");
                let reason = js_sys::Reflect::get(&reason, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .or_else(|| reason.as_string())
                    .unwrap_or_else(|| "the signal was aborted".into());
                return Err(Error::Aborted(reason));
            }
        }
        Ok(())
    }
}

/// Resolves after one turn of the event loop (`setTimeout(0)`, in a page or a worker).
#[cfg(target_arch = "wasm32")]
async fn next_macrotask() {
    use wasm_bindgen::JsCast;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(set_timeout) => drop(set_timeout.call2(&wasm_bindgen::JsValue::UNDEFINED, &resolve, &0.into())),
            None => drop(resolve.call0(&wasm_bindgen::JsValue::UNDEFINED)),
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

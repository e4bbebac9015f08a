//! Memory diagnostics for the JavaScript surface: the wasm heap's size and Burn's device memory
//! pool (CubeCL's counters), so an application or a test can see that long use stays bounded and
//! that disposing a model gives its device memory back. Not needed to run a model.

use burn::tensor::Device;
use js_sys::{Object, Reflect, WebAssembly};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::runtime::backend;

/// `{ wasmBytes, deviceAllocations, deviceBytesInUse, deviceBytesReserved }`: the module's linear
/// memory (it never shrinks) and, on a GPU, Burn's pool on `device` (live allocations, the bytes
/// they use, the bytes reserved from the device). The device fields are `null` on the CPU backend,
/// whose allocations are the wasm heap's.
pub fn usage(device: Option<&Device>) -> JsValue {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &key.into(), &value);
    };
    let wasm_bytes = wasm_bindgen::memory()
        .dyn_into::<WebAssembly::Memory>()
        .ok()
        .and_then(|memory| memory.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |buffer| buffer.byte_length() as f64);
    set("wasmBytes", wasm_bytes.into());
    let pool = device.and_then(Device::memory_pool_usage);
    let field = |value: Option<u64>| value.map_or(JsValue::NULL, |n| JsValue::from(n as f64));
    set("deviceAllocations", field(pool.as_ref().map(|p| p.number_allocs)));
    set("deviceBytesInUse", field(pool.as_ref().map(|p| p.bytes_in_use)));
    set("deviceBytesReserved", field(pool.as_ref().map(|p| p.bytes_reserved)));
    object.into()
}

/// Hands the free pages of Burn's pool on this context's WebGPU device back to the device
/// (`memory_cleanup`) and reads the memory then, as [`usage`] does: what a disposed model left.
/// The npm package's worker calls it once a model is freed; without a WebGPU device (never
/// started, or the CPU backend) only `wasmBytes` is set.
#[wasm_bindgen(js_name = releaseDeviceMemory, unchecked_return_type = "MemoryUsage")]
pub fn release_device_memory() -> JsValue {
    let device = backend::started_webgpu().map(|d| d.device);
    if let Some(device) = &device {
        device.memory_cleanup();
    }
    usage(device.as_ref())
}

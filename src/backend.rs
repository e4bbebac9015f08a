//! The only place that names a Burn backend or device: native CPU (`flex`) and wgpu, and async
//! WebGPU in the browser. Also reports what adapter was picked and its limits.

use burn::tensor::Device;
#[cfg(target_arch = "wasm32")]
use std::cell::RefCell;

use crate::error::{Error, Result};

/// The compute backends the CLI can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Burn's pure-Rust CPU backend (`flex`). Native only.
    Cpu,
    /// Burn's wgpu backend: Vulkan/Metal/DX12 natively (WGSL shaders), WebGPU in the browser.
    Wgpu,
}

/// A device and what it runs on.
#[derive(Clone)]
pub struct ComputeDevice {
    pub device: Device,
    /// One line: adapter name, driver, backend (or "cpu").
    pub description: String,
    /// `maxStorageBufferBindingSize` and `maxBufferSize`, when on a GPU.
    pub limits: Option<(u64, u64)>,
}

#[cfg(not(target_arch = "wasm32"))]
pub fn init_native(kind: BackendKind) -> Result<ComputeDevice> {
    match kind {
        BackendKind::Cpu => Ok(ComputeDevice { device: Device::flex(), description: "cpu (burn flex)".into(), limits: None }),
        BackendKind::Wgpu => {
            // Burn registers the wgpu runtime once per process and refuses a second registration,
            // so later (or concurrent) calls share the first device.
            static WGPU: std::sync::Mutex<Option<ComputeDevice>> = std::sync::Mutex::new(None);
            let mut held = WGPU.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(device) = held.as_ref() {
                return Ok(device.clone());
            }
            let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| Error::NoGpu(e.to_string()))?;
            Ok(held.insert(describe_wgpu(device, &setup)).clone())
        }
    }
}

fn describe_wgpu(device: Device, setup: &burn::tensor::wgpu::WgpuSetup) -> ComputeDevice {
    let info = setup.adapter.get_info();
    let limits = setup.device.limits();
    ComputeDevice {
        device,
        // Browsers hide the adapter's name; say what is known instead of printing blanks.
        description: if info.name.is_empty() {
            format!("{:?} adapter ({:?})", info.backend, info.device_type)
        } else {
            format!("{} ({}, {:?}, {:?})", info.name, info.driver_info, info.backend, info.device_type)
        },
        limits: Some((limits.max_storage_buffer_binding_size as u64, limits.max_buffer_size)),
    }
}

#[cfg(target_arch = "wasm32")]
thread_local! {
    // One WebGPU device per worker: Burn registers the runtime globally on first init.
    static WEBGPU: RefCell<Option<ComputeDevice>> = const { RefCell::new(None) };
}

/// Which device a browser load asks for (`device` option of the JS loaders).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserDevice {
    /// WebGPU when the browser has an adapter, else the CPU.
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

/// The device for a browser load: WebGPU, Burn's single-threaded CPU backend (`flex`, in wasm), or
/// WebGPU falling back to the CPU when no adapter can be had (`Auto`).
#[cfg(target_arch = "wasm32")]
pub async fn init_browser(choice: BrowserDevice) -> Result<ComputeDevice> {
    match choice {
        BrowserDevice::Webgpu => init_webgpu().await,
        BrowserDevice::Cpu => Ok(browser_cpu()),
        BrowserDevice::Auto => match init_webgpu().await {
            Ok(device) => Ok(device),
            Err(Error::NoGpu(_)) => Ok(browser_cpu()),
            Err(other) => Err(other),
        },
    }
}

#[cfg(target_arch = "wasm32")]
fn browser_cpu() -> ComputeDevice {
    ComputeDevice { device: Device::flex(), description: "cpu (burn flex, wasm, one thread)".into(), limits: None }
}

/// The browser's WebGPU device, initialised once and shared by every model in this context.
#[cfg(target_arch = "wasm32")]
pub async fn init_webgpu() -> Result<ComputeDevice> {
    if let Some(existing) = WEBGPU.with(|slot| slot.borrow().clone()) {
        return Ok(existing);
    }
    let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| Error::NoGpu(e.to_string()))?;
    let device = describe_wgpu(device, &setup);
    WEBGPU.with(|slot| *slot.borrow_mut() = Some(device.clone()));
    Ok(device)
}

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

/// Token sequences on a GPU are padded (and masked) up to a multiple of this, so a new length in
/// the same bucket reuses the compiled and autotuned kernels instead of compiling its own (minutes
/// on a software adapter). The CPU compiles nothing per shape: there, no padding.
pub const GPU_LENGTH_BUCKET: usize = 64;

/// A device and what it runs on.
#[derive(Clone)]
pub struct ComputeDevice {
    pub device: Device,
    /// One line: adapter name, driver, backend (or "cpu").
    pub description: String,
    /// `maxStorageBufferBindingSize` and `maxBufferSize`, when on a GPU.
    pub limits: Option<(u64, u64)>,
    /// Token sequences are padded up to a multiple of this ([`GPU_LENGTH_BUCKET`] on a GPU, 1 on the CPU).
    pub length_bucket: usize,
}

impl ComputeDevice {
    fn cpu(description: &str) -> Self {
        ComputeDevice { device: Device::flex(), description: description.into(), limits: None, length_bucket: 1 }
    }

    /// Burn's CPU backend (flex): nothing to compile per kernel or shape.
    pub fn is_cpu(&self) -> bool {
        self.device == Device::flex()
    }
}

/// Switches Burn's kernel fusion off (or leaves it on) for this process's GPU work, for diagnosis:
/// the same operations then run one kernel each. Burn's fusion registry allows the switch only
/// before the first GPU operation; afterwards this is an error unless fusion is already as asked.
pub fn set_fusion(enabled: bool) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DISABLED: AtomicBool = AtomicBool::new(false);
    if enabled != DISABLED.load(Ordering::SeqCst) {
        return Ok(());
    }
    if enabled {
        return Err(Error::InvalidArgument(
            "fusion was switched off for this process; it cannot be switched back on".into(),
        ));
    }
    for name in burn_cubecl::fusion::BUILTIN_NAMES {
        burn_cubecl::fusion::remove(name).map_err(|e| {
            Error::InvalidArgument(format!("fusion can only be switched off before the first GPU work ({e:?})"))
        })?;
    }
    DISABLED.store(true, Ordering::SeqCst);
    Ok(())
}

/// Autotune on a software adapter (lavapipe: a GPU emulated on the CPU) would time
/// every candidate kernel of every new shape at full size up to ten times — minutes per shape,
/// for choices that mean nothing there. On such an adapter CubeCL gets its smallest candidate set
/// and one sample per candidate; a real GPU keeps CubeCL's defaults (or the application's own
/// configuration: this never overrides one already set). A `cubecl.toml` and the `CUBECL_*`
/// variables are read as CubeCL itself reads them, the variables last (so `CUBECL_DEBUG_OPTION=profile`
/// still times each kernel, and `CUBECL_AUTOTUNE_LEVEL` still sets the level). Must run before the
/// runtime starts. (Native only: the wasm build has no autotune, see Cargo.toml.)
#[cfg(not(target_arch = "wasm32"))]
fn tune_lightly_if_software(software: bool) {
    use burn_cubecl::cubecl::config::autotune::AutotuneLevel;
    use burn_cubecl::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    if !software {
        return;
    }
    let mut config = CubeClRuntimeConfig::from_current_dir();
    config.autotune.level = AutotuneLevel::Minimal;
    config.autotune.bench.min_samples = 1;
    config.autotune.bench.max_samples = 1;
    CubeClRuntimeConfig::try_set(config.override_from_env());
}

/// Whether the adapter wgpu would pick here is a CPU emulation (lavapipe reports `Cpu`).
#[cfg(not(target_arch = "wasm32"))]
fn native_adapter_is_software() -> bool {
    use burn::tensor::wgpu::wgpu;
    let instance = wgpu::Instance::default();
    let options =
        wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() };
    pollster::block_on(instance.request_adapter(&options))
        .is_ok_and(|adapter| adapter.get_info().device_type == wgpu::DeviceType::Cpu)
}

/// Threads for the native CPU backend (flex's rayon pool, which its matmuls and convolutions
/// share); `None` keeps rayon's default, one per core. Must come before the first CPU work.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_cpu_threads(threads: Option<usize>) -> Result<()> {
    let Some(threads) = threads else { return Ok(()) };
    if threads == 0 {
        return Err(Error::InvalidArgument("--threads must be at least 1".into()));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Error::InvalidArgument(format!("the CPU thread count is already set for this process ({e})")))
}

#[cfg(not(target_arch = "wasm32"))]
pub fn init_native(kind: BackendKind) -> Result<ComputeDevice> {
    match kind {
        BackendKind::Cpu => {
            Ok(ComputeDevice::cpu(&format!("cpu (burn flex, {} threads)", rayon::current_num_threads())))
        }
        BackendKind::Wgpu => {
            // Burn registers the wgpu runtime once per process and refuses a second registration,
            // so later (or concurrent) calls share the first device.
            static WGPU: std::sync::Mutex<Option<ComputeDevice>> = std::sync::Mutex::new(None);
            let mut held = WGPU.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(device) = held.as_ref() {
                return Ok(device.clone());
            }
            tune_lightly_if_software(native_adapter_is_software());
            let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| Error::NoGpu(e.to_string()))?;
            Ok(held.insert(describe_wgpu(device, &setup)).clone())
        }
    }
}

/// Set once a GPU device starts: whether its adapter is emulated on the CPU (SwiftShader, lavapipe).
/// One GPU device per process natively, per worker in the browser.
static SOFTWARE_GPU: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the GPU device started here is emulated on the CPU (wgpu reports `DeviceType::Cpu`; in
/// Chromium without a GPU, SwiftShader). The browser build picks other kernels there
/// (`models::gpu_matmul`).
pub fn gpu_is_software() -> bool {
    SOFTWARE_GPU.load(std::sync::atomic::Ordering::Relaxed)
}

fn describe_wgpu(device: Device, setup: &burn::tensor::wgpu::WgpuSetup) -> ComputeDevice {
    let info = setup.adapter.get_info();
    let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
    SOFTWARE_GPU.store(software, std::sync::atomic::Ordering::Relaxed);
    let limits = setup.device.limits();
    ComputeDevice {
        device,
        // Browsers hide the adapter's name; say what is known instead of printing blanks.
        description: if info.name.is_empty() {
            format!("{:?} adapter ({:?})", info.backend, info.device_type)
        } else {
            format!("{} ({}, {:?}, {:?})", info.name, info.driver_info, info.backend, info.device_type)
        },
        limits: Some((limits.max_storage_buffer_binding_size, limits.max_buffer_size)),
        length_bucket: GPU_LENGTH_BUCKET,
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
    ComputeDevice::cpu("cpu (burn flex, wasm simd128, one thread)")
}

/// This context's WebGPU device when one was started (memory diagnostics read it after a model is freed).
#[cfg(target_arch = "wasm32")]
pub fn started_webgpu() -> Option<ComputeDevice> {
    WEBGPU.with(|slot| slot.borrow().clone())
}

/// The browser's WebGPU device, initialised once and shared by every model in this context.
#[cfg(target_arch = "wasm32")]
pub async fn init_webgpu() -> Result<ComputeDevice> {
    if let Some(existing) = WEBGPU.with(|slot| slot.borrow().clone()) {
        return Ok(existing);
    }
    let (device, setup) =
        Device::wgpu_options().init_with_setup_async().await.map_err(|e| Error::NoGpu(e.to_string()))?;
    let device = describe_wgpu(device, &setup);
    WEBGPU.with(|slot| *slot.borrow_mut() = Some(device.clone()));
    Ok(device)
}

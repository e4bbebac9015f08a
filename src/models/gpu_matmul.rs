//! f32 matrix products through cubek's `CpuGemm` routine, for the one case where Burn's own choice
//! is measured to be the slow one: WebGPU on a GPU emulated on the CPU (SwiftShader, what Chromium
//! offers without a GPU) in the wasm build. That build has no autotune (Cargo.toml), so Burn 0.22.1
//! launches cubek's `Strategy::Auto`, which on WebGPU (no cooperative matrices) falls back to
//! `SimpleUnit`: tiles staged through workgroup memory behind barriers, which an emulator runs one
//! invocation at a time. `CpuGemm`, cubek's routine for CPU targets, reads each operand where it
//! lies and keeps its tile in registers. On ESM-2 8M at 130 tokens in Chromium on SwiftShader a pass
//! took 13.5 s with `SimpleUnit` and 8.0 s with cubek's `naive` routine in the Linear layers, and
//! 5.3 s with `CpuGemm` there and in attention, unfused around it (BENCHMARKS.md). cubek's `gemm`,
//! which native autotune picks on SwiftShader, needs subgroups, which wgpu 30's WebGPU backend
//! cannot request. Burn offers no strategy choice besides autotune, so this is an op of our own
//! behind Burn's backend extension, deferred under fusion like any other op. Native builds keep
//! autotune's choice everywhere (on lavapipe it beats these).

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{DType, Device, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::matmul::{MatmulStrategy, init_matmul_output, matmul as burn_matmul};
use cubek::matmul::definition::{MatmulElems, MatmulGlobalElems};
use cubek::matmul::routine::BlueprintStrategy;
use cubek::matmul::tiled::Strategy;
use cubek::std::InputBinding;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::runtime::backend;

/// Off: every product takes Burn's own path, as on a real GPU in the browser (a test switch).
static ROUTING: AtomicBool = AtomicBool::new(true);
/// Products `CpuGemm` ran, and products it refused that Burn's matmul ran instead.
static LAUNCHES: AtomicUsize = AtomicUsize::new(0);
static FALLBACKS: AtomicUsize = AtomicUsize::new(0);

/// For tests: `false` sends every product through Burn's matmul and fused attention even on a
/// software adapter — the kernels a real GPU runs in the browser (no autotune) — so they can be
/// compared with a reference where only SwiftShader is at hand. Takes effect for the next product.
pub fn set_routing(enabled: bool) {
    ROUTING.store(enabled, Ordering::SeqCst);
}

/// How many products `CpuGemm` has run in this process (or wasm instance), and how many it refused
/// and handed to Burn's matmul (each also a logged warning). Tests insist on no refusals.
pub fn launches() -> (usize, usize) {
    (LAUNCHES.load(Ordering::SeqCst), FALLBACKS.load(Ordering::SeqCst))
}

/// The product as a Burn backend extension: routed to the CubeCL backend, deferred under fusion.
#[backend_extension(Cube, Fusion)]
pub trait CpuGemmMatmul: Backend {
    #[fusion(dtype = lhs, shape = product_shape(lhs, rhs))]
    fn cpu_gemm_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn product_shape(lhs: &Shape, rhs: &Shape) -> Shape {
    let mut dims = lhs.to_vec();
    let last = dims.len() - 1;
    dims[last] = rhs[last];
    Shape::from(dims)
}

impl CpuGemmMatmul for CubeBackend {
    fn cpu_gemm_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        let dtype = lhs.dtype();
        let out = init_matmul_output(&lhs, &rhs, dtype);
        let storage = dtype_to_storage_type(dtype);
        let mut dtypes = MatmulElems::from_globals(&MatmulGlobalElems { lhs: storage, rhs: storage, out: storage });
        let launched = cubek::matmul::launch::launch_ref(
            &Strategy::CpuGemm(BlueprintStrategy::Inferred(Default::default())).into(),
            &out.client,
            InputBinding::new(lhs.clone().binding(), storage),
            InputBinding::new(rhs.clone().binding(), storage),
            out.clone().binding(),
            &mut dtypes,
        );
        match launched {
            Ok(()) => {
                LAUNCHES.fetch_add(1, Ordering::SeqCst);
                out
            }
            // Should the routine refuse its operands (a setup error, none seen with f32), Burn's own
            // matmul runs, as it would without this op (and fails as Burn's does if that cannot);
            // counted and logged, so a test can fail on it rather than pass on the other routine.
            Err(error) => {
                FALLBACKS.fetch_add(1, Ordering::SeqCst);
                log::warn!(
                    "cubek's CpuGemm refused a {:?} × {:?} product ({error:?}); Burn's matmul runs it",
                    lhs.shape(),
                    rhs.shape()
                );
                burn_matmul(lhs, rhs, None, MatmulStrategy::default(), dtype)
                    .unwrap_or_else(|e| panic!("matmul failed to launch: {e:?}"))
            }
        }
    }
}

/// Whether a product of `operands` on `device` takes [`matmul`]: f32, on a CPU-emulated WebGPU
/// adapter, in the wasm build (the build without autotune).
pub fn applies(device: &Device, operands: &[DType]) -> bool {
    cfg!(target_arch = "wasm32")
        && ROUTING.load(Ordering::SeqCst)
        && *device != Device::flex()
        && backend::gpu_is_software()
        && operands.iter().all(|&d| d == DType::F32)
}

/// `lhs` `[..., m, k]` · `rhs` `[..., k, n]` → `[..., m, n]` through cubek's `CpuGemm` routine;
/// the batch dims equal. Both f32 on a GPU device.
pub fn matmul<const D: usize>(lhs: Tensor<D>, rhs: Tensor<D>) -> Tensor<D> {
    debug_assert!(lhs.dtype() == DType::F32 && rhs.dtype() == DType::F32);
    Tensor::from_dispatch(<Dispatch as CpuGemmMatmul>::cpu_gemm_matmul(lhs.into_dispatch(), rhs.into_dispatch()))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::models::vector_math::host_f32s;
    use crate::models::vector_math::testing::{max_difference, seeded};
    use crate::runtime::backend::BackendKind;
    use burn::tensor::{Device, TensorData};

    /// Against the CPU's product of the same values, on wgpu (lavapipe in CI): the shapes of ESM-2
    /// 8M's projections and fc1 at 130 tokens, sizes no tile divides, transposed operands (read
    /// through their strides), a batch of heads (attention's products), and an operand contiguous
    /// along neither matrix axis.
    #[test]
    fn matches_the_cpu_product() {
        let gpu = backend::init_native(BackendKind::Wgpu).expect("a device (wgpu: install mesa-vulkan-drivers)").device;
        let cpu = Device::flex();
        let tensor = |values: &[f32], dims: [usize; 2], device: &Device| {
            Tensor::<2>::from_data(TensorData::new(values.to_vec(), dims), device)
        };
        for (m, k, n) in [(130, 320, 320), (130, 320, 1280), (5, 3, 7), (67, 96, 81)] {
            let (lhs, rhs) = (seeded(m * k, 1, 1.0), seeded(k * n, 2, 1.0));
            let reference = host_f32s(tensor(&lhs, [m, k], &cpu).matmul(tensor(&rhs, [k, n], &cpu)));
            // Sums of k products of values below 1, in another order: a few roundings of that size.
            let bound = 8.0 * f32::EPSILON * k as f32;
            let ours = host_f32s(matmul(tensor(&lhs, [m, k], &gpu), tensor(&rhs, [k, n], &gpu)));
            let worst = max_difference(&ours, &reference, 0.5);
            assert!(worst <= bound, "{m}×{k}×{n}: |Δ| {worst} > {bound}");
            let lhs_t = tensor(&host_f32s(tensor(&lhs, [m, k], &cpu).transpose()), [k, m], &gpu).transpose();
            let rhs_t = tensor(&host_f32s(tensor(&rhs, [k, n], &cpu).transpose()), [n, k], &gpu).transpose();
            let worst = max_difference(&host_f32s(matmul(lhs_t, rhs_t)), &reference, 0.5);
            assert!(worst <= bound, "transposed operands {m}×{k}×{n}: |Δ| {worst} > {bound}");
        }
        let (b, h, l, d) = (2, 3, 37, 16);
        let (lhs, rhs) = (seeded(b * h * l * d, 3, 1.0), seeded(b * h * d * l, 4, 1.0));
        let batched = |values: &[f32], dims: [usize; 4], device: &Device| {
            Tensor::<4>::from_data(TensorData::new(values.to_vec(), dims), device)
        };
        let reference = host_f32s(batched(&lhs, [b, h, l, d], &cpu).matmul(batched(&rhs, [b, h, d, l], &cpu)));
        let ours = matmul(batched(&lhs, [b, h, l, d], &gpu), batched(&rhs, [b, h, d, l], &gpu));
        assert_eq!(ours.dims(), [b, h, l, l]);
        let bound = 8.0 * f32::EPSILON * d as f32;
        let worst = max_difference(&host_f32s(ours), &reference, 0.5);
        assert!(worst <= bound, "batched heads: |Δ| {worst} > {bound}");
        // `[l, d, h]` seen as `[h, l, d]`: neither matrix axis has stride 1 (cubek copies it first).
        let permuted = |device: &Device| batched(&lhs, [1, l, d, b * h], device).permute([0, 3, 1, 2]);
        let rhs = |device: &Device| batched(&seeded(b * h * d * 5, 5, 1.0), [1, b * h, d, 5], device);
        let reference = host_f32s(permuted(&cpu).matmul(rhs(&cpu)));
        let ours = host_f32s(matmul(permuted(&gpu), rhs(&gpu)));
        let worst = max_difference(&ours, &reference, 0.5);
        assert!(worst <= bound, "a permuted operand: |Δ| {worst} > {bound}");
    }
}

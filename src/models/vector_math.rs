//! f32 math written to vectorise, for the CPU kernels (`attention`, `activation`): `exp` of
//! non-positive numbers, `erf`, the logistic sigmoid — branch-free, so that a loop over 16 lanes
//! compiles to vector code — and [`vectorised`], which runs a kernel compiled for the best x86
//! vector extension this CPU has; with the kernels' shared check ([`on_cpu_f32`]) and their
//! tensors' values on the host ([`host_f32s`]).
//!
//! Why: Burn 0.22.1's flex calls libm's scalar `expf` / `erff` once per element (softmax, SiLU,
//! GELU); on the encoders those calls were 8–45 % of the CPU time (BENCHMARKS.md).

use burn::backend::Flex;
use burn::tensor::{DType, Device, Tensor};

/// Whether a tensor is one the CPU kernels take: on Burn's CPU backend (flex), in f32.
pub fn on_cpu_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.device() == Device::flex() && t.dtype() == DType::F32
}

/// A CPU tensor's values, row-major: no copy when it is contiguous, unshared and f32-aligned, one
/// `O(n)` copy otherwise. Only for tensors [`on_cpu_f32`] accepts.
pub fn host_f32s<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("the CPU kernels check the dtype: f32")
}

/// `f` on each `chunk`-long piece of `values` (the last may be shorter): on rayon's pool natively,
/// one after another in the browser (one thread).
pub fn each_chunk_mut(values: &mut [f32], chunk: usize, f: impl Fn(&mut [f32]) + Send + Sync) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        values.par_chunks_mut(chunk).for_each(f);
    }
    #[cfg(target_arch = "wasm32")]
    values.chunks_mut(chunk).for_each(f);
}

/// `read` on a CPU tensor's values, row-major, where they lie when the tensor is contiguous — shared
/// or not (weights, or an activation a residual still holds) — and on a copy otherwise. Only for
/// tensors [`on_cpu_f32`] accepts.
pub fn with_host_f32s<const D: usize, R>(t: &Tensor<D>, read: impl FnOnce(&[f32]) -> R) -> R {
    // A clone shares the tensor's buffer (reference-counted); the primitive lends its slice.
    if let Ok(primitive) = t.clone().try_into_primitive::<Flex>()
        && let Some(values) = primitive.as_slice::<f32>()
    {
        return read(values);
    }
    read(&host_f32s(t.clone()))
}

/// `read` on a layer's input, weight and optional bias, each where it lies ([`with_host_f32s`]).
pub fn with_host_layer<const D: usize, const W: usize, R>(
    x: &Tensor<D>,
    weight: &Tensor<W>,
    bias: Option<&Tensor<1>>,
    read: impl FnOnce(&[f32], &[f32], Option<&[f32]>) -> R,
) -> R {
    with_host_f32s(x, |x| {
        with_host_f32s(weight, |weight| match bias {
            Some(bias) => with_host_f32s(bias, |bias| read(x, weight, Some(bias))),
            None => read(x, weight, None),
        })
    })
}

/// Lanes the kernels' loops are written for: independent partial results per lane, so the compiler
/// can keep them in vector registers without reordering a float reduction itself.
pub const LANES: usize = 16;

/// Work for [`vectorised`]: `run` is inlined into a function compiled for AVX-512, AVX2+FMA or
/// the build's own target features, so everything it calls must be `#[inline(always)]` too.
pub trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for AVX-512, else AVX2+FMA (picked at run time on x86-64: the crate is
/// built for the baseline x86-64, where the same loops get only SSE2), elsewhere for the build's
/// own target features (simd128 in the browser).
pub fn vectorised<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature the function is compiled for.
            return unsafe { run_avx512(kernel) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { run_avx2(kernel) };
        }
    }
    kernel.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn run_avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

/// `eˣ` for `x ≤ 0` (−∞ → 0) within 2 ulp, branch-free so that it vectorises: `x = n·ln2 + r`
/// with `|r| ≤ ln2/2`, Cephes' `expf` polynomial for `eʳ`, `2ⁿ` put into the exponent bits.
#[inline(always)]
pub fn exp_non_positive(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2²³: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    // Below this eˣ is under f32's smallest normal; such terms are nothing next to a sum's e⁰ = 1.
    const LOWEST: f32 = -87.3;
    let clamped = if x < LOWEST { LOWEST } else { x };
    let shifted = clamped * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // The integer n sits in `shifted`'s low bits: exponent field n + 127, shifted into place.
    let two_n = f32::from_bits((shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127)) << 23);
    if x < LOWEST { 0.0 } else { e_r * two_n }
}

/// `1 / (1 + e⁻ˣ)`, with the exponential always of `−|x|` (no overflow), as `e/(1+e)` below 0.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp_non_positive(-x.abs());
    let inverse = 1.0 / (1.0 + e);
    if x >= 0.0 { inverse } else { e * inverse }
}

/// `erf(x)`: FreeBSD's `s_erff.c` (as libm's `erff`, the function Burn's GELU calls), its four
/// ranges computed for every lane and the right one selected, so that it vectorises. Within
/// 2 ulp of libm's `erff` (its two `expf` calls are [`exp_non_positive`] here).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    // |x| < 0.84375: x + x·P(x²)/Q(x²).
    const PP: [f32; 5] = [1.283_791_7e-1, -3.250_421e-1, -2.848_175e-2, -5.770_270_2e-3, -2.376_301_7e-5];
    const QQ: [f32; 5] = [3.979_172e-1, 6.502_225e-2, 5.081_306e-3, 1.324_947_4e-4, -3.960_228_2e-6];
    // [0.84375, 1.25): erx + P(s)/Q(s), s = |x| − 1.
    const ERX: f32 = 8.450_629e-1;
    const PA: [f32; 7] = [
        -2.362_118_6e-3,
        4.148_561e-1,
        -3.722_078_8e-1,
        3.183_466_2e-1,
        -1.108_946_95e-1,
        3.547_830_5e-2,
        -2.166_375_5e-3,
    ];
    const QA: [f32; 6] = [1.064_208_8e-1, 5.403_979_4e-1, 7.182_865_6e-2, 1.261_712_2e-1, 1.363_708_4e-2, 1.198_45e-2];
    // [1.25, 1/0.35) and [1/0.35, 6): 1 − erfc, erfc = e^(−z² − 0.5625) · e^((z−x)(z+x) + R/S) / x.
    const RA: [f32; 8] = [
        -9.864_944e-3,
        -6.938_585_6e-1,
        -1.055_862_6e1,
        -6.237_533e1,
        -1.623_966_7e2,
        -1.846_050_9e2,
        -8.128_744e1,
        -9.814_329,
    ];
    const SA: [f32; 8] = [
        1.965_127_2e1,
        1.376_577_6e2,
        4.345_659e2,
        6.453_872_7e2,
        4.290_081_5e2,
        1.086_35e2,
        6.570_249_6,
        -6.042_441_4e-2,
    ];
    const RB: [f32; 7] =
        [-9.864_943e-3, -7.992_832_7e-1, -1.775_795_6e1, -1.606_363_8e2, -6.375_664_7e2, -1.025_095_1e3, -4.835_192e2];
    const SB: [f32; 7] =
        [3.033_806e1, 3.257_925e2, 1.536_729_6e3, 3.199_858_2e3, 2.553_050_3e3, 4.745_285_4e2, -2.244_095_2e1];
    // Horner from the highest coefficient: c₀ + t·(c₁ + t·(…)). A plain loop over a constant
    // array unrolls; an iterator's fold may stay out of line, compiled without the caller's SIMD.
    #[inline(always)]
    fn poly<const N: usize>(t: f32, c: &[f32; N]) -> f32 {
        let mut acc = 0.0;
        let mut i = N;
        while i > 0 {
            i -= 1;
            acc = acc * t + c[i];
        }
        acc
    }
    let a = x.abs();
    let (z, s) = (a * a, a - 1.0);
    // The tail ranges on |x| kept within [1.25, 6], so every lane's arithmetic stays finite.
    let t = a.clamp(1.25, 6.0);
    let u = 1.0 / (t * t);
    // Each range's rational function, chosen before the one division they share (divisions are
    // the slow part of a vector lane's work).
    let (numerator, denominator) = if a < 0.843_75 {
        (poly(z, &PP), 1.0 + z * poly(z, &QQ))
    } else if a < 1.25 {
        (poly(s, &PA), 1.0 + s * poly(s, &QA))
    } else if t < 1.0 / 0.35 {
        (poly(u, &RA), 1.0 + u * poly(u, &SA))
    } else {
        (poly(u, &RB), 1.0 + u * poly(u, &SB))
    };
    let ratio = numerator / denominator;
    let head = f32::from_bits(t.to_bits() & 0xffff_e000);
    let erfc = exp_non_positive(-head * head - 0.5625) * exp_non_positive((head - t) * (head + t) + ratio) / t;
    let y = if a < 0.843_75 {
        a + a * ratio
    } else if a < 1.25 {
        ERX + ratio
    } else if a < 6.0 {
        1.0 - erfc
    } else {
        1.0
    };
    if x.is_nan() { x } else { y.copysign(x) }
}

/// What the CPU kernels' tests share: seeded inputs, and their outputs against Burn's.
#[cfg(test)]
pub(crate) mod testing {
    /// `n` seeded pseudo-random values, uniform in `[−half_width, half_width)`.
    pub fn seeded(n: usize, seed: u64, half_width: f32) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * half_width
            })
            .collect()
    }

    /// The largest `|ours − reference|`, after checking that some reference value exceeds
    /// `least` in size (a case whose output is ≈ 0 everywhere tests nothing).
    pub fn max_difference(ours: &[f32], reference: &[f32], least: f32) -> f32 {
        assert_eq!(ours.len(), reference.len(), "outputs of different sizes");
        assert!(reference.iter().any(|x| x.abs() > least), "a case whose output is all near zero tests nothing");
        ours.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest error in units of the exact value's last place, over `n + 1` points of `[from, to]`.
    fn worst_ulp(from: f32, to: f32, n: usize, ours: impl Fn(f32) -> f32, exact: impl Fn(f64) -> f64) -> f64 {
        (0..=n).fold(0.0f64, |worst, i| {
            let x = from + (to - from) * i as f32 / n as f32;
            let exact = exact(x as f64);
            let ulp = f64::from(f32::EPSILON) * exact.abs().max(f64::from(f32::MIN_POSITIVE));
            worst.max((f64::from(ours(x)) - exact).abs() / ulp)
        })
    }

    #[test]
    fn exponential_is_within_two_ulp() {
        let worst = worst_ulp(-87.0, 0.0, 1_000_000, exp_non_positive, f64::exp);
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_non_positive(0.0), 1.0);
        assert_eq!(exp_non_positive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_non_positive(-100.0), 0.0);
    }

    /// Against libm's `erff` (what Burn's GELU calls) over [−7, 7], at most 2 ulp apart, and
    /// against the exact erf (f64) within 3 ulp; odd, ±1 in the tails, NaN kept.
    #[test]
    fn erf_is_libms_within_two_ulp() {
        let against_libm = worst_ulp(-7.0, 7.0, 2_000_000, erf, |x| f64::from(libm::erff(x as f32)));
        assert!(against_libm <= 2.0, "worst error against libm's erff: {against_libm} ulp");
        let against_exact = worst_ulp(-7.0, 7.0, 2_000_000, erf, libm::erf);
        assert!(against_exact <= 3.0, "worst error against erf: {against_exact} ulp");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(1e-30), libm::erff(1e-30));
        assert_eq!((erf(9.0), erf(-9.0), erf(f32::INFINITY)), (1.0, -1.0, 1.0));
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_three_ulp() {
        let worst = worst_ulp(-80.0, 80.0, 2_000_000, sigmoid, |x| 1.0 / (1.0 + (-x).exp()));
        assert!(worst <= 3.0, "worst error {worst} ulp");
        assert_eq!((sigmoid(0.0), sigmoid(200.0), sigmoid(-200.0)), (0.5, 1.0, 0.0));
    }

    /// The AVX-512 / AVX2 builds compute what the portable one does.
    #[test]
    fn every_build_of_a_kernel_agrees() {
        struct Erfs<'a>(&'a mut [f32]);
        impl Kernel for Erfs<'_> {
            type Output = ();
            #[inline(always)]
            fn run(self) {
                // A plain loop, as in the kernels themselves (see `Kernel`).
                for x in self.0.iter_mut() {
                    *x = erf(*x) + sigmoid(*x) + exp_non_positive(-x.abs());
                }
            }
        }
        let inputs: Vec<f32> = (0..4099).map(|i| (i as f32 - 2049.0) / 300.0).collect();
        let mut best = inputs.clone();
        vectorised(Erfs(&mut best));
        let mut portable = inputs;
        Erfs(&mut portable).run();
        let worst = best.iter().zip(&portable).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 4.0 * f32::EPSILON, "max |Δ| {worst}");
    }
}

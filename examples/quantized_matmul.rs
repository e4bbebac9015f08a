//! Burn's quantized tensors kept on the device, against weights widened to f32 on upload (what
//! isoformer-web does): one linear layer at ESM-2 150M's feed-forward shape, a [tokens, 640]
//! activation times a [640, 2560] weight. Reports device memory held by the weight, the matmul time
//! (median of the runs, after a warm-up, synchronised) and the error against the f32 product.
//!
//!   cargo run --release --features cli --example quantized_matmul -- --backend wgpu --scheme q8 --tokens 1026 --runs 10
//!
//! `--scheme`: f32 (widened on upload), q8 (Burn Q8S, blocks of 32, f16 scales; isoformer-web's q8
//! values), q4 (Q4S, the same blocks). One scheme per process: a failing kernel ends only its run.
use std::time::Instant;

use burn::tensor::quantization::{QuantScheme, QuantStore, QuantValue, ScaleDtype};
use burn::tensor::{Distribution, Tensor};
use clap::Parser;
use isoformer::runtime::backend::{BackendKind, init_native};

#[derive(Parser)]
struct Args {
    /// cpu or wgpu
    #[arg(long, default_value = "wgpu")]
    backend: String,
    /// f32, q8 or q4
    #[arg(long, default_value = "q8")]
    scheme: String,
    #[arg(long, default_value_t = 1026)]
    tokens: usize,
    #[arg(long, default_value_t = 10)]
    runs: usize,
    #[arg(long, default_value_t = 32)]
    block: u8,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let kind = if args.backend == "cpu" { BackendKind::Cpu } else { BackendKind::Wgpu };
    let compute = init_native(kind)?;
    let device = &compute.device;
    let scheme = |value| {
        QuantScheme::default()
            .with_value(value)
            .with_store(QuantStore::PackedU32(0))
            .per_block([args.block], ScaleDtype::F16)
    };
    let in_use = || device.memory_pool_usage().map(|u| u.bytes_in_use as i64);

    // [tokens, 640] activations; [640, 2560] weights, N(0, 0.02²) like `isoformer init`.
    let x = Tensor::<2>::random([args.tokens, 640], Distribution::Normal(0.0, 1.0), device);
    let w = Tensor::<2>::random([640, 2560], Distribution::Normal(0.0, 0.02), device);
    let reference = x.clone().matmul(w.clone()).into_data().try_to_vec::<f32>()?;
    device.sync()?;
    let before = in_use();
    let weight = match args.scheme.as_str() {
        "f32" => w.clone() + 0.0,
        "q8" => w.clone().quantize_dynamic(&scheme(QuantValue::Q8S)),
        "q4" => w.clone().quantize_dynamic(&scheme(QuantValue::Q4S)),
        other => return Err(format!("unknown scheme {other}").into()),
    };
    device.sync()?;
    let weight_bytes = in_use().zip(before).map(|(after, before)| after - before);
    drop(w);

    let product = x.clone().matmul(weight.clone()).into_data().try_to_vec::<f32>()?;
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    let max_error = reference.iter().zip(&product).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
    let mut times = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        let y = x.clone().matmul(weight.clone());
        device.sync()?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        drop(y);
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    let peak = device.memory_pool_usage().map(|u| u.bytes_reserved);
    println!(
        "{}",
        serde_json::json!({
            "device": compute.description, "scheme": args.scheme, "block": args.block, "tokens": args.tokens,
            "weight_values": 640 * 2560, "weight_device_bytes": weight_bytes, "pool_bytes_reserved": peak,
            "matmul_ms_median": median, "matmul_ms": times, "relative_max_error": max_error,
        })
    );
    Ok(())
}

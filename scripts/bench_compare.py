#!/usr/bin/env python3
"""Side-by-side benchmark, one command, one machine: ESM-2 with the same random weights in
isoformer-web (native cpu and wgpu; WebGPU in headless Chromium), PyTorch on the CPU, and ONNX
Runtime Web (WebGPU and WASM backends, same Chromium) on a torch.onnx export. Every runtime embeds
the same protein and its output is checked against PyTorch's (max |Δ| ≤ 1e-3) so the same
computation is compared; ratios are ours ÷ theirs of medians after a warm-up. Rewrites the
section between the bench_compare markers of that model size in BENCHMARKS.md.

    python3 scripts/bench_compare.py [--size 150M|8M|tiny] [--residues 1024] [--runs 5] [--skip-browser | --browser-backends webgpu,cpu]

Installs what it needs: onnx + onnxscript (pip, for torch.onnx) and onnxruntime-web (npm, into
target/bench/node). Builds the release CLI and the site (make wasm) if they are missing. Work files
go to target/bench/.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench")
CLI = os.path.join(ROOT, "target", "release", "isoformer")
ORT_VERSION = "1.30.0"
TOLERANCE = 1e-3
SIZES = {  # hidden, layers, heads, intermediate (the published ESM-2 configurations)
    "150M": (640, 30, 20, 2560),
    "8M": (320, 6, 20, 1280),
    "tiny": (32, 2, 4, 64),
}

def markers(size):
    """Each model size has its own section in BENCHMARKS.md."""
    return f"<!-- bench_compare:{size}:begin -->", f"<!-- bench_compare:{size}:end -->"


def run(command, **kwargs):
    print("+", " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, cwd=ROOT, **kwargs)


def output(command):
    return run(command, capture_output=True, text=True).stdout


def ensure_tools():
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        run([sys.executable, "-m", "pip", "install", "-q", "onnx==1.19.0", "onnxscript==0.7.2"])
    ort = os.path.join(WORK, "node", "node_modules", "onnxruntime-web", "dist")
    if not os.path.exists(os.path.join(ort, "ort.all.min.mjs")):
        run(["npm", "install", "--prefix", os.path.join(WORK, "node"), "--no-audit", "--no-fund", f"onnxruntime-web@{ORT_VERSION}"])
    if not os.path.exists(CLI):
        run(["cargo", "build", "--release", "--bin", "isoformer"])
    if not os.path.exists(os.path.join(ROOT, "www", "dist", "pkg", "isoformer_bg.wasm")):
        run(["make", "wasm"])
    return ort


def random_hf_model(size, out):
    """A transformers ESM-2 directory of the published shape with seeded random weights."""
    if os.path.exists(os.path.join(out, "config.json")):
        return
    import torch
    from transformers import EsmConfig, EsmForMaskedLM
    template = os.path.join(ROOT, "..", "shared", "data", "esm2_hf_configs", "esm2_t12_35M_UR50D", "config.json")
    config = EsmConfig.from_json_file(template)
    config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size = SIZES[size]
    torch.manual_seed(0)
    EsmForMaskedLM(config).eval().save_pretrained(out)


def flops(size, tokens):
    """Multiply-adds × 2 of one ESM-2 forward pass without the LM head: per layer the four d×d
    projections, the two feed-forward matmuls and the two L×L attention products."""
    d, layers, _, f = SIZES[size]
    return layers * (8 * tokens * d * d + 4 * tokens * d * f + 4 * tokens * tokens * d)


def native(weights, backend, residues, runs, protein, expected):
    bench = json.loads(output([CLI, "bench", "--weights", weights, "--residues", str(residues), "--runs", str(runs), "--backend", backend]).strip().splitlines()[-1])
    out = os.path.join(WORK, f"native-{backend}.npy")
    run([CLI, "embed", "--weights", weights, "--protein", protein, "--format", "npy", "--out", out, "--backend", backend], capture_output=True)
    diff = float(np.abs(np.load(out).reshape(-1) - expected).max())
    return {"medianMs": bench["median_ms"], "times": bench["runs_ms"], "warmUpMs": bench["warmup_ms"], "loadMs": bench.get("load_ms"), "maxAbsDiff": diff}


def pytorch(hf, residues, runs, ids, expected):
    import torch
    from transformers import EsmModel
    timing = json.loads(output([sys.executable, os.path.join(ROOT, "scripts", "bench_torch.py"), "--hf", hf, "--residues", str(residues), "--runs", str(runs)]).strip().splitlines()[-1])
    model = EsmModel.from_pretrained(hf, add_pooling_layer=False).eval()
    with torch.no_grad():
        ours = model(input_ids=torch.tensor([ids])).last_hidden_state.numpy().reshape(-1)
    return {"medianMs": timing["median_ms"], "times": timing["runs_ms"], "warmUpMs": timing["warmup_ms"], "maxAbsDiff": float(np.abs(ours - expected).max()), "torch": timing["torch"], "threads": timing["threads"]}


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def burn_version():
    lock = open(os.path.join(ROOT, "Cargo.lock")).read()
    match = re.search(r'name = "burn"\nversion = "([^"]+)"', lock)
    return match.group(1) if match else "?"


def section(args, tokens, total_flops, rows, browser):
    pytorch_ms = rows["PyTorch cpu"]["medianMs"]
    ort = {k: v for k, v in rows.items() if k.startswith("onnxruntime-web") and "medianMs" in v}
    begin, end = markers(args.size)
    lines = [
        begin,
        f"## Side by side: ESM-2 {args.size}, one protein of {args.residues} residues ({tokens} tokens)",
        "",
        f"`python3 scripts/bench_compare.py --size {args.size} --residues {args.residues} --runs {args.runs}"
        + (" --skip-browser" if args.skip_browser else f" --browser-backends {args.browser_backends}") + "` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). Same seeded random weights everywhere; every output checked "
        f"against PyTorch's (max |Δ| ≤ {TOLERANCE:g}). Medians of {args.runs} runs after one warm-up (reported apart).",
        "",
        f"- machine: {machine()}",
        f"- versions: Burn {burn_version()}, torch {rows['PyTorch cpu'].get('torch')} ({rows['PyTorch cpu'].get('threads')} threads), "
        f"onnxruntime-web {ORT_VERSION}" + (f", {browser.get('userAgent')}" if browser else ""),
        f"- WebGPU adapter: {json.dumps(browser.get('adapter')) if browser else 'not run (--skip-browser)'}",
        f"- work per pass: {total_flops / 1e9:.4g} GFLOP (projections, feed-forward, attention; no LM head)",
        "",
        "| runtime | median | warm-up | max \\|Δ\\| vs PyTorch | GFLOP/s | ours ÷ PyTorch cpu | ours ÷ ORT-web (same backend) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        if "medianMs" not in row:
            lines.append(f"| {name} | failed: {row.get('error', '?')[:120]} | | | | | |")
            continue
        ours = name.startswith("isoformer-web")
        ratio_torch = f"{row['medianMs'] / pytorch_ms:.2f}×" if ours else ""
        same = {"isoformer-web webgpu": "onnxruntime-web webgpu", "isoformer-web cpu (browser wasm)": "onnxruntime-web wasm"}.get(name)
        ratio_ort = f"{row['medianMs'] / ort[same]['medianMs']:.2f}× (vs {same})" if same in ort else ""
        ok = "" if row["maxAbsDiff"] <= TOLERANCE else " **over tolerance**"
        lines.append(f"| {name} | {row['medianMs']:.1f} ms | {row['warmUpMs']:.1f} ms | {row['maxAbsDiff']:.2e}{ok} | "
                     f"{total_flops / row['medianMs'] / 1e6:.2f} | {ratio_torch} | {ratio_ort} |")
    lines += ["", "isoformer-web cpu is native Burn `flex`; \"cpu (browser wasm)\" is the same backend compiled to wasm (the npm "
              "package's fallback without WebGPU), one thread, compared with ONNX Runtime Web's WASM backend, also one thread "
              "(a static host sends no COOP/COEP headers).", end]
    return "\n".join(lines)


def write_section(size, text):
    begin, end = markers(size)
    path = os.path.join(ROOT, "BENCHMARKS.md")
    content = open(path).read()
    if begin in content and end in content:
        content = content[:content.index(begin)] + text + content[content.index(end) + len(end):]
    else:
        content = content.rstrip("\n") + "\n\n" + text + "\n"
    open(path, "w").write(content)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=list(SIZES), default="150M")
    parser.add_argument("--residues", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--browser-backends", default="webgpu,cpu", help="webgpu and/or cpu (ORT's wasm and ours in wasm)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of rewriting BENCHMARKS.md")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    ort = ensure_tools()
    hf = os.path.join(WORK, f"esm2-{args.size}-hf")
    weights = os.path.join(WORK, f"esm2-{args.size}")
    onnx = os.path.join(WORK, f"esm2-{args.size}-{args.residues}.onnx")
    random_hf_model(args.size, hf)
    if not os.path.exists(os.path.join(weights, "manifest.json")):
        run([CLI, "convert", "--model", "esm2", "--from", hf, "--out", weights, "--random"])
    if not os.path.exists(onnx):
        run([sys.executable, os.path.join(ROOT, "scripts", "export_onnx.py"), "--hf", hf, "--out", onnx, "--check-tokens", str(args.residues + 2)])
    reference = json.load(open(onnx[:-5] + ".reference.json"))
    expected = np.fromfile(onnx[:-5] + ".reference.f32", dtype="<f4")
    vocab = ["<cls>", "<pad>", "<eos>", "<unk>"] + list("LAGVSERTIDPKQNFYMHWCXBUZO.-")
    protein = "".join(vocab[i] for i in reference["input_ids"][1:-1])
    tokens = len(reference["input_ids"])

    rows = {"PyTorch cpu": pytorch(hf, args.residues, args.runs, reference["input_ids"], expected)}
    for backend in ["cpu", "wgpu"]:
        rows[f"isoformer-web {backend} (native)" if backend == "wgpu" else "isoformer-web cpu"] = native(weights, backend, args.residues, args.runs, protein, expected)
    browser = None
    if not args.skip_browser:
        browser = json.loads(output(["node", os.path.join(ROOT, "scripts", "bench_ort_browser.mjs"), "--weights", weights, "--onnx", onnx, "--ort", ort, "--runs", str(args.runs), "--backends", args.browser_backends]).strip().splitlines()[-1])
        rows.update(browser["results"])
    text = section(args, tokens, flops(args.size, tokens), rows, browser)
    print(text)
    if not args.no_write:
        write_section(args.size, text)


if __name__ == "__main__":
    main()

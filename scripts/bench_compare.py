#!/usr/bin/env python3
"""Side-by-side benchmark, one command, one machine: an encoder (ESM-2, NT-v2 or the Enformer trunk)
with the same random weights in isoformer-web (native cpu and wgpu; WebGPU and CPU-in-wasm in
headless Chromium), PyTorch on the CPU, and ONNX Runtime Web (WebGPU and WASM backends, same
Chromium) on a torch.onnx export. Every runtime embeds the same input and its output is checked
against PyTorch's (max |Δ| ≤ 1e-3) so the same computation is compared; ratios are ours ÷ theirs of
medians after a warm-up; FLOPs are counted by torch.utils.flop_counter on PyTorch's pass. Rewrites
the section between the bench_compare markers of that model and size in BENCHMARKS.md.

    python3 scripts/bench_compare.py [--model esm2|nt|enformer] [--size S] [--length N] [--runs 5]
                                     [--skip-browser | --browser-backends webgpu,cpu] [--skip-native-wgpu]

Sizes: esm2 150M (default), 8M, tiny; nt 250M (IsoFormer's RNA encoder, default), 50M, tiny;
enformer published (IsoFormer's trunk, default), small, tiny. --length: residues (esm2, default 1024)
or nucleotides (nt, a multiple of 6, default 6144); Enformer always reads 196,608 bp.

Installs what it needs: onnx + onnxscript (pip, for torch.onnx), enformer-pytorch for Enformer, and
onnxruntime-web (npm, into target/bench/node). Builds the release CLI and the site (make wasm) if
they are missing. Work files go to target/bench/.
"""
import argparse
import itertools
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
ENFORMER_LENGTH = 196_608
ENFORMER_FIXED = dict(num_downsamples=7, target_length=896, output_heads={}, use_tf_gamma=False)
SIZES = {
    # hidden, layers, heads, intermediate: the published ESM-2 configurations
    "esm2": {"150M": (640, 30, 20, 2560), "8M": (320, 6, 20, 1280), "tiny": (32, 2, 4, 64)},
    # hidden, layers, heads, SwiGLU intermediate: NT-v2 multi-species (250M is IsoFormer's RNA encoder)
    "nt": {"250M": (768, 24, 16, 3072), "50M": (512, 12, 16, 2048), "tiny": (16, 2, 2, 40)},
    # enformer-pytorch hyperparameters (published: IsoFormer's trunk, without heads)
    "enformer": {
        "published": dict(dim=1536, depth=11, heads=8, attn_dim_key=64, dim_divisible_by=128),
        "small": dict(dim=192, depth=2, heads=8, attn_dim_key=16, dim_divisible_by=16),
        "tiny": dict(dim=48, depth=2, heads=2, attn_dim_key=8, dim_divisible_by=8),
    },
}
DEFAULTS = {"esm2": ("150M", 1024), "nt": ("250M", 6144), "enformer": ("published", ENFORMER_LENGTH)}
NAMES = {"esm2": "ESM-2", "nt": "NT-v2", "enformer": "Enformer trunk"}


def markers(model, size, length, webgpu_only=False):
    """Each model, size and input length has its own section in BENCHMARKS.md; a run of the WebGPU
    columns alone (minutes a pass on SwiftShader) has one of its own, beside the CPU columns'."""
    key = f"{model}-{size}-{length}" + ("-webgpu" if webgpu_only else "")
    return f"<!-- bench_compare:{key}:begin -->", f"<!-- bench_compare:{key}:end -->"


def run(command, **kwargs):
    print("+", " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, cwd=ROOT, **kwargs)


def output(command):
    return run(command, capture_output=True, text=True).stdout


def ensure_tools(model, browser):
    """What the run needs, installed where missing; the browser's (ONNX Runtime Web, the wasm build)
    only when the browser columns run."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        run([sys.executable, "-m", "pip", "install", "-q", "onnx==1.19.0", "onnxscript==0.7.2"])
    if model == "enformer":
        try:
            import enformer_pytorch  # noqa: F401
        except ImportError:  # without its pin of transformers 4.56, which would replace the one installed;
            # its own imports (einops; polars and pyfaidx for its data loaders) installed apart
            run([sys.executable, "-m", "pip", "install", "-q", "einops", "polars", "pyfaidx"])
            run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "enformer-pytorch==0.8.12"])
    ort = os.path.join(WORK, "node", "node_modules", "onnxruntime-web", "dist")
    if browser and not os.path.exists(os.path.join(ort, "ort.all.min.mjs")):
        run(["npm", "install", "--prefix", os.path.join(WORK, "node"), "--no-audit", "--no-fund", f"onnxruntime-web@{ORT_VERSION}"])
    if not os.path.exists(CLI):
        run(["cargo", "build", "--release", "--features", "cli", "--bin", "isoformer"])
    if browser and not os.path.exists(os.path.join(ROOT, "www", "dist", "pkg", "isoformer_bg.wasm")):
        run(["make", "wasm"])
    return ort


def random_reference_model(model, size, out):
    """The reference model's directory, seeded random weights at the given shape: transformers'
    ESM-2, the NT-v2 reference module (both save_pretrained), or enformer-pytorch (a state dict)."""
    if os.path.exists(os.path.join(out, "config.json")):
        return
    import torch
    torch.manual_seed(0)
    if model == "esm2":
        from transformers import EsmConfig, EsmForMaskedLM
        template = os.path.join(ROOT, "data", "esm2_hf_configs", "esm2_t12_35M_UR50D", "config.json")
        config = EsmConfig.from_json_file(template)
        config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size = SIZES[model][size]
        EsmForMaskedLM(config).eval().save_pretrained(out)
    elif model == "nt":
        sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
        from nt_reference import nt_config, nt_for_masked_lm
        hidden, layers, heads, intermediate = SIZES[model][size]
        config = nt_config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=intermediate)
        nt_for_masked_lm(config).save_pretrained(out)
    else:
        from enformer_pytorch import Enformer
        config = dict(SIZES[model][size], **ENFORMER_FIXED)
        enformer = Enformer.from_hparams(**config).eval()
        os.makedirs(out, exist_ok=True)
        torch.save(enformer.state_dict(), os.path.join(out, "pytorch_model.bin"))
        json.dump(dict(config, random_weights=True), open(os.path.join(out, "config.json"), "w"), indent=2)


def input_fasta(model, reference):
    """The reference input as a FASTA file for `isoformer embed` (a DNA window is too long for argv),
    with the CLI flag that reads it."""
    if model == "esm2":
        vocab = ["<cls>", "<pad>", "<eos>", "<unk>"] + list("LAGVSERTIDPKQNFYMHWCXBUZO.-")
        sequence, flag = "".join(vocab[i] for i in reference["input_ids"][1:-1]), "--protein"
    elif model == "nt":
        kmers = ["".join(p) for p in itertools.product("ATCG", repeat=6)]  # ids 6… (tests/fixtures/nt_reference.py)
        sequence, flag = "".join(kmers[i - 6] for i in reference["input_ids"][1:]), "--rna"
    else:
        sequence, flag = reference["dna"], "--dna"
    path = os.path.join(WORK, f"{model}-input.fasta")
    open(path, "w").write(f">bench\n{sequence}\n")
    return path, flag, len(sequence)


def native(weights, backend, length, runs, fasta, flag, expected):
    bench = json.loads(output([CLI, "bench", "--weights", weights, "--length", str(length), "--runs", str(runs), "--backend", backend]).strip().splitlines()[-1])
    out = os.path.join(WORK, f"native-{backend}.npy")
    run([CLI, "embed", "--weights", weights, flag, "@" + fasta, "--format", "npy", "--out", out, "--backend", backend], capture_output=True)
    diff = float(np.abs(np.load(out).reshape(-1) - expected).max())
    return {"medianMs": bench["median_ms"], "times": bench["runs_ms"], "warmUpMs": bench["warmup_ms"], "loadMs": bench.get("load_ms"), "maxAbsDiff": diff}


def pytorch(model, hf, length, runs):
    """PyTorch's timing (scripts/bench_torch.py, on the same length); its output is the reference itself."""
    timing = json.loads(output([sys.executable, os.path.join(ROOT, "scripts", "bench_torch.py"), "--model", model, "--hf", hf, "--length", str(length), "--runs", str(runs)]).strip().splitlines()[-1])
    return {"medianMs": timing["median_ms"], "times": timing["runs_ms"], "warmUpMs": timing["warmup_ms"], "maxAbsDiff": 0.0, "torch": timing["torch"], "threads": timing["threads"]}


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def burn_version():
    lock = open(os.path.join(ROOT, "Cargo.lock")).read()
    match = re.search(r'name = "burn"\nversion = "([^"]+)"', lock)
    return match.group(1) if match else "?"


def describe_input(model, length, tokens):
    if model == "esm2":
        return f"one protein of {length} residues ({tokens} tokens)"
    if model == "nt":
        return f"one RNA of {length} nt ({tokens} tokens: <cls> + 6-mers)"
    return f"one {length:,}-bp DNA window (896 output bins)"


def command_line(args):
    flags = f"--model {args.model} --size {args.size}" + ("" if args.model == "enformer" else f" --length {args.length}") + f" --runs {args.runs}"
    flags += " --skip-browser" if args.skip_browser else f" --browser-backends {args.browser_backends}"
    return f"python3 scripts/bench_compare.py {flags}" + (" --skip-native-wgpu" if args.skip_native_wgpu else "")


def section(args, tokens, total_flops, rows, browser):
    pytorch_ms = rows["PyTorch cpu"]["medianMs"]
    ort = {k: v for k, v in rows.items() if k.startswith("onnxruntime-web") and "medianMs" in v}
    begin, end = markers(args.model, args.size, args.length, webgpu_only(args))
    lines = [
        begin,
        f"## Side by side: {NAMES[args.model]} {args.size}, {describe_input(args.model, args.length, tokens)}"
        + (", WebGPU" if webgpu_only(args) else ""),
        "",
        f"`{command_line(args)}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). Same seeded random weights everywhere; "
        f"every output checked against PyTorch's (max |Δ| ≤ {TOLERANCE:g}). Medians of {args.runs} runs after one warm-up (reported apart).",
        "",
        f"- machine: {machine()}",
        f"- versions: Burn {burn_version()}, torch {rows['PyTorch cpu'].get('torch')} ({rows['PyTorch cpu'].get('threads')} threads), "
        f"onnxruntime-web {ORT_VERSION}" + (f", {browser.get('userAgent')}" if browser else ""),
        f"- WebGPU adapter: {json.dumps(browser.get('adapter')) if browser else 'not run (--skip-browser)'}",
        f"- work per pass: {total_flops / 1e9:.4g} GFLOP (counted by torch.utils.flop_counter on PyTorch's pass)",
        "",
        "| runtime | median | warm-up | max \\|Δ\\| vs PyTorch | GFLOP/s | ours ÷ PyTorch cpu | ours ÷ ORT-web (same backend) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        if "medianMs" not in row:
            lines.append(f"| {name} | {row.get('skipped') or 'failed: ' + row.get('error', '?')[:160]} | | | | | |")
            continue
        ours = name.startswith("isoformer-web")
        ratio_torch = f"{row['medianMs'] / pytorch_ms:.2f}×" if ours else ""
        same = {"isoformer-web webgpu": "onnxruntime-web webgpu", "isoformer-web cpu (browser wasm)": "onnxruntime-web wasm"}.get(name)
        ratio_ort = f"{row['medianMs'] / ort[same]['medianMs']:.2f}× (vs {same})" if same in ort else ""
        ok = "" if row["maxAbsDiff"] <= TOLERANCE else " **over tolerance**"
        reference = " (the reference)" if name == "PyTorch cpu" else ""
        lines.append(f"| {name} | {row['medianMs']:.1f} ms | {row['warmUpMs']:.1f} ms | {row['maxAbsDiff']:.2e}{ok}{reference} | "
                     f"{total_flops / row['medianMs'] / 1e6:.2f} | {ratio_torch} | {ratio_ort} |")
    lines += ["", "isoformer-web cpu is native Burn `flex`; \"cpu (browser wasm)\" is the same backend compiled to wasm (the npm "
              "package's fallback without WebGPU), one thread, compared with ONNX Runtime Web's WASM backend, also one thread "
              "(a static host sends no COOP/COEP headers).", end]
    return "\n".join(lines)


def webgpu_only(args):
    return not args.skip_browser and args.browser_backends == "webgpu"


def write_section(model, size, length, webgpu, text):
    begin, end = markers(model, size, length, webgpu)
    path = os.path.join(ROOT, "BENCHMARKS.md")
    content = open(path).read()
    if begin in content and end in content:
        content = content[:content.index(begin)] + text + content[content.index(end) + len(end):]
    else:
        content = content.rstrip("\n") + "\n\n" + text + "\n"
    open(path, "w").write(content)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=list(SIZES), default="esm2")
    parser.add_argument("--size", help="a size of that model (default: the one IsoFormer uses)")
    parser.add_argument("--length", "--residues", type=int, help="residues (esm2) or nucleotides (nt); Enformer reads 196,608 bp")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-native-wgpu", action="store_true", help="leave out native wgpu (on lavapipe a large model takes hours)")
    parser.add_argument("--browser-backends", default="webgpu,cpu", help="webgpu and/or cpu (ORT's wasm and ours in wasm)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of rewriting BENCHMARKS.md")
    args = parser.parse_args()
    args.size = args.size or DEFAULTS[args.model][0]
    if args.size not in SIZES[args.model]:
        parser.error(f"--size for {args.model}: one of {', '.join(SIZES[args.model])}")
    args.length = ENFORMER_LENGTH if args.model == "enformer" else (args.length or DEFAULTS[args.model][1])
    if args.model == "nt" and args.length % 6:
        parser.error("--length for nt: a multiple of 6 (whole 6-mers, as the export's input)")
    os.makedirs(WORK, exist_ok=True)
    ort = ensure_tools(args.model, browser=not args.skip_browser)
    name = f"{args.model}-{args.size}"
    hf = os.path.join(WORK, f"{name}-reference")
    weights = os.path.join(WORK, name)
    tokens = {"esm2": args.length + 2, "nt": 1 + args.length // 6, "enformer": args.length}[args.model]
    onnx = os.path.join(WORK, f"{name}-{tokens}.onnx")
    random_reference_model(args.model, args.size, hf)
    if not os.path.exists(os.path.join(weights, "manifest.json")):
        run([CLI, "convert", "--model", args.model, "--from", hf, "--out", weights, "--random"])
    if not os.path.exists(onnx[:-5] + ".reference.json") or (not args.skip_browser and not os.path.exists(onnx)):
        run([sys.executable, os.path.join(ROOT, "scripts", "export_onnx.py"), "--model", args.model, "--hf", hf, "--out", onnx,
             "--check-tokens", str(tokens)] + (["--no-onnx"] if args.skip_browser else []))
    reference = json.load(open(onnx[:-5] + ".reference.json"))
    expected = np.fromfile(onnx[:-5] + ".reference.f32", dtype="<f4")
    fasta, flag, length = input_fasta(args.model, reference)

    rows = {"PyTorch cpu": pytorch(args.model, hf, length, args.runs)}
    rows["isoformer-web cpu"] = native(weights, "cpu", length, args.runs, fasta, flag, expected)
    rows["isoformer-web wgpu (native)"] = ({"skipped": "not run (--skip-native-wgpu)"} if args.skip_native_wgpu
                                           else native(weights, "wgpu", length, args.runs, fasta, flag, expected))
    browser = None
    if not args.skip_browser:
        browser = json.loads(output(["node", os.path.join(ROOT, "scripts", "bench_ort_browser.mjs"), "--model", args.model, "--weights", weights,
                                     "--onnx", onnx, "--ort", ort, "--runs", str(args.runs), "--backends", args.browser_backends]).strip().splitlines()[-1])
        rows.update(browser["results"])
    text = section(args, len(reference.get("input_ids", [])) or length, reference["flops"], rows, browser)
    print(text)
    if not args.no_write:
        write_section(args.model, args.size, args.length, webgpu_only(args), text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The GPU report (`make gpu-report`): isoformer-web's native wgpu (Vulkan) build against PyTorch CUDA
(f32, TF32 off) on the same inputs, in one run on one machine, written as a BENCHMARKS.md section.

    python3 scripts/gpu_report.py [--quick] [--cli PATH] [--out FILE] [--runs N]

Rows: ESM-2 150M at 1,026 tokens, NT-v2 250M at 2,048 tokens, the Enformer trunk (published size) at
196,608 bp, and one whole IsoFormer prediction (196,608 bp + 2,048 RNA tokens + 1,026 protein tokens)
in f32 and q8. Per row: isoformer-web's median time (after a warm-up that compiles and autotunes),
its GFLOP/s and share of the GPU's f32 peak (an 8192³ f32 matmul in PyTorch, TF32 off), Burn's
device memory; PyTorch's median time and peak memory, and the ratio. FLOPs are counted by
torch.utils.flop_counter on PyTorch's pass (useful work: isoformer-web pads tokens to a multiple of
64 on a GPU, which it also computes). For the encoders both sides hold the same random weights
(made here in PyTorch, converted by `isoformer convert`) and their outputs are compared; the whole
prediction uses random weights of the published shapes on each side (`isoformer init`), which
costs the same work.

--quick runs tiny sizes on whatever wgpu adapter there is (lavapipe here), so the script is known
to run before a GPU is lent; PyTorch then runs on the CPU when there is no CUDA. Machine set-up for
the GPU machine (no network): the stripped CLI, the Vulkan loader and enformer-pytorch travel in
.gpu/ (`make gpu-bundle` prepares it); this script unpacks them.
"""
import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
BUNDLE = os.path.join(ROOT, ".gpu")
WORK = os.environ.get("GPU_REPORT_WORK", "/tmp/isoformer-gpu-report")
TOLERANCE = 1e-3
STARTED = time.time()

FULL = [
    # (label, model, size, --length for `isoformer bench`)
    ("ESM-2 150M, 1,026 tokens", "esm2", "150M", 1024),
    ("NT-v2 250M, 2,048 tokens", "nt", "250M", 6 * 2047),
    ("Enformer trunk (published), 196,608 bp", "enformer", "published", 196_608),
]
QUICK = [
    ("ESM-2 tiny, 130 tokens", "esm2", "tiny", 128),
    ("NT-v2 tiny, 257 tokens", "nt", "tiny", 6 * 256),
    ("Enformer trunk (tiny), 196,608 bp", "enformer", "tiny", 196_608),
]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run(command, **kwargs):
    log("+", " ".join(str(c) for c in command))
    return subprocess.run([str(c) for c in command], check=True, **kwargs)


def prepare_machine():
    """On the GPU machine: the Vulkan loader and glvnd (NVIDIA's Vulkan driver is libGLX_nvidia,
    which needs libGLdispatch) from .gpu/*.deb, enformer-pytorch from .gpu/*.whl."""
    debs = glob.glob(os.path.join(BUNDLE, "*.deb"))
    if debs and not os.path.exists("/usr/lib/x86_64-linux-gnu/libGLdispatch.so.0"):
        for deb in debs:
            run(["dpkg", "-x", deb, "/"])
        run(["ldconfig"])
    nvidia_icd = "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json"
    if os.path.exists(nvidia_icd) and not glob.glob("/usr/share/vulkan/icd.d/nvidia*.json") and not glob.glob("/etc/vulkan/icd.d/nvidia*.json"):
        os.environ["VK_DRIVER_FILES"] = nvidia_icd
    wheels = glob.glob(os.path.join(BUNDLE, "*.whl"))
    if wheels:
        site = os.path.join(WORK, "site")
        run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--target", site, *wheels])
        sys.path.insert(0, site)
        os.environ["PYTHONPATH"] = os.pathsep.join([site, os.environ.get("PYTHONPATH", "")])


def bundled_cli():
    """The CLI `make gpu-bundle` packed (xz: the stripped binary is larger than a device call may
    carry), unpacked into the work directory; None without a bundle."""
    import lzma
    packed = os.path.join(BUNDLE, "isoformer.xz")
    if not os.path.exists(packed):
        return None
    cli = os.path.join(WORK, "isoformer")
    with lzma.open(packed) as source, open(cli, "wb") as target:
        target.write(source.read())
    os.chmod(cli, 0o755)
    return cli


def import_enformer_pytorch():
    """enformer-pytorch's package imports polars and pyfaidx for its genome data loaders, which the
    model never uses; where they are absent (the GPU machine has no network, and polars alone is
    larger than what may travel there) empty stand-ins let the model import."""
    import importlib
    import types
    for name in ["polars", "pyfaidx"]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            stub = types.ModuleType(name)
            stub.Fasta = None
            sys.modules[name] = stub
    return importlib.import_module("enformer_pytorch")


def cli_json(cli, *args):
    out = subprocess.run([str(c) for c in [cli, *args]], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(str(a) for a in args[:3])}…: exit {out.returncode}: {out.stderr.strip()[-1500:]}")
    if out.stderr.strip():
        log(out.stderr.strip()[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def torch_setup():
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return torch, ("cuda" if torch.cuda.is_available() else "cpu")


def timed(torch, device, call, runs):
    """(warm-up ms, median ms of `runs`) of `call()`, synchronising the GPU around each."""
    def once():
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad():
            call()
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1e3
    warmup = once()
    for _ in range(2):
        once()
    times = sorted(once() for _ in range(runs))
    return warmup, times[len(times) // 2]


def flops_of(torch, call):
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops()


def f32_peak(torch, device):
    """TFLOP/s of a large f32 matmul (TF32 off): the GPU's attainable f32 rate."""
    n = 8192 if device == "cuda" else 1024
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    _, ms = timed(torch, device, lambda: a @ b, 10)
    return 2 * n ** 3 / (ms / 1e3) / 1e12


def peak_memory(torch, device):
    return torch.cuda.max_memory_allocated() if device == "cuda" else None


def encoder_row(cli, torch, device, label, model, size, length, runs, peak_tflops):
    import numpy as np
    import bench_compare
    import bench_torch
    hf = os.path.join(WORK, f"{model}-{size}-hf")
    weights = os.path.join(WORK, f"{model}-{size}")
    bench_compare.random_reference_model(model, size, hf)
    if not os.path.exists(os.path.join(weights, "manifest.json")):
        run([cli, "convert", "--model", model, "--from", hf, "--out", weights])
    ids, reference = {"esm2": bench_torch.esm2, "nt": bench_torch.nt, "enformer": bench_torch.enformer}[model](hf, length)
    ids = (ids[None] if torch.is_tensor(ids) else torch.tensor([ids])).to(device)
    reference = reference.to(device)
    call = lambda: reference(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    torch_warmup, torch_ms = timed(torch, device, call, max(runs, 5))
    torch_memory = peak_memory(torch, device)
    flops = flops_of(torch, call)
    with torch.no_grad():
        expected = call().float().cpu().numpy().reshape(-1)
    reference.cpu()
    del reference
    if device == "cuda":
        torch.cuda.empty_cache()

    ours = cli_json(cli, "bench", "--weights", weights, "--length", length, "--runs", runs, "--backend", "wgpu")
    # The same input through `embed` (a new process: compiles again), compared with PyTorch's output.
    fasta, flag = input_fasta(model, ids, length)
    npy = os.path.join(WORK, f"{model}-{size}.npy")
    run([cli, "embed", "--weights", weights, flag, "@" + fasta, "--format", "npy", "--out", npy, "--backend", "wgpu"], capture_output=True)
    diff = float(np.abs(np.load(npy).reshape(-1) - expected).max())
    return row(label, ours, torch_ms, torch_warmup, torch_memory, flops, peak_tflops, diff)


def input_fasta(model, ids, length):
    """The benchmark's synthetic input as a FASTA file for `isoformer embed`."""
    from make_fixtures import ENFORMER_LENGTH, synthetic_sequence
    if model == "esm2":
        sequence, flag = synthetic_sequence(length, "ACDEFGHIKLMNPQRSTVWY"), "--protein"
    elif model == "nt":
        sequence, flag = synthetic_sequence(length, "ACGT"), "--rna"
    else:
        sequence, flag = synthetic_sequence(min(length, ENFORMER_LENGTH), "ACGT"), "--dna"
    path = os.path.join(WORK, f"{model}-input.fasta")
    with open(path, "w") as f:
        f.write(f">bench\n{sequence}\n")
    return path, flag


def isoformer_torch(torch, device, quick, runs):
    """A whole prediction in PyTorch at the published shapes (random weights): the Enformer trunk,
    NT-v2 250M, ESM-2 150M, the reference aggregator — (warm-up ms, median ms, peak bytes, FLOPs)."""
    import bench_compare
    from enformer_pytorch import Enformer
    from isoformer_reference import IsoformerAggregator
    from make_fixtures import ENFORMER_LENGTH, centre_pad, one_hot, synthetic_sequence
    from nt_reference import nt_config, nt_for_masked_lm
    from transformers import EsmConfig, EsmModel

    torch.manual_seed(0)
    dna_size, rna_size, protein_size = ("tiny", "tiny", "tiny") if quick else ("published", "250M", "150M")
    enformer = Enformer.from_hparams(**dict(bench_compare.SIZES["enformer"][dna_size], **bench_compare.ENFORMER_FIXED)).eval()
    hidden, layers, heads, intermediate = bench_compare.SIZES["nt"][rna_size]
    nt = nt_for_masked_lm(nt_config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=intermediate)).esm.eval()
    config = EsmConfig.from_json_file(os.path.join(ROOT, "data", "esm2_hf_configs", "esm2_t12_35M_UR50D", "config.json"))
    config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size = bench_compare.SIZES["esm2"][protein_size]
    esm = EsmModel(config, add_pooling_layer=False).eval()
    dna_dim = bench_compare.SIZES["enformer"][dna_size]["dim"] * 2
    aggregator = IsoformerAggregator(dna_dim, nt.config.hidden_size, config.hidden_size, 8, 30, 6144 if not quick else 64).eval()
    for module in (enformer, nt, esm, aggregator):
        module.to(device)

    rna_tokens, protein_length = (256, 128) if quick else (2048, 1024)
    dna = one_hot(centre_pad(synthetic_sequence(ENFORMER_LENGTH, "ACGT")))[None].to(device)
    rna = torch.randint(6, 4102, (1, rna_tokens), device=device)
    rna[0, 0] = 3  # <cls>
    protein = torch.randint(4, 24, (1, protein_length + 2), device=device)
    protein[0, 0], protein[0, -1] = 0, 2

    def call():
        dna_embedding = enformer(dna, return_only_embeddings=True)
        rna_embedding = nt(input_ids=rna, attention_mask=torch.ones_like(rna)).last_hidden_state
        protein_embedding = esm(input_ids=protein, attention_mask=torch.ones_like(protein)).last_hidden_state
        values, _ = aggregator(dna_embedding, rna_embedding, torch.ones_like(rna), protein_embedding, torch.ones_like(protein))
        return values

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    warmup, median = timed(torch, device, call, max(runs, 3))
    memory = peak_memory(torch, device)
    flops = flops_of(torch, call)
    for module in (enformer, nt, esm, aggregator):
        module.cpu()
    if device == "cuda":
        torch.cuda.empty_cache()
    return warmup, median, memory, flops


def isoformer_rows(cli, torch, device, quick, runs, peak_tflops):
    weights = os.path.join(WORK, "isoformer-tiny" if quick else "isoformer-published")
    if not os.path.exists(os.path.join(weights, "isoformer.json")):
        if quick:
            run([cli, "init", "--like", os.path.join(ROOT, "weights", "isoformer-tiny-random"), "--random", "--seed", "0", "--out", weights])
        else:
            run([cli, "init", "--preset", "isoformer", "--random", "--seed", "0", "--out", weights])
    q8 = weights + "-q8"
    if not os.path.exists(os.path.join(q8, "isoformer.json")):
        run([cli, "quantize", "--from", weights, "--out", q8, "--dtype", "q8"])
    torch_warmup, torch_ms, torch_memory, flops = isoformer_torch(torch, device, quick, runs)
    length = "128" if quick else "1024"
    rows = []
    for dtype, directory in [("f32", weights), ("q8", q8)]:
        ours = cli_json(cli, "bench", "--weights", directory, "--length", length, "--runs", runs, "--backend", "wgpu")
        label = f"IsoFormer, one full prediction ({dtype} weights)"
        rows.append(row(label, ours, torch_ms, torch_warmup, torch_memory, flops, peak_tflops, None, stages=ours.get("stages_median_ms")))
    return rows


def conv_rows(cli, quick, peak_tflops, rows):
    """The Enformer trunk with its k > 1 convolutions as Burn's conv1d, against the shifted-matmul
    default measured above (one run after the warm-up: the direct kernel is the slow one)."""
    size = "tiny" if quick else "published"
    shifted = next(r for r in rows if r["label"].startswith("Enformer"))
    ours = cli_json(cli, "bench", "--weights", os.path.join(WORK, f"enformer-{size}"), "--length", 196_608, "--runs", 1, "--backend", "wgpu", "--conv-kernel", "direct")
    flops = shifted["gflops"] * 1e9
    result = row(shifted["label"].replace("Enformer trunk", "Enformer trunk, conv1d (direct kernel)"), ours, shifted["torch_ms"], shifted["torch_warmup_ms"],
                 shifted["torch_memory"], flops, peak_tflops, None)
    return result


def row(label, ours, torch_ms, torch_warmup, torch_memory, flops, peak_tflops, diff, stages=None):
    ms = ours["median_ms"]
    memory = (ours.get("device_memory") or {}).get("bytes_reserved")
    return {
        "label": label, "ours_ms": ms, "ours_warmup_ms": ours["warmup_ms"], "ours_memory": memory, "device": ours.get("device"),
        "gflops": flops / 1e9, "ours_gflops_per_s": flops / 1e9 / (ms / 1e3),
        "ours_peak_share": flops / (ms / 1e3) / (peak_tflops * 1e12),
        "torch_ms": torch_ms, "torch_warmup_ms": torch_warmup, "torch_memory": torch_memory,
        "torch_gflops_per_s": flops / 1e9 / (torch_ms / 1e3), "ratio": ms / torch_ms, "max_abs_diff": diff, "stages": stages,
    }


def markdown(rows, meta):
    mib = lambda b: "—" if b is None else f"{b / 2**20:,.0f} MiB"
    lines = [
        f"<!-- gpu_report:{meta['mode']}:begin -->",
        f"### GPU report ({meta['mode']}): {meta['gpu']}",
        "",
        f"`{meta['command']}` on {meta['date']}. {meta['gpu']}; driver {meta['driver']}; isoformer-web native wgpu "
        f"({meta['adapter']}); PyTorch {meta['torch']} on {meta['torch_device']} in f32 with TF32 off. f32 peak measured in the "
        f"same run (8192³ f32 matmul in PyTorch, TF32 off): **{meta['peak_tflops']:.1f} TFLOP/s**. Medians of {meta['runs']} runs after "
        "a warm-up (ours: `isoformer bench`; the warm-up compiles and autotunes). FLOPs: PyTorch's pass, torch.utils.flop_counter. "
        "Weights are random (published shapes).",
        "",
        "| workload | GFLOP | isoformer-web (wgpu) | GFLOP/s | share of f32 peak | device memory | PyTorch CUDA | GFLOP/s | peak memory | ratio (ours ÷ PyTorch) | max abs Δ vs PyTorch | our warm-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        diff = "—" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.1e}"
        lines.append(
            f"| {r['label']} | {r['gflops']:,.0f} | {r['ours_ms']:,.1f} ms | {r['ours_gflops_per_s']:,.0f} | {100 * r['ours_peak_share']:.1f} % | "
            f"{mib(r['ours_memory'])} | {r['torch_ms']:,.1f} ms | {r['torch_gflops_per_s']:,.0f} | {mib(r['torch_memory'])} | "
            f"**{r['ratio']:.2f}×** | {diff} | {r['ours_warmup_ms'] / 1e3:,.1f} s |")
    for r in rows:
        if r["stages"]:
            stages = ", ".join(f"{k} {v:,.1f} ms" for k, v in r["stages"].items())
            lines.append(f"\n{r['label']}, per stage (median): {stages}.")
    lines.append(f"<!-- gpu_report:{meta['mode']}:end -->")
    return "\n".join(lines) + "\n"


def write_benchmarks(text, mode):
    """Replaces (or appends) this mode's section of BENCHMARKS.md."""
    path = os.path.join(ROOT, "BENCHMARKS.md")
    begin, end = f"<!-- gpu_report:{mode}:begin -->", f"<!-- gpu_report:{mode}:end -->"
    current = open(path).read()
    if begin in current and end in current:
        updated = current[:current.index(begin)] + text.rstrip("\n") + current[current.index(end) + len(end):]
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(updated)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes (lavapipe here), to know the script runs")
    parser.add_argument("--cli", default=None, help="the isoformer binary (default: .gpu/isoformer, else target/release/isoformer)")
    parser.add_argument("--out", default=None, help="write the section here too (default: $OUT/gpu-report.md when $OUT is set)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None, help="comma-separated rows: esm2,nt,enformer,isoformer,conv")
    parser.add_argument("--conv-budget-s", type=float, default=420, help="compare Enformer's two conv kernels only if this many seconds have not passed")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    prepare_machine()
    import_enformer_pytorch()
    cli = args.cli or bundled_cli() or os.path.join(ROOT, "target", "release", "isoformer")
    torch, device = torch_setup()
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        gpu = ""
    name, driver = (gpu.split(", ")[:2] if gpu else (platform.processor() or "no NVIDIA GPU", "—"))
    peak = f32_peak(torch, device)
    log(f"f32 peak: {peak:.2f} TFLOP/s on {device}")
    only = set(args.only.split(",")) if args.only else None
    meta = {
        "mode": "quick" if args.quick else "full", "gpu": name, "driver": driver, "adapter": "—",
        "torch": torch.__version__, "torch_device": device, "peak_tflops": peak, "runs": args.runs,
        "date": time.strftime("%Y-%m-%d"), "command": "make gpu-report" + (" QUICK=1" if args.quick else ""),
    }
    out = args.out or (os.path.join(os.environ["OUT"], "gpu-report.md") if os.environ.get("OUT") else None)
    rows, failures = [], []

    def save():
        # After every row, so a run cut short still reports what it measured.
        meta["adapter"] = next((r["device"] for r in rows if r.get("device")), "—")
        text = markdown(rows, meta) + "".join(f"\n{label} failed: {error}\n" for label, error in failures)
        if out:
            with open(out, "w") as f:
                f.write(text)
            with open(out.replace(".md", ".json"), "w") as f:
                json.dump({"meta": meta, "rows": rows, "failures": failures}, f, indent=1)
        return text

    def attempt(label, work):
        started = time.time()
        try:
            produced = work()
            rows.extend(produced if isinstance(produced, list) else [produced])
            log(f"{label}: done in {time.time() - started:.0f} s")
        except Exception as error:  # one row's failure (a driver, a missing package) must not lose the others
            failures.append((label, f"{type(error).__name__}: {error}"[:2000]))
            log(f"{label}: FAILED {failures[-1][1]}")
        save()

    for label, model, size, length in (QUICK if args.quick else FULL):
        if not only or model in only:
            attempt(label, lambda: encoder_row(cli, torch, device, label, model, size, length, args.runs, peak))
    if not only or "isoformer" in only:
        attempt("IsoFormer", lambda: isoformer_rows(cli, torch, device, args.quick, args.runs, peak))
    if (not only or "conv" in only) and time.time() - STARTED < args.conv_budget_s:
        attempt("Enformer conv kernels", lambda: conv_rows(cli, args.quick, peak, rows))
    text = save()
    print(text)
    write_benchmarks(text, meta["mode"])


if __name__ == "__main__":
    main()

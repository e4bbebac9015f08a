#!/usr/bin/env python3
"""This CPU's f32 matmul throughput: PyTorch's `torch.matmul` and numpy's BLAS (OpenBLAS in the
numpy wheel) on square matrices, medians of 5 after one warm-up — the measured peak BENCHMARKS.md
puts a full prediction's GFLOP/s against (a VM may hide the clock its cores boost to).

    python3 scripts/bench_matmul_peak.py --threads 2 --sizes 4096 8192
"""
import argparse
import os
import statistics
import time


def rate(matmul, a, b, runs):
    matmul(a, b)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        matmul(a, b)
        times.append(time.perf_counter() - start)
    return 2 * a.shape[0] ** 3 / statistics.median(times) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # numpy's BLAS reads its thread count when it is loaded.
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    for n in args.sizes:
        a = np.random.rand(n, n).astype(np.float32)
        b = np.random.rand(n, n).astype(np.float32)
        blas = rate(np.matmul, a, b, args.runs)
        pytorch = rate(torch.matmul, torch.from_numpy(a), torch.from_numpy(b), args.runs)
        print(f"{n}³ f32, {args.threads} threads: numpy (its BLAS) {blas:.1f} GFLOP/s, torch.matmul {pytorch:.1f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Accuracy budget of quantized weights, end to end, with the native CLI (numpy only).

    python3 scripts/accuracy_budget.py --reference W_f32 --candidates W_q8 W_q4 [--samples 5] [--backend cpu] [--no-embeddings]

Each W is an IsoFormer weight directory (isoformer.json; `isoformer init` + `isoformer quantize`).
The samples are real sequences from data/: the TP73 gene window (GenBank) as DNA for every
sample, the first N Ensembl TP73 cDNAs as RNA, and the first N TP73 proteins (GenBank translations)
as protein. For each candidate it prints, against the reference: per-sample Spearman correlation over
the 30 tissues (each sample's, min and mean), the max and root-mean-square difference of the 30
values, and, per encoder, the cosine similarity of the mean embeddings of the same inputs.

A Spearman target is a statement about the reference as much as about the candidate: values that lie
close together swap ranks under the smallest error. So the reference's ranking margin comes first:
per sample, the output error (independent Gaussian noise of this standard deviation on each of the
30 values) at which the expected Spearman falls to the target (`--target`, 0.999). A candidate whose
RMS difference is well above the smallest margin cannot meet the target on every sample, however its
error is shaped. Output: one JSON line for the reference, then one per candidate.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sequences import TP73, fasta_records, tp73_genbank

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "isoformer")


def ranks(values):
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def spearman(a, b):
    return float(np.corrcoef(ranks(np.asarray(a)), ranks(np.asarray(b)))[0, 1])


def expected_spearman(values, noise, draws, rng):
    """Mean Spearman of `values` against `values` + N(0, noise²) each."""
    return float(np.mean([spearman(values, values + rng.normal(0.0, noise, len(values))) for _ in range(draws)]))


def ranking_margin(values, target, draws=400):
    """The noise standard deviation at which the expected Spearman of `values` falls to `target`
    (bisection on a log scale; the expectation falls monotonically with the noise)."""
    low, high = 1e-6, float(np.ptp(values)) + 1e-6
    for _ in range(30):
        middle = (low * high) ** 0.5
        # The same draws for every probe, so the bisection sees a smooth function.
        if expected_spearman(values, middle, draws, np.random.default_rng(0)) >= target:
            low = middle
        else:
            high = middle
    return low


def run(args):
    result = subprocess.run([BINARY] + args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"isoformer {' '.join(args[:3])}…: {result.stderr}")
    return result.stdout


def predictions(weights, batch, backend, tmp):
    out = os.path.join(tmp, os.path.basename(os.path.normpath(weights)) + ".tsv")
    run(["predict", "--weights", weights, "--batch", batch, "--out", out, "--backend", backend])
    rows = [line.split("\t") for line in open(out).read().splitlines()[1:]]
    return {row[0]: np.array([float(v) for v in row[1:]]) for row in rows}


def mean_embeddings(weights, part, flag, fasta, backend, tmp):
    out = os.path.join(tmp, f"{os.path.basename(os.path.normpath(weights))}-{part}")
    run(["embed", "--weights", os.path.join(weights, part), flag, "@" + fasta, "--format", "npy", "--out", out, "--backend", backend]
        + (["--crop-dna", "centre"] if part == "dna" else []))
    if os.path.isdir(out):
        return np.load(os.path.join(out, "mean_embeddings.npy"))
    return np.load(out).mean(axis=0, keepdims=True)


def cosine(a, b):
    return [float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))) for x, y in zip(a, b)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--candidates", nargs="+", required=True)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--no-embeddings", action="store_true", help="compare the 30 values only")
    parser.add_argument("--target", type=float, default=0.999, help="the per-sample Spearman the margin is computed for")
    args = parser.parse_args()

    dna, proteins = tp73_genbank()
    transcripts = fasta_records(os.path.join(TP73, "ensembl_human_tp73_all.fasta"))[: args.samples]
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for part, records in [("dna", [("tp73_region", dna)]), ("rna", transcripts),
                              ("protein", [(f"p{i}", p) for i, p in enumerate(proteins[: args.samples])])]:
            files[part] = os.path.join(tmp, f"{part}.fasta")
            with open(files[part], "w") as f:
                f.writelines(f">{name}\n{seq}\n" for name, seq in records)
        batch = os.path.join(tmp, "batch.tsv")
        with open(batch, "w") as f:
            f.write("id\tdna\trna\tprotein\n")
            for i, (name, rna) in enumerate(transcripts):
                f.write(f"{name}\t@{files['dna']}\t{rna}\t{proteins[i % len(proteins)]}\n")
        reference = predictions(args.reference, batch, args.backend, tmp)
        margins = {k: ranking_margin(v, args.target) for k, v in reference.items()}
        print(json.dumps({"reference": args.reference, "samples": len(reference), "target": args.target,
                          "ranking_margin": margins, "ranking_margin_min": min(margins.values()),
                          "smallest_gap": {k: float(np.diff(np.sort(v)).min()) for k, v in reference.items()},
                          "value_range": [float(min(v.min() for v in reference.values())), float(max(v.max() for v in reference.values()))]}), flush=True)
        flags = {"dna": "--dna", "rna": "--rna", "protein": "--protein"}
        reference_embeddings = {} if args.no_embeddings else {part: mean_embeddings(args.reference, part, flags[part], files[part], args.backend, tmp) for part in flags}
        for candidate in args.candidates:
            values = predictions(candidate, batch, args.backend, tmp)
            rho = {k: spearman(reference[k], values[k]) for k in reference}
            differences = np.concatenate([reference[k] - values[k] for k in reference])
            encoders = {}
            for part in reference_embeddings:
                sims = cosine(reference_embeddings[part], mean_embeddings(candidate, part, flags[part], files[part], args.backend, tmp))
                encoders[part] = {"min_cosine": min(sims), "mean_cosine": float(np.mean(sims))}
            print(json.dumps({"reference": args.reference, "candidate": candidate, "samples": len(rho), "spearman": rho,
                              "spearman_min": min(rho.values()), "spearman_mean": float(np.mean(list(rho.values()))),
                              "max_abs_diff": float(np.abs(differences).max()), "rms_diff": float(np.sqrt(np.mean(differences ** 2))),
                              "encoders": encoders}), flush=True)


if __name__ == "__main__":
    main()

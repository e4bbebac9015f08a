#!/usr/bin/env python3
"""Accuracy budget of quantized weights, end to end, with the native CLI (numpy only).

    python3 scripts/accuracy_budget.py --reference W_f32 --candidates W_q8 W_q4 [--samples 5] [--backend cpu] [--no-embeddings]

Each W is an IsoFormer weight directory (isoformer.json; `isoformer init` + `isoformer quantize`).
The samples are real sequences from ../shared/data: the TP73 gene window (GenBank) as DNA for every
sample, the first N Ensembl TP73 cDNAs as RNA, and the first N TP73 proteins (GenBank translations)
as protein. For each candidate it prints, against the reference: per-sample Spearman correlation over
the 30 tissues (min and mean), the max absolute difference of the 30 values, and, per encoder, the
cosine similarity of the mean embeddings of the same inputs. Output: one JSON line per candidate.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sequences import SHARED, fasta_records, tp73_genbank

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "isoformer")


def ranks(values):
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def spearman(a, b):
    return float(np.corrcoef(ranks(np.asarray(a)), ranks(np.asarray(b)))[0, 1])


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
    args = parser.parse_args()

    dna, proteins = tp73_genbank()
    transcripts = fasta_records(os.path.join(SHARED, "ensembl_human_tp73_all.fasta"))[: args.samples]
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
        flags = {"dna": "--dna", "rna": "--rna", "protein": "--protein"}
        reference_embeddings = {} if args.no_embeddings else {part: mean_embeddings(args.reference, part, flags[part], files[part], args.backend, tmp) for part in flags}
        for candidate in args.candidates:
            values = predictions(candidate, batch, args.backend, tmp)
            rho = [spearman(reference[k], values[k]) for k in reference]
            max_abs = max(float(np.abs(reference[k] - values[k]).max()) for k in reference)
            encoders = {}
            for part in reference_embeddings:
                sims = cosine(reference_embeddings[part], mean_embeddings(candidate, part, flags[part], files[part], args.backend, tmp))
                encoders[part] = {"min_cosine": min(sims), "mean_cosine": float(np.mean(sims))}
            print(json.dumps({"reference": args.reference, "candidate": candidate, "samples": len(rho),
                              "spearman_min": min(rho), "spearman_mean": float(np.mean(rho)),
                              "max_abs_diff": max_abs, "reference_value_range": [float(min(v.min() for v in reference.values())), float(max(v.max() for v in reference.values()))],
                              "encoders": encoders}), flush=True)


if __name__ == "__main__":
    main()

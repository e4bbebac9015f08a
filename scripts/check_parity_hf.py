#!/usr/bin/env python3
"""Checks a converted weight directory against transformers on the same Hugging Face directory:
runs EsmModel (PyTorch, CPU) and `isoformer embed --format npy` on the same proteins and prints the
largest absolute difference of the last hidden state per protein.

    python3 scripts/check_parity_hf.py --hf DIR --weights DIR [--fasta FILE | --protein SEQ] [--backend cpu|wgpu]

Needs torch and transformers (see tests/fixtures/make_fixtures.py) and a release build of the CLI.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from transformers import EsmModel, EsmTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO.-", "<null_1>", "<mask>"]


def read_fasta(path):
    records, name = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            records[name] = ""
        elif name:
            records[name] += line
    return records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--fasta")
    parser.add_argument("--protein")
    parser.add_argument("--backend", default="cpu")
    args = parser.parse_args()
    proteins = read_fasta(args.fasta) if args.fasta else {"protein": args.protein}
    with tempfile.TemporaryDirectory() as tmp:
        vocab = os.path.join(tmp, "vocab.txt")
        open(vocab, "w").write("\n".join(VOCAB) + "\n")
        tokenizer = EsmTokenizer(vocab)
        model = EsmModel.from_pretrained(args.hf, add_pooling_layer=False).eval()
        worst = 0.0
        for name, sequence in proteins.items():
            ids = torch.tensor([tokenizer(sequence)["input_ids"]])
            with torch.no_grad():
                expected = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0].numpy()
            out = os.path.join(tmp, "out.npy")
            subprocess.run([os.path.join(ROOT, "target", "release", "isoformer"), "embed", "--weights", args.weights,
                            "--protein", sequence, "--format", "npy", "--out", out, "--backend", args.backend],
                           check=True, stderr=subprocess.DEVNULL)
            ours = np.load(out)
            diff = float(np.abs(ours - expected).max())
            worst = max(worst, diff)
            print(json.dumps({"protein": name, "residues": len(sequence), "max_abs_diff": diff}))
        print(json.dumps({"worst_max_abs_diff": worst, "within_1e-4": worst <= 1e-4}))
        sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()

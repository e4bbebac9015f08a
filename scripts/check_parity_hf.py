#!/usr/bin/env python3
"""Checks a converted weight directory against PyTorch on the same Hugging Face directory: runs the
reference (transformers' EsmModel for ESM-2; tests/fixtures/nt_reference.py for NT-v2) and
`isoformer embed --format npy` on the same sequences and prints the largest absolute difference
of the last hidden state per sequence.

    python3 scripts/check_parity_hf.py --model esm2|nt --hf DIR --weights DIR (--fasta FILE | --sequence SEQ) [--backend cpu|wgpu]

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
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from nt_reference import NtForMaskedLM, nt_vocab  # noqa: E402
from sequences import fasta_records  # noqa: E402

PROTEIN_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO.-", "<null_1>", "<mask>"]


def reference(model_kind, hf_dir, tmp):
    """(tokenize, encoder) for the model kind; encoder(ids) -> last hidden state [L, D]."""
    vocab = os.path.join(tmp, "vocab.txt")
    if model_kind == "esm2":
        open(vocab, "w").write("\n".join(PROTEIN_VOCAB) + "\n")
        tokenizer = EsmTokenizer(vocab)
        model = EsmModel.from_pretrained(hf_dir, add_pooling_layer=False).eval()
        return (lambda s: tokenizer(s)["input_ids"]), model
    open(vocab, "w").write("\n".join(nt_vocab()) + "\n")
    tokenizer = EsmTokenizer(vocab, eos_token=None)
    full = NtForMaskedLM.from_pretrained(hf_dir).eval()
    return (lambda s: tokenizer(s.upper().replace("U", "T"))["input_ids"]), full.esm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["esm2", "nt"], default="esm2")
    parser.add_argument("--hf", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--fasta")
    parser.add_argument("--sequence")
    parser.add_argument("--backend", default="cpu")
    args = parser.parse_args()
    sequences = dict(fasta_records(args.fasta)) if args.fasta else {"sequence": args.sequence}
    flag = "--protein" if args.model == "esm2" else "--rna"
    with tempfile.TemporaryDirectory() as tmp:
        tokenize, model = reference(args.model, args.hf, tmp)
        worst = 0.0
        for name, sequence in sequences.items():
            ids = torch.tensor([tokenize(sequence)])
            with torch.no_grad():
                expected = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0].numpy()
            out = os.path.join(tmp, "out.npy")
            subprocess.run([os.path.join(ROOT, "target", "release", "isoformer"), "embed", "--weights", args.weights,
                            flag, sequence, "--format", "npy", "--out", out, "--backend", args.backend],
                           check=True, stderr=subprocess.DEVNULL)
            ours = np.load(out)
            diff = float(np.abs(ours - expected).max())
            worst = max(worst, diff)
            print(json.dumps({"sequence": name, "length": len(sequence), "tokens": ids.shape[1], "max_abs_diff": diff}))
        print(json.dumps({"worst_max_abs_diff": worst, "within_1e-4": worst <= 1e-4}))
        sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()

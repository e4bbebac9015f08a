#!/usr/bin/env python3
"""PyTorch reference timing for BENCHMARKS.md on the CPU: transformers' EsmModel (ESM-2) or the NT-v2
reference (tests/fixtures/nt_reference.py), on the same synthetic input as `isoformer bench`
(xorshift64 over the 20 amino acids, or over A C G T), one warm-up, then --runs.

    python3 scripts/bench_torch.py --hf DIR [--model esm2|nt] [--length 1024] [--runs 3]
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch
from safetensors.torch import load_file
from transformers import EsmConfig, EsmModel, EsmTokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures"))
from nt_reference import nt_for_masked_lm, nt_vocab  # noqa: E402


def synthetic_sequence(length, alphabet):
    state, mask, out = 0x2545F4914F6CDD1D, (1 << 64) - 1, []
    for _ in range(length):
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        out.append(alphabet[state % len(alphabet)])
    return "".join(out)


def esm2(hf, length):
    vocab = ["<cls>", "<pad>", "<eos>", "<unk>"] + list("LAGVSERTIDPKQNFYMHWCXBUZO.-")
    ids = [0] + [vocab.index(c) for c in synthetic_sequence(length, "ACDEFGHIKLMNPQRSTVWY")] + [2]
    return ids, EsmModel.from_pretrained(hf, add_pooling_layer=False).eval()


def nt(hf, length):
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as vocab:
        vocab.write("\n".join(nt_vocab()) + "\n")
        vocab.flush()
        ids = EsmTokenizer(vocab.name, eos_token=None)(synthetic_sequence(length, "ACGT"))["input_ids"]
    model = nt_for_masked_lm(EsmConfig.from_pretrained(hf))
    model.load_state_dict(load_file(os.path.join(hf, "model.safetensors")), strict=False)
    return ids, model.esm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf", required=True)
    parser.add_argument("--model", choices=["esm2", "nt"], default="esm2")
    parser.add_argument("--length", "--residues", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ids, model = (esm2 if args.model == "esm2" else nt)(args.hf, args.length)
    ids = torch.tensor([ids])

    def once():
        start = time.perf_counter()
        with torch.no_grad():
            model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.numpy()
        return (time.perf_counter() - start) * 1e3

    warmup = once()
    runs = sorted(once() for _ in range(args.runs))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "model": args.model, "length": args.length,
                      "tokens": ids.shape[1], "warmup_ms": warmup, "runs_ms": runs, "median_ms": runs[len(runs) // 2]}))


if __name__ == "__main__":
    main()

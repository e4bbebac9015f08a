#!/usr/bin/env python3
"""PyTorch reference timing for BENCHMARKS.md: transformers' EsmModel on the CPU, same synthetic
protein as `isoformer bench` (xorshift64 over the 20 amino acids), one warm-up, then --runs.

    python3 scripts/bench_torch.py --hf DIR [--residues 1024] [--runs 3]
"""
import argparse
import json
import time

import torch
from transformers import EsmModel


def synthetic_protein(length):
    amino_acids, state, mask, out = "ACDEFGHIKLMNPQRSTVWY", 0x2545F4914F6CDD1D, (1 << 64) - 1, []
    for _ in range(length):
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        out.append(amino_acids[state % 20])
    return "".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf", required=True)
    parser.add_argument("--residues", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    vocab = ["<cls>", "<pad>", "<eos>", "<unk>"] + list("LAGVSERTIDPKQNFYMHWCXBUZO.-")
    ids = torch.tensor([[0] + [vocab.index(c) for c in synthetic_protein(args.residues)] + [2]])
    model = EsmModel.from_pretrained(args.hf, add_pooling_layer=False).eval()

    def once():
        start = time.perf_counter()
        with torch.no_grad():
            model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.numpy()
        return (time.perf_counter() - start) * 1e3

    warmup = once()
    runs = sorted(once() for _ in range(args.runs))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "residues": args.residues,
                      "warmup_ms": warmup, "runs_ms": runs, "median_ms": runs[len(runs) // 2]}))


if __name__ == "__main__":
    main()

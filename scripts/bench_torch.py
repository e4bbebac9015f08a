#!/usr/bin/env python3
"""PyTorch reference timing for BENCHMARKS.md on the CPU: transformers' EsmModel (ESM-2), the NT-v2
reference (tests/fixtures/nt_reference.py) or enformer-pytorch's trunk, on the same synthetic input as
`isoformer bench` (xorshift64 over the 20 amino acids, or over A C G T), one warm-up, then --runs.

    python3 scripts/bench_torch.py --hf DIR [--model esm2|nt|enformer] [--length 1024] [--runs 3]

For enformer, DIR holds config.json + pytorch_model.bin (a state dict); the input is --length bp
N-padded around its centre to 196,608.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch
from transformers import EsmModel, EsmTokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures"))
from make_fixtures import ENFORMER_LENGTH, centre_pad, one_hot, synthetic_sequence  # noqa: E402
from nt_reference import NtForMaskedLM, nt_vocab  # noqa: E402


def esm2(hf, length):
    vocab = ["<cls>", "<pad>", "<eos>", "<unk>"] + list("LAGVSERTIDPKQNFYMHWCXBUZO.-")
    ids = [0] + [vocab.index(c) for c in synthetic_sequence(length, "ACDEFGHIKLMNPQRSTVWY")] + [2]
    return ids, EsmModel.from_pretrained(hf, add_pooling_layer=False).eval()


def nt(hf, length):
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as vocab:
        vocab.write("\n".join(nt_vocab()) + "\n")
        vocab.flush()
        ids = EsmTokenizer(vocab.name, eos_token=None)(synthetic_sequence(length, "ACGT"))["input_ids"]
    return ids, NtForMaskedLM.from_pretrained(hf).eval().esm


class EnformerTrunk(torch.nn.Module):
    """enformer-pytorch's trunk, called like the ESM models (ids are one-hot rows here)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        class Out:
            last_hidden_state = self.model(input_ids, return_only_embeddings=True)
        return Out()


def enformer(hf, length):
    import json
    from enformer_pytorch import Enformer
    config = json.load(open(os.path.join(hf, "config.json")))
    config.pop("random_weights", None)
    model = Enformer.from_hparams(**config).eval()
    model.load_state_dict(torch.load(os.path.join(hf, "pytorch_model.bin"), weights_only=True))
    return one_hot(centre_pad(synthetic_sequence(min(length, ENFORMER_LENGTH), "ACGT"))), EnformerTrunk(model)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf", required=True)
    parser.add_argument("--model", choices=["esm2", "nt", "enformer"], default="esm2")
    parser.add_argument("--length", "--residues", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ids, model = {"esm2": esm2, "nt": nt, "enformer": enformer}[args.model](args.hf, args.length)
    ids = ids[None] if torch.is_tensor(ids) else torch.tensor([ids])

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

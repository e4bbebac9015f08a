#!/usr/bin/env python3
"""Exports a transformers ESM-2 directory to ONNX with torch.onnx, for the ONNX Runtime Web
comparison (issue: side-by-side benchmarks). The graph is transformers' `EsmModel` without the
pooler: input `input_ids` int64 [1, tokens] (tokens dynamic), output `last_hidden_state` float32
[1, tokens, hidden]. Also writes PyTorch's output for one input (<stem>.reference.json: the ids and
the shape; <stem>.reference.f32: the values), so every runtime is checked against the same numbers.

    python3 scripts/export_onnx.py --hf H --out M.onnx [--check-tokens 66]

Needs torch, transformers, onnx and onnxscript (`pip install onnx onnxscript`).
"""
import argparse
import json
import os
import sys

import torch
from transformers import EsmModel


class LastHiddenState(torch.nn.Module):
    """EsmModel returning only its last hidden state (one named output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids).last_hidden_state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf", required=True, help="a transformers ESM-2 directory")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--check-tokens", type=int, default=66, help="tokens of the export's example input")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = LastHiddenState(EsmModel.from_pretrained(args.hf, add_pooling_layer=False).eval())
    # <cls> + residues (ids 4..23 are the 20 amino acids) + <eos>
    ids = torch.cat([torch.tensor([0]), torch.randint(4, 24, (args.check_tokens - 2,)), torch.tensor([2])]).unsqueeze(0)
    with torch.no_grad():
        reference = model(ids).numpy()
    torch.onnx.export(
        model, (ids,), args.out, input_names=["input_ids"], output_names=["last_hidden_state"],
        dynamic_shapes={"input_ids": {1: torch.export.Dim("tokens", min=3, max=1026)}}, opset_version=18, dynamo=True,
        external_data=False,
    )
    # The reference for the browser: the input ids and shape as JSON, the values as raw float32.
    stem = os.path.splitext(args.out)[0]
    with open(stem + ".reference.json", "w") as f:
        json.dump({"input_ids": ids[0].tolist(), "shape": list(reference.shape)}, f)
    reference.astype("<f4").tofile(stem + ".reference.f32")
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes) and the reference output for {args.check_tokens} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()

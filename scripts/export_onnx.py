#!/usr/bin/env python3
"""Exports a PyTorch reference encoder to ONNX with torch.onnx, for the ONNX Runtime Web comparison
(issue: side-by-side benchmarks), and writes PyTorch's output for one input so that every runtime is
checked against the same numbers:

- esm2: a transformers ESM-2 directory → `EsmModel` without the pooler; input `input_ids` int64
  [1, tokens] (tokens dynamic: <cls> + residues + <eos>), output `last_hidden_state` [1, tokens, hidden].
- nt: an NT-v2 directory (tests/fixtures/nt_reference.py) → its `esm` trunk; input `input_ids` int64
  [1, tokens] (tokens dynamic: <cls> + 6-mers), output `last_hidden_state`.
- enformer: a directory with config.json + pytorch_model.bin (enformer-pytorch state dict) → the
  trunk (`return_only_embeddings`); input `one_hot` float32 [1, 196608, 4], output `embeddings`
  [1, 896, 2·dim]. The relative positional features depend only on the (fixed) length and use
  lgamma, which ONNX lacks, so they are computed once in PyTorch and exported as a constant.

<stem>.reference.json holds the input (ids, or the DNA sequence) and the output shape;
<stem>.reference.f32 the output values.

    python3 scripts/export_onnx.py --model esm2|nt|enformer --hf H --out M.onnx [--check-tokens 66] [--no-onnx]

Needs torch, transformers, onnx and onnxscript (`pip install onnx onnxscript`); enformer-pytorch for
Enformer. `--no-onnx` writes the reference alone (native comparisons, or a model too large for the
browser).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.utils.flop_counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures"))

ENFORMER_LENGTH = 196_608


class LastHiddenState(torch.nn.Module):
    """An ESM-family trunk returning only its last hidden state (one named output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids).last_hidden_state


class EnformerTrunk(torch.nn.Module):
    """enformer-pytorch's trunk: one-hot DNA → [1, 896, 2·dim] embeddings."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, one_hot):
        return self.model(one_hot, return_only_embeddings=True)


def esm2(hf, tokens, generator):
    from transformers import EsmModel
    model = LastHiddenState(EsmModel.from_pretrained(hf, add_pooling_layer=False)).eval()
    # <cls> + residues (ids 4..23 are the 20 amino acids) + <eos>
    ids = torch.cat([torch.tensor([0]), torch.randint(4, 24, (tokens - 2,), generator=generator), torch.tensor([2])]).unsqueeze(0)
    return model, ids, {"input_ids": ids[0].tolist()}, "input_ids", "last_hidden_state"


def nt(hf, tokens, generator):
    from nt_reference import NtForMaskedLM
    model = LastHiddenState(NtForMaskedLM.from_pretrained(hf).esm).eval()
    # <cls> (id 3) + 6-mers (ids 6..4101); no <eos>, as NT-v2's tokenizer
    ids = torch.cat([torch.tensor([3]), torch.randint(6, 6 + 4096, (tokens - 1,), generator=generator)]).unsqueeze(0)
    return model, ids, {"input_ids": ids[0].tolist()}, "input_ids", "last_hidden_state"


def enformer(hf, _tokens, generator):
    from enformer_pytorch import Enformer
    import enformer_pytorch.modeling_enformer as modeling
    config = json.load(open(os.path.join(hf, "config.json")))
    config.pop("random_weights", None)
    model = Enformer.from_hparams(**config).eval()
    model.load_state_dict(torch.load(os.path.join(hf, "pytorch_model.bin"), weights_only=True))
    computed = {}
    original = modeling.get_positional_embed

    def constant_positions(seq_len, feature_size, device, use_tf_gamma, dtype=torch.float):
        key = (seq_len, feature_size, use_tf_gamma, dtype)
        if key not in computed:
            computed[key] = original(seq_len, feature_size, device, use_tf_gamma, dtype=dtype)
        return computed[key]

    modeling.get_positional_embed = constant_positions
    sequence = "".join("ACGT"[i] for i in torch.randint(0, 4, (ENFORMER_LENGTH,), generator=generator).tolist())
    one_hot = torch.nn.functional.one_hot(torch.tensor(["ACGT".index(c) for c in sequence]), 4).float().unsqueeze(0)
    return EnformerTrunk(model).eval(), one_hot, {"dna": sequence}, "one_hot", "embeddings"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["esm2", "nt", "enformer"], default="esm2")
    parser.add_argument("--hf", required=True, help="the reference model's directory")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--check-tokens", type=int, default=66, help="tokens of the example input (esm2, nt)")
    parser.add_argument("--no-onnx", action="store_true", help="write the reference output only")
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    model, example, reference_input, input_name, output_name = {"esm2": esm2, "nt": nt, "enformer": enformer}[args.model](
        args.hf, args.check_tokens, generator)
    # The work of one pass, for FLOP/s: matmuls, convolutions and attention as PyTorch runs them.
    with torch.no_grad(), torch.utils.flop_counter.FlopCounterMode(display=False) as counter:
        reference = model(example).numpy()
    if not args.no_onnx:
        dynamic = None if args.model == "enformer" else {input_name: {1: torch.export.Dim("tokens", min=3, max=2050)}}
        torch.onnx.export(model, (example,), args.out, input_names=[input_name], output_names=[output_name],
                          dynamic_shapes=dynamic, opset_version=18, dynamo=True, external_data=False)
    stem = os.path.splitext(args.out)[0]
    with open(stem + ".reference.json", "w") as f:
        json.dump(dict(reference_input, shape=list(reference.shape), input=input_name, output=output_name, flops=counter.get_total_flops()), f)
    np.ascontiguousarray(reference, dtype="<f4").tofile(stem + ".reference.f32")
    written = f"{args.out} ({os.path.getsize(args.out):,} bytes) and " if not args.no_onnx else ""
    print(f"wrote {written}the reference output {list(reference.shape)}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Joins the shards' `isoformer embed --format npy` directories into one, in shard order: each
output's [N, D] matrix (written through a memory map, so memory stays one shard's rows), or with
--pooling none its per-record files renumbered; ids.tsv with rows numbered across shards; run.json.
Shards without output (empty input) are skipped.
"""

import argparse
import json
import os
import shutil

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shards", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    shards = [s for s in args.shards if os.path.exists(os.path.join(s, "run.json"))]
    if not shards:
        raise SystemExit("no shard has output")
    settings = [json.load(open(os.path.join(s, "run.json"))) for s in shards]
    if any(s != settings[0] for s in settings):
        raise SystemExit("the shards were embedded with different settings")
    os.makedirs(args.out, exist_ok=True)
    ids = [open(os.path.join(s, "ids.tsv")).read().splitlines()[1:] for s in shards]
    counts = [len(lines) for lines in ids]
    for name in settings[0]["outputs"]:
        matrices = [os.path.join(s, f"{name}.npy") for s in shards]
        if os.path.exists(matrices[0]):
            parts = [np.load(m, mmap_mode="r") for m in matrices]
            if [len(p) for p in parts] != counts:
                raise SystemExit(f"{name}: a shard's rows and ids.tsv disagree (was a shard cut short?)")
            out = np.lib.format.open_memmap(
                os.path.join(args.out, f"{name}.npy"), mode="w+", dtype=np.float32, shape=(sum(counts), parts[0].shape[1])
            )
            start = 0
            for part in parts:
                out[start : start + len(part)] = part
                start += len(part)
            out.flush()
        else:
            os.makedirs(os.path.join(args.out, name), exist_ok=True)
            row = 0
            for shard, count in zip(shards, counts):
                for local in range(count):
                    source = os.path.join(shard, name, f"{local:06d}.npy")
                    shutil.copyfile(source, os.path.join(args.out, name, f"{row:06d}.npy"))
                    row += 1
    json.dump(settings[0], open(os.path.join(args.out, "run.json"), "w"), indent=2)
    with open(os.path.join(args.out, "ids.tsv"), "w") as handle:
        handle.write("row\tid\tlength\ttokens\n")
        row = 0
        for lines in ids:
            for line in lines:
                handle.write("\t".join([str(row)] + line.split("\t")[1:]) + "\n")
                row += 1


if __name__ == "__main__":
    main()

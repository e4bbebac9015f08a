"""Projects embeddings to 2-D with UMAP (umap-learn) and writes a PNG coloured by a label column:
the first look at a gene set's embeddings.

  python3 scripts/plot_embeddings.py --dir OUT [--matrix layer_20.npy] [--labels labels.tsv
      --label-column biotype] --out umap.png

OUT is an `isoformer embed --format npy` directory (or the workflow's gathered one): its ids.tsv
names the matrix's rows. Labels come from a TSV with an `id` column (rows without a label are
"unlabelled"), or from a column of ids.tsv itself; without labels the points are coloured by
sequence length. Needs workflows/requirements.txt (`make workflow-env`).
"""

import argparse
import csv
import os
import sys

import numpy as np


def read_tsv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="an embed --format npy output directory")
    parser.add_argument("--matrix", help="which [N, D] matrix (default: the only one, or embeddings.npy)")
    parser.add_argument("--labels", help="a TSV with an id column and the label column")
    parser.add_argument("--label-column", help="the label column (of --labels, or of ids.tsv)")
    parser.add_argument("--neighbors", type=int, default=15, help="UMAP's n_neighbors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="the PNG to write")
    args = parser.parse_args()

    matrices = sorted(f for f in os.listdir(args.dir) if f.endswith(".npy"))
    name = args.matrix or ("embeddings.npy" if "embeddings.npy" in matrices else (matrices or [None])[0])
    if name is None or name not in matrices:
        sys.exit(f"{args.dir}: no matrix {name or '*.npy'} (pooled outputs only: --pooling cls or mean)")
    matrix = np.load(os.path.join(args.dir, name), mmap_mode="r")
    rows = read_tsv(os.path.join(args.dir, "ids.tsv"))
    if len(rows) != len(matrix):
        sys.exit(f"ids.tsv names {len(rows)} rows, {name} has {len(matrix)}")
    if len(rows) < 4:
        sys.exit("UMAP needs at least 4 points")

    if args.labels:
        column = args.label_column or sys.exit("--labels needs --label-column")
        by_id = {r["id"]: r.get(column, "") for r in read_tsv(args.labels)}
        labels = [by_id.get(r["id"]) or "unlabelled" for r in rows]
    elif args.label_column:
        labels = [r[args.label_column] for r in rows]
    else:
        labels = None

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import umap

    reducer = umap.UMAP(n_neighbors=min(args.neighbors, len(rows) - 1), random_state=args.seed, n_jobs=1)
    points = reducer.fit_transform(np.asarray(matrix, dtype=np.float32))

    figure, axes = plt.subplots(figsize=(7, 6), dpi=150)
    if labels is None:
        lengths = np.array([int(r["length"]) for r in rows])
        scatter = axes.scatter(points[:, 0], points[:, 1], c=np.log10(lengths), s=8, cmap="viridis")
        figure.colorbar(scatter, label="log10 sequence length")
    else:
        groups = sorted(set(labels))
        colours = plt.get_cmap("tab20" if len(groups) > 10 else "tab10")
        for index, group in enumerate(groups):
            mask = np.array([label == group for label in labels])
            axes.scatter(points[mask, 0], points[mask, 1], s=8, color=colours(index % colours.N), label=group)
        if len(groups) <= 20:
            axes.legend(markerscale=2, fontsize=7, loc="best", title=args.label_column)
    settings = os.path.join(args.dir, "run.json")
    model = ""
    if os.path.exists(settings):
        import json

        run = json.load(open(settings))
        model = run.get("model", "") + (", RANDOM weights" if run.get("random_weights") else "")
    axes.set_title(f"UMAP of {len(rows)} embeddings ({model}; {name})")
    axes.set_xlabel("UMAP 1")
    axes.set_ylabel("UMAP 2")
    figure.tight_layout()
    figure.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""The Snakemake workflow (workflows/Snakefile) on the tiny random-weight model, locally:
embeddings gathered from 4 shards equal one CLI run over the whole FASTA, in input order; a shard
that fails is retried and finished shards are not redone; predictions gathered from 3 shards equal
one `predict --batch` run; `embed --format parquet` reads in pyarrow as the .npy rows. Run by `make test-workflow` (the venv of workflows/requirements.txt).
"""

import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.path.join(ROOT, "target", "release", "isoformer")
WEIGHTS = os.path.join(ROOT, "weights", "isoformer-tiny-random")
TOLERANCE = 1e-5


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    return result


def snakemake(workdir, config, env):
    items = [f"{key}={value}" for key, value in config.items()]
    return run(
        ["snakemake", "-s", os.path.join(ROOT, "workflows", "Snakefile"), "--cores", "2", "--directory", workdir]
        + ["--config"] + items,
        env=env,
    )


def calls(log):
    return sorted(open(log).read().split())


def test_embed(tmp):
    rng = random.Random(7)
    fasta = os.path.join(tmp, "proteins.fa")
    with open(fasta, "w") as handle:
        for i in range(40):
            length = rng.randint(5, 120)
            handle.write(f">q{i:03d}\n" + "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(length)) + "\n")
    args = "--batch-size 4 --layer 1,-1"
    log = os.path.join(tmp, "calls.log")
    env = dict(os.environ, CALL_LOG=log, FAIL_SHARD="0002", ISOFORMER_BIN=CLI)
    config = {
        "isoformer": os.path.join(ROOT, "tests", "workflow", "flaky_isoformer.sh"),
        "weights": os.path.join(WEIGHTS, "protein"),
        "input": fasta,
        "modality": "protein",
        "shards": 4,
        "out": "out",
        "args": args,
    }
    snakemake(tmp, config, env)
    assert calls(log) == ["0000", "0001", "0002", "0002", "0003"], f"shard 0002 retried once: {calls(log)}"

    whole = os.path.join(tmp, "whole")
    run([CLI, "embed", "--weights", config["weights"], "--protein", "@" + fasta, "--format", "npy", "--batch-size",
         "4", "--layer", "1,-1", "--out", whole + "/"])
    gathered = os.path.join(tmp, "out", "embeddings")
    ids = [line.split("\t")[:2] for line in open(os.path.join(gathered, "ids.tsv")).read().splitlines()[1:]]
    assert ids == [[str(i), f"q{i:03d}"] for i in range(40)], "rows numbered across shards, in input order"
    for name in ("layer_1.npy", "layer_2.npy"):
        ours, expected = np.load(os.path.join(gathered, name)), np.load(os.path.join(whole, name))
        assert ours.shape == (40, 32), ours.shape
        diff = float(np.abs(ours - expected).max())
        assert diff <= TOLERANCE, f"{name}: max |diff| {diff} against one CLI run"

    # A finished shard is not redone: with the gathered output and one shard's result gone, only
    # that shard runs again (and its CLI run finds its rows already written).
    os.remove(os.path.join(tmp, "out", "embed", "0001.done"))
    os.remove(os.path.join(gathered, "ids.tsv"))
    snakemake(tmp, config, env)
    assert calls(log) == ["0000", "0001", "0001", "0002", "0002", "0003"], calls(log)
    print("embed workflow: 4 shards gathered equal one run; a failed shard retried; finished shards kept")

    # The picture: UMAP of the gathered layer, coloured by a label file's column.
    labels = os.path.join(tmp, "labels.tsv")
    with open(labels, "w") as handle:
        handle.write("id\tgroup\n" + "".join(f"q{i:03d}\t{'short' if i % 2 else 'long'}\n" for i in range(40)))
    png = os.path.join(tmp, "umap.png")
    run([sys.executable, os.path.join(ROOT, "scripts", "plot_embeddings.py"), "--dir", gathered, "--matrix",
         "layer_2.npy", "--labels", labels, "--label-column", "group", "--out", png])
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n", "a PNG"
    assert os.path.getsize(png) > 10_000, os.path.getsize(png)
    print("plot_embeddings.py: UMAP PNG written")


def test_predict(tmp):
    rng = random.Random(11)
    batch = os.path.join(tmp, "batch.tsv")
    with open(batch, "w") as handle:
        handle.write("id\tdna\trna\tprotein\n")
        for i in range(6):
            rna = "".join(rng.choice("ACGT") for _ in range(rng.randint(30, 200)))
            protein = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(rng.randint(10, 60)))
            handle.write(f"t{i}\t\t{rna}\t{protein}\n")
    config = {"isoformer": CLI, "weights": WEIGHTS, "input": batch, "task": "predict", "shards": 3, "out": "pred"}
    snakemake(tmp, config, dict(os.environ))
    whole = os.path.join(tmp, "whole.tsv")
    run([CLI, "predict", "--weights", WEIGHTS, "--batch", batch, "--out", whole])
    ours = open(os.path.join(tmp, "pred", "predictions.tsv")).read().splitlines()
    expected = open(whole).read().splitlines()
    assert ours[0] == expected[0] and len(ours) == 7, ours[:1]
    for a, b in zip(ours[1:], expected[1:]):
        a, b = a.split("\t"), b.split("\t")
        assert a[0] == b[0]
        diff = max(abs(float(x) - float(y)) for x, y in zip(a[1:], b[1:]))
        assert diff <= TOLERANCE, f"{a[0]}: max |diff| {diff}"
    print("predict workflow: 3 shards gathered equal one batch run")


def test_parquet(tmp):
    """The CLI's Parquet table, read by pyarrow (not the crate that wrote it), holds the .npy rows."""
    import pyarrow.parquet as pq

    rng = random.Random(5)
    fasta = os.path.join(tmp, "proteins.fa")
    with open(fasta, "w") as handle:
        for i in range(25):
            handle.write(f">r{i:03d}\n" + "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(rng.randint(5, 90))) + "\n")
    out = os.path.join(tmp, "table")
    weights = os.path.join(WEIGHTS, "protein")
    run([CLI, "embed", "--weights", weights, "--protein", f"@{fasta}", "--format", "parquet", "--out", out])
    table = pq.read_table(os.path.join(out, "embeddings.parquet"))
    assert table.column_names == ["row", "id", "length", "tokens", "embedding"], table.column_names
    assert str(table.schema.field("embedding").type) == "list<element: float not null>", table.schema
    assert table.column("id").to_pylist() == [f"r{i:03d}" for i in range(25)]
    matrix = np.load(os.path.join(out, "embeddings.npy"))
    assert np.array_equal(np.array(table.column("embedding").to_pylist(), dtype=np.float32), matrix)
    settings = json.loads(table.schema.metadata[b"isoformer.run"])
    assert settings == json.load(open(os.path.join(out, "run.json"))), settings
    print("parquet: pyarrow reads the table as the npy rows and ids.tsv")


if __name__ == "__main__":
    for test in (test_embed, test_predict, test_parquet):
        with tempfile.TemporaryDirectory() as tmp:
            test(tmp)

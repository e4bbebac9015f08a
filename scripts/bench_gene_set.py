"""Gene-set throughput: `isoformer embed --format npy` into a directory over N Ensembl cDNAs — the
71 human TP53/TP63/TP73 cDNAs of data/gentle_rs (median 2,404 nt, as Ensembl's protein-coding
cDNAs), cycled with distinct ids — timed end to end (load included) with peak resident memory
(/usr/bin/time -v). Prints records/s, tokens/s and the peak as JSON and a BENCHMARKS.md row.

  python3 scripts/bench_gene_set.py --weights W --records 1000 [--backend cpu|wgpu] [--batch-size 8]
"""

import argparse
import json
import os
import platform
import re
import subprocess
import time

from sequences import TP73, fasta_records

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default=os.path.join(ROOT, "target", "release", "isoformer"))
    parser.add_argument("--weights", required=True, help="an NT-v2 weight directory")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--backend", choices=["cpu", "wgpu"], default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--extra", default="", help="more embed arguments, e.g. '--layer 20 --pooling cls'")
    args = parser.parse_args()

    cdnas = []
    for gene in ("tp53", "tp63", "tp73"):
        cdnas += fasta_records(os.path.join(TP73, f"ensembl_human_{gene}_all.fasta"))
    work = os.path.join(ROOT, "target", "bench", "gene-set")
    os.makedirs(work, exist_ok=True)
    fasta = os.path.join(work, f"cdnas_{args.records}.fasta")
    with open(fasta, "w") as handle:
        for i in range(args.records):
            name, sequence = cdnas[i % len(cdnas)]
            handle.write(f">{name}_{i}\n{sequence}\n")
    out = os.path.join(work, f"out_{args.backend}_{args.records}")
    subprocess.run(["rm", "-rf", out], check=True)
    command = ["/usr/bin/time", "-v", args.cli, "embed", "--weights", args.weights, "--rna", "@" + fasta,
               "--format", "npy", "--out", out + "/", "--batch-size", str(args.batch_size), "--backend", args.backend]
    command += args.extra.split()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    rows = open(os.path.join(out, "ids.tsv")).read().splitlines()[1:]
    tokens = sum(int(r.split("\t")[3]) for r in rows)
    bases = sum(int(r.split("\t")[2]) for r in rows)
    report = {
        "records": len(rows), "bases": bases, "tokens": tokens, "seconds": round(seconds, 1),
        "records_per_s": round(len(rows) / seconds, 3), "tokens_per_s": round(tokens / seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024), "backend": args.backend, "batch_size": args.batch_size,
        "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
    }
    print(json.dumps(report))
    print(f"| {args.backend} | {len(rows)} | {bases / len(rows):,.0f} nt / {tokens / len(rows):,.0f} tokens | "
          f"{args.batch_size} | {seconds:,.0f} s | {len(rows) / seconds:.3f} | {tokens / seconds:,.0f} | "
          f"{peak_kib / 1024:,.0f} MiB |")


if __name__ == "__main__":
    main()

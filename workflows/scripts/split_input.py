"""Cuts the workflow's input into contiguous shards, so the gathered output keeps the input's order.

FASTA (--kind fa): shards of about equal total sequence length (two streaming passes; no record is
held longer than it is read). A predict batch TSV (--kind tsv): shards of about equal row counts,
each with the header. A shard may be empty when there are fewer records than shards.
"""

import argparse


def fasta_records(path):
    """Yields (header line, sequence lines) per record, streaming."""
    header, lines = None, []
    with open(path) as handle:
        for line in handle:
            if line.startswith(">"):
                if header is not None:
                    yield header, lines
                header, lines = line, []
            elif header is not None:
                lines.append(line)
    if header is not None:
        yield header, lines


def split_fasta(path, outputs):
    total = sum(sum(len(l.strip()) for l in lines) for _, lines in fasta_records(path))
    handles = [open(o, "w") for o in outputs]
    done, shard = 0, 0
    for header, lines in fasta_records(path):
        # The record goes to the shard its first base falls in, by cumulative length.
        shard = min(len(outputs) - 1, done * len(outputs) // max(total, 1))
        handles[shard].write(header)
        handles[shard].writelines(lines)
        done += sum(len(l.strip()) for l in lines)
    for handle in handles:
        handle.close()


def split_tsv(path, outputs):
    with open(path) as handle:
        header = handle.readline()
        rows = [line for line in handle if line.strip()]
    for index, output in enumerate(outputs):
        start, end = index * len(rows) // len(outputs), (index + 1) * len(rows) // len(outputs)
        with open(output, "w") as handle:
            handle.write(header)
            handle.writelines(rows[start:end])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=["fa", "tsv"], required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--outputs", nargs="+", required=True)
    args = parser.parse_args()
    (split_fasta if args.kind == "fa" else split_tsv)(args.input, args.outputs)


if __name__ == "__main__":
    main()

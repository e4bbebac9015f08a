"""Joins the shards' `isoformer predict --batch` TSVs in shard order (the header once; empty
shards skipped)."""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    header = None
    with open(args.out, "w") as out:
        for path in args.inputs:
            lines = open(path).read().splitlines(keepends=True)
            if not lines:
                continue
            if header is None:
                header = lines[0]
                out.write(header)
            elif lines[0] != header:
                raise SystemExit(f"{path}: another header than the first shard's")
            out.writelines(lines[1:])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the demo's example inputs from ../shared/data (when present) as examples.json:

    python3 scripts/demo_examples.py OUT_DIR [--count 3]

Each example is one TP73 isoform: the gene's GRCh38 window from the GenBank record as DNA, an
Ensembl TP73 cDNA as RNA, and as protein the GenBank translation that the cDNA's longest open
reading frame encodes (so the three inputs belong together). Prints nothing and writes nothing when
../shared/data is absent: the demo then offers its short built-in example. The data are not copied
into the repository; they are read at build time.
"""
import argparse
import json
import os
import re
import sys

from sequences import SHARED, fasta_records, tp73_genbank


BASES = "TCAG"
AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODONS = {a + b + c: AMINO[16 * i + 4 * j + k] for i, a in enumerate(BASES) for j, b in enumerate(BASES) for k, c in enumerate(BASES)}


def translate(cdna, start):
    protein = []
    for i in range(start, len(cdna) - 2, 3):
        amino = CODONS.get(cdna[i:i + 3], "X")
        if amino == "*":
            break
        protein.append(amino)
    return "".join(protein)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args()
    cdnas = os.path.join(SHARED, "ensembl_human_tp73_all.fasta")
    if not (os.path.exists(os.path.join(SHARED, "tp73.ncbi.gb")) and os.path.exists(cdnas)):
        return
    dna, translations = tp73_genbank()
    proteins = set(translations)
    examples = []
    for transcript, cdna in fasta_records(cdnas):
        cdna = cdna.upper()
        # The protein is the GenBank translation this cDNA encodes from one of its ATGs.
        encoded = {translate(cdna, m.start()) for m in re.finditer("(?=ATG)", cdna)} & proteins
        if not encoded:
            continue
        protein = max(encoded, key=len)
        examples.append({
            "name": f"TP73 {transcript} ({len(cdna):,} nt, {len(protein)} aa; gene window {len(dna):,} bp)",
            "dna": dna,
            "rna": cdna,
            "protein": protein,
        })
        if len(examples) == args.count:
            break
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "examples.json"), "w") as f:
        json.dump(examples, f)
    print(f"examples: {len(examples)} TP73 isoforms from ../shared/data", file=sys.stderr)


if __name__ == "__main__":
    main()

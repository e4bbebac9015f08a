#!/usr/bin/env python3
"""Writes the demo's example inputs, the TP73 isoforms, from the repository's data/ as examples.json:

    python3 scripts/demo_examples.py OUT_DIR

One gene window and one entry per Ensembl TP73 cDNA:
  - DNA: the gene's GRCh38 window from the NCBI GenBank record (data/gentle_rs/tp73.ncbi.gb), stored
    once (`dna`) since every isoform of the gene shares it;
  - RNA: the Ensembl cDNA (data/gentle_rs/ensembl_human_tp73_all.fasta);
  - protein: what the cDNA's coding sequence encodes. Ensembl's cDNA export carries no CDS
    coordinates, so the CDS is found as the open reading frame (ATG to stop) whose translation is one
    of the record's RefSeq /translation values; the few isoforms whose protein RefSeq does not list
    take their longest open reading frame instead, and their name says so.
Output: {"gene", "source", "dna", "isoforms": [{"id", "name", "rna", "protein"}]}.

For the variant view: tp73.gb (the GenBank record itself) and tp73.vcf, a few of the constructed
records of tests/fixtures/variants/tp73.vcf (a missense, a synonymous and a stop-gain SNV, a
splice-donor SNV, and one whose REF does not match, to show a refused record). They are examples
built on the reference, not observed variants.
"""
import argparse
import json
import os
import re
import shutil
import sys

from sequences import TP73, fasta_records, tp73_genbank


BASES = "TCAG"
AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODONS = {a + b + c: AMINO[16 * i + 4 * j + k] for i, a in enumerate(BASES) for j, b in enumerate(BASES) for k, c in enumerate(BASES)}


def translate(cdna, start):
    """The protein read from `start` up to the first stop codon (or the end of the cDNA)."""
    protein = []
    for i in range(start, len(cdna) - 2, 3):
        amino = CODONS.get(cdna[i:i + 3], "X")
        if amino == "*":
            break
        protein.append(amino)
    return "".join(protein)


def isoforms():
    """[{name, rna, protein}] for every Ensembl TP73 cDNA, and the gene window's DNA."""
    dna, translations = tp73_genbank()
    refseq = set(translations)
    entries = []
    for transcript, cdna in fasta_records(os.path.join(TP73, "ensembl_human_tp73_all.fasta")):
        cdna = cdna.upper()
        frames = {translate(cdna, m.start()) for m in re.finditer("(?=ATG)", cdna)}
        known = frames & refseq
        protein = max(known or frames, key=len)
        how = "RefSeq CDS" if known else "longest ORF"
        entries.append({
            "id": transcript,
            "name": f"TP73 {transcript} ({len(cdna):,} nt; {len(protein)} aa, {how})",
            "rna": cdna,
            "protein": protein,
        })
    return dna, entries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    args = parser.parse_args()
    dna, entries = isoforms()
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "examples.json"), "w") as f:
        json.dump({
            "gene": "TP73",
            "source": "NCBI GenBank NC_000001.11:3652516-3736201 (GRCh38.p14); Ensembl release 115 cDNAs",
            "dna": dna,
            "isoforms": entries,
        }, f)
    shutil.copyfile(os.path.join(TP73, "tp73.ncbi.gb"), os.path.join(args.out_dir, "tp73.gb"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    vcf = open(os.path.join(root, "tests", "fixtures", "variants", "tp73.vcf")).read().splitlines()
    keep = ("missense_snv", "synonymous_snv", "stop_gain", "donor_snv", "ref_mismatch")
    records = [line for line in vcf if not line.startswith("#") and line.split("\t")[2] in keep]
    with open(os.path.join(args.out_dir, "tp73.vcf"), "w") as f:
        f.write("#CHROM\tPOS\tID\tREF\tALT\n" + "".join("\t".join(r.split("\t")[:5]) + "\n" for r in records))
    print(f"examples: {len(entries)} TP73 isoforms, gene window {len(dna):,} bp; {len(records)} example variants", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Reading the real sequences in the repository's data/ (sources in data/PROVENANCE.txt), shared by
the scripts that use them (accuracy_budget.py, demo_examples.py, check_parity_hf.py)."""
import os
import re

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
TP73 = os.path.join(DATA, "gentle_rs")


def fasta_records(path):
    """[(id, sequence)] of a FASTA file, in file order (the id is the header's first word)."""
    records = []
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            records.append((line[1:].split()[0], []))
        elif records and line:
            records[-1][1].append(line)
    return [(name, "".join(lines)) for name, lines in records]


def tp73_genbank():
    """The TP73 GenBank record: (the gene window's DNA, upper case; the CDS translations, in order)."""
    text = open(os.path.join(TP73, "tp73.ncbi.gb")).read()
    dna = re.sub(r"[^ACGTN]", "", text.split("ORIGIN", 1)[1].upper())
    proteins = [re.sub(r"\s", "", p) for p in re.findall(r'/translation="([^"]+)"', text)]
    return dna, proteins

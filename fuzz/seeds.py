#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into fuzz/corpus/<target>/seed-*: small valid (and
nearly valid) inputs of each format, so the fuzzers start inside the parsers. The corpus the long
runs grow from them is committed beside them (FUZZING.md).

    python3 fuzz/seeds.py
"""
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"seed-{name}"), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# A 150-bp gene on the forward strand: a two-exon mRNA with its CDS (ATG ... TAA across the
# junction), and a one-exon ncRNA on the reverse strand.
SEQUENCE = (
    "ccgtagctagctagcatcgATGGCTGCTAAAGGTacgtaagtttttttttttttcagCCTGAAGATTAAgcatgcatgc"
    "atgcatgcaaaaaaaaaaggggggggggcccccccccctttttttttttacgtacgtacgtacgtacgtac"
)
assert len(SEQUENCE) == 150, len(SEQUENCE)


def genbank_record():
    lines = [
        "LOCUS       NC_000001                150 bp    DNA     linear   CON 01-JAN-2024",
        "DEFINITION  Synthetic fuzz seed.",
        "ACCESSION   NC_000001 REGION: 1001..1150",
        "VERSION     NC_000001.11",
        "FEATURES             Location/Qualifiers",
        "     source          1..150",
        '                     /organism="Homo sapiens"',
        '                     /chromosome="1"',
        "     gene            10..120",
        '                     /gene="FUZZ1"',
        "     mRNA            join(10..34,58..120)",
        '                     /gene="FUZZ1"',
        '                     /transcript_id="NM_000001.1"',
        "     CDS             join(20..34,58..69)",
        '                     /gene="FUZZ1"',
        '                     /protein_id="NP_000001.1"',
        '                     /translation="MAAKGPED"',
        "     ncRNA           complement(80..140)",
        '                     /gene="FUZZ1-AS"',
        '                     /transcript_id="NR_000001.1"',
        "ORIGIN",
    ]
    for start in range(0, len(SEQUENCE), 60):
        chunk = SEQUENCE[start : start + 60]
        groups = " ".join(chunk[i : i + 10] for i in range(0, len(chunk), 10))
        lines.append(f"{start + 1:>9} {groups}")
    lines.append("//")
    return "\n".join(lines) + "\n"


VCF_LINES = [
    "##fileformat=VCFv4.2",
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    "NC_000001.11\t1022\tsnv\tT\tC\t.\t.\t.",
    "chr1\t1025\t.\tC\tCA,G\t.\t.\t.",
    "1\t1034\tsplice\tTACG\tT",
    "1\t1060\t.\tC\t<DEL>",
]


def main():
    if os.path.isdir(CORPUS):
        for target in os.listdir(CORPUS):
            for name in os.listdir(os.path.join(CORPUS, target)):
                if name.startswith("seed-"):
                    os.remove(os.path.join(CORPUS, target, name))
    write("fasta", "two", ">a first\nMKV\nLA\n>b\r\nGG\r\n")
    write("fasta", "bare", "  ACGTN\n")
    write("fasta", "empty-record", ">x\n>y desc\nAC\n")
    write("protein_tokenizer", "plain", b"\x10MKTAYIAKQRQISFVKSHFSRQ")
    write("protein_tokenizer", "ambiguous", b"\x3fXBZUOmk.-")
    write("nucleotide_tokenizer", "kmers", b"\x0aACGTACGTACGTNNacgu")
    write("nucleotide_tokenizer", "iupac", b"\xe0ACGTRYKMSWBDHVN")
    write("dna_one_hot", "plain", b"\x07ACGTNacgtn")
    write("dna_one_hot", "crop", b"\xc3ACGTRYACGTACGT")
    tiny = os.path.join(ROOT, "weights", "isoformer-tiny-random")
    for part in ["protein", "rna", "dna", "aggregator"]:
        with open(os.path.join(tiny, part, "manifest.json"), "rb") as f:
            write("manifest", part, f.read())
    with open(os.path.join(tiny, "isoformer.json"), "rb") as f:
        write("manifest", "index", f.read())
    write("shard", "valid", shard())
    write("checkpoint", "safetensors", b"\x00" + shard())
    write("checkpoint", "pytorch", b"\x01" + pytorch_zip())
    record = genbank_record()
    write("genbank", "synthetic", record)
    for name in ["doc2b.gff3", "doc2b.gtf"]:
        with open(os.path.join(ROOT, "tests", "fixtures", "variants", name)) as f:
            features = f.read()
        # The fixture's region is 40 kb; the seed keeps the features and a short sequence.
        write("gff", name.replace(".", "-"), features + ">chr17\n" + SEQUENCE + "\n")
    write("gff", "synthetic-gff3", gff3())
    write("vcf", "lines", "\n".join(VCF_LINES) + "\n")
    with open(os.path.join(ROOT, "tests", "fixtures", "variants", "tp73.vcf")) as f:
        write("vcf", "tp73", f.read())
    write("variant_applier", "synthetic", record + "\n".join(VCF_LINES) + "\n")


def gff3():
    rows = [
        ("gene", 10, 120, "+", ".", "ID=gene1;Name=FUZZ1"),
        ("mRNA", 10, 120, "+", ".", "ID=tx1;Parent=gene1;transcript_id=NM_000001.1"),
        ("exon", 10, 34, "+", ".", "Parent=tx1"),
        ("exon", 58, 120, "+", ".", "Parent=tx1"),
        ("CDS", 20, 34, "+", "0", "Parent=tx1;protein_id=NP_000001.1"),
        ("CDS", 58, 69, "+", "0", "Parent=tx1;protein_id=NP_000001.1"),
    ]
    lines = ["##gff-version 3"]
    lines += [f"chr1\tfuzz\t{kind}\t{a}\t{b}\t.\t{s}\t{phase}\t{attrs}" for kind, a, b, s, phase, attrs in rows]
    return "\n".join(lines) + "\n>chr1\n" + SEQUENCE + "\n"


def pytorch_zip():
    """A PyTorch `torch.save` file (zip: data.pkl, data/0, version) of an f32 [2, 3] tensor and an
    f16 [4] one, written without torch: the pickle names torch's classes by module and name only."""
    import collections
    import io
    import pickle
    import sys
    import types
    import zipfile

    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    class HalfStorage:
        pass

    def _rebuild_tensor_v2(*args):
        return args

    for module, name, value in [(torch, "FloatStorage", FloatStorage), (torch, "HalfStorage", HalfStorage),
                                (utils, "_rebuild_tensor_v2", _rebuild_tensor_v2)]:
        value.__module__, value.__qualname__ = module.__name__, name
        setattr(module, name, value)
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils

    class Storage:
        def __init__(self, kind, key, numel):
            self.kind, self.key, self.numel = kind, key, numel

    class Tensor:
        def __init__(self, storage, size):
            self.storage, self.size = storage, size

        def __reduce__(self):
            stride = tuple(1 if i == len(self.size) - 1 else self.size[-1] for i in range(len(self.size)))  # 1-D, 2-D
            return (_rebuild_tensor_v2, (self.storage, 0, self.size, stride, False, collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", obj.kind, obj.key, "cpu", obj.numel)
            return None

    state = collections.OrderedDict(
        [("embed.weight", Tensor(Storage(FloatStorage, "0", 6), (2, 3))),
         ("embed.bias", Tensor(Storage(HalfStorage, "1", 4), (4,)))]
    )
    pickled = io.BytesIO()
    Pickler(pickled, protocol=2).dump(state)
    del sys.modules["torch"], sys.modules["torch._utils"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickled.getvalue())
        archive.writestr("archive/data/0", struct.pack("<6f", 1.0, 2.0, 3.0, 4.0, 5.0, 6.0))
        archive.writestr("archive/data/1", struct.pack("<4e", 0.5, -0.5, 1.5, -1.5))
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def shard():
    """A safetensors file with the tensors src/fuzzing.rs's `shard` target expects: a q8 [4, 16]
    matrix with its f16 block scales (blocks of 8), an f16 [16] vector and an f32 [2, 3] matrix."""
    tensors = [
        ("layer.weight", "I8", [4, 16], bytes((i * 7) % 256 for i in range(64))),
        ("layer.weight.q_scale", "F16", [8], struct.pack("<8e", *[0.01 * (i + 1) for i in range(8)])),
        ("layer.bias", "F16", [16], struct.pack("<16e", *[0.5 - i / 16 for i in range(16)])),
        ("norm.weight", "F32", [2, 3], struct.pack("<6f", *[1.0, 0.5, -0.25, 2.0, 0.0, -1.0])),
    ]
    header, offset, body = {}, 0, b""
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        body += data
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


if __name__ == "__main__":
    main()

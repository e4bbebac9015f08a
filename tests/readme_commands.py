#!/usr/bin/env python3
"""Every shell command the README shows, run as written at tiny sizes.

    python3 tests/readme_commands.py            # the CLI, workflow and plot commands (make test's native lane)
    python3 tests/readme_commands.py --demo     # `make demo`: builds the site, serves it, fetches it

Each line of the README's ```sh blocks is one command (a `#` starts a comment). In a scratch
directory that holds what the README's paths name — tiny copies of the upstream checkpoints under
hf/ (the test fixtures in Hugging Face's and enformer-pytorch's formats), the FASTA, TSV and VCF
inputs (real sequences from data/), and links to the repository's target/, workflows/, scripts/
and data/ — every command is run in order, with the CLI at target/release/isoformer on PATH as
`isoformer`, and must exit 0. Only sizes change, by the substitutions below (each with its
reason: the published-size `init`). The commands the prose shows in code spans are run too. A
command this script cannot run (it needs the network, a cluster, or serves until stopped)
is in CHECKED_ELSEWHERE with where it is checked or why it cannot be; any other command fails
the test, so a new README command is run or explained.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "isoformer")

# Size-only changes: (README text, what runs instead, why).
SUBSTITUTIONS = [
    ("--preset isoformer ", "--like weights/isoformer-tiny-random ", "the published shapes are 2.8 GB; the tiny model's shapes"),
]
SUBCOMMANDS = ["inspect", "convert", "quantize", "init", "embed", "bench", "predict", "variants"]

# Commands not run here: (pattern, where they are checked or why they cannot be).
CHECKED_ELSEWHERE = [
    (r"^make test$", "the command that runs this script"),
    (r"^make demo$", "run by `tests/readme_commands.py --demo` at the end of `make test`"),
    (r"^npm pack www/dist$", "tests/browser/vite_app.mjs packs the package and installs the tarball"),
    (r"^npm install \./isoformer-web-[0-9.]+\.tgz$", "tests/browser/vite_app.mjs (the tarball's name is checked below)"),
    (r"^npm install isoformer-web$", "the package is not on the npm registry yet"),
    (r"^git clone https://huggingface\.co/\S+ hf/\S+$", "needs the network; its hf/ directory is made here from the fixtures"),
    (r"^git lfs install$", "needs git-lfs and the network"),
    (r"^cargo install --path \. --features cli$", "`make test` builds the same binary (make cli)"),
    (r"^python3 -m http\.server", "serves until stopped (make demo's `serve` runs it, --demo)"),
    (r"^snakemake .*--profile workflows/profiles/(slurm|kubernetes)", "needs a cluster; the profile must exist (checked below)"),
    (r"^isoformer <command> --help$", "a template: every subcommand's --help is run here"),
]


def readme_commands(readme):
    """The commands of every ```sh block, in order (comments and blank lines dropped), then those
    the prose shows in code spans: `isoformer` with a subcommand and arguments, `make <target>`,
    `scripts/….py …`, and the install commands (`isoformer predict` alone is a name, not a command)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            if line:
                commands.append(line)
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        words = span.split()
        if (words[0] == "isoformer" and len(words) >= 3) or (words[0] == "make" and len(words) == 2) or re.match(r"^scripts/\S+\.py ", span) \
                or words[0] in ("npm", "cargo", "snakemake", "git") or span.startswith("python3 "):
            commands.append(span)
    return commands


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def fasta_records(path):
    records, name = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                name = line[1:].split()[0]
                records[name] = []
            elif name:
                records[name].append(line)
    return {name: "".join(lines) for name, lines in records.items()}


def fasta(records):
    return "".join(f">{name}\n{sequence}\n" for name, sequence in records)


CODONS = {a + b + c: aa for (a, b, c), aa in zip(
    ((a, b, c) for a in "TCAG" for b in "TCAG" for c in "TCAG"),
    "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG")}


def longest_orf(cdna):
    """The longest ATG…stop reading frame of a cDNA, translated."""
    best = ""
    for frame in range(3):
        protein = "".join(CODONS.get(cdna[i:i + 3], "X") for i in range(frame, len(cdna) - 2, 3))
        for piece in protein.split("*"):
            start = piece.find("M")
            if start >= 0 and len(piece) - start > len(best):
                best = piece[start:]
    return best


def genbank_origin(text):
    origin = text.split("ORIGIN")[1].split("//")[0]
    return "".join(c for c in origin if c.isalpha()).upper()


def prepare(work):
    """The scratch directory: what the README's commands name, at tiny sizes."""
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    for name in ("target", "workflows", "scripts", "data", "www"):
        os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
    # A copy: README commands write into weight directories (quantize's default FROM/DTYPE/).
    shutil.copytree(os.path.join(ROOT, "weights", "isoformer-tiny-random"), os.path.join(work, "weights", "isoformer-tiny-random"))
    for source, target in [
        ("esm2/tiny_hf", "hf/esm2_t30_150M_UR50D"),
        ("nt/tiny_hf", "hf/nucleotide-transformer-v2-250m-multi-species"),
        ("enformer/tiny_state_dict", "hf/enformer-official-rough"),
        ("isoformer/checkpoint", "hf/isoformer"),
    ]:
        shutil.copytree(os.path.join(fixtures, source), os.path.join(work, target))

    data = os.path.join(ROOT, "data")
    genbank = open(os.path.join(data, "gentle_rs", "tp73.ncbi.gb")).read()
    region = genbank_origin(genbank)
    tp73 = fasta_records(os.path.join(data, "gentle_rs", "ensembl_human_tp73_all.fasta"))
    proteins = {}
    for name, cdna in tp73.items():
        protein = longest_orf(cdna)
        if 50 <= len(protein) <= 1024:
            proteins[name] = protein
    isoforms = list(proteins)[:6]
    write(os.path.join(work, "window.fasta"), fasta([("TP73_window", region)]))
    write(os.path.join(work, "tp73_window.fasta"), fasta([("TP73_window", region)]))
    write(os.path.join(work, "transcript.fasta"), fasta([(isoforms[0], tp73[isoforms[0]])]))
    write(os.path.join(work, "protein.fasta"), fasta([(isoforms[0], proteins[isoforms[0]])]))
    write(os.path.join(work, "tp73_isoforms.fasta"), fasta([(i, tp73[i]) for i in isoforms]))
    write(os.path.join(work, "tp73_proteins.fasta"), fasta([(i, proteins[i]) for i in isoforms]))
    write(os.path.join(work, "transcripts.fasta"), fasta([(i, tp73[i]) for i in isoforms]))
    write(os.path.join(work, "cdnas.fasta"), fasta([(i, tp73[i]) for i in isoforms]))
    write(os.path.join(work, "proteins.fasta"), fasta([(i, proteins[i]) for i in isoforms]))
    write(os.path.join(work, "transcripts.tsv"), "id\tdna\trna\tprotein\n"
          + f"{isoforms[0]}\t@window.fasta\t@transcript.fasta\t@protein.fasta\n"
          + f"{isoforms[1]}\t\t{tp73[isoforms[1]][:600]}\t{proteins[isoforms[1]]}\n")
    write(os.path.join(work, "biotypes.tsv"), "id\tbiotype\n" + "".join(f"{i}\t{'coding' if n % 2 else 'other'}\n" for n, i in enumerate(isoforms)))
    shutil.copy(os.path.join(fixtures, "variants", "tp73.vcf"), os.path.join(work, "tp73.vcf"))
    shutil.copy(os.path.join(fixtures, "variants", "doc2b.gff3"), os.path.join(work, "genes.gff3"))
    shutil.copy(os.path.join(data, "pyfaidx", "chr17.hg19.part.fa"), os.path.join(work, "region.fa"))
    write(os.path.join(work, "patient.vcf"), "chr17\t31240\tmissense\tT\tG\nchr17\t31230\tinframe\tATGC\tA\n")
    tp53 = fasta_records(os.path.join(data, "gentle_rs", "ensembl_human_tp53_all.fasta"))
    p53 = next(p for p in map(longest_orf, tp53.values()) if p.startswith("MEEPQSDPSV") and len(p) == 393)
    write(os.path.join(work, "tp53.fasta"), fasta([("P53", p53)]))


def substituted(command):
    for text, replacement, _ in SUBSTITUTIONS:
        command = command.replace(text, replacement)
    return command


def static_checks(command):
    """What can be checked of a command that is not run here."""
    match = re.match(r"^npm install \./isoformer-web-([0-9.]+)\.tgz$", command)
    if match:
        version = json.load(open(os.path.join(ROOT, "www", "package.json")))["version"]
        assert match.group(1) == version, f"{command}: npm pack names the tarball isoformer-web-{version}.tgz"
    match = re.search(r"--profile (workflows/profiles/\S+)", command)
    if match:
        assert os.path.isdir(os.path.join(ROOT, match.group(1))), f"{command}: no {match.group(1)}"


def run_commands(readme):
    commands = readme_commands(readme)
    assert len(commands) >= 20, f"only {len(commands)} commands found in the README's sh blocks"
    work = tempfile.mkdtemp(prefix="isoformer-readme-")
    try:
        prepare(work)
        bin_dir = os.path.join(work, ".bin")
        os.makedirs(bin_dir)
        os.symlink(CLI, os.path.join(bin_dir, "isoformer"))
        env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.path.dirname(sys.executable), os.environ["PATH"]]), PWD=work)
        ran, elsewhere = 0, []
        for command in commands:
            reason = next((why for pattern, why in CHECKED_ELSEWHERE if re.search(pattern, command)), None)
            if reason:
                static_checks(command)
                elsewhere.append((command, reason))
                continue
            if not re.match(r"^(isoformer|snakemake|(python3 )?scripts/\S+\.py|make) ", command):
                raise AssertionError(f"the README shows a command this test neither runs nor explains: {command}")
            if command.startswith("make "):
                # A make target other than demo and test: it exists and its recipe is what runs.
                target = command.split()[1:]
                subprocess.run(["make", "-n", "-C", ROOT, *target], check=True, stdout=subprocess.DEVNULL)
                ran += 1
                continue
            actual = re.sub(r"^(python3 )?scripts/", f"{sys.executable} scripts/", substituted(command))
            started = time.time()
            result = subprocess.run(["bash", "-c", actual], cwd=work, env=env, capture_output=True, text=True, timeout=900)
            print(f"[{time.time() - started:5.1f} s] {actual}", flush=True)
            if result.returncode != 0:
                raise AssertionError(f"README command failed ({result.returncode}): {actual}\n{result.stderr[-4000:]}")
            ran += 1
        for subcommand in SUBCOMMANDS:
            subprocess.run([CLI, subcommand, "--help"], check=True, stdout=subprocess.DEVNULL)
        for command, reason in elsewhere:
            print(f"[not run here] {command}  — {reason}")
        print(f"README commands: {ran} run, {len(elsewhere)} checked elsewhere (listed above)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_demo():
    """`make demo` as a newcomer runs it: it installs what it lacks, builds the site and serves it
    on PORT; the page, the wasm module and the tiny model's index must be served."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(["make", "-C", ROOT, "demo", f"PORT={port}"], start_new_session=True)
    try:
        deadline = time.time() + 1500
        while True:
            assert process.poll() is None, f"make demo ended with {process.returncode} before serving"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                break
            except OSError:
                assert time.time() < deadline, "make demo did not serve within 25 min"
                time.sleep(2)
        for path in ["", "index.html", "pkg/isoformer_bg.wasm", "weights/isoformer-tiny-random/isoformer.json", "models.json"]:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=30).read()
            assert body, f"make demo serves /{path} empty"
        print(f"make demo: served the site, its wasm module and the tiny model on port {port}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--demo", action="store_true", help="run `make demo` and fetch what it serves")
    args = parser.parse_args()
    if args.demo:
        run_demo()
        return
    with open(os.path.join(ROOT, "README.md")) as f:
        run_commands(f.read())


if __name__ == "__main__":
    main()

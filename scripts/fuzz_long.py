#!/usr/bin/env python3
"""The fuzz targets' long runs: cargo-fuzz (libFuzzer, coverage-guided) on each target of
fuzz/fuzz_targets for a number of executions, then the corpus minimised; the counts go into
FUZZING.md's results table. Needs the nightly toolchain and cargo-fuzz (`make fuzz` installs
cargo-fuzz into .tools).

    python3 scripts/fuzz_long.py [--runs 10000000] [--jobs 2] [target ...]

A crash stops the run with libFuzzer's report; the input is in fuzz/artifacts/<target>/ (add it
to fuzz/corpus/<target>/ once fixed: tests/fuzz.rs replays the corpus in `make test`).
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZING_MD = os.path.join(ROOT, "FUZZING.md")
BEGIN, END = "<!-- fuzz-results:begin -->", "<!-- fuzz-results:end -->"
# Release-like build of the parsers, unoptimised Burn (fuzz/Cargo.toml); no sanitizer: the code
# under test is safe Rust, so what libFuzzer looks for is a panic, an abort, a leak of time or memory.
CARGO_FUZZ = ["cargo", "+nightly", "fuzz"]
BUILD_FLAGS = ["--dev", "-s", "none", "--target-dir", "fuzz/target"]
# Coverage counters only in the crates that read the input (fuzz/instrument-parsers.sh).
ENV = dict(os.environ, RUSTC_WRAPPER=os.path.join(ROOT, "fuzz", "instrument-parsers.sh"))


def targets():
    return sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "fuzz", "fuzz_targets")))


def run_target(target, runs, jobs):
    corpus = os.path.join(ROOT, "fuzz", "corpus", target)
    before = len(os.listdir(corpus))
    started = time.time()
    per_job = runs // jobs
    # No -max_len: libFuzzer's own (the largest corpus input, at least 4,096 bytes). With 64 KiB the
    # inputs grew to hundreds of records, and a reader's time per execution grows with its input.
    args = CARGO_FUZZ + ["run", *BUILD_FLAGS, target, corpus, "--",
                         f"-runs={per_job}", "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"]
    if jobs > 1:
        args += [f"-jobs={jobs}", f"-workers={jobs}"]
    result = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True)
    seconds = time.time() - started
    log = result.stdout + result.stderr
    if jobs > 1:
        # Each job writes fuzz-<n>.log in the working directory, which libFuzzer also copies to its
        # stderr when the job ends (so the log above already holds each job's count once).
        for n in range(jobs):
            path = os.path.join(ROOT, f"fuzz-{n}.log")
            if os.path.exists(path):
                os.remove(path)
    executed = sum(int(n) for n in re.findall(r"stat::number_of_executed_units:\s+(\d+)", log))
    if result.returncode != 0:
        sys.stderr.write(log[-6000:])
        raise SystemExit(f"fuzz target {target} failed (exit {result.returncode}); see fuzz/artifacts/{target}/")
    # cmin keeps inputs by coverage under hash names: the seeds and the regression inputs (whose
    # names tests/fuzz.rs and FUZZING.md use) are put back as they were.
    named = {}
    for name in os.listdir(corpus):
        if name.startswith(("seed-", "regression-")):
            with open(os.path.join(corpus, name), "rb") as f:
                named[name] = f.read()
    subprocess.run(CARGO_FUZZ + ["cmin", *BUILD_FLAGS, target, corpus], cwd=ROOT, env=ENV, check=True, capture_output=True)
    for name, data in named.items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(data)
    after = len(os.listdir(corpus))
    return {"target": target, "executions": executed, "seconds": seconds, "corpus": after, "new": after - before}


def write_results(rows, runs):
    with open(FUZZING_MD) as f:
        text = f.read()
    existing = {}
    if BEGIN in text:
        table = text.split(BEGIN)[1].split(END)[0]
        for line in table.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 5 and cells[0] not in ("target", "---") and not cells[0].startswith("-"):
                existing[cells[0]] = line
    for row in rows:
        existing[row["target"]] = (
            f"| {row['target']} | {row['executions']:,} | {row['seconds'] / 60:.1f} | {row['corpus']} | 0 |"
        )
    lines = ["| target | executions | minutes | corpus inputs (minimised) | crashes |", "|---|---:|---:|---:|---:|"]
    lines += [existing[name] for name in sorted(existing)]
    section = f"{BEGIN}\n" + "\n".join(lines) + f"\n{END}"
    if BEGIN in text:
        text = text.split(BEGIN)[0] + section + text.split(END)[1]
    else:
        text += "\n" + section + "\n"
    with open(FUZZING_MD, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--runs", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    chosen = args.targets or targets()
    rows = []
    for target in chosen:
        row = run_target(target, args.runs, args.jobs)
        print(f"{target}: {row['executions']:,} executions in {row['seconds']:.0f} s, corpus {row['corpus']}",
              flush=True)
        rows.append(row)
        write_results(rows, args.runs)


if __name__ == "__main__":
    main()

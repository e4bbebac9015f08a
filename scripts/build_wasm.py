#!/usr/bin/env python3
"""Builds the wasm package and the static demo site as wasm-pack.toml describes.

    python3 scripts/build_wasm.py [--opt dev|dist]

Steps: cargo build (wasm32) -> wasm-bindgen -> wasm-opt (profile `dist`) -> copy the npm package's files, the
demo site and its weight directories into the site's out_dir (the package root), with models.json
and examples.json. Tools come from .tools/bin and node_modules/.bin
(`make setup-wasm` installs them).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command, **kwargs):
    started = time.time()
    print("+", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, cwd=ROOT, **kwargs)
    print(f"  ({time.time() - started:.1f} s)", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opt", choices=["dev", "dist"], default="dev")
    args = parser.parse_args()
    with open(os.path.join(ROOT, "wasm-pack.toml"), "rb") as f:
        recipe = tomllib.load(f)
    env = dict(os.environ, PATH=os.pathsep.join([os.path.join(ROOT, ".tools", "bin"), os.environ["PATH"]]))

    build = recipe["build"]
    command = ["cargo", "build", "--lib", "--target", build["target"], "--profile", build["profile"]]
    if build["features"]:
        command += ["--features", ",".join(build["features"])]
    run(command, env=env)
    artifact = os.path.join(ROOT, "target", build["target"], build["profile"], build["artifact"] + ".wasm")

    bindgen = recipe["bindgen"]
    out_dir = os.path.join(ROOT, bindgen["out_dir"])
    shutil.rmtree(out_dir, ignore_errors=True)
    run(["wasm-bindgen", "--target", bindgen["target"], "--out-dir", out_dir, "--out-name", bindgen["out_name"], artifact], env=env)

    opt = recipe["wasm-opt"]
    profile = opt["profiles"][args.opt]
    wasm = os.path.join(out_dir, bindgen["out_name"] + "_bg.wasm")
    if profile["enabled"]:
        run([os.path.join(ROOT, opt["binary"]), *profile["args"], wasm, "-o", wasm], env=env)
    print(f"wasm: {os.path.getsize(wasm):,} bytes", file=sys.stderr)

    site = recipe["site"]
    site_out = os.path.join(ROOT, site["out_dir"])
    for name in site["package_files"] + site["static_files"]:
        os.makedirs(os.path.dirname(os.path.join(site_out, name)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, site["static_dir"], name), os.path.join(site_out, name))
    models = []
    for model in site["models"]:
        target = os.path.join(site_out, model["dir"])
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, model["dir"]), target)
        models.append({"label": model["label"], "url": model["dir"].rstrip("/") + "/"})
    with open(os.path.join(site_out, "models.json"), "w") as f:
        json.dump(models, f, indent=1)
    run([sys.executable, os.path.join(ROOT, "scripts", "demo_examples.py"), os.path.join(site_out, "examples")])
    print(f"site: {site_out}", file=sys.stderr)


if __name__ == "__main__":
    main()

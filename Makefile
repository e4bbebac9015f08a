# isoformer-web: the two commands a newcomer runs are `make demo` and `make test` (see README.md).
# Both install what they need: Debian packages (as root, or through sudo), the wasm32 target,
# wasm-bindgen-cli pinned to Cargo.lock's wasm-bindgen, into .tools/.

SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PORT ?= 8080

.PHONY: fuzz demo setup-demo test-demo test-readme test test-lane-native test-lane-web test-lane-web-1 test-lane-web-2 test-web-1 test-web-2 lint fmt workflow-env test-workflow check-self-contained setup setup-system setup-wasm setup-node wasm dist serve test-native test-web cli bench-compare weights gpu-report gpu-bundle

## The demo site (and the npm package, www/dist) on the tiny random-weight IsoFormer, served on
## http://127.0.0.1:$(PORT)/. Installs what it needs: Python 3 (Debian's, when absent), the wasm32
## target and wasm-bindgen-cli (the site's build needs no Node.js: `dist`'s wasm-opt is skipped).
demo: setup-demo setup-wasm wasm serve

setup-demo:
	scripts/install_system.sh python3

## Every test: formatting and lints, native (CPU and wgpu on lavapipe) and in headless Chromium on WebGPU.
## Clippy lints inside the test builds: clippy-driver compiles this crate (what `cargo clippy` runs, there
## in check mode), warnings as errors, so the dependencies are built once for tests and lints alike
## instead of once more in check mode per target (`make lint` is the separate pass). Each step's time
## is printed, "(N s)".
## Two lanes at once, each line prefixed with its lane: the native build and tests (then the
## workflow), and the wasm tools, build and browser tests. Much of each leaves a core idle (lavapipe and
## SwiftShader passes, single-threaded wasm on the CPU fallback, wasm-opt, linking), which the
## other lane fills. Each lane's make is a fresh one (no MAKEFLAGS): cargo then uses both cores
## rather than sharing one job slot per lane through make's jobserver. The two lanes' cargo builds
## still run one after the other (cargo locks target/release, the host's build directory, for the
## wasm32 build too); the web lane splits in two once the site is built (test-web).
test: export RUSTC_WORKSPACE_WRAPPER = clippy-driver
test: export CLIPPY_ARGS = -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
test: export TIMEFORMAT = (%0R s)
test: check-self-contained setup-system fmt
	time $(MAKE) --no-print-directory -j2 test-lane-native test-lane-web
	time $(MAKE) --no-print-directory test-demo

## `make demo` as the README shows it, once the lanes are done (it rebuilds www/dist, which the
## browser tests read): installs what it lacks, builds the site, serves it; the page is fetched.
test-demo:
	python3 tests/readme_commands.py --demo

## Every other command of the README's sh blocks, run at tiny sizes (tests/readme_commands.py).
test-readme: workflow-env cli
	time PATH=$(WORKFLOW_VENV)/bin:$$PATH python tests/readme_commands.py

LANE_native := test-native test-workflow test-readme
LANE_web := test-web
LANE_web-1 := test-web-1
LANE_web-2 := test-web-2
test-lane-native test-lane-web test-lane-web-1 test-lane-web-2: test-lane-%:
	set -o pipefail; env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory $(LANE_$*) 2>&1 | sed -u 's/^/[$*] /'

## rustfmt (rustfmt.toml) and clippy with warnings as errors, natively (with the CLI) and for wasm32.
lint: fmt setup-wasm
	cargo clippy --release --features cli --all-targets -- -D warnings
	cargo clippy --release --target wasm32-unknown-unknown --all-targets -- -D warnings

fmt:
	rustup component add rustfmt clippy
	cargo fmt --check

## A clone has nothing beside it: no tracked file but Markdown may name the workplace's shared folder (data/ holds the
## real sequences and configuration files, with data/PROVENANCE.txt).
check-self-contained:
	@if git grep -n -E '\.\./shared|shared/(data|reference)' -- ':!*.md'; then \
	  echo "error: the files above name the shared folder beside the checkout; copy what they need into the repository" >&2; exit 1; \
	fi

setup: setup-system setup-wasm

setup-system:
	scripts/install_system.sh python3 node chromium chromedriver lavapipe

setup-wasm:
	rustup target add wasm32-unknown-unknown
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into $(TOOLS)"; \
	  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS); \
	fi

wasm:
	python3 scripts/build_wasm.py --opt dev

## A size-optimised build (npm binaryen's wasm-opt; Debian's binaryen 108 breaks the module).
dist: setup-wasm setup-node
	python3 scripts/build_wasm.py --opt dist

serve:
	@echo "isoformer-web demo: http://127.0.0.1:$(PORT)/   (Ctrl-C stops it)"
	python3 -m http.server $(PORT) --bind 127.0.0.1 --directory www/dist

test-native:
	time cargo test --release --features cli

# The site is built first (`make dist`: its wasm-opt, one thread, overlaps the native lane's tests);
# then the tests run in two sub-lanes at once, each mostly one core of SwiftShader or of wasm on the
# CPU (one after the other, they left a core idle for the last half hour of `make test`), split so
# that each takes about as long (≈ 12 and 13 min built, idle machine):
#  web-1: the wasm test module in headless Chromium (wasm-bindgen-test-runner), then the weight
#         cache, bad-input and variant suites and the README's JavaScript example;
#  web-2: the package API, faults, demo and Vite suites.
test-web: setup-wasm setup-node dist cli
	$(MAKE) --no-print-directory -j2 test-lane-web-1 test-lane-web-2

# wasm-bindgen-test-runner gives the whole browser run 20 s and chromedriver 5 s by default;
# SwiftShader on 2 cores needs more (full-length Enformer passes keep the page busy for tens of
# seconds, during which a webdriver call can wait; the suite takes a few minutes).
# The suites run on the built site — the size-optimised module the package publishes — with
# playwright-core driving Debian's chromium (no browser download): the
# weight loader's cache and progress events, the npm package's API (worker, errors, CPU fallback,
# device loss), the bad-input table (tests/fixtures/bad_input.json) through it, its variant scoring
# against the native CLI, the demo end to end against the native CLI, the package bundled by Vite
# (and type-checked), and faults and long use (a download cut mid-shard, the storage quota reached,
# two pages loading at once, the device lost mid-prediction, 100 predictions with memory bounded).
# What is not WebGPU's runs on the package's CPU fallback: on SwiftShader each Enformer pass over
# 196,608 bp (every load, every DNA prediction) takes ≈ 100 s (CONTRIBUTING.md, Tests).
test-web-1:
	time CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=1800 WASM_BINDGEN_TEST_DRIVER_TIMEOUT=300 \
	  cargo test --release --target wasm32-unknown-unknown --test web
	time node tests/browser/weights_cache.mjs www/dist
	time node tests/browser/bad_input.mjs www/dist
	time node tests/browser/variants.mjs www/dist
	time node tests/browser/readme_example.mjs www/dist

test-web-2:
	time node tests/browser/package_api.mjs www/dist
	time node tests/browser/faults.mjs www/dist
	time node tests/browser/demo_e2e.mjs www/dist
	time node tests/browser/vite_app.mjs www/dist

## Side-by-side benchmark (ESM-2, NT-v2 or the Enformer trunk, same random weights): isoformer-web
## native and in Chromium against PyTorch and ONNX Runtime Web; rewrites its section of
## BENCHMARKS.md. Needs torch + transformers (+ enformer-pytorch for Enformer); installs
## onnx/onnxscript (pip) and onnxruntime-web (npm, under target/bench). E.g.
## make bench-compare BENCH_ARGS="--model nt --size 250M --length 1536 --runs 5 --browser-backends cpu"
bench-compare: setup-node cli wasm
	python3 scripts/bench_compare.py $(BENCH_ARGS)

## The GPU report: isoformer-web native wgpu (Vulkan) vs PyTorch CUDA, side by side, written into
## BENCHMARKS.md (and $$OUT/gpu-report.md). On the GPU machine (no network, no Rust) it runs on what
## `make gpu-bundle` put in .gpu/: the stripped CLI, the Vulkan loader, enformer-pytorch.
## `make gpu-report QUICK=1` runs tiny sizes here (lavapipe; PyTorch on the CPU) to check the script.
gpu-report:
	python3 scripts/gpu_report.py $(if $(QUICK),--quick)

gpu-bundle: cli
	mkdir -p .gpu
	strip -o .gpu/isoformer target/release/isoformer
	xz -T2 -6 -f .gpu/isoformer   # 72 MB stripped → ≈11 MB: under the 64 MiB a device call carries
	cd .gpu && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2
	python3 -m pip download -q --no-deps --only-binary=:all: -d .gpu enformer-pytorch==0.8.12
	du -sh .gpu

## Snakemake, numpy, umap-learn and matplotlib (workflows/requirements.txt) in .tools/workflow-venv:
## the cluster workflow (workflows/Snakefile) and the embedding plot (scripts/plot_embeddings.py).
WORKFLOW_VENV := $(TOOLS)/workflow-venv
workflow-env:
	@[ -x $(WORKFLOW_VENV)/bin/python ] || python3 -m venv $(WORKFLOW_VENV)
	$(WORKFLOW_VENV)/bin/pip install -q -r workflows/requirements.txt

## The Snakemake workflow on the tiny model (4 shards, a failed shard retried), and the UMAP plot.
test-workflow: workflow-env cli
	time PATH=$(WORKFLOW_VENV)/bin:$$PATH python tests/workflow/test_snakemake.py

## The native CLI (the end-to-end test compares the page with it).
cli:
	cargo build --release --features cli --bin isoformer

## playwright-core (the browser tests) and binaryen's wasm-opt (`make dist`), in one install: each
## `npm install --no-save` removes what an earlier one added.
setup-node:
	@[ -d node_modules/playwright-core ] && [ -x node_modules/.bin/wasm-opt ] || \
	  npm install --no-save --no-audit --no-fund playwright-core@1.65.1 binaryen@132

## Regenerates the committed tiny IsoFormer weight directory from the synthetic whole checkpoint
## (tests/fixtures/isoformer/checkpoint, itself made of the tiny encoder and aggregator fixtures),
## with its q8 variant in q8/ (what `dtype: "q8"` loads).
weights:
	rm -rf weights/isoformer-tiny-random
	cargo run --release --features cli --bin isoformer -- convert --model isoformer --from tests/fixtures/isoformer/checkpoint --out weights/isoformer-tiny-random
	cargo run --release --features cli --bin isoformer -- quantize --from weights/isoformer-tiny-random --out weights/isoformer-tiny-random/q8 --dtype q8

## The fuzz targets' long runs (FUZZING.md): cargo-fuzz on the nightly toolchain, FUZZ_RUNS executions each
## (default 10 million); the short run is part of `make test` (tests/fuzz.rs).
FUZZ_RUNS ?= 10000000
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --root $(TOOLS)
	python3 scripts/fuzz_long.py --runs $(FUZZ_RUNS) $(FUZZ_TARGETS)

#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build (scripts/fuzz_long.py): keeps cargo-fuzz's coverage
# instrumentation on the crates that read the fuzzed bytes and drops it from the rest. libFuzzer
# scans every coverage counter after each input; Burn's, CubeCL's and wgpu's millions of
# (unoptimised) edges made that about a millisecond, the parsers' own work microseconds.
rustc="$1"
shift
name=""
previous=""
for arg in "$@"; do
  [[ "$previous" == "--crate-name" ]] && name="$arg"
  previous="$arg"
done
case "$name" in
  isoformer | noodles_* | gb_io | safetensors | serde_json | burn_store | nom | lexical* | zip | half)
    exec "$rustc" "$@" ;;
esac
args=()
for arg in "$@"; do
  case "$arg" in
    -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage* ) ;;
    *) args+=("$arg") ;;
  esac
done
exec "$rustc" "${args[@]}"

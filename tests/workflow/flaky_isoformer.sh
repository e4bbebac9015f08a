#!/usr/bin/env bash
# A stand-in for the `isoformer` CLI in the workflow test: it logs which shard each run is for, and
# the first run for shard $FAIL_SHARD fails (a lost node), so the test sees Snakemake retry it.
set -euo pipefail
shard=$(printf '%s\n' "$@" | grep -o -m1 'shards/[0-9]*' | cut -d/ -f2 || true)
echo "${shard:-none}" >> "$CALL_LOG"
if [ "${shard:-}" = "$FAIL_SHARD" ] && [ ! -e "$CALL_LOG.failed" ]; then
  touch "$CALL_LOG.failed"
  echo "simulated failure of shard $shard" >&2
  exit 1
fi
exec "$ISOFORMER_BIN" "$@"

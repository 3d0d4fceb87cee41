#!/usr/bin/env bash
# bench/segments on a private redis-server: membership updates on the ingest path (with and without segments, same
# run), and a new segment evaluated over M stored leads.
#   bench/segments/run.sh BUILD_DIR [N] [M]      (default: 200000 events, 1000000 leads)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [N] [M]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
"$BUILD/bench/bench_segments" "redis://127.0.0.1:$PORT" "${2:-200000}" "${3:-1000000}"

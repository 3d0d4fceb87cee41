#!/usr/bin/env bash
# bench/broadcast on a private redis-server: a broadcast to M leads beside the same sends made by a workflow.
#   bench/broadcast/run.sh BUILD_DIR [M]      (default: 1000000 leads)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [M]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
"$BUILD/bench/bench_broadcast" "redis://127.0.0.1:$PORT" "${2:-1000000}"

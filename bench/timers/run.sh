#!/usr/bin/env bash
# bench/timers on a private redis-server: memory per waiting enrollment, timer lateness, engine RSS.
#   bench/timers/run.sh BUILD_DIR [N] [WAIT_S]      (default: 100000 leads, 10 s wait)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [N] [WAIT_S]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
"$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" "${2:-100000}" "${3:-10}"

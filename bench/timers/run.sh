#!/usr/bin/env bash
# bench/timers on a private redis-server: memory per waiting enrollment with MEMORY_N leads waiting an hour
# (memory), firing throughput and lateness when N all fall due at once (burst), then lateness while STEADY_N wait
# and timers fall due at a steady RATE (steady).
#   bench/timers/run.sh BUILD_DIR [N] [WAIT_S] [STEADY_N] [RATE] [WORKERS] [MEMORY_N]
#   (default: 100000 leads, 10 s wait; steady: 1000000 waiting at 20000/s, 2 workers; memory: 1000000)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [N] [WAIT_S] [STEADY_N] [RATE] [WORKERS]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
"$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" memory "${7:-1000000}" 3600
"$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" "${2:-100000}" "${3:-10}"
"$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" steady "${4:-1000000}" "${5:-20000}" "${6:-2}"

#!/usr/bin/env bash
# bench/timers on a private redis-server: memory per waiting enrollment with MEMORY_N leads waiting an hour
# (memory), firing throughput and lateness when N all fall due at once (burst), then lateness while STEADY_N wait
# and timers fall due at a steady RATE (steady).
#   bench/timers/run.sh BUILD_DIR [N] [WAIT_S] [STEADY_N] [RATE] [WORKERS] [MEMORY_N]
#   (default: 100000 leads, 10 s wait; steady: 1000000 waiting at 20000/s, 3 runs; workers, in the burst and the
#   steady runs: the machine's cores; memory: 1000000)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [N] [WAIT_S] [STEADY_N] [RATE] [WORKERS]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
"$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" memory "${7:-1000000}" 3600
"$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" "${2:-100000}" "${3:-10}" "${6:-$(nproc)}"
# Lateness is queueing on shared cores, and these machines are noisy: three steady runs, the one with the median
# p99 printed whole (its goal line included), the others' p99 beside it.
steady=()
for _ in 1 2 3; do
  steady+=("$("$BUILD/bench/bench_timers" "redis://127.0.0.1:$PORT" steady "${4:-1000000}" "${5:-20000}" "${6:-$(nproc)}")")
done
p99() { awk -F'|' '/^\|[ ]*[0-9]+ \|/ {gsub(/ /, "", $5); print $5; exit}' <<<"$1"; }
median=$(for i in 0 1 2; do echo "$(p99 "${steady[$i]}") $i"; done | sort -n | sed -n 2p | cut -d' ' -f2)
echo "${steady[$median]}"
echo
echo "3 steady runs, lateness p99 ms: $(for i in 0 1 2; do p99 "${steady[$i]}"; done | paste -sd, | sed 's/,/, /g') (the run above is the median)"

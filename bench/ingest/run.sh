#!/usr/bin/env bash
# bench/ingest on a private redis-server: nurture's events/s against redis-benchmark's pipelined XADD ceiling.
#   bench/ingest/run.sh BUILD_DIR [N]      (default: 200000 events)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [N]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${2:-200000}
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
ceiling=$(redis-benchmark -p "$PORT" -P 64 -n "$N" -q XADD benchstream '*' type lead.updated lead L1 2>/dev/null \
  | tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)
redis-cli -p "$PORT" del benchstream >/dev/null
ours=$("$BUILD/bench/bench_ingest" "redis://127.0.0.1:$PORT" "$N" 1)
two=$("$BUILD/bench/bench_ingest" "redis://127.0.0.1:$PORT" "$N" 2)
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
rate=$(field "$ours" events_per_s)
rate2=$(field "$two" events_per_s)
echo "bench/ingest: $N lead.updated events (attributes, N/4 leads), one engine process with 1 and with 2 workers"
echo
echo "| what | events/s | share of the ceiling |"
echo "|------|---------:|---------------------:|"
echo "| redis-benchmark XADD, pipelined 64 (ceiling) | ${ceiling%.*} | 100% |"
echo "| nurture ingest, workers: 1 (read, parse, interpret, commit, ack) | $rate | $(/usr/bin/python3 -c "print(f'{100*$rate/$ceiling:.1f}%')") |"
echo "| nurture ingest, workers: 2 | $rate2 | $(/usr/bin/python3 -c "print(f'{100*$rate2/$ceiling:.1f}%')") |"
echo
for run in "$ours" "$two"; do
  echo "workers: $(field "$run" workers): per event CPU $(field "$run" cpu_us_per_event_engine) us in the engine," \
       "$(field "$run" cpu_us_per_event_redis) us in redis-server; $(field "$run" redis_commands_per_event) Redis commands" \
       "($(field "$run" redis_top_commands_per_event))"
  echo
done
echo "workers 2 / 1: $(/usr/bin/python3 -c "print(f'{$rate2/$rate:.2f}')") (this machine: $(nproc) cores, shared with redis-server)"
echo
echo "goal: 100k events/s"

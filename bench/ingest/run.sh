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
ours=$("$BUILD/bench/bench_ingest" "redis://127.0.0.1:$PORT" "$N")
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
rate=$(field "$ours" events_per_s)
echo "bench/ingest: $N lead.updated events (attributes, N/4 leads), one engine process"
echo
echo "| what | events/s | share of the ceiling |"
echo "|------|---------:|---------------------:|"
echo "| redis-benchmark XADD, pipelined 64 (ceiling) | ${ceiling%.*} | 100% |"
echo "| nurture ingest (read, parse, interpret, commit, ack) | $rate | $(/usr/bin/python3 -c "print(f'{100*$rate/$ceiling:.1f}%')") |"
echo
echo "per event: CPU $(field "$ours" cpu_us_per_event_engine) us in the engine, $(field "$ours" cpu_us_per_event_redis) us in" \
     "redis-server; $(field "$ours" redis_commands_per_event) Redis commands ($(field "$ours" redis_top_commands_per_event))"
echo
echo "goal: 100k events/s"

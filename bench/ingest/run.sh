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
# Workers are engines in the one process (nurture.yaml's `workers`, default: the machine's cores). Each waits on
# its round trips to Redis, so with redis-server on the same cores more workers than cores keep the cores busier:
# the bench runs 1, the default and twice the default.
cores=$(nproc)
counts=$(printf '%s\n' 1 "$cores" $((2 * cores)) | awk '!seen[$0]++')
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
# Three runs each (these machines are noisy); the run with the median rate stands for its worker count.
median_run() {
  /usr/bin/python3 -c "import json,sys; r=sorted(sys.argv[1:], key=lambda s: json.loads(s)['events_per_s']); print(r[len(r)//2])" "$@"
}
runs=(); tries=()
for w in $counts; do
  three=()
  for _ in 1 2 3; do three+=("$("$BUILD/bench/bench_ingest" "redis://127.0.0.1:$PORT" "$N" "$w")"); done
  runs+=("$(median_run "${three[@]}")")
  tries+=("workers: $w: $(for t in "${three[@]}"; do field "$t" events_per_s; done | paste -sd, | sed 's/,/, /g')")
done
echo "bench/ingest: $N lead.updated events (attributes, N/4 leads), one engine process with $(echo $counts | sed 's/ /, /g') workers"
echo
echo "| what | events/s | share of the ceiling |"
echo "|------|---------:|---------------------:|"
echo "| redis-benchmark XADD, pipelined 64 (ceiling) | ${ceiling%.*} | 100% |"
best=0; best_workers=0; default_rate=0; single_rate=0
for run in "${runs[@]}"; do
  w=$(field "$run" workers); rate=$(field "$run" events_per_s)
  what="workers: $w"
  [ "$w" = 1 ] && what="$what (read, parse, interpret, commit, ack)" && single_rate=$rate
  [ "$w" = "$cores" ] && what="$what (the default: this machine's cores)" && default_rate=$rate
  echo "| nurture ingest, $what | $rate | $(/usr/bin/python3 -c "print(f'{100*$rate/$ceiling:.1f}%')") |"
  if [ "$rate" -gt "$best" ]; then best=$rate; best_workers=$w; fi
done
echo
for run in "${runs[@]}"; do
  echo "workers: $(field "$run" workers): per event CPU $(field "$run" cpu_us_per_event_engine) us in the engine," \
       "$(field "$run" cpu_us_per_event_redis) us in redis-server; $(field "$run" redis_commands_per_event) Redis commands" \
       "($(field "$run" redis_top_commands_per_event))"
  echo
done
echo "3 runs each, events/s (the table shows the median): $(printf '%s; ' "${tries[@]}" | sed 's/; $//')"
echo
echo "workers $cores / 1: $(/usr/bin/python3 -c "print(f'{$default_rate/$single_rate:.2f}')") (this machine: $cores cores, shared with redis-server)"
echo
if [ "$best" -ge 100000 ]; then verdict="met with workers: $best_workers ($best events/s)"; else verdict="not met (best: $best events/s, workers: $best_workers)"; fi
echo "goal: 100k events/s through one engine process -> $verdict"


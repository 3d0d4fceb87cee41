#!/usr/bin/env bash
# bench/commit: what a commit costs redis-server as the commit script (Lua: what a cluster runs) and as native
# commands (what one server runs). A drip of LEADS leads runs on a private redis-server under MONITOR, its engine
# asked to commit by script; its commit calls are then replayed on the same server twice, as the engine made them
# (EVALSHA) and as the same checks and writes in native commands (WATCH, HMGET/EXISTS, MULTI ... EXEC, as the store
# makes them on one server), and both replays' end states compared. Prints redis-server CPU per commit block.
#   bench/commit/run.sh BUILD_DIR [LEADS]      (default: 2000)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [LEADS]}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LEADS=${2:-2000}
. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"
capture="$BUILD/bench-commit-monitor.txt"
redis-cli -p "$PORT" monitor >"$capture" &
monitor=$!
# Every commit must be captured (the replay re-creates each lead's versions in order): wait for MONITOR to attach.
for _ in $(seq 100); do redis-cli -p "$PORT" client list | grep -q 'cmd=monitor' && break; sleep 0.05; done
drip=$(NURTURE_BENCH_COMMIT_BY_SCRIPT=1 "$BUILD/bench/bench_drip" "redis://127.0.0.1:$PORT" "$LEADS" 1000 1)
sleep 0.5
kill "$monitor"
wait "$monitor" 2>/dev/null || true
redis-cli -p "$PORT" flushall >/dev/null  # the scripts stay loaded
result=$(/usr/bin/python3 "$ROOT/bench/commit/replay.py" "$PORT" "$capture" 5)
rm -f "$capture"
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
echo "bench/commit: the commit calls of a $LEADS-lead drip ($(field "$drip" sends) sends), captured and replayed" \
     "on one redis-server: $(field "$result" blocks) commit blocks in $(field "$result" calls) calls, 5 rounds"
echo
echo "| commit | redis-server CPU us per block (median) | runs |"
echo "|---|---:|---|"
echo "| the commit script (EVALSHA; checks and writes in Lua) | $(field "$result" redis_cpu_us_per_block_script) |" \
     "$(field "$result" runs_script) |"
echo "| the same as native commands (WATCH, HMGET/EXISTS; MULTI, writes, EXEC) |" \
     "$(field "$result" redis_cpu_us_per_block_native) | $(field "$result" runs_native) |"
echo
echo "script / native: $(field "$result" script_over_native)x (both replays left the same keys and contents)"

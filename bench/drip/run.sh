#!/usr/bin/env bash
# bench/drip: nurture (with 1 and with 2 workers) vs the BullMQ peer (PEER_SRC), the same 3-step drip, on one private
# redis-server in the same run. Prints a table and the ratios, the peer's over nurture's: overhead (wall time - 2 x
# DELAY_MS, the waits both must sit out) and CPU per send (the engine process + redis-server, first XADD to last
# send), with the Redis commands nurture spends per send (those inside its Lua scripts too).
#   bench/drip/run.sh BUILD_DIR [LEADS...]      (default: 20000 100000)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [LEADS...]}" && pwd)
shift
LEADS=("$@")
[ $# -eq 0 ] && LEADS=(20000 100000)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEER_SRC=${PEER_SRC:-$ROOT/../shared/bench/peer-bullmq}
PEER=$BUILD/peer-bullmq
DELAY_MS=${DELAY_MS:-1000}

if [ ! -d "$PEER/node_modules" ]; then
  mkdir -p "$PEER"
  cp "$PEER_SRC"/package.json "$PEER_SRC"/package-lock.json "$PEER_SRC"/drip.mjs "$PEER"/
  (cd "$PEER" && npm ci --silent --no-audit --no-fund)
fi

. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"

field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
echo "bench/drip: 3-step drip (send, wait ${DELAY_MS} ms, send, wait, send), same Redis, same run"
echo
echo "| leads | engine | wall s | overhead s | sends/s | CPU us/send engine | CPU us/send Redis | Redis cmds/send |"
echo "|------:|--------|-------:|-----------:|--------:|-------------------:|------------------:|----------------:|"
ratios=()
for n in "${LEADS[@]}"; do
  ours=$("$BUILD/bench/bench_drip" "redis://127.0.0.1:$PORT" "$n" "$DELAY_MS" 1)
  two=$("$BUILD/bench/bench_drip" "redis://127.0.0.1:$PORT" "$n" "$DELAY_MS" 2)
  peer=$(cd "$PEER" && REDIS_PORT=$PORT LEADS=$n DELAY_MS=$DELAY_MS node drip.mjs)
  for run in "$ours" "$two"; do
    echo "| $n | nurture, workers: $(field "$run" workers) | $(field "$run" seconds) | $(field "$run" overhead_s) |" \
         "$(field "$run" sends_per_s) | $(field "$run" cpu_us_per_send_engine) | $(field "$run" cpu_us_per_send_redis) |" \
         "$(field "$run" redis_commands_per_send) |"
  done
  echo "| $n | BullMQ peer | $(field "$peer" seconds) | $(field "$peer" overhead_s) | $(field "$peer" sends_per_s) |" \
       "$(field "$peer" cpu_us_per_send_engine) | $(field "$peer" cpu_us_per_send_redis) | |"
  ratios+=("$(/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
cpu = lambda r: r["cpu_us_per_send_engine"] + r["cpu_us_per_send_redis"]
print(f"{ours['leads']} leads: overhead ratio {peer['overhead_s'] / max(ours['overhead_s'], 0.001):.1f}x, "
      f"CPU per send ratio {cpu(peer) / max(cpu(ours), 0.001):.1f}x (peer / nurture; goals 10x); "
      f"nurture's Redis calls per send: {json.dumps(ours['redis_top_commands_per_send'])}")
PY
)")
done
echo
for line in "${ratios[@]}"; do echo "- $line"; done

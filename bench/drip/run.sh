#!/usr/bin/env bash
# bench/drip: nurture vs the BullMQ peer (PEER_SRC), the same 3-step drip, on one private
# redis-server in the same run. Prints a table; the ratio is the peer's overhead over nurture's (overhead = wall
# time - 2 x DELAY_MS, the waits both must sit out; README, "Benchmarks").
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
echo "| leads | engine | wall s | overhead s | sends/s | overhead ratio (peer / nurture) |"
echo "|------:|--------|-------:|-----------:|--------:|--------------------------------:|"
for n in "${LEADS[@]}"; do
  ours=$("$BUILD/bench/bench_drip" "redis://127.0.0.1:$PORT" "$n" "$DELAY_MS")
  peer=$(cd "$PEER" && REDIS_PORT=$PORT LEADS=$n DELAY_MS=$DELAY_MS node drip.mjs)
  ratio=$(/usr/bin/python3 -c "print(f'{$(field "$peer" overhead_s) / max($(field "$ours" overhead_s), 0.001):.1f}x')")
  echo "| $n | nurture | $(field "$ours" seconds) | $(field "$ours" overhead_s) | $(field "$ours" sends_per_s) | $ratio |"
  echo "| $n | BullMQ peer | $(field "$peer" seconds) | $(field "$peer" overhead_s) | $(field "$peer" sends_per_s) | |"
done

#!/usr/bin/env bash
# bench/cluster: the 3-step drip of bench/drip on one redis-server and on a Redis Cluster of 3 masters (no replicas),
# all on this machine, in the same run; 2 engine workers each. Prints throughput, CPU per send of the engine process
# and of the Redis processes (summed over the masters), Redis commands per send, and what 3 machines would give.
#   bench/cluster/run.sh BUILD_DIR [LEADS]      (default: 50000)
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [LEADS]}" && pwd)
LEADS=${2:-50000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DELAY_MS=${DELAY_MS:-1000}
WORKERS=${WORKERS:-2}

. "$ROOT/bench/private_redis.sh"
start_private_redis "$BUILD"

# Three cluster-enabled redis-servers without persistence, joined with redis-cli --cluster create.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CLUSTER_DIR=$(mktemp -d)
NODES=()
for i in 1 2 3; do
  port=$(free_port)
  while [ "$port" -gt 55535 ]; do port=$(free_port); done
  mkdir -p "$CLUSTER_DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$CLUSTER_DIR/$port/nodes.conf" \
    --cluster-port $((port + 10000)) --dir "$CLUSTER_DIR/$port" --save '' --appendonly no --daemonize yes \
    --pidfile "$CLUSTER_DIR/$port/pid" --logfile "$CLUSTER_DIR/$port/log"
  NODES+=("$port")
done
stop_all() {
  for port in "${NODES[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$CLUSTER_DIR"
}
trap stop_all EXIT
for port in "${NODES[@]}"; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${NODES[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$CLUSTER_DIR/create.log" 2>&1
for _ in $(seq 100); do
  redis-cli -p "${NODES[0]}" cluster info | grep -q cluster_state:ok && break
  sleep 0.1
done
CLUSTER_URL="redis-cluster://127.0.0.1:${NODES[0]},127.0.0.1:${NODES[1]}"

field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
single=$("$BUILD/bench/bench_drip" "redis://127.0.0.1:$PORT" "$LEADS" "$DELAY_MS" "$WORKERS")
cluster=$("$BUILD/bench/bench_drip" "$CLUSTER_URL" "$LEADS" "$DELAY_MS" "$WORKERS")

echo "bench/cluster: the drip of bench/drip, $LEADS leads, workers: $WORKERS, one machine ($(nproc) cores shared by all)"
echo
echo "| Redis | wall s | sends/s | CPU us/send engine | CPU us/send Redis (all masters) | Redis cmds/send |"
echo "|-------|-------:|--------:|-------------------:|--------------------------------:|----------------:|"
for run in "single redis-server:$single" "Redis Cluster, 3 masters:$cluster"; do
  name=${run%%:\{*}
  json=${run#"$name:"}
  echo "| $name | $(field "$json" seconds) | $(field "$json" sends_per_s) | $(field "$json" cpu_us_per_send_engine) |" \
       "$(field "$json" cpu_us_per_send_redis) | $(field "$json" redis_commands_per_send) |"
done
echo
/usr/bin/python3 - "$single" "$cluster" "$(nproc)" <<'PY'
import json, sys
single, cluster, cores = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
ratio = cluster["sends_per_s"] / single["sends_per_s"]
cpu = lambda r: r["cpu_us_per_send_engine"] + r["cpu_us_per_send_redis"]
print(f"- Here the cluster gives {ratio:.2f}x the single Redis's sends/s: every process shares the same {cores} cores, "
      f"so three Redis processes add no capacity on one machine; what it shows is the cost per send on a cluster "
      f"({cpu(cluster):.1f} us of CPU, engine + Redis, against {cpu(single):.1f} on one Redis).")
# On paper: 3 machines of this size, each a master plus engines on its other cores, are bounded by CPU per send;
# the partitions split evenly, so the cost per send stays what the cluster run measured.
per_machine = cores * 1e6 / cpu(cluster)
print(f"- On paper, 3 machines like this one (a master and engine workers on each): about {3 * per_machine:,.0f} sends/s, "
      f"3x one machine's {per_machine:,.0f} (its {cores} cores / {cpu(cluster):.1f} us per send), if sends stay "
      f"CPU-bound and the partitions split evenly; the network round trips a machine apart add latency, not CPU.")
PY

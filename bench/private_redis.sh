# Sourced by the benchmark scripts: start_private_redis BUILD_DIR starts a redis-server without persistence on a
# free loopback port (the peer's README setup), sets PORT, and stops it when the script exits.
start_private_redis() {
  local build=$1
  PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$build/bench-redis-$PORT.pid" --logfile "$build/bench-redis-$PORT.log"
  trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true' EXIT
  for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

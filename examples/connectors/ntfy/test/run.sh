#!/usr/bin/env bash
# The plugin's own test: nurture validates a campaign that uses it (and reports a bad key with file:line:col), then
# the daemon loads it and a lead.created becomes one publish on a stand-in ntfy server.
#   test/run.sh PATH/TO/nurture PATH/TO/libnurture_ntfy.so
set -euo pipefail
NURTURE=$(realpath "${1:?usage: run.sh NURTURE PLUGIN}")
PLUGIN=$(realpath "${2:?usage: run.sh NURTURE PLUGIN}")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
DAEMON=""
SERVER=""
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$WORK/campaign/nurture.log" ] && cat "$WORK/campaign/nurture.log"; exit 1; }

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 "$HERE/fake_ntfy.py" "$PORT" "$WORK/published.jsonl" &
SERVER=$!

mkdir -p "$WORK/campaign/workflows" "$WORK/campaign/templates"
write_config() {
  cat > "$WORK/campaign/nurture.yaml" <<YAML
sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
tracking: { listen: "127.0.0.1:0" }
connectors:
  ntfy:
    type: plugin
    path: $PLUGIN
    base_url: "http://127.0.0.1:$PORT"
    topic: sales
    title: "New lead"
    priority: $1
YAML
}
cat > "$WORK/campaign/workflows/alert.yaml" <<'YAML'
workflow: alert
trigger: { event: lead.created }
steps:
  - id: notify
    post: { connector: ntfy, template: alert }
YAML
echo 'New lead: {{lead.first_name}} <{{lead.email}}>' > "$WORK/campaign/templates/alert.mustache"

write_config loud
if "$NURTURE" validate "$WORK/campaign" > "$WORK/bad.log" 2>&1; then fail "a bad plugin key was accepted"; fi
grep -q 'nurture.yaml:.*priority "loud" must be min, low, default, high or urgent' "$WORK/bad.log" ||
  { cat "$WORK/bad.log"; fail "the plugin's config error does not name nurture.yaml"; }

write_config high
"$NURTURE" validate "$WORK/campaign" || fail "validate"

"$NURTURE" run "$WORK/campaign" > "$WORK/campaign/nurture.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
  grep -q "nurture running" "$WORK/campaign/nurture.log" 2>/dev/null && break
  kill -0 "$DAEMON" 2>/dev/null || fail "the daemon stopped"
  sleep 0.1
done
(cd "$WORK/campaign" && "$NURTURE" emit lead.created --lead L1 --attr email=ana@example.com --attr first_name=Ana)
for _ in $(seq 100); do
  [ -s "$WORK/published.jsonl" ] && break
  sleep 0.1
done
[ -s "$WORK/published.jsonl" ] || fail "nothing was published"
/usr/bin/python3 - "$WORK/published.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 1, lines
p = lines[0]
assert p['path'] == '/sales', p
assert p['title'] == 'New lead' and p['priority'] == 'high', p
assert p['body'].strip() == 'New lead: Ana <ana@example.com>', p
assert len(p['action']) == 32, p
print('ntfy plugin: published', p['body'].strip())
PY

#!/usr/bin/env bash
# The welcome campaign end to end, as `./dev demo` runs it: a copy of this example with the waits shortened to
# seconds, the daemon with its private redis-server, three sign-ups, and the emails as they arrive.
set -euo pipefail
NURTURE=${1:?usage: demo.sh PATH/TO/nurture [WORK_DIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${2:-$(dirname "$NURTURE")/demo/welcome}
rm -rf "$WORK" && mkdir -p "$WORK" && cp -r "$HERE"/nurture.yaml "$HERE"/workflows "$HERE"/templates "$WORK"/
WORK=$(cd "$WORK" && pwd)
# 2d -> 3s and 3d -> 4s, so the demo takes seconds; everything else is the example as it is.
sed -i -e 's/wait: 2d/wait: 3s/' -e 's/wait: 3d/wait: 4s/' "$WORK/workflows/welcome.yaml"

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
bold "campaign: $WORK (waits shortened to 3s and 4s for the demo)"
"$NURTURE" validate "$WORK"

"$NURTURE" run "$WORK" >"$WORK/nurture.log" 2>&1 &
DAEMON=$!
cleanup() { kill -TERM "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q "nurture running" "$WORK/nurture.log" 2>/dev/null && break
  kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/nurture.log"; exit 1; }
  sleep 0.1
done
bold "daemon up (log: $WORK/nurture.log)"

emit() { (cd "$WORK" && "$NURTURE" emit "$@"); }
emit lead.created --lead L1 --attr email=ana@example.com --attr first_name=Ana --attr timezone=Europe/Lisbon
emit lead.created --lead L2 --attr email=zoe@example.com --attr first_name=Zoë
emit lead.created --lead L3 --attr email=sam@example.com
emit email.opened --lead L1 --prop workflow=welcome --prop step=hello
emit email.clicked --lead L1 --prop workflow=welcome --prop step=hello --prop url=https://acme.example/start
bold "emitted 3 lead.created events; waiting for 9 emails (3 now, 3 after 3s, 3 after 4s more)"

summary() {
  /usr/bin/python3 - "$1" <<'PY'
import email, email.header, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
print(f"  to={msg['To']}  subject={msg['Subject']!r}")
PY
}
START=$(date +%s)
seen=0
while [ "$seen" -lt 9 ]; do
  [ $(( $(date +%s) - START )) -gt 60 ] && { echo "timed out; log:"; cat "$WORK/nurture.log"; exit 1; }
  for f in $(ls -tr "$WORK"/outbox/*.eml 2>/dev/null); do
    [ -e "$f.shown" ] && continue
    touch "$f.shown"
    seen=$((seen + 1))
    printf '[+%2ss] %s\n' $(( $(date +%s) - START )) "$(basename "$f")"
    summary "$f"
  done
  sleep 0.2
done
rm -f "$WORK"/outbox/*.shown
bold "one of them in full:"
sed -n '1,40p' "$(ls "$WORK"/outbox/*.eml | head -1)"
bold "the funnel (nurture report):"
(cd "$WORK" && "$NURTURE" report)
cleanup
trap - EXIT
bold "done: 9 emails in $WORK/outbox, daemon and its redis-server stopped"

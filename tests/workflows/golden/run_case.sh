#!/usr/bin/env bash
# One golden case: simulate CASE/campaign on CASE/events.jsonl (with CASE/args, if any) and compare with
# CASE/expected.jsonl. A difference fails the test and shows the diff.
set -euo pipefail
NURTURE=$1
CASE=$2
ARGS=()
[ -f "$CASE/args" ] && read -r -a ARGS < "$CASE/args"
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
"$NURTURE" simulate "$CASE/campaign" --events "$CASE/events.jsonl" "${ARGS[@]}" >"$actual" 2>/dev/null
diff -u "$CASE/expected.jsonl" "$actual"

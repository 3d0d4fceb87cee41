#!/usr/bin/env bash
# Runs every fuzzer for SECONDS each (default 60) over a copy of its seed corpus, two at a time on a 2-core
# machine. A finding stops that fuzzer and leaves its crash-* file in the work folder; the script then fails.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS] [NAME...]
set -uo pipefail
build=$1
seconds=${2:-60}
shift $(( $# > 1 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$build"/tests/fuzz/*_fuzz; do names+=("$(basename "$f" _fuzz)"); done
fi
work=${NURTURE_FUZZ_WORK:-$build/fuzz-work}
jobs=${FUZZ_JOBS:-2}
mkdir -p "$work"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local name=$1
  local corpus="$work/$name/corpus"
  mkdir -p "$corpus" "$work/$name/artifacts"
  cp -n "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
  # -rss_limit_mb: a finding if one input makes a parser take this much; -max_len: 64 KiB, the event entry limit.
  "$build/tests/fuzz/${name}_fuzz" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$work/$name/artifacts/" >"$work/$name/log" 2>&1
  local status=$?
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name/log" | grep -o '[0-9]*$')
  if [ $status -eq 0 ]; then
    printf '%-12s ok    %8s runs in %ss\n' "$name" "${runs:-?}" "$seconds"
  else
    printf '%-12s FOUND something (exit %s): %s\n' "$name" "$status" "$(ls "$work/$name/artifacts" | head -1)"
    tail -40 "$work/$name/log"
  fi
  return $status
}

failed=0
pids=()
for name in "${names[@]}"; do
  run_one "$name" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit $failed

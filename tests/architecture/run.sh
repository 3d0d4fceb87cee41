#!/bin/sh
# The tree keeps its module rules, and the check would see a break: a core source that reaches an I/O header, and a
# store source that reaches the runtime above it, are both refused (exit 1: a rule broken, not a compile error).
set -eu
build=$1 source=$2
check="/usr/bin/python3 $source/tests/architecture/check_layers.py $build $source"
$check
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
refused() {  # MODULE FILE: the check must find a broken rule in FILE as a source of MODULE
  status=0
  $check --as "$1" "$2" >"$scratch/out" 2>&1 || status=$?
  if [ "$status" -ne 1 ]; then echo "FAIL: $2 as $1 gave status $status:"; cat "$scratch/out"; exit 1; fi
}
printf '#include <hiredis/hiredis.h>\n' >"$scratch/io.cpp"
refused engine/core/ "$scratch/io.cpp"
printf '#include "engine/runtime/metrics.hpp"\n' >"$scratch/upward.cpp"
refused engine/store/ "$scratch/upward.cpp"
printf '#include "engine/core/event.hpp"\n' >"$scratch/fine.cpp"
$check --as engine/store/ "$scratch/fine.cpp"
echo "module rules hold"

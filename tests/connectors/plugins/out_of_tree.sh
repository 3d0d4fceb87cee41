#!/usr/bin/env bash
# The SDK as a plugin author gets it: `cmake --install` nurture into a prefix, build examples/connectors/ntfy out of
# tree with find_package(nurture), then run the plugin's own test with the installed nurture.
#   out_of_tree.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$(realpath "$1")
SOURCE=$(realpath "$2")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
cmake -S "$SOURCE/examples/connectors/ntfy" -B "$WORK/ntfy" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$WORK/configure.log" || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/ntfy" > "$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
"$SOURCE/examples/connectors/ntfy/test/run.sh" "$WORK/prefix/bin/nurture" "$WORK/ntfy/libnurture_ntfy.so"

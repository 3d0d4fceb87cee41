#!/usr/bin/env bash
# examples/deploy: systemd accepts the unit (systemd-analyze verify, with the nurture binary of this build where
# the unit expects it, and no warning at all), and the server nurture.yaml validates with the welcome campaign.
#   tests/deploy/verify_unit.sh PATH/TO/nurture SOURCE_DIR
set -euo pipefail
NURTURE=$1
SRC=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/with-jemalloc"
sed "s|/usr/local/bin/nurture|$NURTURE|g" "$SRC/examples/deploy/nurture.service" > "$work/nurture.service"
output=$(systemd-analyze verify "$work/nurture.service" 2>&1) || { echo "$output"; exit 1; }
if echo "$output" | grep -q "nurture.service"; then
  echo "systemd-analyze warns about the unit:"; echo "$output"; exit 1
fi
# The optional allocator line, uncommented, is accepted as well, and the binary runs with it preloaded.
sed 's|^#Environment=LD_PRELOAD=|Environment=LD_PRELOAD=|' "$work/nurture.service" > "$work/with-jemalloc/nurture.service"
grep -q '^Environment=LD_PRELOAD=' "$work/with-jemalloc/nurture.service"
output=$(systemd-analyze verify "$work/with-jemalloc/nurture.service" 2>&1) || { echo "$output"; exit 1; }
if echo "$output" | grep -q "nurture.service"; then
  echo "systemd-analyze warns about the unit with jemalloc:"; echo "$output"; exit 1
fi
preload=$(sed -n 's|^Environment=LD_PRELOAD=||p' "$work/with-jemalloc/nurture.service")
mkdir -p "$work/etc"
cp -r "$SRC/examples/welcome/workflows" "$SRC/examples/welcome/templates" "$work/etc/"
cp "$SRC/examples/deploy/nurture.yaml" "$work/etc/nurture.yaml"
"$NURTURE" validate "$work/etc"
[ -f "$preload" ] || { echo "$preload: not installed (Debian's libjemalloc2)"; exit 1; }
# A sanitizer build brings its own malloc, whose runtime must load first: there the allocator cannot be swapped.
if ldd "$NURTURE" | grep -q libasan; then
  echo "ASan build: the preloaded allocator is not run"
else
  LD_PRELOAD=$preload "$NURTURE" validate "$work/etc"
fi
echo "unit verified, configuration valid"

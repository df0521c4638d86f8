#!/bin/sh
# Regenerates docs/images/report.png, the screenshot in docs/report.md: the HTML report of
# the governance example (examples/data/governance-month.json: three steps, budgets,
# anomalies, reconciliation, a scorecard and unit economics) as headless chromium draws it.
#
#   scripts/screenshot-report.sh [BUILD_DIR]    builds apportion_cli in BUILD_DIR (default build)
#   APPORTION_BIN=/path/to/apportion scripts/screenshot-report.sh    uses that binary instead
#
# Needs Debian's chromium (apt-get install chromium); APPORTION_CHROMIUM names another browser.
# The picture is the top 1100x2330 pixels of the page (header, the three steps and the
# budgets), about 300 KB; optipng, when installed, makes it smaller still.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
if [ -z "${APPORTION_BIN:-}" ]; then
  cmake -S "$root" -B "$build" >/dev/null
  cmake --build "$build" -j2 --target apportion_cli >/dev/null
  APPORTION_BIN=$build/examples/apportion
fi
browser=${APPORTION_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$browser" ]; then
  echo "screenshot-report.sh: chromium not found (apt-get install chromium)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$APPORTION_BIN" report "$root/examples/data/governance-month.json" --output "$work/report.html" \
  --title "GPU cluster showback, June 2026"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions \
  --user-data-dir="$work/profile" --force-device-scale-factor=1 --window-size=1100,2330 \
  --screenshot="$work/report.png" "file://$work/report.html" >"$work/chromium.log" 2>&1 || {
  cat "$work/chromium.log" >&2
  exit 1
}
if command -v optipng >/dev/null 2>&1; then
  optipng -quiet -o2 "$work/report.png"
fi
mkdir -p "$root/docs/images"
cp "$work/report.png" "$root/docs/images/report.png"
echo "wrote docs/images/report.png ($(wc -c <"$root/docs/images/report.png") bytes)"

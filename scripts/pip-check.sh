#!/usr/bin/env bash
# `pip install .` as a user does it, offline: a fresh virtual environment that sees Debian's
# packages (numpy, pandas), pip without build isolation or an index, then `import apportion`
# and `python -m apportion` from a folder away from the source tree (python/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
/usr/bin/python3 -m venv --system-site-packages "$venv"
APPORTION_BUILD_JOBS=${APPORTION_BUILD_JOBS:-2} "$venv/bin/pip" install --no-build-isolation --no-index . >"$venv.log" 2>&1 ||
  { tail -40 "$venv.log"; exit 1; }
spec=$PWD/examples/data/team-chargeback.json
cd "$(dirname "$venv")"
"$venv/bin/python" - "$spec" <<'PY'
import sys
import apportion
assert "site-packages" in apportion.__file__, apportion.__file__
result = apportion.run_result(sys.argv[1])
assert sum(line.cost for line in result.lines if line.step == "node-a") == 240, result.lines
print(f"pip-check: import apportion {apportion.__version__} from {apportion.__file__}")
PY
"$venv/bin/python" -m apportion --version
"$venv/bin/apportion" run "$spec" --format table >/dev/null
echo "pip-check: python -m apportion and the apportion script run the command line"
rm -rf "$(dirname "$venv")"

#!/usr/bin/env bash
# Checks that the project's copies of the shared allocation spec are in step with
# ../shared/spec: every shared case and the checker byte for byte under tests/spec/, and
# the text of SPEC.md (below its title) inside docs/spec.md. Prints what differs.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/spec
[[ -d $shared ]] || { echo "check-shared-sync: no ../shared, nothing to compare"; exit 0; }

status=0
cmp -s "$shared/check_cases.py" tests/spec/check_cases.py || { echo "tests/spec/check_cases.py differs from $shared"; status=1; }
for case in "$shared"/cases/*.json; do
  cmp -s "$case" "tests/spec/cases/$(basename "$case")" || { echo "tests/spec/cases/$(basename "$case") differs from $shared"; status=1; }
done
/usr/bin/python3 - "$shared/SPEC.md" docs/spec.md <<'PY' || status=1
import sys
body = open(sys.argv[1], encoding="utf-8").read().split("\n", 1)[1].strip()
if body not in open(sys.argv[2], encoding="utf-8").read():
    sys.exit("docs/spec.md does not hold the text of the shared SPEC.md")
PY
[[ $status -eq 0 ]] && echo "check-shared-sync: tests/spec and docs/spec.md match ../shared/spec"
exit $status

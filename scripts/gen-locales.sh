#!/usr/bin/env bash
# Generates the decimal-comma locales the locale tests run under (de_DE.UTF-8, fr_FR.UTF-8):
# the library must give the same bytes whatever locale its host process sets. Needs root
# (or sudo) and Debian's `locales` package, which scripts/install-deps.sh installs.
set -euo pipefail
wanted=(de_DE.UTF-8 fr_FR.UTF-8)
missing=()
for l in "${wanted[@]}"; do
  locale -a 2>/dev/null | grep -qi "^${l/UTF-8/utf8}$" || missing+=("$l")
done
((${#missing[@]} == 0)) && { echo "gen-locales: ${wanted[*]} are there"; exit 0; }
as_root=()
[[ $(id -u) -ne 0 ]] && as_root=(sudo)
for l in "${missing[@]}"; do
  "${as_root[@]}" sed -i "s/^# *\(${l} UTF-8\)/\1/" /etc/locale.gen
done
"${as_root[@]}" locale-gen

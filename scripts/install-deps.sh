#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing apportion needs: the compiler
# and CMake, Boost, nlohmann-json and fmt, pybind11 with NumPy and pandas for the Python
# package (Dask for its scale-out example; pip, venv and setuptools for `pip install .`),
# GoogleTest and Google Benchmark, Prometheus for the integration test, libcurl for the
# live sources, and the locale data the decimal-comma locale tests use
# (scripts/gen-locales.sh generates de_DE.UTF-8 and fr_FR.UTF-8 from it).
# Touches apt only when something is missing, so it takes a moment on a machine that
# already has everything. Packages named as arguments are installed too.
set -euo pipefail

packages=(
  g++ cmake pkg-config
  libboost-dev nlohmann-json3-dev libfmt-dev
  pybind11-dev python3-dev python3-numpy python3-pandas python3-pytest python3-distributed
  python3-pip python3-venv python3-setuptools python3-wheel python3-yaml
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus locales libcurl4-openssl-dev
)
# Extra packages named on the command line (CI adds clang-14 for the fuzzers).
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
as_root=()
if [[ $(id -u) -ne 0 ]]; then
  as_root=(sudo)
fi
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

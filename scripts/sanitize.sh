#!/usr/bin/env bash
# Builds and tests apportion under a sanitizer (docs/testing.md).
#
#   scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer, the whole
#                              # CTest suite, in build-asan (Python bindings off)
#   scripts/sanitize.sh tsan   # ThreadSanitizer, the concurrency tests only, in build-tsan
#
# Any finding fails the run (-fno-sanitize-recover=all, halt_on_error). Extra arguments go
# to ctest. BUILD_DIR overrides the build folder, JOBS the parallelism (default: nproc).
# Uses g++/gcc: its sanitizer runtimes link into libapportion.so as well, which keeps the
# library's --no-undefined link working.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
shift || true
jobs=${JOBS:-$(nproc)}
case "$mode" in
  asan)
    build=${BUILD_DIR:-build-asan}
    sanitize=address,undefined
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    targets=(all)
    # errors_catalogue loads libapportion.so into /usr/bin/python3 through ctypes, where the
    # ASan runtime cannot come first; browser_report spends its time in chromium (the
    # report's C++ runs under ASan in test_report), integration_prometheus in a Prometheus
    # server (its parsers run under ASan in test_ingest_prometheus) and find_package in
    # CMake and the compiler (packaging, checked by the plain build); every other test runs.
    ctest_args=(-E '^(errors_catalogue|browser_report|integration_prometheus|find_package)$')
    # The random property tests check a third of their cases here (the plain build, all).
    export APPORTION_PROPERTY_ITERATIONS=${APPORTION_PROPERTY_ITERATIONS:-400}
    ;;
  tsan)
    build=${BUILD_DIR:-build-tsan}
    sanitize=thread
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    targets=(test_concurrency test_capi test_capi_static)
    ctest_args=(-L "concurrency|capi")
    ;;
  *)
    echo "usage: $0 {asan|tsan} [ctest arguments...]" >&2
    exit 2
    ;;
esac

# -O1 -g1: line tables make reports readable; full debug info (-g) would nearly double the
# compile time of the ASan build, the longest step of CI. No install test for tsan (it builds only
# the concurrency targets).
cmake -S . -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
  -DAPPORTION_SANITIZE="$sanitize" -DAPPORTION_PYTHON=OFF \
  $([[ $mode == tsan ]] && echo "-DAPPORTION_INSTALL=OFF -DAPPORTION_EXAMPLES=OFF")
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

# ThreadSanitizer needs a narrow address-space layout: on kernels with many ASLR bits it
# stops with "unexpected memory mapping", so run it without randomization when setarch can.
runner=()
if [[ $mode == tsan ]] && setarch "$(uname -m)" -R true 2>/dev/null; then
  runner=(setarch "$(uname -m)" -R)
fi
"${runner[@]}" ctest --test-dir "$build" --output-on-failure -j"$jobs" "${ctest_args[@]}" "$@"

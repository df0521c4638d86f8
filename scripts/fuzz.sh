#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-14 in build-fuzz and runs each for
# SECONDS_PER_TARGET (default 20), two at a time, from its seed corpus and dictionary.
# Fails if any target finds a crash, a leak, undefined behaviour, a timeout or an
# undocumented exception; prints per target the executions that ran clean.
#   scripts/fuzz.sh          # CI: about 20 s a target
#   scripts/fuzz.sh 600      # a longer run
#   FUZZ_TARGETS="spec csv" scripts/fuzz.sh 60   # some targets only
# Needs clang-14 and libFuzzer: apt-get install -y clang-14 libclang-rt-14-dev.
# See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
parallel=${FUZZ_PARALLEL:-2}
build=build-fuzz
started=$(date +%s)

if ! command -v clang++-14 >/dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz.sh: needs clang-14 with libFuzzer: apt-get install -y clang-14 libclang-rt-14-dev" >&2
  exit 2
fi

# Only the library and the targets: no tests, examples, Python or C library. -O1 and line
# tables keep the instrumented build short; the sanitizers come from APPORTION_FUZZ.
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DAPPORTION_FUZZ=ON -DAPPORTION_TESTS=OFF -DAPPORTION_EXAMPLES=OFF -DAPPORTION_PYTHON=OFF \
  -DAPPORTION_INSTALL=OFF -DAPPORTION_BENCH=OFF >/dev/null
cmake --build "$build" -j2 --target fuzzers
built=$(date +%s)
echo "fuzz.sh: built in $((built - started)) s"

all_targets="spec catalog decimal time csv prometheus_text prometheus_json dcgm kube_state_metrics vllm sacct
             litellm_spend litellm_prices otel_genai focus opencost jsonl mlflow mlflow_files"
targets=${FUZZ_TARGETS:-$all_targets}

dict_of() {
  case $1 in
    spec | catalog | litellm_prices | otel_genai | opencost | jsonl | mlflow | mlflow_files) echo json ;;
    prometheus_text | prometheus_json | dcgm | kube_state_metrics | vllm) echo prometheus ;;
    csv | focus | sacct | litellm_spend) echo csv ;;
    *) echo "$1" ;;
  esac
}
max_len_of() {
  case $1 in
    decimal | time) echo 128 ;;
    *) echo 8192 ;;
  esac
}

# One target: new inputs go to $build/corpus/<target> (the checked-in seeds stay as they
# are), findings to $build/artifacts/<target>/, the log to $build/logs/<target>.log.
run_one() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  local status=0
  "$build/tests/fuzz/fuzz_$t" "$build/corpus/$t" "tests/fuzz/corpus/$t" \
    -dict="tests/fuzz/$(dict_of "$t").dict" -max_len="$(max_len_of "$t")" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" >"$build/logs/$t.log" 2>&1 || status=$?
  echo "$status" >"$build/logs/$t.status"
}

mkdir -p "$build/logs"
rm -f "$build"/logs/*.status
running=0
for t in $targets; do
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait

failed=0
printf '%-20s %12s  %s\n' target runs result
for t in $targets; do
  status=$(cat "$build/logs/$t.status" 2>/dev/null || echo missing)
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$build/logs/$t.log" | tail -1)
  if [[ $status == 0 && -n $runs ]]; then
    printf '%-20s %12s  %s\n' "$t" "$runs" clean
  else
    printf '%-20s %12s  %s\n' "$t" "${runs:--}" "FAILED (exit $status)"
    failed=1
  fi
done
for t in $targets; do
  if [[ $(cat "$build/logs/$t.status" 2>/dev/null) != 0 ]]; then
    echo "---- $t: $build/logs/$t.log (findings in $build/artifacts/$t/)"
    grep -v -E '^#[0-9]+' "$build/logs/$t.log" | tail -40
  fi
done
echo "fuzz.sh: ${seconds} s a target, $(($(date +%s) - started)) s in all"
exit $failed

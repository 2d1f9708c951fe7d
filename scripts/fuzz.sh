#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for a bounded
# time, one after the other, each from its committed seeds in
# fuzz/corpus/<target>/ and what earlier runs found (fuzz/target/corpus/,
# not committed). Exits non-zero if any target crashed, hung or ran out of
# memory, and says where the input that did it was written.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]
#   SECONDS_PER_TARGET defaults to 60; TARGETs default to every target.
# Needs a nightly toolchain (installed if missing) and cargo-fuzz (installed
# with `cargo install` if missing). Each target runs on one core.
#
# A new target needs no change here: whatever `cargo fuzz list` names runs.
set -euo pipefail

secs="${1:-60}"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET [TARGET...]]" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))
cd "$(dirname "$0")/../fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Release code with debug assertions and overflow checks on, so that an
# overflow is a crash too. No sanitizer: the library forbids unsafe code,
# and without one each target runs about twice as many inputs.
flags=(-O -a -s none)
# Per input: a hang is 10 s without an answer; memory is bounded too.
limits=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

cargo +nightly fuzz build "${flags[@]}"
mkdir -p target/fuzz-logs
summary=()
failed=0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
for target in "${targets[@]}"; do
    found="target/corpus/$target"
    seeds="corpus/$target"
    log="target/fuzz-logs/$target.log"
    mkdir -p "$found" "$seeds"
    echo "== $target: ${secs}s, log in fuzz/$log"
    # New inputs go to the first folder, so the committed seeds stay as they are.
    if cargo +nightly fuzz run "${flags[@]}" "$target" "$found" "$seeds" -- "${limits[@]}" >"$log" 2>&1; then
        result="ok"
    else
        result="FAILED"
        failed=1
        # What went wrong: a panic and its message, a timeout or running out of memory.
        grep -E -A1 'panicked at' "$log" | head -n 4 || true
        grep -E 'ERROR: libFuzzer' "$log" | head -n 1 || true
        # libFuzzer names the file it wrote the input to.
        grep -o 'Test unit written to .*' "$log" | sed 's|Test unit written to |input: |' || true
    fi
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || echo "?")
    summary+=("$(printf '%-24s %-7s %6ss %12s runs %6s inputs in corpus' \
        "$target" "$result" "$secs" "$runs" "$corpus")")
done

echo
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "some targets failed: the inputs are in fuzz/artifacts/<target>/;" \
        "reproduce with: cd fuzz && cargo +nightly fuzz run ${flags[*]} <target> <input>" >&2
    exit 1
fi

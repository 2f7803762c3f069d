#!/usr/bin/env bash
# Long local fuzzing run: every target of fuzz/ (or the ones named) for MINUTES each, JOBS
# targets at a time, at the lowest CPU priority, then a table per target of executions,
# coverage (libFuzzer's final `cov:` and `ft:` figures) and whether a crash artifact
# appeared.
#
#   scripts/fuzz-long.sh [-m MINUTES] [-j JOBS] [TARGET...]     # defaults: 10 minutes, 2 jobs
#
# Inputs: fuzz/corpus/<t>/ (grows across runs; ignored by git) first, then the read-only
# fuzz/seeds/<t>/, fuzz/seeds-generated/<t>/ (scripts/fuzz-seeds.sh) and
# fuzz/regressions/<t>/. Crash inputs go to fuzz/artifacts/<t>/; logs to
# fuzz/runs/<date>/<t>.log. Builds with RUSTC_BOOTSTRAP=1 (see scripts/fuzz-smoke.sh) into
# CARGO_TARGET_DIR if set, else fuzz/target. Exits 1 if any target found something.
# Leak detection is off, as in scripts/fuzz-smoke.sh (LeakSanitizer false positives on
# exited threads).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

minutes=10
jobs=2
while getopts "m:j:h" opt; do
    case "$opt" in
        m) minutes=$OPTARG ;;
        j) jobs=$OPTARG ;;
        *) sed -n '2,14p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
# Fractions of a minute are fine (-m 0.5).
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(awk '
        /^\[\[bin\]\]/ { inbin = 1; next }
        /^\[/          { inbin = 0 }
        inbin && $1 == "name" { gsub(/[" ]/, "", $0); sub(/^name=/, "", $0); print }
    ' Cargo.toml)
fi

export RUSTC_BOOTSTRAP=1
nice -n 19 cargo fuzz build
bindir="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release"

runs="runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$runs"

# One target: fuzz it, then leave "<artifacts before>" in $runs/<t>.before for the report.
run_one() {
    local t=$1
    local dirs=("corpus/$t")
    mkdir -p "corpus/$t" "artifacts/$t"
    for d in "seeds/$t" "seeds-generated/$t" "regressions/$t"; do
        if [ -d "$d" ]; then dirs+=("$d"); fi
    done
    ls "artifacts/$t" >"$runs/$t.before"
    echo "$(date -u +%H:%M:%S) start $t"
    local rc=0
    nice -n 19 "$bindir/$t" -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=120 -detect_leaks=0 -artifact_prefix="artifacts/$t/" "${dirs[@]}" >"$runs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$runs/$t.rc"
    echo "$(date -u +%H:%M:%S) end   $t (exit $rc)"
}
export -f run_one
export seconds bindir runs

printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}

# Report: numbers from the final stats (stat::number_of_executed_units, exec/s) and the last
# status line carrying cov:/ft:/corp:.
status=0
printf '\n%-20s %12s %8s %6s %6s %10s  %s\n' target executions exec/s cov ft corpus crash
for t in "${targets[@]}"; do
    log="$runs/$t.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
    new=$(comm -13 "$runs/$t.before" <(ls "artifacts/$t"))
    crash=no
    if [ -n "$new" ] || [ "$(cat "$runs/$t.rc")" != 0 ]; then
        crash="YES (exit $(cat "$runs/$t.rc")): $(tr '\n' ' ' <<<"$new")"
        status=1
    fi
    printf '%-20s %12s %8s %6s %6s %10s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$crash"
done
echo "logs: fuzz/$runs/"
exit "$status"

#!/usr/bin/env bash
# Times `esgz convert` against the reference's build (Debian estargz 0.12.0, through
# interop/go/esgz-ref) on one layer, alternating the two so that both see the same noise,
# and prints the medians and their ratio, and the machine's load before and after. Both run
# with their defaults (all cores; esgz: libdeflate level 6, the reference: gzip level 9).
#
#   bash scripts/bench-convert.sh [TAR] [RUNS]
#
# TAR defaults to a debootstrap --variant=minbase root filesystem, made once (needs root and
# debootstrap; see scripts/test-all.sh). RUNS defaults to 5. Extra esgz flags can be given in
# ESGZ_FLAGS, extra reference flags in REF_FLAGS (e.g. "-level 0").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/bench-lib.sh

runs=${2:-5}
work=target/bench-convert
mkdir -p "$work"
tar=${1:-$(ensure_minbase "$work")}
build_programs "$work"

echo "load before: $(uptime)"
ours=()
theirs=()
for i in $(seq "$runs"); do
    start=$(now)
    # shellcheck disable=SC2086 # flags are meant to split
    "$esgz" convert ${ESGZ_FLAGS:-} "$tar" "$work/ours.esgz" >/dev/null
    ours+=("$(elapsed "$start")")
    start=$(now)
    # shellcheck disable=SC2086
    "$ref" build ${REF_FLAGS:-} "$tar" "$work/theirs.esgz" >/dev/null
    theirs+=("$(elapsed "$start")")
    echo "run $i: esgz ${ours[-1]} s, reference ${theirs[-1]} s"
done

m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
echo "input: $tar ($(stat -c %s "$tar") bytes), $runs runs each, alternating"
echo "median esgz convert: $m_ours s, blob $(stat -c %s "$work/ours.esgz") bytes"
echo "median reference build: $m_theirs s, blob $(stat -c %s "$work/theirs.esgz") bytes"
echo "speedup (reference / esgz): $(ratio "$m_theirs" "$m_ours")x"
echo "load after: $(uptime)"

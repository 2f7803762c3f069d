#!/usr/bin/env bash
# Times full verification of one blob built by the reference: `esgz verify --toc-digest`
# against the reference's equivalent (`esgz-ref verify`: Open, VerifyTOC, then every chunk and
# every file read and checked), alternating, and prints the medians and their ratio.
#
#   bash scripts/bench-verify.sh [TAR] [RUNS]
#
# TAR defaults to a debootstrap --variant=minbase root filesystem (see bench-convert.sh); the
# reference builds the blob from it with its defaults. RUNS defaults to 5.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/bench-lib.sh

runs=${2:-5}
work=target/bench-verify
mkdir -p "$work"
tar=${1:-$(ensure_minbase "$work")}
build_programs "$work"

blob=$work/theirs.esgz
toc_digest=$("$ref" build "$tar" "$blob" | sed 's/.*"toc_digest":"\([^"]*\)".*/\1/')
ours=()
theirs=()
for i in $(seq "$runs"); do
    start=$(now)
    "$esgz" verify --toc-digest "$toc_digest" "$blob" >/dev/null
    ours+=("$(elapsed "$start")")
    start=$(now)
    "$ref" verify "$blob" "$toc_digest" >/dev/null
    theirs+=("$(elapsed "$start")")
    echo "run $i: esgz ${ours[-1]} s, reference ${theirs[-1]} s"
done

m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
echo "blob: $blob ($(stat -c %s "$blob") bytes, from $tar), $runs runs each, alternating"
echo "median esgz verify: $m_ours s"
echo "median reference verify: $m_theirs s"
echo "speedup (reference / esgz): $(ratio "$m_theirs" "$m_ours")x"

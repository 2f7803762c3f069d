#!/usr/bin/env bash
# Times `esgz convert` against the reference's build (Debian estargz 0.12.0, through
# interop/go/esgz-ref) on one layer, alternating the two so that both see the same noise,
# and prints the medians and their ratio. Both run with their defaults (all cores).
#
#   bash scripts/bench-convert.sh [TAR] [RUNS]
#
# TAR defaults to a debootstrap --variant=minbase root filesystem, made once (needs root and
# debootstrap; see scripts/test-all.sh). RUNS defaults to 5. Extra esgz flags can be given in
# ESGZ_FLAGS, extra reference flags in REF_FLAGS (e.g. "-level 0").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=${2:-5}
work=target/bench-convert
mkdir -p "$work"

tar=${1:-}
if [ -z "$tar" ]; then
    tar=$work/minbase.tar
    if [ ! -s "$tar" ]; then
        codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
        rm -rf "$work/minbase-root"
        debootstrap --variant=minbase "$codename" "$work/minbase-root" >/dev/null
        tar --numeric-owner --sort=name -cf "$tar" -C "$work/minbase-root" .
        rm -rf "$work/minbase-root"
    fi
fi

cargo build --release -q -p estargz-examples --bin esgz
esgz=${CARGO_TARGET_DIR:-target}/release/esgz
ref=$work/esgz-ref
(cd interop/go/esgz-ref &&
    GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
        go build -o "../../../$ref" .)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
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

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
size_ours=$(stat -c %s "$work/ours.esgz")
size_theirs=$(stat -c %s "$work/theirs.esgz")
echo "input: $tar ($(stat -c %s "$tar") bytes), $runs runs each, alternating"
echo "median esgz convert: $m_ours s, blob $size_ours bytes"
echo "median reference build: $m_theirs s, blob $size_theirs bytes"
echo "speedup (reference / esgz): $(awk -v a="$m_theirs" -v b="$m_ours" 'BEGIN { printf "%.2f", a / b }')x"

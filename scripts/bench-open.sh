#!/usr/bin/env bash
# Times opening a blob with a large TOC: `esgz ls` (open the blob, load and parse the TOC,
# build the index, then print every path) against the reference's `estargz.Open` (footer,
# TOC, JSON decoding and its index; through `esgz-ref open`, which prints nothing per entry),
# alternating, and prints the medians and their ratio. Our side does strictly more work.
#
#   bash scripts/bench-open.sh [BLOB] [RUNS]
#
# BLOB defaults to a Python standard library tree with at least 55 000 TOC entries: the
# standard library of this machine's python3 (without site-packages, dist-packages and the
# static libraries in config-*) copied under stdlib-NN/ directories until the count is reached, tarred with --hard-dereference and converted with
# `esgz convert --level 1` (made once, cached under target/bench-open). RUNS defaults to 7.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/bench-lib.sh

runs=${2:-7}
work=target/bench-open
want_entries=55000
mkdir -p "$work"
build_programs "$work"

make_blob() {
    local stdlib root=$work/pystdlib-root tar=$work/pystdlib.tar per copies i
    stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    rm -rf "$root"
    mkdir -p "$root/stdlib-00"
    cp -a "$stdlib/." "$root/stdlib-00/"
    rm -rf "$root"/stdlib-00/config-* "$root"/stdlib-00/site-packages "$root"/stdlib-00/dist-packages
    per=$(find "$root/stdlib-00" | wc -l)
    copies=$(((want_entries + per - 1) / per))
    for i in $(seq 1 $((copies - 1))); do
        cp -al "$root/stdlib-00" "$root/$(printf 'stdlib-%02d' "$i")"
    done
    tar --numeric-owner --sort=name --hard-dereference -cf "$tar" -C "$root" .
    rm -rf "$root"
    "$esgz" convert --level 1 "$tar" "$work/pystdlib.esgz" >/dev/null
    rm -f "$tar"
}

blob=${1:-$work/pystdlib.esgz}
if [ -z "${1:-}" ] && [ ! -s "$blob" ]; then
    make_blob
fi
entries=$("$esgz" info --json "$blob" | sed 's/.*"entries":\([0-9]*\).*/\1/')

ours=()
theirs=()
for i in $(seq "$runs"); do
    start=$(now)
    "$esgz" ls "$blob" >/dev/null
    ours+=("$(elapsed "$start")")
    start=$(now)
    "$ref" open "$blob" >/dev/null
    theirs+=("$(elapsed "$start")")
    echo "run $i: esgz ${ours[-1]} s, reference ${theirs[-1]} s"
done

m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
echo "blob: $blob ($(stat -c %s "$blob") bytes, $entries TOC entries), $runs runs each, alternating"
echo "median esgz ls (open + index + listing): $m_ours s"
echo "median reference open (estargz.Open): $m_theirs s"
echo "speedup (reference / esgz): $(ratio "$m_theirs" "$m_ours")x"

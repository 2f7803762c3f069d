#!/usr/bin/env bash
# Generates seed inputs for the fuzz targets into fuzz/seeds-generated/<target>/ (ignored by
# git): the interop corpus tars, eStargz and zstd:chunked blobs `esgz convert` makes of them
# (their TOC JSON, footer tails and gzip members), and hand-made HTTP and config inputs.
#
#   scripts/fuzz-seeds.sh             # full set, fuzz/seeds-generated/
#   scripts/fuzz-seeds.sh --curated   # rewrite the small committed set, fuzz/seeds/
#
# Builds esgz (debug) into CARGO_TARGET_DIR (default target/). Needs python3.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=fuzz/seeds-generated
curated=()
if [ "${1:-}" = "--curated" ]; then
    out=fuzz/seeds
    curated=(--curated)
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--curated]" >&2
    exit 2
fi

cargo build --quiet -p estargz-examples --bin esgz
esgz="${CARGO_TARGET_DIR:-target}/debug/esgz"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 interop/corpus/gen_corpus.py "$work/corpus" >/dev/null

# The curated set is rewritten from scratch so that it holds exactly what the script makes.
if [ ${#curated[@]} -gt 0 ]; then
    rm -rf "$out"
fi
python3 fuzz/gen_seeds.py "$out" --corpus "$work/corpus" --esgz "$esgz" "${curated[@]}"
du -sh "$out"/* | sed 's/^/  /'

#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a short time (FUZZ_SECONDS, default 20).
# Installs cargo-fuzz when missing. Uses RUSTC_BOOTSTRAP=1 so a stable toolchain can
# build with the sanitizer flags cargo-fuzz needs. Does nothing without fuzz/Cargo.toml.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -f fuzz/Cargo.toml ]; then
    echo "no fuzz/Cargo.toml; nothing to fuzz"
    exit 0
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Target names: the `name = "..."` line of every [[bin]] table.
mapfile -t targets < <(awk '
    /^\[\[bin\]\]/ { inbin = 1; next }
    /^\[/          { inbin = 0 }
    inbin && $1 == "name" { gsub(/[" ]/, "", $0); sub(/^name=/, "", $0); print }
' fuzz/Cargo.toml)

if [ "${#targets[@]}" -eq 0 ]; then
    echo "error: fuzz/Cargo.toml has no [[bin]] targets" >&2
    exit 1
fi

# Each run starts from the committed seeds (fuzz/seeds/<t>, made by scripts/fuzz-seeds.sh
# --curated) and replays every committed regression input (fuzz/regressions/<t>) first; new
# inputs go to the ignored fuzz/corpus/<t>. Leak detection is off: LeakSanitizer reports the
# 32 bytes glibc keeps per exited thread (__cxa_thread_atexit_impl) as a leak, which fails
# targets that spawn threads (fuzz/regressions/encode_roundtrip/leak-*), and safe Rust does
# not leak by accident.
for t in "${targets[@]}"; do
    echo "--- fuzz target $t (${FUZZ_SECONDS:-20}s)"
    dirs=("corpus/$t")
    for d in "seeds/$t" "regressions/$t"; do
        if [ -d "fuzz/$d" ]; then dirs+=("$d"); fi
    done
    mkdir -p "fuzz/corpus/$t"
    (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "${dirs[@]}" -- \
        -max_total_time="${FUZZ_SECONDS:-20}" -detect_leaks=0)
done
echo "fuzz smoke: ${#targets[@]} target(s) ok"

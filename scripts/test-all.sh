#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run). From the repository root:
#
#   bash scripts/test-all.sh
#
# 1. Installs the system packages the tests need when they are missing (needs root and
#    apt-get; Debian bookworm): Debian's Go and estargz 0.12.0 (the reference
#    implementation for the interop tests), python3 and GNU tar (corpus generator), and
#    docker-registry + nginx (registry/mirror tests).
# 2. cargo fmt --check, clippy -D warnings, the whole test suite (nextest when installed,
#    plus doctests), rustdoc -D warnings, and a short fuzz smoke run when fuzz/ exists.
#
# Environment: FUZZ_SECONDS (default 20) per fuzz target; SKIP_FUZZ=1 skips the fuzz step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ESTARGZ_SRC=/usr/share/gocode/src/github.com/containerd/stargz-snapshotter/estargz
APT_PACKAGES=(
    golang-go
    golang-github-containerd-stargz-snapshotter-dev
    golang-github-vbatts-tar-split-dev
    golang-golang-x-sys-dev
    python3
    tar
    # --- real layers (a debootstrap --variant=minbase root filesystem): ---
    debootstrap
    # --- registry / mirror tests (used by later work): ---
    docker-registry
    nginx
)

step() { printf '\n=== %s\n' "$*"; }

have_system_deps() {
    command -v go >/dev/null 2>&1 &&
        [ -f "$ESTARGZ_SRC/build.go" ] &&
        command -v python3 >/dev/null 2>&1 &&
        command -v tar >/dev/null 2>&1 &&
        command -v debootstrap >/dev/null 2>&1 &&
        [ -d /usr/share/gocode/src/golang.org/x/sys/unix ] &&
        [ -x /usr/bin/docker-registry ] &&
        [ -x /usr/sbin/nginx ]
}

step "system packages"
if have_system_deps; then
    echo "all present; skipping apt-get"
else
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: missing system packages (${APT_PACKAGES[*]}) and not root; install them" \
            "with: sudo apt-get install -y ${APT_PACKAGES[*]}" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: missing system packages and no apt-get on this machine" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
    # nginx/docker-registry may be started by their packages' postinst; the tests start
    # their own instances on loopback ports, so stop the system ones where possible.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl stop nginx docker-registry >/dev/null 2>&1 || true
    fi
fi
# An install step must never fail silently: check what the tests rely on.
if ! go version; then
    echo "error: 'go' is not usable after installing golang-go" >&2
    exit 1
fi
if [ ! -f "$ESTARGZ_SRC/build.go" ]; then
    echo "error: $ESTARGZ_SRC is missing after installing" \
        "golang-github-containerd-stargz-snapshotter-dev" >&2
    exit 1
fi
python3 --version
tar --version | sed -n 1p

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# Features no workspace member turns on: the mirror client's async API (`reqwest`).
cargo clippy -p estargz-mirror --all-features --all-targets -- -D warnings

step "tests"
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
if cargo nextest --version >/dev/null 2>&1; then
    cargo test --doc --workspace 2>&1 | tee -a "$test_log"
    cargo nextest run --workspace --no-fail-fast 2>&1 | tee -a "$test_log"
    # The async API's tests (only these: the rest of the crate ran above).
    cargo nextest run -p estargz-mirror --all-features --no-fail-fast \
        -E 'binary(async_api) | test(/async/)' 2>&1 | tee -a "$test_log"
else
    cargo test --workspace --no-fail-fast 2>&1 | tee -a "$test_log"
    cargo test -p estargz-mirror --all-features --no-fail-fast async 2>&1 | tee -a "$test_log"
fi
# Totals over every runner above (cargo's "test result:" lines, nextest's "Summary").
test_totals=$(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i
            if ($(i + 1) ~ /^failed/) f += $i
        }
    }
    /^ *Summary \[/ {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i
            if ($(i + 1) ~ /^failed/) f += $i
        }
    }
    END { printf "%d passed, %d failed", p, f }
' "$test_log")

step "rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc -p estargz-mirror --all-features --no-deps

if [ -f fuzz/Cargo.toml ] && [ "${SKIP_FUZZ:-0}" != 1 ]; then
    step "fuzz smoke"
    bash scripts/fuzz-smoke.sh
fi

step "all checks passed"
echo "tests: $test_totals"

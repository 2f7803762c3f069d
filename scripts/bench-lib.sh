# Shared by the bench-*.sh scripts (sourced, not run): the default layer, the two programs,
# timing and medians.

# ensure_minbase DIR: prints the path of a debootstrap --variant=minbase tar under DIR, made
# once (needs root and debootstrap).
ensure_minbase() {
    local dir=$1 tar=$1/minbase.tar codename
    if [ ! -s "$tar" ]; then
        codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
        rm -rf "$dir/minbase-root"
        debootstrap --variant=minbase "$codename" "$dir/minbase-root" >/dev/null
        tar --numeric-owner --sort=name -cf "$tar" -C "$dir/minbase-root" .
        rm -rf "$dir/minbase-root"
    fi
    echo "$tar"
}

# build_programs DIR: builds esgz (release) and the reference program into DIR; sets $esgz
# and $ref.
build_programs() {
    local dir=$1
    cargo build --release -q -p estargz-examples --bin esgz
    esgz=${CARGO_TARGET_DIR:-target}/release/esgz
    ref=$dir/esgz-ref
    (cd interop/go/esgz-ref &&
        GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
            go build -o "$OLDPWD/$ref" .)
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
median() {
    printf '%s\n' "$@" | sort -g |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

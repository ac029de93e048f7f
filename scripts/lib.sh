# Shared by scripts/run and scripts/test: package installation and the
# autotools build. Sourced, not run.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages, by what needs them.
PKGS_BUILD="autoconf automake libtool pkg-config make gcc libfcgi-dev libjson-c-dev libcurl4-openssl-dev libssl-dev"
PKGS_RUN="nginx ipmitool openipmi openssl python3 curl procps"
# tests/package/run: dpkg-buildpackage (debhelper brings dpkg-dev and
# dh-autoreconf), lintian, git for the export, systemd-socket-activate.
PKGS_PACKAGE="debhelper lintian git systemd"
PKGS_TEST="clang-format check jq tmux python3-pytest python3-requests python3-jsonschema prometheus python3-prometheus-client wrk valgrind clang libclang-rt-14-dev clang-tools cppcheck chromium"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Install whichever of the named Debian packages are missing.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

# npm for the docs assets (swagger-ui-dist, redoc). The machines may carry
# a Node.js of their own whose npm Debian's package would conflict with,
# so Debian's npm is installed only when there is none.
ensure_npm() {
    command -v npm >/dev/null 2>&1 || ensure_packages npm
}

# build_tree DIR [configure args...]: configure (once) and make in DIR.
build_tree() {
    local dir=$1
    shift
    if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] ||
       [ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
        (cd "$top" && autoreconf -fi >/dev/null)
    fi
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot "$top/configure" ]; then
        (cd "$dir" && "$top/configure" -q "$@")
    fi
    make -C "$dir" -s -j"$(nproc)"
}

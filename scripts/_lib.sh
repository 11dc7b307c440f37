# Shell functions shared by the scripts; sourced, not run.

# pyenv_python X.Y: the newest CPython X.Y that pyenv holds (or python X.Y on
# PATH), printed as a path; nothing printed and status 1 when there is none.
pyenv_python() {
    local version=$1 root found
    if root=$(pyenv root 2>/dev/null); then
        found=$(ls -d "$root"/versions/"$version".*/bin/python"$version" 2>/dev/null | sort -V | tail -n 1)
    fi
    if [ -z "${found:-}" ]; then
        found=$(command -v "python$version" 2>/dev/null || true)
    fi
    [ -n "$found" ] && echo "$found"
}

# django61_dispatcher PYTHON CACHE: make sure CACHE/django61/dispatcher.py holds
# Django 6.1's django/dispatch/dispatcher.py (read from its sdist with PYTHON's
# pip: Django 6 itself needs Python 3.12) and print its path. The differential
# tests take it as their reference for Django 6 semantics.
django61_dispatcher() {
    local python=$1 target=$2/django61/dispatcher.py download
    if [ ! -f "$target" ]; then
        download=$(mktemp -d)
        "$python" -m pip download -q --disable-pip-version-check --no-deps \
            --no-binary :all: --ignore-requires-python "django==6.1.*" -d "$download" >&2
        tar -xzf "$download"/*.tar.gz -C "$download" --wildcards "*/django/dispatch/dispatcher.py"
        mkdir -p "$(dirname "$target")"
        mv "$download"/*/django/dispatch/dispatcher.py "$target"
        rm -rf "$download"
    fi
    echo "$target"
}

# CPython 3.14 comes from Debian's unstable suite (sid), whose binary packages
# ship it: a minimal sid root made by debootstrap, entered with chroot. These
# machines have Debian 12's packages and pyenv's 3.10-3.13 only.
#
# sid_root: make sure the sid root with python3.14 (a compiler, for the wheel;
# redis-server, for the worker tests) exists and print its path:
# $FASTSIGNAL_SID_ROOT, by default .cache/sid-py314 in the checkout (or in
# $FASTSIGNAL_CACHE_DIR). The first run makes it (3 to 10 minutes; debootstrap
# is installed with apt-get when missing, which needs root, as does chroot);
# later runs reuse it, and install with apt-get inside it whatever
# SID_PACKAGES gained since it was made. A root whose debootstrap did not
# finish is never used: it is built aside and moved into place whole.
SID_PACKAGES=python3.14,python3.14-dev,python3.14-venv,gcc,libc6-dev,ca-certificates,redis-server
sid_root() {
    local root=${FASTSIGNAL_SID_ROOT:-${FASTSIGNAL_CACHE_DIR:-$ROOT/.cache}/sid-py314}
    local marker=$root/etc/fastsignal-sid-packages
    if [ ! -x "$root/usr/bin/python3.14" ]; then
        if ! command -v debootstrap >/dev/null; then
            echo "==> installing debootstrap (apt-get)" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
        fi
        echo "==> debootstrap: a Debian sid root with python3.14 in $root (3 to 10 minutes)" >&2
        mkdir -p "$(dirname "$root")"
        # In a mount namespace of its own, whatever debootstrap mounts in the
        # new root (proc, sys) goes away with it, even when it fails.
        [ -d "$root.partial" ] && rm -rf --one-file-system "$root.partial"
        if ! unshare --mount --propagation private debootstrap --variant=minbase \
                --include="$SID_PACKAGES" sid "$root.partial" >"$root.log" 2>&1; then
            tail -n 40 "$root.log" >&2
            echo "sid_root: debootstrap failed (whole log: $root.log)" >&2
            return 1
        fi
        echo "$SID_PACKAGES" >"$root.partial/etc/fastsignal-sid-packages"
        [ -d "$root" ] && rm -rf --one-file-system "$root"
        mv "$root.partial" "$root"
    fi
    # pip and apt inside reach the package indexes as the host does: same CA
    # bundle (it may hold a proxy's certificate) and resolver.
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    if [ "$(cat "$marker" 2>/dev/null)" != "$SID_PACKAGES" ]; then
        echo "==> the sid root $root: apt-get install ${SID_PACKAGES//,/ }" >&2
        # The mirror may hold a sid whose Release file has passed its
        # Valid-Until date (debootstrap does not check it; apt does).
        if ! sid_run "$root" sh -c "apt-get -o Acquire::Check-Valid-Until=false update -qq &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${SID_PACKAGES//,/ }" \
                >"$root.log" 2>&1; then
            tail -n 40 "$root.log" >&2
            echo "sid_root: apt-get failed in $root (whole log: $root.log)" >&2
            return 1
        fi
        echo "$SID_PACKAGES" >"$marker"
    fi
    echo "$root"
}

# sid_usable: whether this machine can run the sid root (Linux, as root: chroot
# and the mount namespace need it).
sid_usable() {
    [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ]
}

# sid_run ROOT [--bind DIR]... COMMAND...: run COMMAND inside the sid root, under
# chroot with /proc mounted, and each DIR of the host bind-mounted read-only at
# the same path inside. The mounts live in a mount namespace of the command's
# own, so they are gone when the command ends, however it ends; the host never
# sees them. The environment is a clean one (the host's pip settings name host
# paths), plus the proxy variables, CI and the FASTSIGNAL_* settings.
sid_run() {
    local root=$1 name binds=()
    shift
    while [ "${1:-}" = --bind ]; do
        binds+=("$2")
        mkdir -p "$root$2"
        shift 2
    done
    local env=(PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
        SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt)
    for name in $(compgen -e); do
        case $name in
            FASTSIGNAL_* | CI | http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY)
                env+=("$name=${!name}") ;;
        esac
    done
    # shellcheck disable=SC2016  # expanded by the inner shell
    unshare --mount --propagation private --fork --pid --mount-proc="$root/proc" \
        sh -ec 'root=$1; count=$2; shift 2
            while [ "$count" -gt 0 ]; do
                mount --bind "$1" "$root$1"
                mount -o remount,bind,ro "$root$1"
                shift; count=$((count - 1))
            done
            exec chroot "$root" /usr/bin/env -i "$@"' \
        sid_run "$root" "${#binds[@]}" "${binds[@]}" "${env[@]}" "$@"
}

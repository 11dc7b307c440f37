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

#!/usr/bin/env bash
# Prepare what ansible-test needs on this kind of machine, then run a command in the
# collection copy ansible-test can work in.
#
#   tools/ansible_test_env.sh pythons            print the controller Python versions of the
#                                                installed ansible-test that exist here
#   tools/ansible_test_env.sh run CMD [ARGS...]  prepare, then run CMD in the collection copy
#
# What "prepare" does (see TOOLING traps 1-3):
#   1. writes ansible-test's get-pip.py stand-in into ~/.ansible/test/cache (tools/get_pip_standin.py);
#   2. makes a folder of python3.X symlinks to the real pyenv interpreters (the pyenv shims exit 127
#      under ansible-test) and puts it first on PATH;
#   3. copies the collection's files (git ls-files -co --exclude-standard) into a real
#      .../ansible_collections/astra/devops tree, keeping that tree's tests/output (ansible-test's
#      cached virtual environments) between runs.
#
# Environment: VENV (default .venv), TOOLS_DIR (default .tools), PYENV_ROOT (default ~/.pyenv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="${VENV:-$ROOT/.venv}"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
PYBIN="$TOOLS_DIR/bin"
COLLECTION_COPY="$TOOLS_DIR/ac/ansible_collections/astra/devops"
PYENV_VERSIONS="${PYENV_ROOT:-$HOME/.pyenv}/versions"

log() { printf '%s\n' "$*" >&2; }

# Folder of python3.X -> real interpreter symlinks (the newest patch release of each minor version).
make_python_links() {
    mkdir -p "$PYBIN"
    find "$PYBIN" -maxdepth 1 -type l -name 'python3.*' -delete
    local exe minor
    if [ -d "$PYENV_VERSIONS" ]; then
        # sort -V: the newest patch of each minor version comes last and wins.
        while IFS= read -r exe; do
            minor="$(basename "$exe")"
            "$exe" -c 'import sys' >/dev/null 2>&1 || continue
            ln -sfn "$exe" "$PYBIN/$minor"
        done < <(find "$PYENV_VERSIONS" -mindepth 3 -maxdepth 3 -path '*/bin/python3.*' \
                    -regex '.*/versions/3\.[0-9]+\.[0-9]+/bin/python3\.[0-9]+$' | sort -V)
    fi
    # Interpreters on PATH that really run (not a shim that exits 127) fill the gaps.
    local v candidate
    for v in 9 10 11 12 13 14 15; do
        [ -e "$PYBIN/python3.$v" ] && continue
        candidate="$(command -v "python3.$v" 2>/dev/null || true)"
        [ -n "$candidate" ] || continue
        candidate="$("$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null || true)"
        [ -n "$candidate" ] && ln -sfn "$candidate" "$PYBIN/python3.$v"
    done
}

# Controller Python versions of the installed ansible-test for which an interpreter exists here.
controller_pythons() {
    local v
    for v in $("$VENV/bin/python" -c 'from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS as v; print(" ".join(v))'); do
        [ -e "$PYBIN/python$v" ] && printf '%s\n' "$v"
    done
    return 0
}

# Mirror the collection's files into the copy; keep the copy's tests/output.
# The copy lives inside this repository's work tree (in an ignored folder), so it gets a git
# repository of its own: ansible-test would otherwise take the outer repository as its source
# and list none of the copy's files ("All targets skipped").
sync_collection_copy() {
    mkdir -p "$COLLECTION_COPY"
    find "$COLLECTION_COPY" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
    if [ -d "$COLLECTION_COPY/tests" ]; then
        find "$COLLECTION_COPY/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
    fi
    (
        cd "$ROOT"
        git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done | tar -cf - --null --no-recursion -T - | tar -xf - -C "$COLLECTION_COPY"
    )
    if [ ! -d "$COLLECTION_COPY/.git" ]; then
        git -C "$COLLECTION_COPY" init --quiet
    fi
}

prepare() {
    if [ ! -x "$VENV/bin/ansible-test" ]; then
        log "ansible-test not found in $VENV: run 'make venv' first"
        exit 2
    fi
    "$VENV/bin/python" "$ROOT/tools/get_pip_standin.py" >&2
    make_python_links
    sync_collection_copy
}

case "${1:-}" in
    pythons)
        make_python_links
        controller_pythons
        ;;
    run)
        shift
        [ $# -gt 0 ] || { log "usage: $0 run CMD [ARGS...]"; exit 2; }
        prepare
        cd "$COLLECTION_COPY"
        export PATH="$PYBIN:$VENV/bin:$PATH"
        export ANSIBLE_COLLECTIONS_PATH="$TOOLS_DIR/ac"
        exec "$@"
        ;;
    *)
        log "usage: $0 {pythons|run CMD [ARGS...]}"
        exit 2
        ;;
esac

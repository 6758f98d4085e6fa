#!/usr/bin/env bash
# Installs what the tests need, if it is missing:
# - for the dashboard's tests, a real Prometheus (with promtool) and a real headless Chromium driven
#   through chromedriver, from Debian's packages; the tests start them on 127.0.0.1 themselves and
#   stop them. Needs root (or sudo) and apt.
# - for the demo's load suite (monitor-examples/tests/load.rs), `wrk` (Debian's package), and the
#   same Prometheus.
# - for the price engine's test of LiteLLM's whole price file, that file, as the PyPI package
#   `litellm` ships it, in target/litellm/ (tests/tests/pricing.rs reads it there).
# - for the demo's trace test (monitor-examples/tests/phoenix.rs), Arize Phoenix from PyPI, in a
#   virtual environment of its own under ~/.cache/monitor/ (the test starts it itself).
# Does nothing for what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        $sudo apt-get update
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "$@"
}

missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} for the dashboard's tests and the load suite" >&2
    apt_install "${missing[@]}"
fi

# Pinned, so that the prices the test expects of a few models stay the file's: to move on, change
# the version and those prices together.
litellm_version=1.110.2
litellm_dir=target/litellm
litellm_json=$litellm_dir/model_prices_and_context_window.json
if [ "$(cat "$litellm_dir/VERSION" 2>/dev/null)" != "$litellm_version" ] || [ ! -s "$litellm_json" ]; then
    echo "fetching LiteLLM's price file (litellm $litellm_version) for the price engine's tests" >&2
    # A bare Debian has no python3, and Debian's own python3 comes without pip.
    command -v python3 >/dev/null || apt_install --no-install-recommends python3
    # Without its recommends, which are a C toolchain: the wheel is only downloaded.
    python3 -m pip --version >/dev/null 2>&1 || apt_install --no-install-recommends python3-pip
    wheels=$(mktemp -d)
    trap 'rm -rf "$wheels"' EXIT
    # Only downloaded, never installed: no dependencies, and nothing for the system's Python.
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheels" "litellm==$litellm_version"
    mkdir -p "$litellm_dir"
    python3 - "$wheels" "$litellm_json.tmp" <<'PY'
import pathlib, sys, zipfile
wheel, = pathlib.Path(sys.argv[1]).glob("litellm-*.whl")
with zipfile.ZipFile(wheel) as z:
    pathlib.Path(sys.argv[2]).write_bytes(z.read("litellm/model_prices_and_context_window_backup.json"))
PY
    mv "$litellm_json.tmp" "$litellm_json"
    echo "$litellm_version" >"$litellm_dir/VERSION"
fi

# Pinned, as the test's harness names it (tests/harness/src/phoenix.rs): wheels only, in a virtual
# environment of its own (860 MB, and no copy in pip's cache: disk is what CI runs short of), one
# to four minutes. `.installed` is written last, so an install cut short is made again.
phoenix_version=20.26.1
phoenix_venv="${XDG_CACHE_HOME:-$HOME/.cache}/monitor/phoenix-$phoenix_version"
if [ ! -e "$phoenix_venv/.installed" ]; then
    echo "installing Arize Phoenix $phoenix_version into $phoenix_venv for the demo's trace test" >&2
    command -v python3 >/dev/null || apt_install --no-install-recommends python3
    rm -rf "$phoenix_venv"
    mkdir -p "$(dirname "$phoenix_venv")"
    # Debian's python3 makes virtual environments only with python3-venv (ensurepip).
    if ! python3 -m venv "$phoenix_venv" >/dev/null 2>&1; then
        rm -rf "$phoenix_venv"
        apt_install --no-install-recommends python3-venv
        python3 -m venv "$phoenix_venv"
    fi
    "$phoenix_venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
        --only-binary=:all: "arize-phoenix==$phoenix_version"
    touch "$phoenix_venv/.installed"
fi

#!/usr/bin/env bash
# Installs what the dashboard's tests talk to, if it is missing: a real Prometheus (with promtool)
# and a real headless Chromium driven through chromedriver, from Debian's packages. The tests start
# them on 127.0.0.1 themselves and stop them. Needs root (or sudo) and apt; does nothing when all
# three are there.
set -euo pipefail
missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} for the dashboard's tests" >&2
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"

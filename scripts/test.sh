#!/usr/bin/env bash
# Runs every test of the workspace. `monitor-tests-disabled` builds monitor-core without its
# `enabled` feature; cargo unifies features across the packages of one invocation, so that package
# gets an invocation of its own. Ends with one line totalling both runs.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Prometheus and Chromium for the dashboard's tests and LiteLLM's price file for the price engine's, when missing.
bash scripts/deps.sh || exit $?

status=0
cargo test --workspace --exclude monitor-tests-disabled 2>&1 | tee -a "$log" || status=$?
if [ "$status" -eq 0 ]; then
    cargo test -p monitor-tests-disabled 2>&1 | tee -a "$log" || status=$?
fi

passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{ n += $4 } END { print n + 0 }')
failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{ n += $1 } END { print n + 0 }')
echo
echo "tests: $passed passed, $failed failed"
exit "$status"

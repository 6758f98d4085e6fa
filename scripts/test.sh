#!/usr/bin/env bash
# Runs every test of the workspace. `monitor-tests-disabled` builds monitor-core without its
# `enabled` feature; cargo unifies features across the packages of one invocation, so that package
# gets an invocation of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --exclude monitor-tests-disabled
cargo test -p monitor-tests-disabled

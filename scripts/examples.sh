#!/usr/bin/env bash
# Runs every example a user of the published crates is pointed to, as `cargo run --example` would,
# and checks that each ends on its own with status 0 and prints what it measured (each example also
# checks its own figures and fails when they are wrong). They are built once, with the workspace's
# features in the debug profile, as `cargo test --workspace` builds them: run before the tests, the
# build is theirs too.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --workspace --exclude monitor-tests-disabled --examples
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# name, then a line its output must hold. Each takes a second or two; the timeout only bounds a hang.
examples=(
    "monitored_handler|create_logo     4      1   1"
    "pipeline_stage|200 runs, 8 failed at parse"
    "tracks_tokens|local-llama"
    "axum|monitor_calls_total{site=\"get_logo\""
    "otlp_push|monitor.calls, all sites and outcomes: 36"
    "async_openai|ask_streamed: 1 call(s), input 1200 (cached 800), output 300"
)
for entry in "${examples[@]}"; do
    name=${entry%%|*}
    expect=${entry#*|}
    start=${EPOCHREALTIME/./}
    status=0
    # No OTEL_* or OPENAI_* variable: otlp_push pushes to the receiver it starts itself, and
    # async_openai calls the OpenAI-compatible server it starts itself.
    env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OPENAI_BASE_URL timeout 120 "$target/debug/examples/$name" >"$log" 2>&1 || status=$?
    took_ms=$(((${EPOCHREALTIME/./} - start) / 1000))
    sed 's/^/    /' "$log"
    if [ "$status" -ne 0 ]; then
        echo "example $name: exit status $status (124: still running after 120 s)"
        exit 1
    fi
    if ! grep -qF -- "$expect" "$log"; then
        echo "example $name: its output has no line with: $expect"
        exit 1
    fi
    echo "example $name: ok ($took_ms ms)"
done
echo "examples: all ${#examples[@]} ran and ended with status 0"

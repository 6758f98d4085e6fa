#!/usr/bin/env bash
# The demo's `GET /api/logos/{id}` throughput under wrk, monitoring on and off, alternating in one
# run. A benchmark, not a test: CI does not run it (docs/performance.md, "Throughput under wrk", has the figures).
#
#   bash scripts/bench-http.sh [ROUNDS]     # 5 rounds by default; BENCH_DURATION=10s per wrk run
#
# Builds the release demo once. Each round starts it twice on a free loopback port with
# `--requests 0` — monitoring on, then with MONITOR_ENABLED=off, the order swapped every other
# round so that a drift of the machine's speed falls on both settings alike — makes one logo, warms
# up for 2 s and runs `wrk -t2 -c32 -d10s` on its `GET /api/logos/{id}`. Prints each run's
# requests/s, the median of the rounds' on/off ratios, and the noise: how far runs of the same
# setting spread across rounds.
#
# Starts a release build: on a shared machine, not while another one runs.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
duration=${BENCH_DURATION:-10s}
for tool in wrk curl; do
    command -v "$tool" >/dev/null || { echo "bench-http: needs $tool (Debian package $tool)" >&2; exit 1; }
done

cargo build --release --quiet -p monitor-examples --bin logo-service
bin=${CARGO_TARGET_DIR:-target}/release/logo-service
token=bench-http-token-0123456789

work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# One run: the demo with monitoring $1 (on or off); prints wrk's requests/s.
run() {
    local enabled=$1 addr="" id
    MONITOR_ENABLED=$enabled "$bin" --requests 0 --addr 127.0.0.1:0 --token "$token" \
        >"$work/demo.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        addr=$(sed -n 's|^logo-service on http://||p' "$work/demo.log")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "bench-http: the demo printed no address:" >&2; cat "$work/demo.log" >&2; exit 1; }
    id=$(curl -sf -X POST -H 'content-type: application/json' \
        -d '{"prompt": "a lighthouse bakery"}' "http://$addr/api/logos" |
        sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
    [ -n "$id" ] || { echo "bench-http: no logo was made" >&2; exit 1; }
    wrk -t2 -c32 -d2s "http://$addr/api/logos/$id" >/dev/null
    wrk -t2 -c32 -d"$duration" "http://$addr/api/logos/$id" >"$work/wrk.txt"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    if grep -qE 'Non-2xx|Socket errors' "$work/wrk.txt"; then
        echo "bench-http: wrk had errors:" >&2
        cat "$work/wrk.txt" >&2
        exit 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.txt"
}

echo "logo-service (release) GET /api/logos/{id}, wrk -t2 -c32 -d$duration, $rounds rounds," \
    "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$work/rounds"
for round in $(seq "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then
        on=$(run on)
        off=$(run off)
    else
        off=$(run off)
        on=$(run on)
    fi
    echo "$on $off" >>"$work/rounds"
    awk -v r="$round" -v on="$on" -v off="$off" \
        'BEGIN { printf "round %d: on %8.0f req/s   off %8.0f req/s   on/off %.3f\n", r, on, off, on / off }'
done

# Medians, and the spread of each setting: (max - min) / median, and that as ± around the median.
awk '
    function median(a, n,    i, j, t, s) {
        for (i = 1; i <= n; i++) s[i] = a[i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
        return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
    }
    function spread(a, n,    i, lo, hi) {
        lo = hi = a[1]
        for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
        return (hi - lo) / median(a, n)
    }
    { n++; on[n] = $1; off[n] = $2; ratio[n] = $1 / $2 }
    END {
        printf "median: on %.0f req/s, off %.0f req/s\n", median(on, n), median(off, n)
        lo = hi = ratio[1]
        for (i = 2; i <= n; i++) { if (ratio[i] < lo) lo = ratio[i]; if (ratio[i] > hi) hi = ratio[i] }
        printf "on/off ratio: median %.3f (rounds %.3f to %.3f)\n", median(ratio, n), lo, hi
        printf "noise, the spread of one setting across rounds: on %.1f %% (±%.1f %%), off %.1f %% (±%.1f %%)\n",
            100 * spread(on, n), 50 * spread(on, n), 100 * spread(off, n), 50 * spread(off, n)
    }
' "$work/rounds"

#!/usr/bin/env bash
# What one sustained single-row UPDATE costs `kernel start` (see README.md here): one-client pgbench UPDATEs with a
# live SUBSCRIBE, for kernel builds side by side and with a number of idle tables in the catalog; the builds
# alternate round by round, so a drift in the machine's speed hits each alike.
#   tests/bench/update-load.sh artifacts/cli/Kernel.Cli.dll [OTHER/Kernel.Cli.dll ...]
# Environment: IDLE_TABLES ("0 20": the idle table counts to run), ROUNDS (2), SECONDS_PER_RUN (15), ROWS (1000000).
# Prints pgbench's average latency, the kernel process's CPU time per update, and, when dotnet-counters is on the
# PATH or in ~/.dotnet/tools, the bytes allocated, the gen0 and gen1 collections and the GC pause time per update.
# Needs psql, pg_isready and pgbench (PostgreSQL 15 client programs), python3 and dotnet on the PATH.
set -euo pipefail
seconds="${SECONDS_PER_RUN:-15}"
rows="${ROWS:-1000000}"
rounds="${ROUNDS:-2}"
idle_counts="${IDLE_TABLES:-0 20}"
# shellcheck source=kernel-bench.sh
source "$(dirname "$0")/kernel-bench.sh"
counters="$(command -v dotnet-counters || true)"
[ -z "$counters" ] && [ -x "$HOME/.dotnet/tools/dotnet-counters" ] && counters="$HOME/.dotnet/tools/dotnet-counters"
for idle in $idle_counts; do
    write_load "$work/load-$idle.sql" "$idle"
done

measure() { # dll idle -> one result line
    local data="$work/data-$RANDOM" port counters_pid="" cpu0 cpu1 start end out
    port="$(free_port)"
    start_kernel "$1" "$data" "$port"
    psql -q -h 127.0.0.1 -p "$port" -U materialize -d materialize -f "$work/load-$2.sql" > /dev/null
    subscribe "$port"
    updates "$port" 5 > /dev/null # warm-up, past the merges that follow the load
    rm -f "$work/counters.csv"
    if [ -n "$counters" ]; then
        (cd "$work" && exec "$counters" collect -p "$kernel_pid" --counters System.Runtime --format csv \
            -o "$work/counters.csv" --refresh-interval 1 > /dev/null 2>&1) &
        counters_pid=$!
        sleep 2
    fi
    cpu0="$(awk '{ print $14 + $15 }' "/proc/$kernel_pid/stat")"
    start="$(date +%s.%N)"
    out="$(updates "$port")"
    end="$(date +%s.%N)"
    cpu1="$(awk '{ print $14 + $15 }' "/proc/$kernel_pid/stat")"
    if [ -n "$counters_pid" ]; then
        sleep 1.5
        kill -INT "$counters_pid" 2> /dev/null || true
        wait "$counters_pid" 2> /dev/null || true
    fi
    unsubscribe
    stop_kernel TERM
    python3 - "$1" "$2" "$out" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" "$start" "$end" "$work/counters.csv" <<'PY'
import csv, datetime, os, re, sys
dll, idle, out, cpu0, cpu1, tck, start, end, path = sys.argv[1:]
tx = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
latency = re.search(r"latency average = ([\d.]+) ms", out).group(1)
cpu_us = (float(cpu1) - float(cpu0)) / float(tck) * 1e6 / tx
start, end = float(start), float(end)
line = f"{dll:<44} {idle:>5} {latency:>9} {cpu_us:>9.0f}"
if os.path.exists(path):
    # Rates per 1-second interval; the intervals inside the pgbench run, scaled to its update rate.
    sums, seen = {}, 0
    for row in csv.reader(open(path)):
        try:
            stamp = datetime.datetime.strptime(row[0], "%m/%d/%Y %H:%M:%S").timestamp()
        except (ValueError, IndexError):
            continue
        if start + 1 <= stamp <= end:
            key = ("alloc" if "total_allocated" in row[2] else "gen0" if "collections" in row[2] and "gen0" in row[2]
                   else "gen1" if "collections" in row[2] and "gen1" in row[2] else "pause" if "pause.time" in row[2] else None)
            if key:
                sums[key] = sums.get(key, 0.0) + float(row[4])
                seen += key == "alloc"
    updates = tx / (end - start) * seen
    if updates > 0:
        line += (f" {sums.get('alloc', 0) / updates / 1024:>10.1f} {sums.get('gen0', 0) / updates * 1000:>8.1f}"
                 f" {sums.get('gen1', 0) / updates * 1000:>8.1f} {sums.get('pause', 0) / updates * 1e6:>9.0f}")
print(line, flush=True)
PY
}

echo "update-load: $rows rows, ${seconds}s of one-client pgbench UPDATEs with a live SUBSCRIBE per line; $(nproc) CPUs"
header="$(printf '%-44s %5s %9s %9s' kernel idle "lat (ms)" "CPU (us)")"
[ -n "$counters" ] && header+="$(printf ' %10s %8s %8s %9s' "KiB alloc" "gen0/1k" "gen1/1k" "pause(us)")"
echo "$header   (CPU, allocation and GC pause per update; collections per 1,000 updates)"
for round in $(seq "$rounds"); do
    for idle in $idle_counts; do
        for dll in "$@"; do
            measure "$dll" "$idle"
        done
    done
done

#!/usr/bin/env bash
# Sustained single-row UPDATE latency of `kernel start` under pgbench, with a live SUBSCRIBE, before and after a
# restart (see README.md here). Compares kernel builds side by side in one run, one after the other:
#   tests/bench/sustained-restart.sh artifacts/cli/Kernel.Cli.dll [OTHER/Kernel.Cli.dll ...]
# Environment: SIGNAL=TERM (default, a graceful stop) or KILL; SECONDS_PER_RUN (20); ROWS (1000000).
# Needs psql, pg_isready and pgbench (PostgreSQL 15 client programs), python3 and dotnet on the PATH.
set -euo pipefail
signal="${SIGNAL:-TERM}"
seconds="${SECONDS_PER_RUN:-20}"
rows="${ROWS:-1000000}"
# shellcheck source=kernel-bench.sh
source "$(dirname "$0")/kernel-bench.sh"
write_load "$work/load.sql"
average() { awk '/latency average/ { print $4 }'; }

echo "sustained-restart: $rows rows, ${seconds}s of one-client pgbench UPDATEs per figure, restart by SIG$signal; $(nproc) CPUs"
printf '%-50s %14s %20s %20s\n' "kernel" "before (ms)" "after, first (ms)" "after, second (ms)"
for dll in "$@"; do
    data="$work/data-$RANDOM"
    port="$(free_port)"
    start_kernel "$dll" "$data" "$port"
    psql -q -h 127.0.0.1 -p "$port" -U materialize -d materialize -f "$work/load.sql" > /dev/null
    subscribe "$port"
    before="$(updates "$port" | average)"
    unsubscribe
    stop_kernel "$signal"
    start_kernel "$dll" "$data" "$port"
    subscribe "$port"
    first="$(updates "$port" | average)"
    second="$(updates "$port" | average)"
    unsubscribe
    stop_kernel TERM
    printf '%-50s %14s %20s %20s\n' "$dll" "$before" "$first" "$second"
done

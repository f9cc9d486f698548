#!/usr/bin/env bash
# Sustained single-row UPDATE latency of `kernel start` under pgbench, with a live SUBSCRIBE, before and after a
# restart (see README.md here). Compares kernel builds side by side in one run, one after the other:
#   tests/bench/sustained-restart.sh artifacts/cli/Kernel.Cli.dll [OTHER/Kernel.Cli.dll ...]
# Environment: SIGNAL=TERM (default, a graceful stop) or KILL; SECONDS_PER_RUN (20); ROWS (1000000).
# Needs psql, pg_isready and pgbench (PostgreSQL 15 client programs), python3 and dotnet on the PATH.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 KERNEL_CLI_DLL [KERNEL_CLI_DLL ...]" >&2; exit 2; }
signal="${SIGNAL:-TERM}"
seconds="${SECONDS_PER_RUN:-20}"
rows="${ROWS:-1000000}"
for tool in psql pg_isready pgbench python3 dotnet; do
    command -v "$tool" > /dev/null || { echo "$0: $tool is not on the PATH" >&2; exit 2; }
done
work="$(mktemp -d)"
kernel_pid=""
subscribe_pid=""
cleanup() {
    [ -n "$subscribe_pid" ] && kill "$subscribe_pid" 2> /dev/null || true
    [ -n "$kernel_pid" ] && kill -KILL "$kernel_pid" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# t (id, k, v) with ROWS rows in 5,000-row INSERTs, an index on t (id), and mv = count and sum per k, indexed.
awk -v rows="$rows" 'BEGIN {
    print "CREATE TABLE t (id bigint, k int, v int);"
    for (first = 0; first < rows; first += 5000) {
        line = "INSERT INTO t VALUES "
        for (id = first; id < first + 5000 && id < rows; id++) {
            line = line (id > first ? "," : "") "(" id "," id % 1000 "," id * 7 % 100 ")"
        }
        print line ";"
    }
    print "CREATE INDEX t_id ON t (id);"
    print "CREATE VIEW mv AS SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k;"
    print "CREATE INDEX mv_k ON mv (k);"
}' > "$work/load.sql"
printf '\\set id random(0, %d)\nUPDATE t SET v = v + 1 WHERE id = :id;\n' "$((rows - 1))" > "$work/update.sql"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_kernel() { # dll data-dir port
    dotnet "$1" start --data-dir "$2" --port "$3" --controller-port "$(free_port)" --pubsub-port "$(free_port)" > "$2.log" 2>&1 &
    kernel_pid=$!
    for _ in $(seq 150); do
        pg_isready -q -h 127.0.0.1 -p "$3" && return 0
        sleep 0.2
    done
    echo "$0: kernel did not start; its output:" >&2
    cat "$2.log" >&2
    exit 1
}

stop_kernel() { # signal
    kill "-$1" "$kernel_pid"
    wait "$kernel_pid" 2> /dev/null || true
    kernel_pid=""
}

subscribe() { # port
    psql -h 127.0.0.1 -p "$1" -U materialize -d materialize -c "COPY (SUBSCRIBE mv) TO STDOUT" > /dev/null 2>&1 &
    subscribe_pid=$!
    sleep 2
}

unsubscribe() {
    kill "$subscribe_pid" 2> /dev/null || true
    wait "$subscribe_pid" 2> /dev/null || true
    subscribe_pid=""
}

updates() { # port -> average latency in ms
    pgbench -n -h 127.0.0.1 -p "$1" -U materialize -M extended -f "$work/update.sql" -T "$seconds" materialize 2>&1 |
        awk '/latency average/ { print $4 }'
}

echo "sustained-restart: $rows rows, ${seconds}s of one-client pgbench UPDATEs per figure, restart by SIG$signal; $(nproc) CPUs"
printf '%-50s %14s %20s %20s\n' "kernel" "before (ms)" "after, first (ms)" "after, second (ms)"
for dll in "$@"; do
    data="$work/data-$RANDOM"
    port="$(free_port)"
    start_kernel "$dll" "$data" "$port"
    psql -q -h 127.0.0.1 -p "$port" -U materialize -d materialize -f "$work/load.sql" > /dev/null
    subscribe "$port"
    before="$(updates "$port")"
    unsubscribe
    stop_kernel "$signal"
    start_kernel "$dll" "$data" "$port"
    subscribe "$port"
    first="$(updates "$port")"
    second="$(updates "$port")"
    unsubscribe
    stop_kernel TERM
    printf '%-50s %14s %20s %20s\n' "$dll" "$before" "$first" "$second"
done

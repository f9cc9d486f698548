# Shared by the pgbench-driven scripts here (sourced, not run): the table t (id, k, v) with ROWS rows, its index,
# the indexed view mv (count and sum per k), a kernel started on a fresh port, a live SUBSCRIBE to mv, and
# one-client pgbench runs of UPDATE t SET v = v + 1 WHERE id = :id (extended protocol). Takes the caller's arguments
# (kernel CLI dlls, at least one), makes the scratch directory $work, and expects $rows and $seconds to be set.

[ $# -ge 1 ] || { echo "usage: $0 KERNEL_CLI_DLL [KERNEL_CLI_DLL ...]" >&2; exit 2; }
work="$(mktemp -d)"
for tool in psql pg_isready pgbench python3 dotnet; do
    command -v "$tool" > /dev/null || { echo "$0: $tool is not on the PATH" >&2; exit 2; }
done
kernel_pid=""
subscribe_pid=""
cleanup() {
    [ -n "$subscribe_pid" ] && kill "$subscribe_pid" 2> /dev/null || true
    [ -n "$kernel_pid" ] && kill -KILL "$kernel_pid" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

write_load() { # file [extra idle tables]
    awk -v rows="$rows" -v extra="${2:-0}" 'BEGIN {
        for (i = 1; i <= extra; i++) print "CREATE TABLE idle" i " (id bigint);"
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
    }' > "$1"
}
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

updates() { # port [seconds] -> pgbench's output
    pgbench -n -h 127.0.0.1 -p "$1" -U materialize -M extended -f "$work/update.sql" -T "${2:-$seconds}" materialize 2>&1
}

#!/usr/bin/env bash
# Counts the server's write system calls per delivered copy under load,
# with perf's syscall tracepoints: how well the server batches its
# writes under a client rhythm (fewer writes, each carrying more lines, is
# what makes fan-out cheap). Server on CPU 0, tool on CPU 1, history off
# (HISTORY_ENABLED=true turns it on, in a fresh database, and also counts
# the database's pwrite calls per message sent), flood control lifted; run
# it on a quiet machine (batching depends on timing).
#
# Usage: scripts/writes_per_delivery.sh SERVER_BINARY [BENCH_BINARY] [-- BENCH ARGS]
#   default bench args: fanout -c 200 -s 10 --rhythm shared-window --window-total 256 --size 64
#   SERVER_BINARY may be the floor (target/release/examples/baseline_server);
#   BENCH_BINARY may be the second tool, target/release/chatroom-threads
#   (then BENCH ARGS are its own, e.g. -- --in-flight 64).
#   Builds with HTTP and admin listeners bind ports 8080 and 9555 unless the
#   environment sets CHATROOM_HTTP__LISTEN= CHATROOM_ADMIN__LISTEN=.
# Needs perf (apt-get install linux-perf) with tracepoints readable (root).
# Loopback only; ends by itself.
set -euo pipefail
server=$(realpath "$1")
shift
bench=$(realpath "${1:-target/release/chatroom-bench}")
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(fanout -c 200 -s 10 --rhythm shared-window --window-total 256 --size 64)

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
port=$((20000 + RANDOM % 20000))
if [[ $(basename "$server") == baseline_server* ]]; then
  cmd=("$server" "127.0.0.1:$port")
else
  cmd=("$server" --listen "127.0.0.1:$port")
fi
CHATROOM_LIMITS__FLOOD_BURST=1000000 CHATROOM_LIMITS__FLOOD_RATE_PER_SEC=1000000 \
CHATROOM_LOG__LEVEL=warn CHATROOM_LOG__DIR= CHATROOM_HISTORY__ENABLED=${HISTORY_ENABLED:-false} \
  taskset -c 0 "${cmd[@]}" > "$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
perf stat -x, -o "$dir/perf.csv" -p "$pid" \
  -e syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_pwrite64 &
perf_pid=$!
sleep 0.2
taskset -c 1 "$bench" --server-pid "$pid" --addr "127.0.0.1:$port" "${args[@]}" > "$dir/bench.out"
kill -INT "$perf_pid"
wait "$perf_pid" || true
# The history thread's CPU time (utime + stime, in clock ticks).
db_ticks=0
for task in /proc/"$pid"/task/*; do
  if [ "$(cat "$task/comm" 2>/dev/null)" = chatroom-db ]; then
    db_ticks=$(awk '{print $14 + $15}' "$task/stat")
  fi
done
echo "$db_ticks $(getconf CLK_TCK)" > "$dir/db_ticks"
kill -TERM "$pid"
wait "$pid" || true
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
run = [json.loads(l) for l in open(f"{d}/bench.out") if l.startswith("{")][-1]
counts = {}
for line in open(f"{d}/perf.csv"):
    parts = line.strip().split(",")
    if len(parts) > 2 and parts[0].isdigit():
        counts[parts[2].split(":")[-1].replace("sys_enter_", "")] = int(parts[0])
copies = run["received_copies"]
writes = counts.get("writev", 0) + counts.get("write", 0) + counts.get("sendto", 0)
reads = counts.get("recvfrom", 0) + counts.get("read", 0)
print(f"copies {copies:,}  writes {writes:,} (writev {counts.get('writev', 0):,})  "
      f"reads {reads:,}  writes per 1,000 copies {1000 * writes / max(copies, 1):.1f}  "
      f"copies per write {copies / max(writes, 1):.1f}")
if counts.get("pwrite64"):
    # SQLite writes a WAL frame (and a checkpoint its page) with pwrite.
    sent = run["messages_sent"]
    print(f"messages {sent:,}  database pwrites {counts['pwrite64']:,}  "
          f"per 1,000 messages {1000 * counts['pwrite64'] / max(sent, 1):.1f}  "
          f"deliveries per server CPU-second {run['deliveries_per_server_cpu_sec']:,.0f}")
    ticks, hz = (int(x) for x in open(f"{d}/db_ticks").read().split())
    server = run["server"]["cpu_secs"]
    print(f"history thread {ticks / hz:.2f} s of the server's {server:.2f} s CPU "
          f"({100 * ticks / hz / max(server, 1e-9):.0f}%), "
          f"{1e6 * ticks / hz / max(sent, 1):.2f} us per message")
PY

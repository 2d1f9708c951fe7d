#!/usr/bin/env bash
# Counts the instructions the server runs per message under load, with
# valgrind's callgrind: a figure that, unlike CPU time, does not move with
# a noisy machine, so two builds can be compared in a few runs. It counts
# user space only (the kernel's share of each write is not in it), from
# the moment the server listens.
#
# Usage: scripts/callgrind_per_message.sh SERVER_BINARY [BENCH_BINARY] [-- BENCH ARGS]
#   default bench args: rooms -r 20 -k 10 --warmup 1 --duration 4
#   set CHATROOM_HISTORY__ENABLED=false in the environment to leave out the store
# Needs valgrind (apt-get install valgrind). Loopback only; ends by itself.
set -euo pipefail
server=$(realpath "$1")
shift
bench=$(realpath "${1:-target/release/chatroom-bench}")
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(rooms -r 20 -k 10 --warmup 1 --duration 4)

dir=$(mktemp -d)
trap 'cp "$dir/cg.out" "${CG_KEEP:-/dev/null}" 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
port=$((20000 + RANDOM % 20000))
CHATROOM_LIMITS__FLOOD_BURST=1000000 CHATROOM_LIMITS__FLOOD_RATE_PER_SEC=1000000 \
CHATROOM_LOG__LEVEL=warn CHATROOM_LOG__DIR= \
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
  "$server" --listen "127.0.0.1:$port" > "$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done
# Start-up is not a message's cost: wait until the server is idle (it
# makes an argon2 hash in the background after it listens, some 40 million
# instructions), then count from there.
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
last=$(cpu); still=0
for _ in $(seq 120); do
  sleep 0.5
  now=$(cpu)
  if [ $((now - last)) -le 1 ]; then still=$((still + 1)); else still=0; fi
  last=$now
  [ $still -ge 2 ] && break
done
callgrind_control --zero "$pid" > /dev/null
taskset -c 1 "$bench" --timeout 30 --addr "127.0.0.1:$port" "${args[@]}" > "$dir/bench.out"
# SIGTERM: the server shuts down cleanly and callgrind writes its counts.
kill -TERM "$pid"
wait "$pid" || true
python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
run = [json.loads(l) for l in open(f"{d}/bench.out") if l.startswith("{")][-1]
ir = next(int(l.split()[1]) for l in open(f"{d}/cg.out") if l.startswith(("summary:", "totals:")))
msgs, copies = run["messages_sent"], run["received_copies"]
print(f"instructions {ir:,}  messages {msgs:,}  copies {copies:,}  "
      f"per message {ir / max(msgs, 1):,.0f}  per copy {ir / max(copies, 1):,.0f}")
EOF

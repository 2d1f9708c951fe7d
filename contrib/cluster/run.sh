#!/bin/sh
# Three chatroom nodes on one Redis, behind HAProxy, all on 127.0.0.1
# (docs/CLUSTER.md, "Running three nodes behind HAProxy"):
#
#   redis-server   127.0.0.1:16379  appendonly yes, appendfsync always
#   node n1..n3    native 1555N, IRC 1666N, HTTP 1808N, admin 1955N
#   haproxy        native 5555, IRC 6667, HTTP 8080 (contrib/cluster/haproxy.cfg)
#
# Needs redis-server and haproxy (Debian: apt-get install redis-server
# haproxy) and a built chatroom (CHATROOM=path, default target/release/chatroom,
# else target/debug/chatroom). Runs in the foreground; Ctrl-C stops everything
# it started. Everything it writes goes to one temporary directory (printed),
# kept afterwards for its logs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${CHATROOM:-}" ]; then
    if [ -x "$root/target/release/chatroom" ]; then
        CHATROOM="$root/target/release/chatroom"
    else
        CHATROOM="$root/target/debug/chatroom"
    fi
fi
for program in redis-server haproxy "$CHATROOM"; do
    command -v "$program" >/dev/null 2>&1 || {
        echo "run.sh: $program not found" >&2
        exit 1
    }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/chatroom-cluster.XXXXXX")
echo "run.sh: working in $work"
pids=""
stop() {
    trap - INT TERM EXIT
    for pid in $pids; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    echo "run.sh: stopped; logs in $work"
}
trap stop INT TERM EXIT

mkdir -p "$work/redis"
redis-server --port 16379 --bind 127.0.0.1 --dir "$work/redis" \
    --save "" --appendonly yes --appendfsync always \
    --logfile "$work/redis/redis.log" &
pids="$pids $!"
i=0
until redis-cli -p 16379 ping >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 50 ] || { echo "run.sh: redis-server did not start" >&2; exit 1; }
    sleep 0.1
done

for n in 1 2 3; do
    dir="$work/n$n"
    mkdir -p "$dir"
    cat >"$dir/chatroom.toml" <<TOML
[server]
listen = "127.0.0.1:1555$n"
[irc]
listen = "127.0.0.1:1666$n"
[http]
listen = "127.0.0.1:1808$n"
[admin]
listen = "127.0.0.1:1955$n"
[history]
db = "$dir/history.db"
[files]
dir = "$dir/files"
[log]
dir = "$dir"
[cluster]
redis_url = "redis://127.0.0.1:16379/0"
node_id = "n$n"
TOML
    "$CHATROOM" --config "$dir/chatroom.toml" 2>"$dir/stderr.log" &
    pids="$pids $!"
done
for n in 1 2 3; do
    i=0
    until curl -fs "http://127.0.0.1:1955$n/healthz" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { echo "run.sh: node n$n did not start (see $work/n$n)" >&2; exit 1; }
        sleep 0.1
    done
done

haproxy -f "$here/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids="$pids $!"
echo "run.sh: ready: nc 127.0.0.1 5555 (native), IRC 127.0.0.1:6667, http://127.0.0.1:8080/"
echo "run.sh: kill one node to see its clients move: kill <pid> of n1, n2 or n3 (ps)"
wait

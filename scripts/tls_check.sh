#!/usr/bin/env bash
# The native protocol over TLS with an independent client, openssl s_client:
#
#   scripts/tls_check.sh [PATH_TO_CHATROOM_BINARY]   (default target/debug/chatroom)
#
# Starts the server in a temporary directory with its TLS listener on
# 127.0.0.1 and a free port (learnt from its log line `TLS listening on
# ADDR`) and a self-signed certificate generated there; checks that the
# fingerprint it logs is the certificate's (as openssl computes it); pipes a
# session through `openssl s_client -quiet`, which verifies the certificate
# (trusting the generated one, for the name localhost), and compares the
# server's replies line by line; then stops the server with SIGTERM and
# expects a clean exit. Exits non-zero, saying why, on any difference.
# tests/tls.rs runs it (openssl_s_client_works_like_nc) when openssl is
# installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/target/debug/chatroom}")
[ -x "$bin" ] || { echo "tls_check: no server binary at $bin (cargo build first)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "tls_check: openssl is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "tls_check: $*" >&2
    echo "--- server log:" >&2
    cat "$tmp/server.log" >&2 || true
    exit 1
}

cat >"$tmp/chatroom.toml" <<EOF
[server]
listen = "127.0.0.1:0"
[irc]
listen = ""
[tls]
listen = "127.0.0.1:0"
dir = "$tmp/tls"
[files]
dir = "$tmp/files"
[history]
enabled = false
[log]
dir = ""
level = "info"
EOF

# Only this file configures the server: no CHATROOM_* or RUST_LOG from outside.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^CHATROOM_' || true)
unset RUST_LOG
(cd "$tmp" && NO_COLOR=1 exec "$bin" --config "$tmp/chatroom.toml") 2>"$tmp/server.log" &
pid=$!

addr=
for _ in $(seq 200); do
    addr=$(grep -o 'server: TLS listening on [^ ]*' "$tmp/server.log" | awk '{print $5}' | head -n1 || true)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || fail "the server exited at start-up"
    sleep 0.05
done
[ -n "$addr" ] || fail "no 'TLS listening on' line within 10 s"
port=${addr##*:}

cert="$tmp/tls/self-signed-cert.pem"
[ -f "$cert" ] || fail "no self-signed certificate at $cert"
logged=$(grep -o 'SHA-256 fingerprint [0-9A-F:]*' "$tmp/server.log" | awk '{print $3}' | head -n1)
actual=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)
[ "$logged" = "$actual" ] || fail "logged fingerprint '$logged' is not the certificate's '$actual'"

version=$("$bin" --version | awk '{print $2}')
expected="HELLO chatroom $version Welcome! Pick a nickname: NICK <name>
OK NICK alice
JOIN #123 alice
NAMES #123 alice
OK JOIN #123
OK MSG #123
ERR FLY UNKNOWN_COMMAND try HELP
OK QUIT"

# -quiet: no session chatter on stdout, and stdin's end does not close the
# connection (the server does, after QUIT). -verify_return_error: a
# certificate that does not verify ends the handshake.
got=$(printf 'NICK alice\nJOIN 123\nMSG #123 hello over TLS\nFLY away\nQUIT bye\n' |
    timeout 20 openssl s_client -quiet -connect "localhost:$port" \
        -CAfile "$cert" -verify_hostname localhost -verify_return_error \
        2>"$tmp/s_client.err") ||
    fail "openssl s_client failed: $(cat "$tmp/s_client.err")"

if [ "$got" != "$expected" ]; then
    fail "unexpected replies:
$(diff <(echo "$expected") <(echo "$got") || true)"
fi

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "the server exited with status $status after SIGTERM"
echo "tls_check: ok (openssl s_client on $addr, certificate $actual)"

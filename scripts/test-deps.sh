#!/usr/bin/env bash
# Installs the Debian packages that the test suites driving real programs
# need (tests/irc_clients.rs: WeeChat, irssi, tmux; tests/tls.rs: openssl;
# tests/browser.rs: Chromium and chromedriver; tests/cluster.rs:
# redis-server; tests/cluster_netfault.rs: iproute2 too), when missing. Quick and
# silent but for one line when everything is there; prints what it
# installed. Run by scripts/test.sh and .ci/run; plain `cargo test` does not
# run it, and the suites whose programs are missing skip with a notice.
#
# A suite that needs another package adds one `need` line below.
set -euo pipefail

packages=()
# need PACKAGE: the Debian package must be installed.
need() { packages+=("$1"); }

need weechat-headless # tests/irc_clients.rs: WeeChat without a terminal
need weechat-plugins  # tests/irc_clients.rs: its fifo plugin, to drive it
need irssi            # tests/irc_clients.rs: irssi, run in tmux
need tmux             # tests/irc_clients.rs: a private tmux server per test
need openssl          # tests/tls.rs: scripts/tls_check.sh drives openssl s_client
need chromium         # tests/browser.rs: the web client in a real browser
need chromium-driver  # tests/browser.rs: chromedriver, to drive it
need redis-server     # tests/cluster.rs: the Redis the cluster nodes share
need iproute2         # tests/cluster_netfault.rs: ip netns, veth, tc (runs as root)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "test-deps: all present (${packages[*]})"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "test-deps: missing ${missing[*]}, and no apt-get to install them;" \
        "install them yourself, or run plain \`cargo test\`, which skips the" \
        "suites that need them" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "test-deps: missing ${missing[*]}; run this script as root" >&2
        exit 1
    }
    sudo=(sudo)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
    # Another apt-get may hold the lock (a second checkout's tests): wait.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" \
        >"$log" 2>&1
}
echo "test-deps: installing ${missing[*]}"
# A stale or absent package index fails the install: refresh it, once.
if ! install; then
    "${sudo[@]}" apt-get update -q -o DPkg::Lock::Timeout=300 >"$log" 2>&1 ||
        { cat "$log" >&2; exit 1; }
    install || { cat "$log" >&2; exit 1; }
fi
echo "test-deps: installed ${missing[*]}"

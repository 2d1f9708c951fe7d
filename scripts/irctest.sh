#!/usr/bin/env bash
# Runs irctest, the IRC server conformance suite, against chatroom's IRC
# listener through our controller (tests/irctest/chatroom.py), and prints
# the tally. It neither fetches nor changes irctest: it runs a checkout you
# give it (git clone https://github.com/progval/irctest).
#
# Usage: scripts/irctest.sh [IRCTEST_DIR] [CHATROOM_BINARY] [-- PYTEST ARGS]
#   IRCTEST_DIR      an irctest checkout (or set IRCTEST_DIR)
#   CHATROOM_BINARY  the server to test; default: cargo build --release and
#                    target/release/chatroom
#   PYTEST ARGS      passed on, e.g. -- -k 'Join or Part' -x
# Environment:
#   IRCTEST_VENV     Python venv for irctest's requirements, created and
#                    filled on first use (default: target/irctest-venv)
#   IRCTEST_MARKERS  the -m expression (default: issue 13's)
#   IRCTEST_OUT      where the log and junit.xml go (default: a new temp dir)
# Exit status is pytest's (1 when any test fails).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

irctest_dir=${IRCTEST_DIR:-}
binary=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then irctest_dir=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then binary=$1; shift; fi
[ "${1:-}" = "--" ] && shift
if [ -z "$irctest_dir" ] || [ ! -f "$irctest_dir/conftest.py" ]; then
  echo "usage: $0 IRCTEST_DIR [CHATROOM_BINARY] [-- PYTEST ARGS]" >&2
  echo "(IRCTEST_DIR: a checkout of https://github.com/progval/irctest)" >&2
  exit 2
fi
irctest_dir=$(cd "$irctest_dir" && pwd)

venv=${IRCTEST_VENV:-$repo/target/irctest-venv}
if ! "$venv/bin/python" -c 'import pytest' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$irctest_dir/requirements.txt"
fi

if [ -z "$binary" ]; then
  (cd "$repo" && cargo build --release --bin chatroom)
  binary=$repo/target/release/chatroom
fi
binary=$(realpath "$binary")

markers=${IRCTEST_MARKERS:-not Ergo and not deprecated and not strict}
out=${IRCTEST_OUT:-$(mktemp -d -t chatroom-irctest.XXXXXX)}
mkdir -p "$out"
echo "irctest $(git -C "$irctest_dir" rev-parse --short HEAD 2>/dev/null || echo '?')" \
  "against $binary; -m '$markers'; output in $out"

# PYTHONPATH makes our controller importable as the module `chatroom`; no
# bytecode and no pytest cache, so the checkout is left as it was.
start=$(date +%s)
status=0
(
  cd "$irctest_dir"
  CHATROOM_BIN=$binary PYTHONPATH="$repo/tests/irctest" PYTHONDONTWRITEBYTECODE=1 \
    "$venv/bin/python" -m pytest -p no:cacheprovider \
    --controller chatroom -m "$markers" -q -rfE \
    --junitxml="$out/junit.xml" "$@"
) > "$out/pytest.log" 2>&1 || status=$?
end=$(date +%s)

grep -E '^(FAILED|ERROR) ' "$out/pytest.log" || true
"$venv/bin/python" - "$out/junit.xml" "$((end - start))" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
print(
    f"passed {passed}  failed {total['failures']}  errors {total['errors']}"
    f"  skipped {total['skipped']}  (of {total['tests']}, {sys.argv[2]} s)"
)
EOF
exit "$status"

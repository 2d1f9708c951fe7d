#!/usr/bin/env bash
# The whole test suite, as the README says: installs what the suites that
# drive real programs need (scripts/test-deps.sh), then runs `cargo test`
# with this script's arguments (e.g. `scripts/test.sh --test irc_clients`).
# Those suites then fail, rather than skip, if a program is still missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
export CHATROOM_TEST_REQUIRE_PROGRAMS=1
exec cargo test "$@"

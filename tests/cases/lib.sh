# SPDX-License-Identifier: GPL-2.0-only
# Helpers sourced by tests/cases/*.sh (run inside the test VM).
set -u
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS"; exit 0; }

#!/usr/bin/env bash
# The spec's interface to gameday: every argument is passed through to the CLI, e.g.
#   scripts/chaos-engineering.sh run --experiment-type latency --budget 50
#   scripts/chaos-engineering.sh emergency-stop [--clear]
#   scripts/chaos-engineering.sh budget-status [--json]
# The exit code is gameday's (see README / DESIGN.md: 0 passed … 6 rollback failed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "$#" -eq 0 ]; then
  cat >&2 <<USAGE
usage: $(basename "$0") COMMAND [ARGS...]

  run --experiment-type latency --budget 50   run one experiment (no --target: the embedded demo)
  emergency-stop [--clear]                    halt and roll back every running experiment; latch
  budget-status [--json]                      today's spend, caps, reservations, last experiments

Any other gameday command and flag is passed through; \`$(basename "$0") --help\` lists them.
USAGE
  exit 1
fi

exec node "$ROOT/bin/gameday.js" "$@"

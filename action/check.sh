#!/usr/bin/env bash
# Run the gate the way the action's inputs say: annotations on stdout
# (workflow commands), JSON and SARIF reports to files, the Markdown report
# appended to the job summary and the verdict in the step outputs. Exits
# with readygate's code: 1 when the policy blocks this branch.
set -euo pipefail
bin="${READYGATE:-readygate}"
reports="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/readygate-reports"
mkdir -p "$reports"
args=(check "${INPUT_PATH:-.}" --github
    --format json --output "$reports/report.json"
    --format sarif --output "${INPUT_SARIF_FILE:-readygate.sarif}"
    --format github)
if [[ -n "${INPUT_POLICY:-}" ]]; then args+=(--policy "$INPUT_POLICY"); fi
if [[ -n "${INPUT_TIER:-}" ]]; then args+=(--tier "$INPUT_TIER"); fi
case "${INPUT_ONLINE:-false}" in
    true) args+=(--online) ;;
    false | "") ;;
    *) echo "::error title=readygate::input 'online' must be true or false, not '$INPUT_ONLINE'"; exit 2 ;;
esac
exec "$bin" "${args[@]}"

#!/usr/bin/env bash
# Run the gate the way the action's inputs say: the `format` input on
# stdout (by default workflow commands, which become annotations), JSON and
# SARIF reports to files, the Markdown report appended to the job summary
# and the verdict in the step outputs. Exits with readygate's code: 1 when
# the policy blocks this branch, 2 for a usage or configuration error.
set -euo pipefail
bin="${READYGATE:-readygate}"
reports="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/readygate-reports"
mkdir -p "$reports"

# One line naming the input, instead of a readygate usage message that
# names its flag.
bad_input() {
    local value="${3//%/%25}"
    value="${value//$'\r'/%0D}"
    value="${value//$'\n'/%0A}"
    echo "::error title=readygate::input '$1' must be one of: $2 (not '$value')"
    exit 2
}

format="${INPUT_FORMAT:-github}"
case "$format" in
    github | terminal | markdown | junit | json | sarif) ;;
    *) bad_input format "github, terminal, markdown, junit, json, sarif" "$format" ;;
esac
args=(check "${INPUT_PATH:-.}" --github
    --format json --output "$reports/report.json"
    --format sarif --output "${INPUT_SARIF_FILE:-readygate.sarif}"
    --format "$format")
if [[ -n "${INPUT_POLICY:-}" ]]; then args+=(--policy "$INPUT_POLICY"); fi
if [[ -n "${INPUT_TIER:-}" ]]; then args+=(--tier "$INPUT_TIER"); fi
case "${INPUT_ANNOTATE:-all}" in
    all | changed) args+=(--annotate "${INPUT_ANNOTATE:-all}") ;;
    *) bad_input annotate "all, changed" "$INPUT_ANNOTATE" ;;
esac
if [[ -n "${INPUT_BASELINE:-}" ]]; then args+=("--baseline=$INPUT_BASELINE"); fi
case "${INPUT_POLICY_REF:-}" in
    worktree) args+=(--policy-from-worktree) ;;
    "")
        # On a pull request readygate reads the policy from its base commit;
        # a shallow checkout may not have it, so fetch that one commit.
        base="${PULL_REQUEST_BASE_SHA:-}"
        if [[ "$base" =~ ^[0-9a-f]{40}$ ]] &&
            ! git -C "${INPUT_PATH:-.}" cat-file -e "$base^{commit}" 2>/dev/null; then
            git -C "${INPUT_PATH:-.}" fetch --no-tags --depth=1 origin "$base" >&2 ||
                echo "::warning title=readygate::could not fetch the pull request's base commit $base; check out with fetch-depth: 0" >&2
        fi
        ;;
    *) args+=("--policy-ref=$INPUT_POLICY_REF") ;;
esac
case "${INPUT_FAIL_ON:-all}" in
    all | new) args+=(--fail-on "${INPUT_FAIL_ON:-all}") ;;
    *) bad_input fail-on "all, new" "$INPUT_FAIL_ON" ;;
esac
case "${INPUT_ONLINE:-false}" in
    true) args+=(--online) ;;
    false | "") ;;
    *) bad_input online "true, false" "$INPUT_ONLINE" ;;
esac
# One glob per line; `=` so a glob cannot be read as an option.
while IFS= read -r glob; do
    glob=${glob#"${glob%%[![:space:]]*}"}
    glob=${glob%"${glob##*[![:space:]]}"}
    if [[ -n "$glob" ]]; then args+=("--junit=$glob"); fi
done <<<"${INPUT_JUNIT:-}"
if [[ -n "${INPUT_TEST_HISTORY:-}" ]]; then args+=("--actions-history=$INPUT_TEST_HISTORY"); fi
if [[ -n "${INPUT_COMMENT_AUTHOR:-}" ]]; then args+=("--comment-author=$INPUT_COMMENT_AUTHOR"); fi
exec "$bin" "${args[@]}"

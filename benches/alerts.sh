#!/usr/bin/env bash
# Alert collection (`readygate evidence`: walk, parse, collect every alert,
# resolve every runbook and anchor) against `promtool check rules` over the
# same 10k alerts in 1k rule files, in the same run.
# Needs: python3, hyperfine, promtool (apt-get install hyperfine prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in promtool hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install prometheus hyperfine python3" >&2; exit 2; }
done
cargo build --release --quiet
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
python3 benches/gen_alerts.py "$tree/repo" "${FILES:-1000}" "${PER_FILE:-10}"
bin=target/release/readygate
# Both must agree on the count before their times mean anything.
alerts=$("$bin" evidence "$tree/repo" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["alerts"]["alerts"]))')
echo "alerts collected by readygate: $alerts"
promtool check rules "$tree"/repo/rules/*.yml | grep -c SUCCESS | xargs echo "files promtool accepted:"
export_json="$tree/hyperfine.json"
hyperfine --warmup 2 --runs "${RUNS:-10}" --export-json "$export_json" \
    -n "promtool check rules" "promtool check rules $tree/repo/rules/*.yml > /dev/null" \
    -n "readygate evidence" "$bin evidence $tree/repo > /dev/null"
python3 - "$export_json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
p, g = r["promtool check rules"], r["readygate evidence"]
print(f"promtool / readygate (mean): {p['mean'] / g['mean']:.1f}x faster")
print(f"promtool / readygate (median): {p['median'] / g['median']:.1f}x faster")
PY

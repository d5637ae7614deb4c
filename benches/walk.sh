#!/usr/bin/env bash
# Walk + classify + collect + evaluate (`readygate check`) against
# `rg --files` over the same generated tree, in the same run.
# Needs: python3, ripgrep, hyperfine (apt-get install ripgrep hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rg hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install ripgrep hyperfine python3" >&2; exit 2; }
done
cargo build --release --quiet
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
python3 benches/gen_tree.py "$tree/repo"
bin=target/release/readygate
export_json="$tree/hyperfine.json"
hyperfine --warmup 3 --runs "${RUNS:-20}" --export-json "$export_json" \
    -n "rg --files" "rg --files $tree/repo > /dev/null" \
    -n "readygate check" "$bin check $tree/repo --format json --event local > /dev/null"
python3 - "$export_json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rg, gate = r["rg --files"], r["readygate check"]
print(f"readygate check / rg --files (mean): {gate['mean'] / rg['mean']:.2f}x")
print(f"readygate check / rg --files (median): {gate['median'] / rg['median']:.2f}x")
PY

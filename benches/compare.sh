#!/usr/bin/env bash
# Two builds on the same inputs in the same run: REF (default HEAD~1, or the
# binary OLD_BIN) against the work tree. Instruction counts with callgrind
# (repeatable) and hyperfine ratios against rg --files and promtool.
# Needs: valgrind, hyperfine, ripgrep, prometheus (promtool), python3.
#
#   bash benches/compare.sh [REF]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in valgrind hyperfine rg promtool python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install valgrind hyperfine ripgrep prometheus python3" >&2; exit 2; }
done
repo=$PWD
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/ref" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
if [ -n "${OLD_BIN:-}" ]; then
    old=$OLD_BIN
else
    git worktree add --detach --quiet "$work/ref" "${1:-HEAD~1}"
    CARGO_TARGET_DIR="$repo/target/compare" cargo build --release --quiet --manifest-path "$work/ref/Cargo.toml"
    old="$repo/target/compare/release/readygate"
fi
cargo build --release --quiet
new="$repo/target/release/readygate"
python3 benches/gen_tree.py "$work/tree" >/dev/null
python3 benches/gen_alerts.py "$work/alerts" 1000 10 >/dev/null

count() { # BIN ARGS... → instructions
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$@" >/dev/null 2>"$work/cg.log"
    grep -o 'Collected : [0-9]*' "$work/cg.log" | grep -o '[0-9]*$'
}
for bench in walk alerts; do
    if [ $bench = walk ]; then args=(check "$work/tree" --format json --event local); else args=(evidence "$work/alerts"); fi
    a=$(count "$old" "${args[@]}")
    b=$(count "$new" "${args[@]}")
    python3 -c "print(f'$bench instructions: old {$a/1e9:.3f} G, new {$b/1e9:.3f} G ({($b-$a)/$a*100:+.2f} %)')"
done

hyperfine -N --warmup 2 --runs "${RUNS:-15}" --export-json "$work/walk.json" \
    -n rg "rg --files $work/tree" \
    -n old "$old check $work/tree --format json --event local" \
    -n new "$new check $work/tree --format json --event local" >/dev/null
hyperfine -N --warmup 1 --runs "${RUNS:-10}" --export-json "$work/alerts.json" \
    -n promtool "promtool check rules $(ls "$work"/alerts/rules/*.yml | tr '\n' ' ')" \
    -n old "$old evidence $work/alerts" \
    -n new "$new evidence $work/alerts" >/dev/null
python3 - "$work/walk.json" "$work/alerts.json" <<'PY'
import json, sys
w = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
a = {x["command"]: x["median"] for x in json.load(open(sys.argv[2]))["results"]}
print(f"walk (median): old {w['old']/w['rg']:.2f}x rg --files, new {w['new']/w['rg']:.2f}x")
print(f"alerts (median): promtool / old {a['promtool']/a['old']:.1f}x, promtool / new {a['promtool']/a['new']:.1f}x")
PY

#!/usr/bin/env bash
# Regression mode: `readygate check --baseline main` against a plain
# `readygate check`, and against what a user would script without it
# (`git worktree add` for the base, check both, remove the worktree), over
# the same generated tree as benches/walk.sh, committed to git with a
# feature branch that edits 1% of the YAML files.
# Needs: python3, git, hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine python3 git; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install hyperfine python3 git" >&2; exit 2; }
done
cargo build --release --quiet
bin="$PWD/target/release/readygate"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
python3 benches/gen_tree.py "$tree/repo"
# SOURCE_FILES=17800 SOURCE_KB=16: a loki-shaped repository, mostly Go
# source the gate never reads (the base is written without it).
python3 - "$tree/repo" "${SOURCE_FILES:-0}" "${SOURCE_KB:-16}" <<'PY'
import os, sys
root, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = ("// generated\nfunc f() int { return 42 }\n" * (kb * 1024 // 40))
for i in range(n):
    d = os.path.join(root, "pkg", f"p{i // 100}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}.go"), "w") as f:
        f.write("package p\n" + body)
PY
g() { git -C "$tree/repo" -c user.name=bench -c user.email=bench@invalid -c commit.gpgsign=false "$@"; }
g init -q -b main
g add -A
g commit -q -m base
g checkout -q -b feature
find "$tree/repo" -name '*.yaml' -o -name '*.yml' | sort | awk 'NR % 100 == 0' |
    while read -r f; do printf '\n# touched\n' >>"$f"; done
g commit -q -am feature
export_json="$tree/hyperfine.json"
hyperfine --warmup 2 --runs "${RUNS:-10}" --export-json "$export_json" \
    -n "check" "$bin check $tree/repo --format json --event local > /dev/null" \
    -n "check --baseline" "$bin check $tree/repo --baseline main --format json --event local > /dev/null" \
    -n "worktree + 2 checks" "git -C $tree/repo worktree add -q --detach $tree/base main && $bin check $tree/base --format json --event local > /dev/null; $bin check $tree/repo --format json --event local > /dev/null; git -C $tree/repo worktree remove --force $tree/base"
python3 - "$export_json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
plain, base, script = r["check"], r["check --baseline"], r["worktree + 2 checks"]
for stat in ("mean", "median"):
    print(f"check --baseline / check ({stat}): {base[stat] / plain[stat]:.2f}x")
    print(f"check --baseline / worktree + 2 checks ({stat}): {base[stat] / script[stat]:.2f}x")
PY

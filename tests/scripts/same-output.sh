#!/usr/bin/env bash
# Proves a restructure changed no output: runs the readygate built from REF
# (default: HEAD) and the one built from the work tree over every fixture
# repository under tests/ and examples/, with every report format and every
# fixture policy, and diffs the bytes.
#
#   bash tests/scripts/same-output.sh [REF]
#
# REF is built in a temporary worktree (its own target directory, kept in
# target/same-output so a second run is quick), unless OLD_BIN names a
# binary already built from it. Exit 0: identical.
set -euo pipefail
cd "$(dirname "$0")/../.."
ref=${1:-HEAD}
repo=$PWD
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/ref" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

if [ -n "${OLD_BIN:-}" ]; then
    old=$OLD_BIN # a binary built from REF earlier
else
    git worktree add --detach --quiet "$work/ref" "$ref"
    CARGO_TARGET_DIR="$repo/target/same-output" cargo build --release --quiet --manifest-path "$work/ref/Cargo.toml"
    old="$repo/target/same-output/release/readygate"
fi
cargo build --release --quiet
new="$repo/target/release/readygate"

# Every fixture repository: a directory under tests/fixtures or examples
# that the gate can scan (all of them are; JSON-only folders give empty evidence).
repos=(examples/sample-service)
for d in tests/fixtures/*/; do repos+=("${d%/}"); done
policies=(builtin:production)
for p in tests/fixtures/policies/*.yaml; do policies+=("$p"); done

run_all() { # BIN OUTDIR
    local bin=$1 out=$2 n=0
    mkdir -p "$out"
    for r in "${repos[@]}"; do
        local tag=${r//\//_}
        "$bin" evidence "$r" --format json >"$out/$tag.evidence.json" 2>&1 || echo "exit $?" >>"$out/$tag.evidence.json"
        "$bin" evidence "$r" --format yaml >"$out/$tag.evidence.yaml" 2>&1 || echo "exit $?" >>"$out/$tag.evidence.yaml"
        for f in json terminal markdown sarif github junit; do
            "$bin" check "$r" --format "$f" --now 2026-01-01 --event push --branch release/1 \
                >"$out/$tag.check.$f" 2>&1 || echo "exit $?" >>"$out/$tag.check.$f"
        done
        for p in "${policies[@]}"; do
            n=$((n + 1))
            "$bin" check "$r" --policy "$p" --format json --now 2026-01-01 --event push --branch main \
                >"$out/$tag.policy$n.json" 2>&1 || echo "exit $?" >>"$out/$tag.policy$n.json"
        done
    done
    for p in "${policies[@]}"; do
        n=$((n + 1))
        "$bin" policy lint "$p" >"$out/lint$n.txt" 2>&1 || echo "exit $?" >>"$out/lint$n.txt"
    done
    "$bin" explain --all --format terminal >"$out/explain.txt" 2>&1 || true
    "$bin" explain --all --format markdown >"$out/explain.md" 2>&1 || true
    "$bin" schema >"$out/schema.json" 2>&1 || true
}

run_all "$old" "$work/old"
run_all "$new" "$work/new"
# Permitted: the params documentation (explain, rules docs) and the per-check
# params in the policy schema, now generated from the types. Everything else
# must match byte for byte.
permitted=(explain.txt explain.md schema.json)
for f in "${permitted[@]}"; do
    if ! cmp -s "$work/old/$f" "$work/new/$f"; then
        echo "--- $f changed (permitted: params documentation; review it)"
        diff "$work/old/$f" "$work/new/$f" | head -"${SHOW:-40}" || true
    fi
    rm -f "$work/old/$f" "$work/new/$f"
done
if diff -r "$work/old" "$work/new" >"$work/diff"; then
    echo "same output: $(ls "$work/old" | wc -l) files identical"
else
    cat "$work/diff"
    echo "OUTPUT CHANGED (files: $(grep -c '^diff ' "$work/diff"))" >&2
    exit 1
fi

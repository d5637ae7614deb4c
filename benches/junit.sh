#!/usr/bin/env bash
# JUnit XML reading: `readygate evidence --junit` against junitparser (PyPI)
# reading the same reports and counting the same cases, in the same run;
# then the peak memory of readygate on one large report.
# Needs: python3, hyperfine, junitparser (pip install junitparser).
#
#   bash benches/junit.sh            # 20 files of 10 MB, one of BIG_MB (1024)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "missing hyperfine: apt-get install hyperfine" >&2; exit 2; }
python3 -c 'import junitparser' 2>/dev/null || { echo "missing junitparser: pip install junitparser" >&2; exit 2; }
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/gen_junit.py "$work/corpus/reports" "${FILES:-20}" "${SIZE_MB:-10}"
bin=$PWD/target/release/readygate
cat > "$work/count.py" <<'PY'
import glob, sys
from junitparser import JUnitXml
n = 0
for f in glob.glob(sys.argv[1] + "/*.xml"):
    for suite in JUnitXml.fromfile(f):
        for case in suite:
            n += 1
print(n)
PY
du -sh "$work/corpus/reports" | cut -f1 | xargs echo "corpus:"
# Both must count the same cases before their times mean anything.
# --junit must be inside the repository: make the corpus the repository.
ours=$("$bin" evidence "$work/corpus" --junit "reports/*.xml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tests"]["totals"]["tests"])')
theirs=$(python3 "$work/count.py" "$work/corpus/reports")
echo "cases: readygate $ours, junitparser $theirs"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/h.json" \
    -n junitparser "python3 $work/count.py $work/corpus/reports" \
    -n readygate "$bin evidence $work/corpus --junit 'reports/*.xml'" >/dev/null
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print(f"junitparser / readygate (median): {r['junitparser']['median'] / r['readygate']['median']:.1f}x faster")
PY
rm -rf "$work/corpus/reports"
python3 benches/gen_junit.py "$work/corpus/big" 1 "${BIG_MB:-1024}"
ls -l "$work/corpus/big"/*.xml | awk '{print "one report:", $5, "bytes"}'
/usr/bin/time -f "peak RSS on it: %M KiB, %e s" "$bin" evidence "$work/corpus" --junit 'big/*.xml' >/dev/null

"""Generate N Prometheus rule files of K alerting rules each (default 1000 x 10),
shaped like real ones: several groups, labels, annotations with templates,
runbook links into a runbook file in the repository."""
import os
import sys

out = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 10
os.makedirs(os.path.join(out, "rules"), exist_ok=True)
os.makedirs(os.path.join(out, "docs"), exist_ok=True)
with open(os.path.join(out, "docs", "runbooks.md"), "w") as rb:
    rb.write("# Runbooks\n\n")
    for f in range(files):
        for a in range(0, per_file, 2):
            rb.write(f"## Service{f}Alert{a}\n\nRestart Service{f}Alert{a}.\n\n")
for f in range(files):
    lines = ["# generated\ngroups:\n"]
    for g in range(2):
        lines.append(f"  - name: service{f}.group{g}\n    interval: 30s\n    rules:\n")
        lines.append(
            f"      - record: job:service{f}_requests_g{g}:rate5m\n"
            f"        expr: sum by (job) (rate(http_requests_total{{job=\"service{f}\"}}[5m]))\n"
        )
        for a in range(g * per_file // 2, (g + 1) * per_file // 2):
            name = f"Service{f}Alert{a}"
            sev = "critical" if a % 3 == 0 else "warning"
            lines.append(
                f"      - alert: {name}\n"
                f"        expr: sum(rate(http_requests_total{{job=\"service{f}\",code=~\"5..\"}}[5m])) / sum(rate(http_requests_total{{job=\"service{f}\"}}[5m])) > 0.0{a % 9 + 1}\n"
                f"        for: {a % 4 * 5 + 5}m\n"
                f"        labels:\n          severity: {sev}\n          team: team{f % 17}\n"
                f"        annotations:\n"
                f"          summary: \"{name}: error ratio high on {{{{ $labels.instance }}}}\"\n"
                f"          description: \"{{{{ $value | humanizePercentage }}}} of requests fail.\"\n"
                f"          runbook_url: ../docs/runbooks.md#{name.lower()}\n"
            )
    with open(os.path.join(out, "rules", f"service{f}.rules.yml"), "w") as fh:
        fh.write("".join(lines))

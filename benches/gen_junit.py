#!/usr/bin/env python3
"""A JUnit corpus shaped like Surefire output: N report files of about
SIZE_MB each, suites of 200 test cases with properties, system-out,
some failures with stack traces, some skips, some flaky reruns.

    gen_junit.py DIR FILES SIZE_MB
"""
import os
import random
import sys

out, files, size_mb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = random.Random(17)
trace = "\n".join(f"\tat com.acme.svc.Module{i}.call(Module{i}.java:{i * 7})" for i in range(30))
target = int(size_mb * 1024 * 1024)
for f in range(files):
    path = os.path.join(out, f"TEST-com.acme.Suite{f}.xml")
    with open(path, "w") as w:
        w.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        written, s = 0, 0
        while written < target:
            name = f"com.acme.svc.Module{f}_{s}Test"
            parts = [f'<testsuite name="{name}" time="12.5" tests="200" errors="0" skipped="3" failures="2">\n',
                     '  <properties><property name="java.version" value="21.0.5"/></properties>\n']
            for c in range(200):
                r = rng.random()
                head = f'  <testcase name="case{c}" classname="{name}" time="{rng.random():.3f}"'
                if r < 0.01:
                    parts.append(f'{head}>\n    <failure message="expected &lt;1&gt; but was &lt;2&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[{trace}]]></failure>\n  </testcase>\n')
                elif r < 0.02:
                    parts.append(f'{head}>\n    <flakyFailure message="timeout" type="java.net.SocketTimeoutException"><stackTrace><![CDATA[{trace}]]></stackTrace></flakyFailure>\n  </testcase>\n')
                elif r < 0.035:
                    parts.append(f'{head}>\n    <skipped message="disabled on CI"/>\n  </testcase>\n')
                else:
                    parts.append(f'{head}>\n    <system-out><![CDATA[started case{c} with seed {rng.randint(0, 10**9)}]]></system-out>\n  </testcase>\n')
            parts.append('</testsuite>\n')
            text = "".join(parts)
            w.write(text)
            written += len(text)
            s += 1
        w.write('</testsuites>\n')

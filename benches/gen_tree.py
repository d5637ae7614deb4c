#!/usr/bin/env python3
"""Generate a repository-shaped tree for the walk benchmark.

~20k files: ~2k YAML (Kubernetes manifests, a few CloudFormation, workflow,
SLO files), ~200 Terraform files, and source, docs and assets that the gate
must walk past without reading. Deterministic for a given size.
"""
import os
import random
import sys

def main(root, total=20000, yaml=2000):
    rnd = random.Random(42)
    os.makedirs(root, exist_ok=True)
    def write(rel, text):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    n = 0
    write(".gitignore", "target/\nnode_modules/\n")
    write("readygate.yaml", "service: bench\ntier: 2\nowners: ['@acme/bench']\n")
    write(".github/CODEOWNERS", "* @acme/bench\n")
    write(".github/workflows/ci.yml", "name: ci\non: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n")
    n += 4
    for i in range(yaml):
        svc = i // 20
        kind = i % 20
        if kind == 0:
            text = ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n" +
                    "".join(f"  Queue{j}:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub q{j}-${{AWS::Region}}\n" for j in range(10)))
            write(f"services/svc{svc}/cfn/template.yaml", text)
        elif kind == 1:
            write(f"services/svc{svc}/slo.yaml", "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: avail\nspec:\n  service: s\n  objectives:\n    - target: 0.999\n")
        else:
            docs = []
            for d in range(3):
                docs.append(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}-{d}\n  namespace: ns{svc}\n"
                            f"spec:\n  replicas: {rnd.randint(1, 9)}\n  revisionHistoryLimit: 5\n  template:\n    spec:\n"
                            f"      containers:\n        - name: c\n          image: ghcr.io/acme/app:{i}\n"
                            f"          resources: {{limits: {{cpu: 500m, memory: 256Mi}}}}\n")
            write(f"services/svc{svc}/k8s/manifest{kind}.yaml", "---\n".join(docs))
        n += 1
    for i in range(200):
        write(f"infra/mod{i // 4}/file{i % 4}.tf",
              f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "acme-{i}"\n  tags = {{ team = "bench" }}\n}}\n')
        n += 1
    exts = [".go", ".rs", ".ts", ".md", ".txt", ".json", ".png", ".py", ".java", ".html"]
    i = 0
    while n < total:
        ext = exts[i % len(exts)]
        body = ("x" * rnd.randint(200, 4000)) + "\n"
        if ext == ".json":
            body = '{"name": "pkg", "version": "1.0.%d", "dependencies": {}}\n' % i
        write(f"src/pkg{i // 50}/file{i}{ext}", body)
        n += 1
        i += 1
    print(f"{n} files under {root}")

if __name__ == "__main__":
    main(sys.argv[1])

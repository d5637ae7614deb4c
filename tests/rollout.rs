//! The rollout area on repositories shaped like real ones: shared GitHub
//! workflows with a rollback job, a dispatchable redeploy and a reusable
//! deploy; a workflow that only talks about rolling back; GitLab CI with a
//! manual rollback job; Argo Rollouts, Flagger canaries and plain
//! Deployments behind an Ingress; ECS and CodeDeploy in Terraform and
//! CloudFormation.

mod common;

use common::*;
use serde_json::Value;

const FIXTURES: &str = "tests/fixtures/rollout";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// (counted, kind, path, line) of every rollback path.
fn paths(ev: &Value) -> Vec<(bool, String, String, u64)> {
    ev["rollout"]["rollback_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["counted"].as_bool().unwrap(),
                p["kind"].as_str().unwrap().to_string(),
                p["location"]["path"].as_str().unwrap().to_string(),
                p["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(counted: bool, kind: &str, path: &str, line: u64) -> (bool, String, String, u64) {
    (counted, kind.into(), path.into(), line)
}

#[test]
fn shared_workflows_rollback_dispatch_and_reusable_deploys() {
    let ev = evidence(&fixture("shared-workflows"), &[]);
    assert_eq!(
        paths(&ev),
        [
            // --atomic in the reusable workflow the release calls.
            row(
                true,
                "helm-atomic",
                ".github/workflows/deploy-reusable.yml",
                13
            ),
            // A step named "Rollback" that runs `true`; an echo and a
            // heredoc that explain how to roll back; a job named for an
            // undo that calls a workflow calling it back (a cycle).
            row(false, "ci-job", ".github/workflows/notes.yml", 7),
            row(false, "ci-job", ".github/workflows/notes.yml", 9),
            row(false, "ci-job", ".github/workflows/notes.yml", 15),
            row(
                true,
                "dispatch-redeploy",
                ".github/workflows/release.yml",
                5
            ),
            // The helm rollback line, past the comment above it.
            row(true, "ci-job", ".github/workflows/rollback.yml", 17),
        ]
    );
    let why = |i: usize| ev["rollout"]["rollback_paths"][i]["why"].as_str().unwrap();
    assert_eq!(
        why(1),
        "named for a rollback but runs no rollback or deploy command"
    );
    assert_eq!(
        why(2),
        "mentions rollback only in an echo, a message, a comment or a heredoc"
    );
    assert!(
        why(3).contains("cycle-b.yml`, which runs no rollback"),
        "{}",
        why(3)
    );
    let deploys: Vec<&str> = ev["rollout"]["deploys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert!(
        deploys.contains(
            &"calls `./.github/workflows/deploy-reusable.yml`, which runs `helm upgrade`"
        )
    );
    let report = check_report(&fixture("shared-workflows"), &["--event", "local"]);
    assert_eq!(states(&report, "rollout.rollback-path"), ["pass"]);
}

#[test]
fn a_rollback_that_is_only_talk_does_not_count() {
    let ev = evidence(&fixture("prose-only"), &[]);
    assert_eq!(
        paths(&ev),
        [
            row(false, "ci-job", ".github/workflows/cd.yml", 11),
            row(false, "ci-job", ".github/workflows/cd.yml", 16),
        ]
    );
    let report = check_report(&fixture("prose-only"), &["--event", "local"]);
    let f = findings(&report, "rollout.rollback-path");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["state"], "fail");
    assert_eq!(f[0]["location"]["line"], 6);
    let message = f[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "`deploy` deploys (runs `kubectl apply`), and nothing undoes a bad deploy"
        ),
        "{message}"
    );
    assert!(message.contains("rollback appears only in an echo, a comment or a heredoc"));
}

#[test]
fn gitlab_manual_rollback_job() {
    let ev = evidence(&fixture("gitlab"), &[]);
    assert_eq!(paths(&ev), [row(true, "manual-job", ".gitlab-ci.yml", 31)]);
    // A job that stops a review environment deploys nothing.
    let deploys: Vec<&str> = ev["rollout"]["deploys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(deploys, ["deploy:production"]);
}

#[test]
fn progressive_delivery_on_kubernetes() {
    let ev = evidence(&fixture("k8s-progressive"), &[]);
    let workloads: Vec<(String, String, bool, bool)> = ev["rollout"]["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["workload"]["name"].as_str().unwrap().to_string(),
                w["strategy"].as_str().unwrap().to_string(),
                w["automated_analysis"].as_bool().unwrap(),
                !w["exposed_by"].is_null(),
            )
        })
        .collect();
    let w = |n: &str, s: &str, a: bool, e: bool| (n.to_string(), s.to_string(), a, e);
    assert_eq!(
        workloads,
        [
            w("api", "canary", true, true),
            // The Rollout itself (its workloadRef's Deployment is the one
            // judged for users).
            w("checkout", "blue-green", true, false),
            w("checkout", "blue-green", true, true),
            w("frontend", "canary", true, true),
            w("search", "rolling-update", false, true),
            w("worker", "canary", false, false),
            w("migrator", "recreate", false, false),
        ]
    );
    let report = check_report(&fixture("k8s-progressive"), &["--event", "local"]);
    let progressive: Vec<(String, String)> = findings(&report, "rollout.progressive-delivery")
        .iter()
        .map(|f| {
            (
                f["state"].as_str().unwrap().to_string(),
                f["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        progressive,
        [
            ("warn".to_string(), "search".to_string()),
            ("pass".into(), "api".into()),
            ("pass".into(), "checkout".into()),
            ("pass".into(), "frontend".into()),
        ]
    );
    let search = &findings(&report, "rollout.progressive-delivery")[0];
    assert!(search["message"].as_str().unwrap().contains("rolls blind"));
    let templates: Vec<(&str, &str)> = findings(&report, "rollout.analysis-templates")
        .iter()
        .map(|f| (f["state"].as_str().unwrap(), f["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        templates,
        [
            ("fail", "smoke-tests"),
            ("fail", "latency-p99"),
            ("unknown", "platform-error-rate"),
        ]
    );
    let history = findings(&report, "rollout.revision-history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["state"], "fail");
    assert_eq!(history[0]["location"]["line"], 70);
    let recreate = findings(&report, "rollout.no-recreate");
    assert_eq!(recreate[0]["state"], "warn");
    assert_eq!(recreate[0]["location"]["line"], 72);
    // Flagger's analysis and the Rollouts' analyses undo a bad version.
    assert_eq!(states(&report, "rollout.rollback-path"), ["pass"]);
}

#[test]
fn ecs_and_codedeploy_in_terraform_and_cloudformation() {
    let ev = evidence(&fixture("aws"), &[]);
    assert_eq!(
        paths(&ev),
        [
            row(true, "ecs-circuit-breaker", "cfn/service.yaml", 14),
            // enable without rollback stops a bad deployment, it does not
            // undo it.
            row(false, "ecs-circuit-breaker", "infra/ecs.tf", 7),
            row(true, "codedeploy-auto-rollback", "infra/ecs.tf", 19),
        ]
    );
}

/// Workflows with anchors, `${{ }}` everywhere, `on:` in every shape, a
/// 10,000-line `run:` and reusable workflows calling each other: findings
/// with lines, never a panic or a hang.
#[test]
fn hostile_workflows_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        "service: s\ntier: 1\nowners: ['@o/t']\n",
    );
    let long: String = (0..10_000)
        .map(|i| format!("          echo step {i} ${{{{ github.sha }}}}\n"))
        .collect();
    write(
        root,
        ".github/workflows/big.yml",
        &format!(
            "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n{long}          kubectl apply -f k8s/\n"
        ),
    );
    for (name, other) in [("a", "b"), ("b", "a")] {
        write(
            root,
            &format!(".github/workflows/{name}.yml"),
            &format!(
                "on: [workflow_call, workflow_dispatch]\nx: &x {{runs-on: ubuntu-latest}}\njobs:\n  rollback-{name}:\n    uses: ./.github/workflows/{other}.yml\n"
            ),
        );
    }
    let ev = evidence(root.to_str().unwrap(), &[]);
    let deploys = ev["rollout"]["deploys"].as_array().unwrap();
    assert_eq!(deploys.len(), 1);
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let f = findings(&report, "rollout.rollback-path");
    assert_eq!(f[0]["state"], "fail");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("which runs no rollback or deploy command")
    );
}

/// A workload users reach through an ingress managed elsewhere is marked in
/// the manifest and judged as user-facing; whether its strategy was ever
/// chosen is in the evidence.
#[test]
fn the_manifest_marks_user_facing_workloads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        "service: s\ntier: 1\nowners: ['@o/t']\nrollout:\n  user_facing: [web]\n",
    );
    write(
        root,
        "k8s/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - {name: web, image: web:1, readinessProbe: {httpGet: {path: /, port: 80}}}\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    let w = &ev["rollout"]["workloads"][0];
    assert_eq!(w["exposed_by"], "the manifest's rollout.user_facing");
    assert_eq!(w["strategy_set"], false);
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let f = findings(&report, "rollout.progressive-delivery");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["state"], "warn");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("rolls out by a rolling update with no analysis"),
        "{}",
        f[0]["message"]
    );
}

/// Shapes real repositories have that must not be misread: two overlays'
/// Rollouts of one name, end-to-end jobs on a throwaway cluster, a package
/// publish environment, a dry run, a composite rollback action, a GitLab
/// rollback job that extends a template, a circuit breaker set from a
/// variable.
#[test]
fn overlays_test_jobs_and_templates_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        "service: s\ntier: 1\nowners: ['@o/t']\n",
    );
    let rollout = |strategy: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: web}}\nspec:\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: web, image: web:1}}]}}\n  strategy:\n{strategy}"
        )
    };
    write(
        root,
        "k8s/production/rollout.yaml",
        &rollout(
            "    canary:\n      steps:\n        - setWeight: 20\n        - analysis: {templates: [{templateName: rate}]}\n",
        ),
    );
    write(
        root,
        "k8s/staging/rollout.yaml",
        &rollout("    blueGreen: {activeService: web}\n"),
    );
    write(
        root,
        "k8s/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer, selector: {app: web}}\n",
    );
    write(
        root,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  test-e2e:\n    runs-on: ubuntu-latest\n    steps:\n      - run: kind create cluster && kubectl apply -f k8s/\n  test-rollback:\n    runs-on: ubuntu-latest\n    steps:\n      - run: kubectl apply -f k8s/\n  publish:\n    runs-on: ubuntu-latest\n    environment: pypi\n    steps:\n      - run: twine upload dist/*\n  validate:\n    runs-on: ubuntu-latest\n    steps:\n      - run: kubectl apply --dry-run=client -f k8s/\n",
    );
    write(
        root,
        ".gitlab-ci.yml",
        ".rollback_tpl:\n  when: manual\n  script:\n    - helm rollback web 0 -n prod\ndeploy:\n  environment: production\n  script:\n    - helm -n prod upgrade --install web ./chart\nrollback:\n  extends: .rollback_tpl\n",
    );
    write(
        root,
        "infra/ecs.tf",
        "resource \"aws_ecs_service\" \"web\" {\n  deployment_circuit_breaker {\n    enable   = var.cb\n    rollback = true\n  }\n}\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    let r = &ev["rollout"];
    // Staging's blue-green has no analysis; production's canary does.
    let staging = r["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"]["location"]["path"] == "k8s/staging/rollout.yaml")
        .unwrap();
    assert_eq!(staging["strategy"], "blue-green");
    assert_eq!(staging["automated_analysis"], false);
    // Only GitLab's deploy deploys: test jobs, a package publish and a dry
    // run do not.
    let deploys: Vec<&str> = r["deploys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(deploys, ["deploy"]);
    let counted: Vec<(String, bool)> = r["rollback_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["detail"].as_str().unwrap().to_string(),
                p["counted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        counted.contains(&("`helm rollback` in job `rollback`".into(), true)),
        "{counted:?}"
    );
    let breaker = r["rollback_paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "ecs-circuit-breaker")
        .unwrap();
    assert_eq!(breaker["counted"], false);
    assert!(
        breaker["why"]
            .as_str()
            .unwrap()
            .contains("set by an expression")
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let progressive: Vec<String> = findings(&report, "rollout.progressive-delivery")
        .iter()
        .map(|f| f["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(progressive, ["warn", "pass"], "{progressive:?}");
}

/// Labels shared through YAML merge keys (`<<: *common`), which
/// Kubernetes applies: every merged label is the workload's, not only the
/// ones written beside the merge.
#[test]
fn labels_merged_from_an_anchor_are_the_workloads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "k8s/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: &common {team: payments, tier: frontend}\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels:\n        <<: *common\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: web:1\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    let labels = &ev["iac"]["workloads"][0]["pod_labels"];
    assert_eq!(
        labels,
        &serde_json::json!({"app": "web", "team": "payments", "tier": "frontend"}),
        "{labels}"
    );
}

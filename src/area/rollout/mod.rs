//! Rollout: how the service is deployed, how a bad deploy is undone
//! (rollback jobs, dispatchable redeploys, platform-native automated
//! rollback), and whether user-facing workloads roll out progressively with
//! automated analysis. It reads documents other areas also read (workflows,
//! Kubernetes objects, Terraform, CloudFormation) through the shared kinds.

use std::collections::{BTreeMap, BTreeSet};

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::shared::{
    CLOUDFORMATION, GITHUB_WORKFLOW, GITLAB_CI, KUBERNETES_MANIFEST, TERRAFORM,
};
use crate::document::{DocKind, Document, KindSpec, Sink};
use crate::evidence::Problem;
use crate::evidence::workload::Workload;

mod checks;
mod commands;
mod pipelines;
mod platform;
pub mod section;

use pipelines::{CiJob, named_rollback};
use platform::{Exposure, Progressive};
pub use section::Rollout;
use section::{AnalysisRef, AnalysisTemplate, Deploy, RollbackKind, RollbackPath, WorkloadRollout};

pub enum Fact {
    Job(CiJob),
    Workload(Workload),
    Progressive(Progressive),
    Template(AnalysisTemplate),
    Exposure(Exposure),
    Deploy(Deploy),
    Rollback(RollbackPath),
}

pub struct RolloutArea;

impl Area for RolloutArea {
    type Fact = Fact;
    type Section = Rollout;

    fn name(&self) -> &'static str {
        "rollout"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        &[]
    }
    fn reads(&self) -> &'static [DocKind] {
        &[
            GITHUB_WORKFLOW,
            GITLAB_CI,
            KUBERNETES_MANIFEST,
            TERRAFORM,
            CLOUDFORMATION,
        ]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        // The owning areas report parse failures; a reader skips them.
        let each = |out: &mut Sink<Fact>, f: fn(&Document, &crate::yaml::Node, &mut Sink<Fact>)| {
            for node in doc.yaml().unwrap_or_default() {
                f(doc, node, out);
            }
        };
        match doc.kind {
            GITHUB_WORKFLOW => each(out, pipelines::github_workflow),
            GITLAB_CI => each(out, pipelines::gitlab),
            KUBERNETES_MANIFEST => each(out, platform::kubernetes),
            CLOUDFORMATION => each(out, platform::cloudformation),
            TERRAFORM => platform::terraform(doc, out),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, ctx: &Assembly, _: &mut Vec<Problem>) -> Rollout {
        let mut rollout = Rollout::default();
        let (mut jobs, mut workloads, mut progressive, mut exposures) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for fact in facts {
            match fact {
                Fact::Job(j) => jobs.push(j),
                Fact::Workload(w) => workloads.push(w),
                Fact::Progressive(p) => progressive.push(p),
                Fact::Template(t) => rollout.analysis_templates.push(t),
                Fact::Exposure(e) => exposures.push(e),
                Fact::Deploy(d) => rollout.deploys.push(d),
                Fact::Rollback(r) => rollout.rollback_paths.push(r),
            }
        }
        // The walk is parallel; sort so output never depends on thread timing.
        jobs.sort_by(|a, b| a.location.cmp(&b.location));
        workloads.sort_by(|a, b| a.location.cmp(&b.location));
        progressive.sort_by(|a, b| a.location.cmp(&b.location));
        ci_paths(&jobs, &mut rollout);
        for p in &progressive {
            if p.by == "Rollout" {
                rollout.rollback_paths.push(RollbackPath {
                    location: p.location.clone(),
                    kind: RollbackKind::ArgoRollouts,
                    detail: format!("Argo Rollout `{}` ({})", p.name, p.strategy),
                    counted: p.automated_analysis,
                    why: if p.automated_analysis {
                        "a failed analysis aborts the rollout and returns traffic to the stable version".into()
                    } else {
                        "no analysis: a bad version is promoted unless someone aborts it".into()
                    },
                });
            }
        }
        let marked = ctx
            .judging
            .rollout
            .as_ref()
            .map(|r| r.user_facing.as_slice())
            .unwrap_or_default();
        rollout.workloads = workload_rollouts(workloads, &progressive, &exposures, marked);
        rollout.analysis_refs = analysis_refs(&progressive, &rollout.analysis_templates);
        rollout.deploys.sort_by(|a, b| a.location.cmp(&b.location));
        rollout
            .rollback_paths
            .sort_by(|a, b| a.location.cmp(&b.location).then(a.kind.cmp(&b.kind)));
        rollout
            .analysis_templates
            .sort_by(|a, b| a.location.cmp(&b.location));
        rollout
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Rollout>> {
        vec![
            &checks::RollbackPathCheck,
            &checks::RevisionHistory,
            &checks::ProgressiveDelivery,
            &checks::AnalysisTemplates,
            &checks::NoRecreate,
        ]
    }
}

/// Most reusable-workflow calls followed from one job (a cycle ends sooner).
const MAX_CALL_DEPTH: usize = 10;

/// What a workflow file runs, its reusable workflows' included: the first
/// rollback command and the first deploy command, if any.
fn runs(
    file: &str,
    by_file: &BTreeMap<&str, Vec<&CiJob>>,
    seen: &mut BTreeSet<String>,
) -> (Option<&'static str>, Option<&'static str>) {
    if seen.len() >= MAX_CALL_DEPTH || !seen.insert(file.to_string()) {
        return (None, None);
    }
    let (mut rollback, mut deploy) = (None, None);
    for job in by_file.get(file).into_iter().flatten() {
        for unit in &job.units {
            rollback = rollback.or(unit.scan.rollbacks.first().map(|f| f.command));
            deploy = deploy.or(unit.scan.deploys.first().map(|f| f.command));
        }
        if let Some(callee) = job.uses.as_deref().and_then(local_workflow) {
            let (r, d) = runs(&callee, by_file, seen);
            rollback = rollback.or(r);
            deploy = deploy.or(d);
        }
    }
    (rollback, deploy)
}

/// `./.github/workflows/x.yml` → `.github/workflows/x.yml`.
fn local_workflow(uses: &str) -> Option<String> {
    uses.strip_prefix("./").map(str::to_string)
}

/// Deploys and rollback paths from CI jobs.
fn ci_paths(jobs: &[CiJob], rollout: &mut Rollout) {
    let mut by_file: BTreeMap<&str, Vec<&CiJob>> = BTreeMap::new();
    for job in jobs {
        by_file.entry(job.file.as_str()).or_default().push(job);
    }
    // Per workflow file: the first job that deploys, for dispatch inputs.
    let mut deploying_job: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    for job in jobs {
        let job_named = named_rollback(&[Some(&job.id), job.name.as_deref()]);
        let callee = job.uses.as_deref().map(|u| match local_workflow(u) {
            Some(path) => (u, Some(runs(&path, &by_file, &mut BTreeSet::new()))),
            None => (u, None),
        });
        let first_deploy = job
            .units
            .iter()
            .find_map(|u| {
                u.scan
                    .deploys
                    .first()
                    .map(|f| format!("runs `{}`", f.command))
                    .or_else(|| u.deploy_action.as_ref().map(|a| format!("uses `{a}`")))
            })
            .or_else(|| match &callee {
                Some((u, Some((_, Some(d))))) => Some(format!("calls `{u}`, which runs `{d}`")),
                _ => None,
            });
        let what = first_deploy.clone().or_else(|| {
            job.environment
                .as_ref()
                .map(|e| format!("targets environment `{e}`"))
        });
        if let Some(what) = &what {
            if !job_named {
                rollout.deploys.push(Deploy {
                    location: job.location.clone(),
                    by: job.by.into(),
                    name: job.id.clone(),
                    what: what.clone(),
                });
            }
            if first_deploy.is_some() {
                deploying_job
                    .entry(job.file.as_str())
                    .or_insert((job.id.as_str(), what.clone()));
            }
        }
        let kind = if job.manual {
            RollbackKind::ManualJob
        } else {
            RollbackKind::CiJob
        };
        let in_job = |step: Option<&str>| match step {
            Some(s) => format!("job `{}`, step `{s}`", job.id),
            None => format!("job `{}`", job.id),
        };
        let mut counted = false;
        for unit in &job.units {
            let unit_named = named_rollback(&[unit.name.as_deref()]);
            let scan = &unit.scan;
            if let Some(f) = scan.rollbacks.first() {
                counted = true;
                rollout.rollback_paths.push(RollbackPath {
                    location: unit.line(f.line),
                    kind,
                    detail: format!("`{}` in {}", f.command, in_job(unit.name.as_deref())),
                    counted: true,
                    why: "runs a rollback command".into(),
                });
            } else if (unit_named || job_named)
                && let Some(redeploy) = scan
                    .deploys
                    .first()
                    .map(|f| (f.line, format!("`{}`", f.command)))
                    .or_else(|| scan.git_revert.map(|l| (l, "`git revert`".into())))
            {
                counted = true;
                rollout.rollback_paths.push(RollbackPath {
                    location: unit.line(redeploy.0),
                    kind,
                    detail: format!("{} in {}", redeploy.1, in_job(unit.name.as_deref())),
                    counted: true,
                    why:
                        "a job that says it rolls back, and deploys (a previous version) or reverts"
                            .into(),
                });
            } else if unit_named && unit.deploy_action.is_none() {
                rollout.rollback_paths.push(RollbackPath {
                    location: unit.location.clone(),
                    kind,
                    detail: format!(
                        "step `{}` in job `{}`",
                        unit.name.as_deref().unwrap_or_default(),
                        job.id
                    ),
                    counted: false,
                    why: prose_why(
                        "named for a rollback but runs no rollback or deploy command",
                        scan.rollback_in_prose,
                    ),
                });
            } else if scan.rollback_in_prose && !job_named {
                rollout.rollback_paths.push(RollbackPath {
                    location: unit.location.clone(),
                    kind,
                    detail: in_job(unit.name.as_deref()),
                    counted: false,
                    why: "mentions rollback only in an echo, a comment or a heredoc".into(),
                });
            }
            if let Some(line) = scan.helm_atomic {
                rollout.rollback_paths.push(RollbackPath {
                    location: unit.line(line),
                    kind: RollbackKind::HelmAtomic,
                    detail: format!(
                        "`helm upgrade --atomic` in {}",
                        in_job(unit.name.as_deref())
                    ),
                    counted: true,
                    why: "a failed upgrade is rolled back by Helm".into(),
                });
            }
        }
        if !job_named || counted {
            continue;
        }
        let (counted, why) = match &callee {
            Some((u, Some((Some(r), _)))) => (true, format!("calls `{u}`, which runs `{r}`")),
            Some((u, Some((None, Some(d))))) => {
                (true, format!("calls `{u}`, which deploys (`{d}`)"))
            }
            Some((u, Some(_))) => (
                false,
                format!("calls `{u}`, which runs no rollback or deploy command"),
            ),
            Some((u, None)) if named_rollback(&[Some(u)]) => (
                true,
                format!(
                    "calls the shared workflow `{u}` (another repository, not read), named for a rollback"
                ),
            ),
            Some((u, None)) => (
                false,
                format!("calls `{u}` in another repository, which is not read"),
            ),
            None => (
                false,
                prose_why(
                    "named for a rollback but runs no rollback or deploy command",
                    job.units.iter().any(|u| u.scan.rollback_in_prose),
                ),
            ),
        };
        rollout.rollback_paths.push(RollbackPath {
            location: job.location.clone(),
            kind,
            detail: in_job(None),
            counted,
            why,
        });
    }
    // A dispatchable workflow that takes a version and deploys it.
    let mut files_done = BTreeSet::new();
    for job in jobs {
        let Some((input, at)) = job.version_inputs.first() else {
            continue;
        };
        if !files_done.insert(job.file.as_str()) {
            continue;
        }
        if let Some((deployer, what)) = deploying_job.get(job.file.as_str()) {
            rollout.rollback_paths.push(RollbackPath {
                location: at.clone(),
                kind: RollbackKind::DispatchRedeploy,
                detail: format!("workflow_dispatch input `{input}`; job `{deployer}` {what}"),
                counted: true,
                why: "redeploying the previous version is one dispatch".into(),
            });
        }
    }
}

fn prose_why(base: &str, prose: bool) -> String {
    if prose {
        format!("{base} (rollback appears only in an echo, a comment or a heredoc)")
    } else {
        base.to_string()
    }
}

fn namespace_matches(a: &Option<String>, b: &Option<String>) -> bool {
    // An object without a namespace is applied into whichever one the
    // deploy names: it may be any.
    a.is_none() || b.is_none() || a == b
}

fn workload_rollouts(
    workloads: Vec<Workload>,
    progressive: &[Progressive],
    exposures: &[Exposure],
    marked: &[String],
) -> Vec<WorkloadRollout> {
    // Services users reach: external ones, and those a route names; only
    // these are matched against workloads (most Services are internal).
    let routed: Vec<(&str, &Option<String>, &str)> = exposures
        .iter()
        .filter_map(|e| match e {
            Exposure::Route {
                by,
                namespace,
                services,
            } => Some(
                services
                    .iter()
                    .map(move |s| (s.as_str(), namespace, by.as_str())),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    let reached: Vec<(&BTreeMap<String, String>, &Option<String>, String)> = exposures
        .iter()
        .filter_map(|e| {
            let Exposure::Service {
                name,
                namespace,
                external,
                selector,
            } = e
            else {
                return None;
            };
            if selector.is_empty() {
                return None;
            }
            let by = external.clone().or_else(|| {
                routed
                    .iter()
                    .find(|(s, ns, _)| *s == name && namespace_matches(ns, namespace))
                    .map(|(_, _, by)| format!("{by} → Service {name}"))
            })?;
            Some((selector, namespace, by))
        })
        .collect();
    let exposed_by = |w: &Workload| -> Option<String> {
        reached
            .iter()
            .find(|(selector, namespace, _)| {
                namespace_matches(namespace, &w.namespace)
                    && selector.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v))
            })
            .map(|(_, _, by)| by.clone())
    };
    workloads
        .into_iter()
        .map(|w| {
            let drives = progressive.iter().find(|p| {
                namespace_matches(&p.namespace, &w.namespace)
                    && match &p.target {
                        Some(t) => w.kind == "Deployment" && *t == w.name,
                        None => w.kind == "Rollout" && p.by == "Rollout" && p.name == w.name,
                    }
            });
            let strategy = match (drives, w.strategy.as_deref()) {
                (Some(p), _) => p.strategy.to_string(),
                (None, Some("Recreate")) => "recreate".into(),
                (None, Some("OnDelete")) => "on-delete".into(),
                (None, Some("blueGreen")) => "blue-green".into(),
                (None, Some("canary")) => "canary".into(),
                _ => "rolling-update".into(),
            };
            WorkloadRollout {
                strategy,
                progressive_by: drives.map(|p| p.location.clone()),
                automated_analysis: drives.is_some_and(|p| p.automated_analysis),
                strategy_set: w.strategy.is_some() || drives.is_some(),
                exposed_by: exposed_by(&w).or_else(|| {
                    marked
                        .contains(&w.name)
                        .then(|| "the manifest's rollout.user_facing".to_string())
                }),
                workload: w,
            }
        })
        .collect()
}

fn analysis_refs(progressive: &[Progressive], templates: &[AnalysisTemplate]) -> Vec<AnalysisRef> {
    let mut refs: Vec<AnalysisRef> = progressive
        .iter()
        .flat_map(|p| {
            p.templates.iter().map(move |(name, cluster, location)| {
                let kind = if *cluster {
                    "ClusterAnalysisTemplate"
                } else {
                    "AnalysisTemplate"
                };
                AnalysisRef {
                    location: location.clone(),
                    name: name.clone(),
                    cluster: *cluster,
                    found: templates.iter().any(|t| {
                        t.kind == kind
                            && t.name == *name
                            && (*cluster || namespace_matches(&t.namespace, &p.namespace))
                    }),
                }
            })
        })
        .collect();
    refs.sort_by(|a, b| a.location.cmp(&b.location));
    refs.dedup_by(|a, b| a.location == b.location && a.name == b.name);
    refs
}

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

use crate::evidence::Location;
use pipelines::{CiJob, named_rollback, named_test};
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
    fn assemble(&self, facts: Vec<Fact>, ctx: &Assembly, problems: &mut Vec<Problem>) -> Rollout {
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
        rollout.workloads =
            workload_rollouts(workloads, &progressive, &exposures, marked, problems);
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

/// The first rollback and the first deploy command a workflow runs.
type Runs = (Option<&'static str>, Option<&'static str>);

/// What workflow files run, their reusable workflows' included, each file
/// worked out once (9 000 jobs calling one workflow ask 9 000 times).
struct Calls<'a> {
    by_file: BTreeMap<&'a str, Vec<&'a CiJob>>,
    known: std::collections::HashMap<String, Runs>,
    /// The files being worked out: a call back into one is a cycle.
    open: BTreeSet<String>,
}

impl<'a> Calls<'a> {
    fn runs(&mut self, file: &str) -> Runs {
        if let Some(known) = self.known.get(file) {
            return *known;
        }
        if self.open.len() >= MAX_CALL_DEPTH || !self.open.insert(file.to_string()) {
            return (None, None);
        }
        let (mut rollback, mut deploy) = (None, None);
        let jobs = self.by_file.get(file).cloned().unwrap_or_default();
        for job in jobs {
            for unit in &job.units {
                rollback = rollback.or(unit.scan.rollbacks.first().map(|f| f.command));
                deploy = deploy.or(unit.scan.deploys.first().map(|f| f.command));
            }
            if let Some(callee) = job.uses.as_deref().and_then(local_workflow) {
                let (r, d) = self.runs(&callee);
                rollback = rollback.or(r);
                deploy = deploy.or(d);
            }
        }
        self.open.remove(file);
        self.known.insert(file.to_string(), (rollback, deploy));
        (rollback, deploy)
    }
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
    let mut calls = Calls {
        by_file,
        known: Default::default(),
        open: BTreeSet::new(),
    };
    // Per workflow file: the first job that deploys, for dispatch inputs.
    let mut deploying_job: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    for job in jobs {
        let names = [Some(job.id.as_str()), job.name.as_deref()];
        // A job that tests (an end-to-end run in a throwaway cluster, a
        // `test-rollback` job) neither deploys the service nor undoes a
        // deploy of it.
        let testing = named_test(&names) || job.units.iter().any(|u| u.scan.ephemeral_cluster);
        let job_named = named_rollback(&names) && !testing;
        let callee = job.uses.as_deref().map(|u| match local_workflow(u) {
            Some(path) => (u, Some(calls.runs(&path))),
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
        if let Some(what) = what.as_ref().filter(|_| !testing) {
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
        if testing {
            continue;
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
            let path = |counted: bool, location: Location, kind, detail: String, why: String| {
                RollbackPath {
                    location,
                    kind,
                    detail,
                    counted,
                    why,
                }
            };
            if let Some(f) = scan.rollbacks.first() {
                counted = true;
                rollout.rollback_paths.push(path(
                    true,
                    unit.line(f.line),
                    kind,
                    format!("`{}` in {}", f.command, in_job(unit.name.as_deref())),
                    "runs a rollback command".into(),
                ));
            } else if (unit_named || job_named)
                && let Some((at, what)) = scan
                    .deploys
                    .first()
                    .map(|f| (unit.line(f.line), format!("`{}`", f.command)))
                    .or_else(|| {
                        scan.git_revert
                            .map(|l| (unit.line(l), "`git revert`".into()))
                    })
                    .or_else(|| {
                        let a = unit.deploy_action.as_ref()?;
                        Some((unit.location.clone(), format!("`{a}`")))
                    })
            {
                counted = true;
                rollout.rollback_paths.push(path(
                    true,
                    at,
                    kind,
                    format!("{what} in {}", in_job(unit.name.as_deref())),
                    "a job that says it rolls back, and deploys (a previous version) or reverts"
                        .into(),
                ));
            } else if let Some(action) = unit
                .local_action
                .as_ref()
                .filter(|a| unit_named || job_named || named_rollback(&[Some(a.as_str())]))
            {
                // A composite action in the repository is not read: its
                // name (or the step's) is all there is to go by.
                let named = named_rollback(&[Some(action.as_str())]);
                counted |= named;
                rollout.rollback_paths.push(path(
                    named,
                    unit.location.clone(),
                    kind,
                    format!("`{action}` in {}", in_job(unit.name.as_deref())),
                    if named {
                        "uses a local action named for a rollback (its steps are not read)".into()
                    } else {
                        format!("uses the local action `{action}`, whose steps are not read; name it for what it does, or run the rollback command in the step")
                    },
                ));
            } else if unit_named && unit.deploy_action.is_none() {
                rollout.rollback_paths.push(path(
                    false,
                    unit.location.clone(),
                    kind,
                    format!(
                        "step `{}` in job `{}`",
                        unit.name.as_deref().unwrap_or_default(),
                        job.id
                    ),
                    prose_why(
                        "named for a rollback but runs no rollback or deploy command",
                        scan.rollback_in_prose,
                    ),
                ));
            } else if scan.rollback_in_prose && !job_named {
                rollout.rollback_paths.push(path(
                    false,
                    unit.location.clone(),
                    kind,
                    in_job(unit.name.as_deref()),
                    "mentions rollback only in an echo, a message, a comment or a heredoc".into(),
                ));
            }
            if let Some(line) = scan.helm_atomic {
                rollout.rollback_paths.push(path(
                    true,
                    unit.line(line),
                    RollbackKind::HelmAtomic,
                    format!(
                        "`helm upgrade --atomic` in {}",
                        in_job(unit.name.as_deref())
                    ),
                    "a failed upgrade is rolled back by Helm".into(),
                ));
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
    problems: &mut Vec<Problem>,
) -> Vec<WorkloadRollout> {
    // Services users reach: external ones, and those a route names; only
    // these are matched against workloads (most Services are internal).
    let mut routed: std::collections::HashMap<&str, Vec<(&Option<String>, &str)>> =
        Default::default();
    for e in exposures {
        if let Exposure::Route {
            by,
            namespace,
            services,
        } = e
        {
            for s in services {
                routed
                    .entry(s.as_str())
                    .or_default()
                    .push((namespace, by.as_str()));
            }
        }
    }
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
                    .get(name.as_str())?
                    .iter()
                    .find(|(ns, _)| namespace_matches(ns, namespace))
                    .map(|(_, by)| format!("{by} → Service {name}"))
            })?;
            Some((selector, namespace, by))
        })
        .collect();
    // Services indexed by their first selector label: a workload is only
    // compared with Services whose first label it carries, and the label
    // comparisons are bounded.
    let mut by_first: std::collections::HashMap<(&str, &str), Vec<usize>> = Default::default();
    for (i, (selector, _, _)) in reached.iter().enumerate() {
        if let Some((k, v)) = selector.iter().next() {
            by_first
                .entry((k.as_str(), v.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut work = 0usize;
    let mut exposed_by = |w: &Workload| -> Option<String> {
        let mut candidates: Vec<usize> = w
            .pod_labels
            .iter()
            .filter_map(|(k, v)| by_first.get(&(k.as_str(), v.as_str())))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.into_iter().find_map(|i| {
            let (selector, namespace, by) = &reached[i];
            work += selector.len();
            if work > MAX_MATCH_WORK {
                return None;
            }
            (namespace_matches(namespace, &w.namespace)
                && selector.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v)))
            .then(|| by.clone())
        })
    };
    let mut out: Vec<WorkloadRollout> = workloads
        .into_iter()
        .map(|w| {
            // What drives it: a Rollout is its own object (same place); a
            // Deployment (or DaemonSet) is the target of a Rollout's
            // workloadRef or a Flagger Canary, the one nearest in the tree
            // when several share a name (overlays).
            let drives = match w.kind.as_str() {
                "Rollout" => progressive.iter().find(|p| p.location == w.location),
                _ => progressive
                    .iter()
                    .filter(|p| {
                        p.target.as_deref() == Some(w.name.as_str())
                            && p.target_kind == w.kind
                            && namespace_matches(&p.namespace, &w.namespace)
                    })
                    .max_by_key(|p| common_dirs(&p.location.path, &w.location.path)),
            };
            let strategy = match (drives, w.strategy.as_deref()) {
                (Some(p), _) => p.strategy.to_string(),
                (None, Some("Recreate")) => "recreate".into(),
                (None, Some("OnDelete")) => "on-delete".into(),
                (None, Some("blueGreen")) => "blue-green".into(),
                (None, Some("canary")) => "canary".into(),
                _ => "rolling-update".into(),
            };
            // A Rollout with a workloadRef runs its Deployment's pods: the
            // Deployment is the workload judged.
            let judged = w.workload_ref.is_none();
            WorkloadRollout {
                strategy,
                strategy_set: w.strategy.is_some() || drives.is_some(),
                progressive_by: drives.map(|p| p.location.clone()),
                automated_analysis: drives.is_some_and(|p| p.automated_analysis),
                exposed_by: judged
                    .then(|| {
                        exposed_by(&w).or_else(|| {
                            marked
                                .contains(&w.name)
                                .then(|| "the manifest's rollout.user_facing".to_string())
                        })
                    })
                    .flatten(),
                workload: w,
            }
        })
        .collect();
    if work > MAX_MATCH_WORK {
        problems.push(Problem {
            kind: crate::evidence::ProblemKind::OverBudget,
            document_kind: Some("kubernetes-manifest".into()),
            location: Location::file(""),
            message: format!(
                "matching Services to workloads took more than {MAX_MATCH_WORK} label comparisons; the rest are not known to be user-facing"
            ),
        });
    }
    out.shrink_to_fit();
    out
}

/// Most selector labels compared while matching Services to workloads.
const MAX_MATCH_WORK: usize = 5_000_000;

/// How many leading directories two paths share.
fn common_dirs(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y)
        .count()
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

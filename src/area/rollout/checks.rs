//! Checks about deploys, rollback paths and progressive delivery.

use super::section::{Rollout, WorkloadRollout};
use crate::check::{Check, Context, NoParams, Outcome, Status};

/// A finding for each workload `bad` picks, at the key `at` names (else
/// the object); a pass saying `pass` of all of them when none is; a skip
/// when there are no workloads.
fn per_workload(
    r: &Rollout,
    bad: impl Fn(&WorkloadRollout) -> bool,
    fail: impl Fn(&WorkloadRollout) -> String,
    at: impl Fn(&WorkloadRollout) -> Option<crate::evidence::Location>,
    pass: impl Fn(usize) -> String,
) -> Vec<Outcome> {
    if r.workloads.is_empty() {
        return vec![Outcome::skip("no Kubernetes workloads")];
    }
    let out: Vec<Outcome> = r
        .workloads
        .iter()
        .filter(|w| bad(w))
        .map(|w| {
            Outcome::fail(fail(w))
                .target(&w.workload.name)
                .at(at(w).unwrap_or_else(|| w.workload.location.clone()))
        })
        .collect();
    if out.is_empty() {
        return vec![Outcome::pass(pass(r.workloads.len()))];
    }
    out
}

pub struct RollbackPathCheck;

fn workload_name(w: &WorkloadRollout) -> String {
    format!("{} `{}`", w.workload.kind, w.workload.name)
}

impl Check for RollbackPathCheck {
    type Section = Rollout;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "rollback-path"
    }
    fn summary(&self) -> &'static str {
        "A deploy pipeline exists (a CI job that runs a deploy command or targets an environment, or a GitOps application) and a rollback path exists: a CI job that rolls back or redeploys, a dispatchable redeploy of a chosen version, or platform-native automated rollback (Helm --atomic, ECS circuit breaker, CodeDeploy, Argo Rollouts or Flagger analysis, Argo CD history)."
    }
    fn run(&self, r: &Rollout, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        let counted: Vec<_> = r
            .rollback_paths
            .iter()
            .filter(|p| p.counted && ctx.production(&p.location))
            .collect();
        let deploys: Vec<_> = r
            .deploys
            .iter()
            .filter(|d| ctx.production(&d.location))
            .collect();
        if let Some(first) = counted.first() {
            let more = match counted.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            let deployed = match deploys.first() {
                Some(d) => format!("`{}` deploys ({}); ", d.name, d.what),
                None => String::new(),
            };
            return vec![
                Outcome::pass(format!(
                    "{deployed}rollback: {} ({}){more}",
                    first.detail, first.why
                ))
                .at(first.location.clone()),
            ];
        }
        let Some(first) = deploys.first() else {
            return vec![Outcome::fail(
                "no deploy pipeline found: no CI job runs a deploy command or targets an environment, and no GitOps application (Argo CD, Flux) is defined here",
            )];
        };
        // What looked like a rollback and why it did not count.
        let considered: Vec<String> = r
            .rollback_paths
            .iter()
            .filter(|p| !p.counted && ctx.production(&p.location))
            .take(3)
            .map(|p| format!("{} at {}: {}", p.detail, p.location, p.why))
            .collect();
        let considered = if considered.is_empty() {
            String::new()
        } else {
            format!("; not counted: {}", considered.join("; "))
        };
        vec![
            Outcome::fail(format!(
                "`{}` deploys ({}), and nothing undoes a bad deploy: no rollback job, no dispatchable redeploy of a chosen version, no automated rollback{considered}",
                first.name, first.what
            ))
            .at(first.location.clone()),
        ]
    }
}

pub struct RevisionHistory;

impl Check for RevisionHistory {
    type Section = Rollout;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "revision-history"
    }
    fn summary(&self) -> &'static str {
        "No workload sets `revisionHistoryLimit: 0`, which leaves `kubectl rollout undo` nothing to return to."
    }
    fn run(&self, r: &Rollout, _: &NoParams, _: &Context) -> Vec<Outcome> {
        per_workload(
            r,
            |w| w.workload.revision_history_limit == Some(0),
            |w| {
                format!(
                    "{} keeps no revision history (revisionHistoryLimit: 0): `rollout undo` has nothing to return to",
                    workload_name(w)
                )
            },
            |w| w.workload.revision_history_limit_location.clone(),
            |n| format!("{n} workload(s) keep revision history"),
        )
    }
}

pub struct ProgressiveDelivery;

impl Check for ProgressiveDelivery {
    type Section = Rollout;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "progressive-delivery"
    }
    fn summary(&self) -> &'static str {
        "User-facing workloads (behind an Ingress or Gateway route, or a LoadBalancer/NodePort Service) roll out progressively (an Argo Rollout or a Flagger Canary) with automated analysis that can stop a bad version."
    }
    fn run(&self, r: &Rollout, _: &NoParams, _: &Context) -> Vec<Outcome> {
        let exposed: Vec<&WorkloadRollout> = r
            .workloads
            .iter()
            .filter(|w| w.exposed_by.is_some())
            .collect();
        if exposed.is_empty() {
            return vec![Outcome::skip(
                "no user-facing workload found (none behind an Ingress, a Gateway route or a LoadBalancer/NodePort Service)",
            )];
        }
        exposed
            .into_iter()
            .map(|w| {
                let who = format!(
                    "{} (exposed by {})",
                    workload_name(w),
                    w.exposed_by.as_deref().unwrap_or_default()
                );
                let o = if w.progressive_by.is_some() && w.automated_analysis {
                    Outcome::pass(format!("{who} rolls out by {} with automated analysis", w.strategy))
                } else if w.progressive_by.is_some() {
                    Outcome::fail(format!(
                        "{who} rolls out by {} without analysis: a bad version is promoted on time, not stopped on its metrics",
                        w.strategy
                    ))
                } else {
                    let blind = if w.workload.readiness_probe {
                        ""
                    } else {
                        "; without a readiness probe on every container it rolls blind"
                    };
                    let how = match w.strategy.as_str() {
                        "recreate" => "all at once (Recreate)",
                        "on-delete" => "by hand (OnDelete)",
                        _ => "by a rolling update",
                    };
                    Outcome::fail(format!(
                        "{who} rolls out {how} with no analysis: every pod is replaced whether the new version is healthy or not{blind}"
                    ))
                };
                o.target(&w.workload.name).at(w.workload.location.clone())
            })
            .collect()
    }
}

pub struct AnalysisTemplates;

impl Check for AnalysisTemplates {
    type Section = Rollout;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "analysis-templates"
    }
    fn summary(&self) -> &'static str {
        "Every analysis template a Rollout names is defined in the repository; a ClusterAnalysisTemplate that is not is unknown (it may be installed cluster-wide), not a failure."
    }
    fn run(&self, r: &Rollout, _: &NoParams, _: &Context) -> Vec<Outcome> {
        if r.analysis_refs.is_empty() {
            return vec![Outcome::skip("no Rollout names an analysis template")];
        }
        let out: Vec<Outcome> = r
            .analysis_refs
            .iter()
            .filter(|a| !a.found)
            .map(|a| {
                let o = if a.cluster {
                    Outcome::new(
                        Status::Unknown,
                        format!(
                            "ClusterAnalysisTemplate `{}` is not in the repository; it may be installed cluster-wide",
                            a.name
                        ),
                    )
                } else {
                    Outcome::fail(format!(
                        "AnalysisTemplate `{}` is not defined: the rollout stalls (or promotes unanalysed) when it reaches this step",
                        a.name
                    ))
                };
                o.target(&a.name).at(a.location.clone())
            })
            .collect();
        if out.is_empty() {
            return vec![Outcome::pass(format!(
                "all {} analysis template reference(s) resolve",
                r.analysis_refs.len()
            ))];
        }
        out
    }
}

pub struct NoRecreate;

impl Check for NoRecreate {
    type Section = Rollout;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "no-recreate"
    }
    fn summary(&self) -> &'static str {
        "No workload uses the `Recreate` strategy, which stops every old pod before a new one starts (a big-bang deploy with downtime)."
    }
    fn run(&self, r: &Rollout, _: &NoParams, _: &Context) -> Vec<Outcome> {
        per_workload(
            r,
            |w| w.strategy == "recreate",
            |w| {
                format!(
                    "{} uses the Recreate strategy: every pod stops before the new version starts",
                    workload_name(w)
                )
            },
            |w| w.workload.strategy_location.clone(),
            |n| format!("no Recreate strategy in {n} workload(s)"),
        )
    }
}

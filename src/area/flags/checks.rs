//! Checks about feature flags.

use super::section::{Flag, FlagFormat, FlagViolation, Flags, ViolationKind};
use crate::check::{Check, Context, NoParams, Outcome};

pub struct FlagsMechanism;

impl Check for FlagsMechanism {
    type Section = Flags;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "flags-mechanism"
    }
    fn summary(&self) -> &'static str {
        "A feature-flag mechanism exists: flag definitions, a flag SDK in a dependency manifest, or a flag provider in Kubernetes."
    }
    fn run(&self, flags: &Flags, _: &NoParams, _: &Context) -> Vec<Outcome> {
        match flags.mechanism() {
            Some(at) => {
                let mut seen = Vec::new();
                if !flags.sources.is_empty() {
                    seen.push(format!(
                        "{} flag(s) in {} file(s)",
                        flags.flags.len(),
                        flags.sources.len()
                    ));
                }
                let mut vendors: Vec<&str> = flags.sdks.iter().map(|s| s.vendor.as_str()).collect();
                vendors.sort();
                vendors.dedup();
                if !vendors.is_empty() {
                    seen.push(format!("SDK: {}", vendors.join(", ")));
                }
                if !flags.providers.is_empty() {
                    seen.push(format!("{} provider object(s)", flags.providers.len()));
                }
                vec![Outcome::pass(seen.join("; ")).at(at.clone())]
            }
            None => vec![Outcome::fail(
                "no feature-flag mechanism: no flag definitions (flagd, OpenFeature manifest, go-feature-flag), no flag SDK in a dependency manifest, no OpenFeature operator object",
            )],
        }
    }
}

/// Violations of `kinds` as failures, one per violation; a pass (or a skip
/// when nothing is defined) otherwise.
fn violations(flags: &Flags, kinds: &[ViolationKind], pass: String) -> Vec<Outcome> {
    if flags.sources.is_empty() {
        return vec![Outcome::skip("no flag definitions")];
    }
    let failed: Vec<&FlagViolation> = flags
        .violations
        .iter()
        .filter(|v| kinds.contains(&v.kind))
        .collect();
    if failed.is_empty() {
        return vec![Outcome::pass(pass)];
    }
    failed
        .into_iter()
        .map(|v| {
            let o = Outcome::fail(v.message.clone()).at(v.location.clone());
            match &v.flag {
                Some(f) => o.target(f.clone()),
                None => o,
            }
        })
        .collect()
}

pub struct FlagsValid;

impl Check for FlagsValid {
    type Section = Flags;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "flags-valid"
    }
    fn summary(&self) -> &'static str {
        "Flag definitions are valid for their format: for flagd strict JSON and default variants that exist (else flagd refuses the file), the flagd schema, one variant type per flag, `$ref`s that name evaluators, fractional rollouts over defined variants; Flipt keys, names, distributions and segments; LaunchDarkly variation indexes and weights; OpenFeature manifests' types."
    }
    fn run(&self, flags: &Flags, _: &NoParams, _: &Context) -> Vec<Outcome> {
        violations(
            flags,
            &[
                ViolationKind::Syntax,
                ViolationKind::Schema,
                ViolationKind::VariantTypes,
                ViolationKind::EvaluatorRef,
                ViolationKind::Fractional,
                ViolationKind::DefaultVariant,
            ],
            format!(
                "{} flag file(s) valid ({} flags; flagd schema {})",
                flags.sources.len(),
                flags.flags.len(),
                super::flagd::SCHEMA_VERSION
            ),
        )
    }
}

pub struct FlagsConsistent;

impl Check for FlagsConsistent {
    type Section = Flags;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "flags-consistent"
    }
    fn summary(&self) -> &'static str {
        "No flag key is defined in two files of one format with different defaults or variant types."
    }
    fn run(&self, flags: &Flags, _: &NoParams, _: &Context) -> Vec<Outcome> {
        violations(
            flags,
            &[ViolationKind::Conflict],
            format!(
                "{} flags, no key defined differently in two files",
                flags.flags.len()
            ),
        )
    }
}

pub struct FlagsTemporaryLaunched;

/// Why a temporary flag counts as launched, if it does.
fn launched(f: &Flag) -> Option<String> {
    if f.enabled == Some(false) {
        return None;
    }
    let serving: Vec<&(String, u64)> = f.rollout.iter().filter(|(_, w)| *w > 0).collect();
    if let [(only, _)] = serving.as_slice()
        && !f.targeting
    {
        return Some(format!("its rollout sends every evaluation to `{only}`"));
    }
    // With no targeting and no split, flagd serves the default variant and
    // Flipt the flag's own value; the other formats say so per environment
    // (their rollout above), so no rule here.
    let serves_default = matches!(f.format, FlagFormat::Flagd | FlagFormat::Flipt);
    if serves_default && !f.targeting && f.rollout.is_empty() {
        return match &f.default {
            Some(d) => Some(format!(
                "it is enabled with no targeting, so every evaluation gets `{d}`"
            )),
            None => Some("it is enabled with no targeting and no default variant".into()),
        };
    }
    None
}

impl Check for FlagsTemporaryLaunched {
    type Section = Flags;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "flags-temporary-launched"
    }
    fn summary(&self) -> &'static str {
        "Flags marked temporary (flagd or Flipt metadata `temporary: true`, LaunchDarkly `temporary = true`, Unleash `release`/`experiment` types or `stale`) that are fully rolled out (enabled with no targeting, or one variant at 100% everywhere) are reported for clean-up."
    }
    fn run(&self, flags: &Flags, _: &NoParams, _: &Context) -> Vec<Outcome> {
        let temporary: Vec<&Flag> = flags.flags.iter().filter(|f| f.temporary).collect();
        if temporary.is_empty() {
            return vec![Outcome::skip("no flag is marked temporary")];
        }
        let launched: Vec<Outcome> = temporary
            .iter()
            .filter_map(|f| {
                let why = launched(f)?;
                Some(
                    Outcome::fail(format!(
                        "temporary flag `{}` is fully rolled out: {why}; remove the flag and its code path",
                        f.key
                    ))
                    .target(f.key.clone())
                    .at(f.location.clone()),
                )
            })
            .collect();
        if launched.is_empty() {
            vec![Outcome::pass(format!(
                "{} temporary flag(s), none fully rolled out",
                temporary.len()
            ))]
        } else {
            launched
        }
    }
}

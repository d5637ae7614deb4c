//! Checks about feature flags.

use super::section::{
    Flag, FlagFormat, FlagProvider, FlagSource, FlagViolation, Flags, SdkUse, ViolationKind,
};
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
    fn run(&self, flags: &Flags, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        // Only production code shows the service has a mechanism: a flag
        // file among test fixtures or an SDK an example depends on does not.
        let sources: Vec<&FlagSource> = flags
            .sources
            .iter()
            .filter(|s| ctx.production(&s.location))
            .collect();
        let sdks: Vec<&SdkUse> = flags
            .sdks
            .iter()
            .filter(|s| ctx.production(&s.location))
            .collect();
        let providers: Vec<&FlagProvider> = flags
            .providers
            .iter()
            .filter(|p| ctx.production(&p.location))
            .collect();
        let at = sources
            .first()
            .map(|s| &s.location)
            .or(sdks.first().map(|s| &s.location))
            .or(providers.first().map(|p| &p.location));
        let Some(at) = at else {
            let elsewhere = flags.sources.len() + flags.sdks.len() + flags.providers.len();
            let mut message = "no feature-flag mechanism: no flag definitions (flagd, OpenFeature manifest, Flipt, Unleash, LaunchDarkly, go-feature-flag), no flag SDK in a dependency manifest, no OpenFeature operator object".to_string();
            if elsewhere > 0 {
                message.push_str(&format!(
                    " in production code ({elsewhere} found only in test, example or vendored files, which do not count)"
                ));
            }
            return vec![Outcome::fail(message)];
        };
        let mut seen = Vec::new();
        if !sources.is_empty() {
            let n: usize = sources.iter().map(|s| s.flags).sum();
            seen.push(format!("{n} flag(s) in {} file(s)", sources.len()));
        }
        let mut vendors: Vec<&str> = sdks.iter().map(|s| s.vendor.as_str()).collect();
        vendors.sort();
        vendors.dedup();
        if !vendors.is_empty() {
            seen.push(format!("SDK: {}", vendors.join(", ")));
        }
        if !providers.is_empty() {
            seen.push(format!("{} provider object(s)", providers.len()));
        }
        vec![Outcome::pass(seen.join("; ")).at(at.clone())]
    }
}

/// Violations of `kinds` as failures, one per violation; when there are
/// none, a pass over the production files of the formats `judged` (a skip
/// when there are none).
fn violations(
    flags: &Flags,
    kinds: &[ViolationKind],
    ctx: &Context,
    judged: impl Fn(FlagFormat) -> bool,
    pass: impl FnOnce(&[&FlagSource]) -> String,
) -> Vec<Outcome> {
    if flags.sources.is_empty() {
        return vec![Outcome::skip("no flag definitions")];
    }
    let failed: Vec<&FlagViolation> = flags
        .violations
        .iter()
        .filter(|v| kinds.contains(&v.kind))
        .collect();
    if !failed.is_empty() {
        return failed
            .into_iter()
            .map(|v| {
                let o = Outcome::fail(v.message.clone()).at(v.location.clone());
                match &v.flag {
                    Some(f) => o.target(f.clone()),
                    None => o,
                }
            })
            .collect();
    }
    let production: Vec<&FlagSource> = flags
        .sources
        .iter()
        .filter(|s| ctx.production(&s.location))
        .collect();
    let judged: Vec<&FlagSource> = production
        .iter()
        .copied()
        .filter(|s| judged(s.format))
        .collect();
    if judged.is_empty() {
        let why = if production.is_empty() {
            "flag definitions only in test, example or vendored files".to_string()
        } else {
            format!(
                "no flag definitions in a format this rule checks ({} not validated)",
                per_format(&production)
            )
        };
        return vec![Outcome::skip(why)];
    }
    vec![Outcome::pass(pass(&production))]
}

/// `flagd: 2 files, Flipt: 1 file`, in format order.
fn per_format(sources: &[&FlagSource]) -> String {
    let mut by: std::collections::BTreeMap<FlagFormat, usize> = Default::default();
    for s in sources {
        *by.entry(s.format).or_default() += 1;
    }
    by.iter()
        .map(|(f, n)| format!("{}: {n} file{}", f.name(), if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct FlagsValid;

impl Check for FlagsValid {
    type Section = Flags;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "flags-valid"
    }
    fn summary(&self) -> &'static str {
        "Flag definitions are valid for their format: for flagd strict JSON and default variants that exist (else flagd refuses the file), the flagd schema, one variant type per flag, `$ref`s that name evaluators and operators it knows, fractional rollouts over defined variants; Flipt keys, names, distributions and segments; LaunchDarkly variation indexes and weights; OpenFeature manifests' types. go-feature-flag files and Unleash exports are read, not validated."
    }
    fn run(&self, flags: &Flags, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
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
            ctx,
            FlagFormat::validated,
            |production| {
                let (checked, read): (Vec<&FlagSource>, Vec<&FlagSource>) =
                    production.iter().partition(|s| s.format.validated());
                let flags: usize = checked.iter().map(|s| s.flags).sum();
                let mut message = format!(
                    "{} flag file(s) valid, {flags} flags ({}; flagd schema {})",
                    checked.len(),
                    per_format(&checked),
                    super::flagd::SCHEMA_VERSION
                );
                if !read.is_empty() {
                    message.push_str(&format!("; read, not validated: {}", per_format(&read)));
                }
                message
            },
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
    fn run(&self, flags: &Flags, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        violations(
            flags,
            &[ViolationKind::Conflict],
            ctx,
            |_| true,
            |production| {
                let n: usize = production.iter().map(|s| s.flags).sum();
                format!(
                    "{n} flags in {} file(s), no key defined differently in two files",
                    production.len()
                )
            },
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
    fn run(&self, flags: &Flags, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
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
        let counted = temporary
            .iter()
            .filter(|f| ctx.production(&f.location))
            .count();
        if launched.is_empty() && counted == 0 {
            vec![Outcome::skip(
                "temporary flags only in test, example or vendored files",
            )]
        } else if launched.is_empty() {
            vec![Outcome::pass(format!(
                "{counted} temporary flag(s), none fully rolled out"
            ))]
        } else {
            launched
        }
    }
}

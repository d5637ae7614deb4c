//! Loading a pack chain: resolve `extends` (parents first), validate each file
//! against the policy schema, merge rules, apply overrides, and enforce
//! locks. Every error names the file, line and column, and says what to do.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use globset::{Glob, GlobBuilder, GlobSetBuilder};

use super::model::*;
use super::remote::Remotes;
use super::source::{Base, Source, SourceError};
use super::{Enforcement, Logic, Origin, Policy, Rule, Waiver, expr::Expr};
use crate::area;
use crate::check::describe_params;
use crate::diag::ConfigError;
use crate::findings::PackRef;
use crate::schema;
use crate::yaml::{self, Node};

/// Load the pack `spec` (`builtin:NAME`, or a path relative to `base`) and
/// everything it extends. Paths stay as written (joined to the directory of
/// the file naming them), so messages show what the user typed.
pub fn load(spec: &str, base: &Path) -> Result<Policy, ConfigError> {
    load_at(
        spec,
        &Base::Dir {
            dir: base.to_path_buf(),
            confined: None,
        },
    )
}

/// Load the pack `spec` names relative to `base` (a directory, confined or
/// not, or a directory as a commit has it) and everything it extends.
pub fn load_at(spec: &str, base: &Base) -> Result<Policy, ConfigError> {
    load_with(spec, base, &Remotes::default())
}

/// Deepest chain of `extends`: real policies are three or four packs deep;
/// a chain of thousands (each fetched) would exhaust the stack.
const MAX_EXTENDS_DEPTH: usize = 32;
/// Most packs one policy may load in all.
const MAX_PACKS: usize = 256;

/// [`load_at`], fetching remote packs as `remotes` says.
pub fn load_with(spec: &str, base: &Base, remotes: &Remotes) -> Result<Policy, ConfigError> {
    let mut loader = Loader {
        remotes: Some(remotes),
        ..Loader::default()
    };
    loader.load_spec(spec, Source::parse(spec, base), None)?;
    loader.finish()
}

/// A pack file that has been read and validated.
pub struct LoadedPack {
    pub display: String,
    pub pack: PackFile,
    pub node: Node,
}

/// Read and validate one pack file without resolving `extends`.
pub fn parse_pack(display: &str, text: &str) -> Result<LoadedPack, ConfigError> {
    let node = yaml::parse_single(text).map_err(|e| {
        ConfigError::new(format!("not valid YAML: {}", e.message))
            .in_file(display)
            .at(e.pos)
            .hint("fix the YAML syntax (indent with spaces, quote values containing `: `)")
    })?;
    if !node.is_map() {
        return Err(ConfigError::new("a policy pack must be a mapping with at least `name`")
            .in_file(display)
            .at(node.pos)
            .hint("start from `readygate explain --pack builtin:baseline` or policies/baseline.yaml"));
    }
    // A check's params are parsed by the check itself right after, with a
    // message and hint specific to it; the schema's own error there (an
    // `anyOf` mismatch) would say less.
    let json = schema::validate_except(
        &super::SCHEMA,
        &super::SCHEMA_JSON,
        &node,
        display,
        "see schemas/policy.schema.json for the accepted keys; `readygate policy lint FILE` checks a pack",
        is_params,
    )?;
    let pack = serde_json::from_value(json).map_err(|e| {
        ConfigError::new(e.to_string())
            .in_file(display)
            .at(node.pos)
            .hint("see schemas/policy.schema.json")
    })?;
    Ok(LoadedPack {
        display: display.to_string(),
        pack,
        node,
    })
}

/// What the chain's waiver rules say of one waiver: a config error at the
/// waiver for each rule it breaks, naming where the rule was set.
fn governed(
    w: &WaiverDef,
    expires: NaiveDate,
    at: &Origin,
    rules: &[(WaiverRules, Origin)],
) -> Vec<ConfigError> {
    let today = chrono::Utc::now().date_naive();
    let mut errors = Vec::new();
    for (rule, set_at) in rules {
        if let Some(max) = rule.max_days
            && (expires - today).num_days() > i64::from(max)
        {
            errors.push(
                err_at(at, format!(
                    "waiver of `{}` expires {expires}, more than {max} days from today ({today}); {set_at} allows at most {max}",
                    w.rule
                ))
                .key("expires")
                .hint(format!("set `expires` on or before {}", today + chrono::Duration::days(i64::from(max)))),
            );
        }
        let matches = |pattern: &str, value: &str| {
            regex::Regex::new(pattern).is_ok_and(|re| re.is_match(value))
        };
        if let Some(pattern) = &rule.ticket {
            match &w.ticket {
                Some(t) if matches(pattern, t) => {}
                Some(t) => errors.push(
                    err_at(at, format!("waiver ticket `{t}` does not match `{pattern}` ({set_at})"))
                        .key("ticket"),
                ),
                None => errors.push(
                    err_at(at, format!("waiver of `{}` has no `ticket`; {set_at} requires one matching `{pattern}`", w.rule))
                        .key("ticket")
                        .hint("add `ticket:` with the issue that tracks the fix"),
                ),
            }
        }
        if let Some(pattern) = &rule.owners
            && !matches(pattern, &w.owner)
        {
            errors.push(
                err_at(
                    at,
                    format!(
                        "waiver owner `{}` does not match `{pattern}` ({set_at})",
                        w.owner
                    ),
                )
                .key("owner"),
            );
        }
    }
    errors
}

/// `given` over `inherited`, key by key when both are mappings.
fn merge_params(inherited: &serde_json::Value, given: &serde_json::Value) -> serde_json::Value {
    match (inherited, given) {
        (serde_json::Value::Object(base), serde_json::Value::Object(over)) => {
            let mut merged = base.clone();
            for (k, v) in over {
                merged.insert(k.clone(), v.clone());
            }
            serde_json::Value::Object(merged)
        }
        _ => given.clone(),
    }
}

/// `/rules/N/params` or anything under it.
fn is_params(pointer: &str) -> bool {
    let mut parts = pointer.split('/').skip(1);
    parts.next() == Some("rules")
        && parts.next().is_some_and(|n| n.parse::<usize>().is_ok())
        && parts.next() == Some("params")
}

#[derive(Default)]
struct Loader<'r> {
    /// How remote packs are fetched (none: they cannot be).
    remotes: Option<&'r Remotes>,
    packs: Vec<PackRef>,
    applied: HashSet<String>,
    /// Packs being loaded: (canonical key, path as displayed).
    stack: Vec<(String, String)>,
    levels: Option<(Vec<String>, Origin)>,
    tiers: BTreeMap<String, (String, Origin)>,
    enforcement: Option<Vec<Enforcement>>,
    rules: Vec<Rule>,
    /// Each waiver with where it is and where its `rule` key is.
    waivers: Vec<(WaiverDef, Origin, Origin)>,
    /// Waiver rules set along the chain, each with where it was set.
    waiver_rules: Vec<(WaiverRules, Origin)>,
    /// The file loaded first (the repository's own pack).
    top: Option<String>,
    /// Quarantined test ids, every pack's list together.
    quarantine: Vec<String>,
}

fn origin(pack: &LoadedPack, pointer: &str) -> Origin {
    Origin {
        file: pack.display.clone(),
        pos: pack.node.pointer_pos(pointer),
    }
}

fn err_at(origin: &Origin, message: impl Into<String>) -> ConfigError {
    ConfigError::new(message)
        .in_file(&origin.file)
        .at(origin.pos)
}

fn parse_date(text: &str, origin: &Origin, key: &str) -> Result<NaiveDate, ConfigError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        err_at(origin, format!("`{text}` is not a date"))
            .key(key)
            .hint("write dates as YYYY-MM-DD")
    })
}

/// Most test ids one quarantine file lists.
const MAX_QUARANTINED: usize = 10_000;

/// The test ids a pack's `quarantine:` file lists, read from where the pack
/// is (the same commit under --policy-ref, confined to the repository).
fn quarantine(
    pack: &Source,
    file: &str,
    at: &Origin,
    remotes: &Remotes,
) -> Result<Vec<String>, ConfigError> {
    let refused = |message: String, hint: String| err_at(at, message).key("quarantine").hint(hint);
    let source = pack.resolve(file).map_err(|e| refused(e.message, e.hint))?;
    let (text, source) = source
        .fetch(remotes)
        .map_err(|e| refused(e.message, e.hint))?;
    let display = source.display();
    let node = yaml::parse_single(&text).map_err(|e| {
        ConfigError::new(format!("the quarantine file does not parse: {}", e.message))
            .in_file(&display)
            .at(e.pos)
    })?;
    let not_a_list = || {
        ConfigError::new("a quarantine file is a YAML list of test ids")
            .in_file(&display)
            .hint("write one `- classname::name` per line, as readygate reports test ids")
    };
    let items = match &node.value {
        yaml::Value::Null => return Ok(Vec::new()),
        _ => node.as_seq().ok_or_else(not_a_list)?,
    };
    if items.len() > MAX_QUARANTINED {
        return Err(ConfigError::new(format!(
            "{} quarantined tests, over {MAX_QUARANTINED}",
            items.len()
        ))
        .in_file(&display)
        .hint("a quarantine this long is a suite nobody runs: fix or delete tests"));
    }
    items
        .iter()
        .map(|item| {
            item.scalar_text().ok_or_else(|| {
                ConfigError::new("each quarantined test is a string: its id")
                    .in_file(&display)
                    .at(item.pos)
            })
        })
        .collect()
}

/// "did you mean" the rule id closest to `id`, else `otherwise`.
fn did_you_mean(rules: &[Rule], id: &str, otherwise: &str) -> String {
    match crate::diag::closest(id, rules.iter().map(|r| r.id.as_str())) {
        Some(r) => format!("did you mean `{r}`? ({otherwise})"),
        None => otherwise.to_string(),
    }
}

impl Loader<'_> {
    /// Load the pack `spec` names (resolved into `source`), named at
    /// `referrer` in another pack's `extends` unless it is the top one.
    fn load_spec(
        &mut self,
        spec: &str,
        source: Result<Source, SourceError>,
        referrer: Option<Origin>,
    ) -> Result<(), ConfigError> {
        let not_found = |message: String, hint: String| match &referrer {
            Some(o) => err_at(o, message).key("extends").hint(hint),
            None => ConfigError::new(message).hint(hint),
        };
        if self.stack.len() >= MAX_EXTENDS_DEPTH || self.packs.len() >= MAX_PACKS {
            return Err(not_found(
                format!(
                    "`{spec}` is past the limit of {MAX_EXTENDS_DEPTH} packs deep or {MAX_PACKS} packs in all"
                ),
                "a policy extends a few packs; flatten the chain".into(),
            ));
        }
        let source = source.map_err(|e| not_found(e.message, e.hint))?;
        let no_remotes = Remotes::default();
        let (text, source) = source
            .fetch(self.remotes.unwrap_or(&no_remotes))
            .map_err(|e| not_found(e.message, e.hint))?;
        let display = source.display();
        let key = source.key();
        if self.stack.iter().any(|(k, _)| *k == key) {
            let chain: Vec<&str> = self.stack.iter().map(|(_, d)| d.as_str()).collect();
            return Err(not_found(
                format!(
                    "`{spec}` extends itself (cycle: {} → {display})",
                    chain.join(" → ")
                ),
                "remove one of the `extends` entries that form the cycle".into(),
            ));
        }
        if self.applied.contains(&key) {
            return Ok(()); // diamond: already applied through another path
        }
        self.top.get_or_insert_with(|| display.clone());
        let pack = parse_pack(&display, &text)?;
        self.stack.push((key.clone(), display.clone()));
        for (i, parent) in pack.pack.extends.iter().enumerate() {
            let at = origin(&pack, &format!("/extends/{i}"));
            self.load_spec(parent.spec(), source.resolve_entry(parent), Some(at))?;
        }
        self.stack.pop();
        if let Some(file) = &pack.pack.quarantine {
            let at = origin(&pack, "/quarantine");
            let remotes = self.remotes.unwrap_or(&no_remotes);
            self.quarantine
                .extend(quarantine(&source, file, &at, remotes)?);
        }
        self.apply(&pack)?;
        self.packs.push(PackRef {
            name: pack.pack.name.clone(),
            version: pack.pack.version.clone(),
            source: display,
        });
        self.applied.insert(key);
        Ok(())
    }

    fn apply(&mut self, lp: &LoadedPack) -> Result<(), ConfigError> {
        let pack = &lp.pack;
        let mut errors = Vec::new();
        if let Some(levels) = &pack.levels {
            if levels.is_empty() {
                errors.push(
                    err_at(&origin(lp, "/levels"), "the level ladder is empty")
                        .hint("list levels lowest first, e.g. [bronze, silver, gold]"),
                );
            }
            self.levels = Some((levels.clone(), origin(lp, "/levels")));
        }
        for (tier, level) in pack.tiers.iter().flatten() {
            if tier != "default" && tier.parse::<u8>().is_err() {
                errors.push(
                    err_at(
                        &origin(lp, &format!("/tiers/{tier}")),
                        format!("`{tier}` is not a tier"),
                    )
                    .hint("tiers are numbers (1 is most critical) or `default`"),
                );
            }
            self.tiers.insert(
                tier.clone(),
                (level.clone(), origin(lp, &format!("/tiers/{tier}"))),
            );
        }
        if let Some(entries) = &pack.enforcement {
            let mut out = Vec::new();
            for (i, e) in entries.iter().enumerate() {
                let mut set = GlobSetBuilder::new();
                for (j, b) in e.branches.iter().enumerate() {
                    match Glob::new(b) {
                        Ok(g) => {
                            set.add(g);
                        }
                        Err(err) => errors.push(err_at(
                            &origin(lp, &format!("/enforcement/{i}/branches/{j}")),
                            format!("bad branch glob: {err}"),
                        )),
                    }
                }
                out.push(Enforcement {
                    branches: e.branches.clone(),
                    branch_set: set.build().unwrap_or_else(|_| globset::GlobSet::empty()),
                    events: e.events.clone(),
                    mode: e.mode,
                });
            }
            self.enforcement = Some(out);
        }
        for (i, def) in pack.rules.iter().enumerate() {
            match self.build_rule(lp, i, def) {
                Ok(rule) => self.rules.push(rule),
                Err(e) => errors.push(e),
            }
        }
        for (i, o) in pack.overrides.iter().enumerate() {
            if let Err(e) = self.apply_override(lp, i, o) {
                errors.push(e);
            }
        }
        if let Some(rules) = &pack.waiver_rules {
            let at = origin(lp, "/waiver_rules");
            for (key, pattern) in [("ticket", &rules.ticket), ("owners", &rules.owners)] {
                if let Some(p) = pattern
                    && let Err(e) = regex::Regex::new(p)
                {
                    return Err(err_at(
                        &at,
                        format!("`waiver_rules.{key}` is not a regular expression: {e}"),
                    ));
                }
            }
            self.waiver_rules.push((rules.clone(), at));
        }
        for (i, w) in pack.waivers.iter().enumerate() {
            self.waivers.push((
                w.clone(),
                origin(lp, &format!("/waivers/{i}")),
                origin(lp, &format!("/waivers/{i}/rule")),
            ));
        }
        match ConfigError::many(errors) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn build_rule(&self, lp: &LoadedPack, i: usize, def: &RuleDef) -> Result<Rule, ConfigError> {
        let at = origin(lp, &format!("/rules/{i}"));
        let key = |k: &str| format!("rules[{i}].{k}");
        // Two packs may share an id (each rule is then `PACK/ID`); one
        // pack may not define it twice.
        if let Some(prev) = self
            .rules
            .iter()
            .find(|r| r.id == def.id && r.pack == lp.pack.name)
        {
            return Err(err_at(
                &origin(lp, &format!("/rules/{i}/id")),
                format!("rule `{}` is already defined at {}", def.id, prev.origin),
            )
            .key(key("id"))
            .hint("pick a new id, or change the inherited rule under `overrides:`"));
        }
        if def.for_each.is_some() && def.expr.is_none() {
            return Err(err_at(
                &at,
                format!("rule `{}` has `for_each` but no `expr`", def.id),
            )
            .key(format!("rules[{i}]"))
            .hint("a for_each rule judges each item with an `expr` that reads `item`"));
        }
        let logic = match (&def.check, &def.expr) {
            (Some(name), None) => {
                let check = area::find_check(name).ok_or_else(|| {
                    let names: Vec<_> = area::CHECKS.iter().map(|c| c.id()).collect();
                    err_at(
                        &origin(lp, &format!("/rules/{i}/check")),
                        format!("unknown check `{name}`"),
                    )
                    .key(key("check"))
                    .hint(format!("built-in checks: {}", names.join(", ")))
                })?;
                let raw = def.params.clone().unwrap_or(serde_json::Value::Null);
                let params = check.parse(&raw).map_err(|e| {
                    err_at(
                        &origin(lp, &format!("/rules/{i}/params")),
                        format!("bad params for `{name}`: {e}"),
                    )
                    .key(key("params"))
                    .hint(format!(
                        "`{name}` params: {}",
                        describe_params(&check.params_schema())
                    ))
                })?;
                Logic::Check { check, params, raw }
            }
            (None, Some(source)) => {
                if def.params.is_some() {
                    return Err(err_at(
                        &origin(lp, &format!("/rules/{i}/params")),
                        "`params` goes with `check`, not `expr`",
                    )
                    .key(key("params")));
                }
                let compiled = match &def.for_each {
                    Some(each) => Expr::compile_each(source, each, def.target.as_deref()),
                    None if def.target.is_some() => Err(super::expr::ExprError(
                        "`target` names the items of a `for_each` rule; this rule has no `for_each`".into(),
                    )),
                    None => Expr::compile(source),
                };
                let expr = compiled.map_err(|e| {
                    err_at(&origin(lp, &format!("/rules/{i}/expr")), format!("invalid CEL expression: {e}"))
                        .key(key("expr"))
                        .hint("expressions see the evidence document as `evidence`; see `readygate evidence --format json`")
                })?;
                Logic::Expr(expr)
            }
            _ => {
                return Err(err_at(&at, format!("rule `{}` needs exactly one of `check` and `expr`", def.id))
                    .key(format!("rules[{i}]"))
                    .hint("use `check: NAME` (with optional `params:`) for a built-in check, or `expr:` for a CEL expression"));
            }
        };
        let enable_on = match &def.enable_on {
            Some(d) => Some(parse_date(
                d,
                &origin(lp, &format!("/rules/{i}/enable_on")),
                &key("enable_on"),
            )?),
            None => None,
        };
        Ok(Rule {
            id: def.id.clone(),
            title: def.title.clone(),
            area: def
                .area
                .clone()
                .unwrap_or_else(|| def.id.split('.').next().unwrap_or("general").to_string()),
            level: def.level.clone(),
            severity: def.severity.unwrap_or(Severity::Error),
            logic,
            message: def.message.clone(),
            why: def.why.trim().to_string(),
            remediation: def.remediation.trim().to_string(),
            docs: def.docs.clone(),
            applies_to: def.applies_to.clone().unwrap_or_default(),
            enable_on,
            on_unknown: def.on_unknown.unwrap_or(OnUnknown::Fail),
            locked: def.locked,
            enabled: true,
            origin: at,
            pack: lp.pack.name.clone(),
            overridden: Vec::new(),
        })
    }

    fn level_index(&self, level: &str) -> Option<usize> {
        self.levels
            .as_ref()
            .and_then(|(l, _)| l.iter().position(|x| x == level))
    }

    fn apply_override(
        &mut self,
        lp: &LoadedPack,
        i: usize,
        o: &OverrideDef,
    ) -> Result<(), ConfigError> {
        let at = origin(lp, &format!("/overrides/{i}"));
        let rule_at = origin(lp, &format!("/overrides/{i}/rule"));
        let idx = match super::named(&self.rules, &o.rule) {
            super::Named::One(idx) => idx,
            super::Named::Nothing => {
                return Err(err_at(&rule_at, format!("override of unknown rule `{}`", o.rule))
                    .key(format!("overrides[{i}].rule"))
                    .hint(did_you_mean(&self.rules, &o.rule, "overrides change rules from extended packs; check the id with `readygate explain --all`")));
            }
            named => {
                let (message, hint) = named.ambiguity(&o.rule).unwrap_or_default();
                return Err(err_at(&rule_at, message)
                    .key(format!("overrides[{i}].rule"))
                    .hint(hint));
            }
        };
        let rule = &self.rules[idx];
        if rule.locked {
            let mut weakens = Vec::new();
            if o.enabled == Some(false) {
                weakens.push("disable it");
            }
            if o.severity.is_some_and(|s| s < rule.severity) {
                weakens.push("lower its severity");
            }
            if let Some(l) = &o.level
                && self.level_index(l) > self.level_index(&rule.level)
            {
                weakens.push("move it to a higher level");
            }
            if o.params.is_some() {
                weakens.push("change its params");
            }
            if o.enable_on.is_some() {
                weakens.push("postpone it with enable_on");
            }
            if o.on_unknown.is_some_and(|u| u < rule.on_unknown) {
                weakens.push("relax on_unknown");
            }
            if o.applies_to.is_some() {
                weakens.push("change where it applies");
            }
            if !weakens.is_empty() {
                return Err(err_at(&at, format!("rule `{}` is locked by {}; this override tries to {}", o.rule, rule.origin, weakens.join(", ")))
                    .key(format!("overrides[{i}]"))
                    .hint("a locked rule can only be made stricter; ask the pack's owners, or fix what the rule finds"));
            }
        }
        let rule_pos = |k: &str| origin(lp, &format!("/overrides/{i}/{k}"));
        let new_logic = match (&o.params, &rule.logic) {
            (
                Some(given),
                Logic::Check {
                    check,
                    raw: inherited,
                    ..
                },
            ) => {
                // Key by key over what the rule had: an override that tunes
                // one param keeps the others.
                let raw = &merge_params(inherited, given);
                let params = check.parse(raw).map_err(|e| {
                    err_at(
                        &rule_pos("params"),
                        format!("bad params for `{}`: {e}", check.id()),
                    )
                    .hint(format!(
                        "`{}` params: {}",
                        check.id(),
                        describe_params(&check.params_schema())
                    ))
                })?;
                Some(Logic::Check {
                    check: *check,
                    params,
                    raw: raw.clone(),
                })
            }
            (Some(_), Logic::Expr(_)) => {
                return Err(err_at(
                    &rule_pos("params"),
                    format!("rule `{}` is an expression and takes no params", o.rule),
                ));
            }
            (None, _) => None,
        };
        let enable_on = match &o.enable_on {
            Some(d) => Some(parse_date(
                d,
                &rule_pos("enable_on"),
                &format!("overrides[{i}].enable_on"),
            )?),
            None => None,
        };
        let rule = &mut self.rules[idx];
        let changed: Vec<&'static str> = [
            ("params", o.params.is_some()),
            ("enabled", o.enabled.is_some()),
            ("severity", o.severity.is_some()),
            ("level", o.level.is_some()),
            ("enable_on", o.enable_on.is_some()),
            ("on_unknown", o.on_unknown.is_some()),
            ("applies_to", o.applies_to.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect();
        for field in changed {
            rule.overridden.retain(|(f, _, _)| *f != field);
            rule.overridden
                .push((field, lp.pack.name.clone(), at.clone()));
        }
        if let Some(logic) = new_logic {
            rule.logic = logic;
        }
        if let Some(e) = o.enabled {
            rule.enabled = e;
        }
        if let Some(s) = o.severity {
            rule.severity = s;
        }
        if let Some(l) = &o.level {
            rule.level = l.clone();
        }
        if enable_on.is_some() {
            rule.enable_on = enable_on;
        }
        if let Some(u) = o.on_unknown {
            rule.on_unknown = u;
        }
        if let Some(a) = &o.applies_to {
            rule.applies_to = a.clone();
        }
        Ok(())
    }

    fn finish(self) -> Result<Policy, ConfigError> {
        let top = self.top.clone().unwrap_or_default();
        let Some((levels, _)) = self.levels else {
            return Err(
                ConfigError::new("no level ladder: no pack in the chain defines `levels`")
                    .in_file(top)
                    .hint("add `levels: [bronze, silver, gold]` or extend builtin:baseline"),
            );
        };
        let mut errors = Vec::new();
        let level_hint = format!("levels: {}", levels.join(", "));
        for rule in &self.rules {
            if !levels.contains(&rule.level) {
                errors.push(
                    err_at(
                        &rule.origin,
                        format!("rule `{}` has unknown level `{}`", rule.id, rule.level),
                    )
                    .hint(level_hint.clone()),
                );
            }
        }
        for (tier, (level, at)) in &self.tiers {
            if !levels.contains(level) {
                errors.push(
                    err_at(at, format!("tier {tier} requires unknown level `{level}`"))
                        .hint(level_hint.clone()),
                );
            }
        }
        let mut waivers = Vec::new();
        let (rules, collisions) = full_ids_where_shared(self.rules);
        for (w, at, rule_at) in self.waivers {
            let rule = match super::named(&rules, &w.rule) {
                super::Named::One(i) => &rules[i],
                super::Named::Nothing => {
                    let hint = did_you_mean(
                        &rules,
                        &w.rule,
                        "waive a rule id that exists; list them with `readygate explain --all`",
                    );
                    errors.push(
                        err_at(&rule_at, format!("waiver for unknown rule `{}`", w.rule))
                            .hint(hint),
                    );
                    continue;
                }
                named => {
                    let (message, hint) = named.ambiguity(&w.rule).unwrap_or_default();
                    errors.push(err_at(&rule_at, message).hint(hint));
                    continue;
                }
            };
            if rule.locked {
                errors.push(
                    err_at(
                        &rule_at,
                        format!(
                            "rule `{}` is locked by {} and cannot be waived",
                            w.rule, rule.origin
                        ),
                    )
                    .hint("fix what the rule finds, or ask the pack's owners to unlock it"),
                );
                continue;
            }
            let expires = match parse_date(&w.expires, &at, "expires") {
                Ok(d) => d,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            errors.extend(governed(&w, expires, &at, &self.waiver_rules));
            let matcher = match &w.target {
                Some(t) => match GlobBuilder::new(t).literal_separator(false).build() {
                    Ok(g) => Some(g.compile_matcher()),
                    Err(e) => {
                        errors.push(err_at(&at, format!("bad target glob: {e}")).key("target"));
                        continue;
                    }
                },
                None => None,
            };
            waivers.push(Waiver {
                // As findings name the rule.
                rule: rule.id.clone(),
                target: w.target,
                matcher,
                reason: w.reason,
                owner: w.owner,
                expires,
                origin: at,
            });
        }
        if let Some(e) = ConfigError::many(errors) {
            return Err(e);
        }
        Ok(Policy {
            packs: self.packs,
            levels,
            tiers: self.tiers.into_iter().map(|(t, (l, _))| (t, l)).collect(),
            enforcement: self.enforcement.unwrap_or_default(),
            rules,
            waivers,
            quarantine: self.quarantine,
            collisions,
        })
    }
}

/// Rules whose id another pack's rule shares take their full id
/// (`PACK/ID`), so each finding names one rule; a built-in rule keeps its
/// id. Each shared id is said once, with every source.
fn full_ids_where_shared(mut rules: Vec<Rule>) -> (Vec<Rule>, Vec<String>) {
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        by_id.entry(r.id.clone()).or_default().push(i);
    }
    let mut collisions = Vec::new();
    for (id, shared) in by_id.into_iter().filter(|(_, v)| v.len() > 1) {
        let builtin = |i: usize| rules[i].origin.file.starts_with("builtin:");
        let each: Vec<String> = shared
            .iter()
            .map(|&i| match builtin(i) {
                true => format!("`{id}` ({})", rules[i].origin),
                false => format!("`{}` ({})", rules[i].full_id(), rules[i].origin),
            })
            .collect();
        collisions.push(format!(
            "rule id `{id}` is defined by {} packs, and each rule runs: {}; a waiver or override names the one it means by that id",
            shared.len(),
            each.join(", ")
        ));
        let renamed: Vec<usize> = shared.into_iter().filter(|&i| !builtin(i)).collect();
        for i in renamed {
            rules[i].id = rules[i].full_id();
        }
    }
    (rules, collisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Policy, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pack.yaml");
        std::fs::write(&path, text).unwrap();
        load(path.to_str().unwrap(), Path::new(""))
    }

    fn refused(text: &str) -> ConfigError {
        match load_text(text) {
            Err(e) => e,
            Ok(_) => panic!("loaded: {text}"),
        }
    }

    fn rule(check: &str, params: &str) -> String {
        format!(
            "name: p\nlevels: [bronze]\nrules:\n  - id: team.r\n    title: t\n    level: bronze\n    check: {check}\n    params: {params}\n    why: w\n    remediation: r\n"
        )
    }

    /// A chain of thousands of packs overflowed the stack; past 32 deep it
    /// is a config error at the `extends` that goes one too far.
    #[test]
    fn a_chain_of_extends_ends_at_its_depth_limit() {
        let dir = tempfile::tempdir().unwrap();
        let chain = |n: usize| {
            for i in 0..n {
                let extends = if i + 1 < n {
                    format!("extends: [p{}.yaml]\n", i + 1)
                } else {
                    String::new()
                };
                std::fs::write(
                    dir.path().join(format!("p{i}.yaml")),
                    format!("name: p{i}\nlevels: [bronze]\n{extends}"),
                )
                .unwrap();
            }
            load(dir.path().join("p0.yaml").to_str().unwrap(), Path::new(""))
        };
        assert!(chain(MAX_EXTENDS_DEPTH).is_ok());
        let Err(err) = chain(5_000) else {
            panic!("a chain of 5,000 loaded")
        };
        assert!(err.message.contains("past the limit"), "{err}");
        assert!(err.file.as_deref().unwrap().ends_with("p31.yaml"), "{err}");
    }

    #[test]
    fn packs_sharing_an_id_get_full_ids_and_a_bare_reference_must_be_unambiguous() {
        let dir = tempfile::tempdir().unwrap();
        let rule = |id: &str| {
            format!(
                "  - id: {id}\n    title: t\n    level: bronze\n    check: ci-present\n    why: w\n    remediation: r\n"
            )
        };
        std::fs::write(
            dir.path().join("org.yaml"),
            format!(
                "name: org\nlevels: [bronze]\nrules:\n{}{}",
                rule("ci.same"),
                rule("ci.only")
            ),
        )
        .unwrap();
        let team = |rest: &str| {
            let path = dir.path().join("team.yaml");
            std::fs::write(
                &path,
                format!(
                    "name: team\nextends: [org.yaml]\nrules:\n{}{rest}",
                    rule("ci.same")
                ),
            )
            .unwrap();
            load(path.to_str().unwrap(), Path::new(""))
        };
        let waiver = |id: &str| {
            format!(
                "waivers:\n  - rule: {id}\n    reason: r\n    owner: o\n    expires: '2099-01-01'\n"
            )
        };
        let policy = team(&format!(
            "overrides:\n  - rule: org/ci.only\n    severity: warning\n{}",
            waiver("team/ci.same")
        ))
        .unwrap();
        let ids: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["org/ci.same", "ci.only", "team/ci.same"]);
        assert_eq!(policy.rules[1].severity, Severity::Warning);
        assert_eq!(policy.waivers[0].rule, "team/ci.same");
        assert_eq!(policy.collisions.len(), 1);
        assert!(
            policy.collisions[0].contains("org.yaml:4"),
            "{:?}",
            policy.collisions
        );
        assert!(
            policy.collisions[0].contains("team.yaml:4"),
            "{:?}",
            policy.collisions
        );
        assert!(policy.rule("ci.only").is_some() && policy.rule("org/ci.only").is_some());
        assert!(policy.rule("ci.same").is_none());

        let err = team(&waiver("ci.same")).err().expect("ambiguous");
        assert!(err.message.contains("`org/ci.same`"), "{err}");
        assert!(err.message.contains("`team/ci.same`"), "{err}");
        assert!(
            err.hint.as_deref().unwrap_or_default().contains("PACK/ID"),
            "{err}"
        );
        let err = team("overrides:\n  - rule: ci.same\n    enabled: false\n")
            .err()
            .expect("ambiguous");
        assert!(err.message.contains("names rules of 2 packs"), "{err}");
    }

    #[test]
    fn errors_name_the_key_meant_and_the_values_allowed() {
        let doc = crate::yaml::parse_single(
            "name: p\nrules:\n  - id: a.b\n    titel: t\n    colour: red\n    level: bronze\n    on_unknown: maybe\n    check: ci-present\n    why: w\n    remediation: r\n",
        )
        .unwrap();
        let schema = crate::policy::schema();
        let err = crate::schema::validate_except(
            &crate::schema::compile(schema.clone()),
            &schema,
            &doc,
            "p.yaml",
            "h",
            |_| false,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("p.yaml:4:5: `rules[0].titel`: unknown key; did you mean `title`?"),
            "{text}"
        );
        assert!(
            text.contains("p.yaml:5:5: `rules[0].colour`: unknown key (keys here: id, title,"),
            "{text}"
        );
        assert!(
            text.contains("`rules[0].on_unknown`: must be one of: `pass`, `warn`, `fail`"),
            "{text}"
        );
        assert!(!text.contains("anyOf"), "{text}");
    }

    #[test]
    fn params_are_parsed_once_at_load() {
        let policy = load_text(&rule("alert-runbook", "{alerts: paging}")).unwrap();
        let Logic::Check { params, raw, .. } = &policy.rules[0].logic else {
            panic!("not a check");
        };
        assert_eq!(raw["alerts"], "paging");
        assert!(
            params.downcast_ref::<()>().is_none(),
            "params hold the check's type"
        );
        // No params: the defaults, parsed too.
        assert!(load_text(&rule("ci-present", "null")).is_ok());
        assert!(load_text(&rule("ci-present", "{}")).is_ok());
    }

    #[test]
    fn params_a_check_does_not_take_are_refused_with_its_params_help() {
        // Each error is at the line of `params` (line 8).
        for (check, params) in [
            ("alert-runbook", "{alerts: sometimes}"),
            ("ci-present", "{strict: true}"),
            ("terraform-backend", "{forbid: local}"),
            ("slo-defined", "{min_objective: high}"),
        ] {
            let err = refused(&rule(check, params));
            assert_eq!(err.pos.map(|p| p.line), Some(8), "{check}: {err}");
            assert!(
                err.message.contains(&format!("bad params for `{check}`")),
                "{err}"
            );
            assert!(
                err.hint.as_deref().unwrap_or_default().contains("params: "),
                "{err}"
            );
        }
    }

    #[test]
    fn what_types_cannot_say_is_checked_at_load() {
        let err = refused(&rule("alert-runbook", "{paging_handles: ['@pager[']}"));
        assert!(
            err.message.contains("bad params for `alert-runbook`"),
            "{err}"
        );
        assert!(
            err.hint
                .as_deref()
                .unwrap_or_default()
                .contains("`paging_handles` (list of string")
        );
        let err = refused(&rule("slo-defined", "{min_objective: 99.9}"));
        assert!(err.message.contains("fraction between 0 and 1"), "{err}");
    }
}

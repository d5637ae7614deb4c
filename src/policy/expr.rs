//! CEL expressions over the evidence document. A rule's `expr` sees the
//! whole document as `evidence` and passes when it evaluates to `true`.

use std::sync::Arc;

use crate::check::{Outcome, Status};

pub struct Expr {
    pub source: String,
    program: cel::Program,
    /// Top-level evidence sections the expression reads (`evidence.iac...`);
    /// `None` when it uses the document in another way.
    sections: Option<Vec<String>>,
    /// `for_each`: judge each item of the list at this path.
    each: Option<Each>,
    /// Comparisons that may walk whole lists or maps, priced by the input.
    deep: Vec<u64>,
}

/// A `for_each` rule's list and how its items are named.
#[derive(Debug, Clone)]
struct Each {
    /// `evidence.iac.kubernetes` as `["iac", "kubernetes"]`.
    path: Vec<String>,
    /// The item's naming field, as a path.
    target: Option<Vec<String>>,
}

/// Most items a `for_each` rule judges; the rest make it unknown.
pub const MAX_EACH_ITEMS: usize = 20_000;

/// `a.b.c` as its identifiers, if it is one.
fn dotted(path: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = path.split('.').map(|p| p.trim().to_string()).collect();
    parts
        .iter()
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(parts)
}

/// An expression that does not compile: a configuration error at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError(pub String);

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExprError {}

/// Longest expression accepted: policy expressions are one-liners, and the
/// `cel` parser recurses per operator and panics on columns past 65 535.
pub const MAX_EXPR_LEN: usize = 2_000;
/// Deepest bracket nesting accepted.
pub const MAX_EXPR_NESTING: usize = 24;
/// Most comprehensions (`all`, `exists`, `map`, ...) open inside each other:
/// two over the evidence's lists is already quadratic.
pub const MAX_COMPREHENSION_NESTING: usize = 2;

const COMPREHENSIONS: &[&str] = &["all", "exists", "exists_one", "map", "filter"];

/// Refuse what the limits above forbid, before the parser sees it.
fn within_limits(source: &str) -> Result<(), ExprError> {
    if source.len() > MAX_EXPR_LEN {
        return Err(ExprError(format!(
            "the expression is {} characters long; the limit is {MAX_EXPR_LEN}",
            source.len()
        )));
    }
    // Brackets outside string literals; a `(` right after `.NAME` of a
    // comprehension opens one.
    let mut open: Vec<bool> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in source.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                c if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => {
                let before = source[..i].trim_end();
                let name_start = before
                    .char_indices()
                    .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map_or(0, |(p, c)| p + c.len_utf8());
                let name = &before[name_start..];
                let is_macro = c == '('
                    && before[..name_start].trim_end().ends_with('.')
                    && COMPREHENSIONS.contains(&name);
                // `map` and `filter` build lists: inside another
                // comprehension they multiply memory, not just time.
                if is_macro && matches!(name, "map" | "filter") && open.iter().any(|m| *m) {
                    return Err(ExprError(format!(
                        "`{name}` inside another comprehension builds a list per element; use `all`/`exists` inside, or `{name}` at the top"
                    )));
                }
                open.push(is_macro);
                if open.len() > MAX_EXPR_NESTING {
                    return Err(ExprError(format!(
                        "brackets nest deeper than {MAX_EXPR_NESTING} levels"
                    )));
                }
                if open.iter().filter(|m| **m).count() > MAX_COMPREHENSION_NESTING {
                    return Err(ExprError(format!(
                        "more than {MAX_COMPREHENSION_NESTING} comprehensions (all, exists, map, filter) inside each other"
                    )));
                }
            }
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expr")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Expr {
    /// The syntax tree, for checks over what the expression reads.
    pub fn ast(&self) -> &cel::IdedExpr {
        self.program.expression()
    }

    /// A `for_each` rule's list, as its path under `evidence`.
    pub fn each_path(&self) -> Option<&[String]> {
        self.each.as_ref().map(|e| e.path.as_slice())
    }

    pub fn compile(source: &str) -> Result<Self, ExprError> {
        Self::compile_over(source, None)
    }

    /// [`Self::compile`], its comparisons priced with `item` bound to an
    /// element of the list at `each` (a `for_each` rule's).
    fn compile_over(source: &str, each: Option<&[String]>) -> Result<Self, ExprError> {
        within_limits(source)?;
        // A panic inside the parser becomes an error naming the rule.
        let compiled = std::panic::catch_unwind(|| cel::Program::compile(source));
        let program = match compiled {
            Ok(result) => result.map_err(|e| ExprError(e.to_string()))?,
            Err(_) => return Err(ExprError("the CEL parser failed on this expression".into())),
        };
        super::cost::check_patterns(program.expression()).map_err(ExprError)?;
        let deep = super::fields::deep_comparisons(program.expression(), each);
        Ok(Self {
            source: source.to_string(),
            program,
            sections: sections(source),
            each: None,
            deep,
        })
    }

    /// An expression judged per item of the list `for_each` names, bound
    /// to `item`; `target` names the item's naming field.
    pub fn compile_each(
        source: &str,
        for_each: &str,
        target: Option<&str>,
    ) -> Result<Self, ExprError> {
        let path = for_each
            .trim()
            .strip_prefix("evidence.")
            .and_then(dotted)
            .ok_or_else(|| {
                ExprError(format!(
                    "`for_each: {for_each}` must name a list in the evidence, like evidence.iac.kubernetes"
                ))
            })?;
        let target = match target {
            Some(t) => Some(dotted(t).ok_or_else(|| {
                ExprError(format!(
                    "`target: {t}` must be a field path of the item, like name or metadata.name"
                ))
            })?),
            None => None,
        };
        let mut expr = Self::compile_over(source, Some(&path))?;
        if let Some(sections) = &mut expr.sections {
            sections.push(path[0].clone());
        }
        expr.each = Some(Each { path, target });
        Ok(expr)
    }

    /// `input` holds the evidence document as `evidence`; see [`context`].
    /// An expression whose estimated cost over this input is above the
    /// budget is not run: its outcome is unknown, for `on_unknown` to decide.
    pub fn evaluate(&self, input: &Input, fail_message: &str) -> Outcome {
        self.evaluate_in(&input.ctx, input.bounds, 1, fail_message)
    }

    /// All outcomes of the rule: one, or for a `for_each` rule one per
    /// failing or unknown item and a pass counting the rest.
    pub fn outcomes(&self, input: &Input, fail_message: &str) -> Vec<Outcome> {
        let Some(each) = &self.each else {
            return vec![self.evaluate(input, fail_message)];
        };
        let list = each
            .path
            .iter()
            .try_fold(&input.doc, |node, key| node.get(key));
        let Some(items) = list.and_then(|l| l.as_array()) else {
            return vec![Outcome::new(
                Status::Unknown,
                format!(
                    "`evidence.{}` is not a list in this evidence",
                    each.path.join(".")
                ),
            )];
        };
        if items.is_empty() {
            return vec![Outcome::skip(format!(
                "`evidence.{}` is empty",
                each.path.join(".")
            ))];
        }
        if items.len() > MAX_EACH_ITEMS {
            return vec![Outcome::new(
                Status::Unknown,
                format!(
                    "not evaluated: {} items, over the {MAX_EACH_ITEMS} a for_each rule judges",
                    items.len()
                ),
            )];
        }
        let mut out = Vec::new();
        for item in items {
            let mut scope = input.ctx.new_inner_scope();
            scope.add_variable_from_value("item", cel::to_value(item).unwrap_or(cel::Value::Null));
            let mut outcome = self.evaluate_in(&scope, input.bounds, items.len(), fail_message);
            if outcome.status == Status::Pass {
                continue;
            }
            if let Some(name) = item_target(item, each.target.as_deref()) {
                outcome.message = format!("{name}: {}", outcome.message);
                outcome.target = Some(name);
            }
            if let Some(at) = item
                .get("location")
                .and_then(|l| serde_json::from_value::<crate::evidence::Location>(l.clone()).ok())
            {
                outcome.location = Some(at);
            }
            out.push(outcome);
        }
        if out.is_empty() {
            out.push(Outcome::pass(format!(
                "`{}` holds for all {} items of evidence.{}",
                self.source,
                items.len(),
                each.path.join(".")
            )));
        }
        out
    }

    /// Evaluate in `ctx`, `times` times over (a for_each rule's items share
    /// one budget).
    fn evaluate_in(
        &self,
        ctx: &cel::Context,
        bounds: super::cost::Bounds,
        times: usize,
        fail_message: &str,
    ) -> Outcome {
        let cost = super::cost::estimate(self.program.expression(), bounds, &self.deep)
            .saturating_mul(times as u64);
        if cost > super::cost::MAX_EVAL_COST {
            return Outcome::new(
                Status::Unknown,
                format!(
                    "not evaluated: over this evidence (longest list {}, longest string {} characters, {} values in all) the expression could take {cost} steps; the budget is {}. Iterate once over the evidence, not once per element, and compare fields, not whole lists or objects",
                    bounds.items,
                    bounds.chars,
                    bounds.nodes,
                    super::cost::MAX_EVAL_COST
                ),
            );
        }
        match self.program.execute(ctx) {
            Ok(cel::Value::Bool(true)) => Outcome::pass(format!("`{}` holds", self.source)),
            Ok(cel::Value::Bool(false)) => Outcome::fail(fail_message),
            Ok(other) => Outcome::new(
                Status::Unknown,
                format!("expression returned {other:?}, not a boolean"),
            ),
            // A missing key means the evidence needed is absent: unknown,
            // decided by the rule's `on_unknown`.
            Err(err) => Outcome::new(
                Status::Unknown,
                format!("expression could not be evaluated: {err}"),
            ),
        }
    }
}

/// The top-level sections `source` reads as `evidence.NAME`, or `None` if
/// `evidence` appears any other way (`evidence["iac"]`, `evidence` alone).
fn sections(source: &str) -> Option<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (i, _) in source.match_indices("evidence") {
        if source[..i].chars().next_back().is_some_and(ident) {
            continue; // part of a longer name
        }
        let rest = source[i + "evidence".len()..].trim_start();
        if rest.starts_with(ident) {
            continue; // `evidences`, another identifier
        }
        let name: String = rest
            .strip_prefix('.')?
            .trim_start()
            .chars()
            .take_while(|c| ident(*c))
            .collect();
        if name.is_empty() {
            return None;
        }
        out.push(name);
    }
    Some(out)
}

/// What expressions are evaluated over: the evidence, and its longest list
/// and string, which bound what an evaluation costs.
pub struct Input {
    ctx: cel::Context<'static, 'static>,
    bounds: super::cost::Bounds,
    /// The document as JSON, for `for_each` lists.
    doc: serde_json::Value,
}

/// What names a `for_each` item: its `target` field, else the first of
/// `name`, `id`, `key`, `path` it has as text.
fn item_target(item: &serde_json::Value, target: Option<&[String]>) -> Option<String> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match target {
        Some(path) => path
            .iter()
            .try_fold(item, |node, key| node.get(key))
            .and_then(text),
        None => ["name", "id", "key", "path"]
            .iter()
            .find_map(|k| item.get(k).and_then(text)),
    }
}

/// A CEL context with the evidence bound to `evidence`. Converting the
/// document is the expensive part, so it happens once per run, and only for
/// the sections the expressions read.
pub fn context<'a>(
    evidence: &crate::area::Evidence,
    exprs: impl Iterator<Item = &'a Expr>,
) -> Input {
    let mut wanted: Option<std::collections::BTreeSet<String>> = Some(Default::default());
    for e in exprs {
        match (&mut wanted, &e.sections) {
            (Some(w), Some(s)) => w.extend(s.iter().cloned()),
            _ => wanted = None,
        }
    }
    let doc = match wanted {
        Some(wanted) => evidence.fields_json(&wanted),
        None => serde_json::to_value(evidence).unwrap_or_default(),
    };
    let bounds = super::cost::bounds(&doc);
    let mut ctx = cel::Context::with_env(Arc::new(cel::Env::stdlib()));
    ctx.add_variable_from_value("evidence", cel::to_value(&doc).unwrap_or(cel::Value::Null));
    Input { ctx, bounds, doc }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_over_evidence() {
        let mut ev = crate::area::Evidence::default();
        ev.files.visited = 3;
        let exprs = [
            Expr::compile("evidence.files.visited > 2 && evidence.service.manifest == null")
                .unwrap(),
            Expr::compile("evidence.ci.github_workflows.size() > 0").unwrap(),
            Expr::compile("evidence.nope.x").unwrap(),
        ];
        let ctx = context(&ev, exprs.iter());
        assert_eq!(exprs[0].evaluate(&ctx, "no").status, Status::Pass);
        assert_eq!(exprs[1].evaluate(&ctx, "no CI").message, "no CI");
        assert_eq!(exprs[2].evaluate(&ctx, "x").status, Status::Unknown);
        assert!(Expr::compile("evidence.(").is_err());
    }

    #[test]
    fn hostile_expressions_are_refused_at_load() {
        let long = format!("{}1 == 1", "1 + ".repeat(10_000));
        assert!(Expr::compile(&long).unwrap_err().0.contains("limit is"));
        let deep = format!("{}true{}", "(".repeat(30), ")".repeat(30));
        assert!(Expr::compile(&deep).unwrap_err().0.contains("nest deeper"));
        let spaced = "[1,2]. map (a, [1,2].\n all(b, [1,2] . exists(c, c > 0))).size() > 0";
        assert!(
            Expr::compile(spaced)
                .unwrap_err()
                .0
                .contains("comprehensions")
        );
        let inner_map = "evidence.alerts.alerts.all(a, a.labels.map(k, k).size() > 0)";
        assert!(
            Expr::compile(inner_map)
                .unwrap_err()
                .0
                .contains("builds a list")
        );
        let maps = "[1,2].all(a, [1,2].all(b, [1,2].exists(c, c > 0)))";
        assert!(
            Expr::compile(maps)
                .unwrap_err()
                .0
                .contains("comprehensions")
        );
        // Two nested, and brackets inside strings, are fine.
        assert!(
            Expr::compile("evidence.alerts.alerts.all(a, a.labels.exists(k, k == \"((((\"))")
                .is_ok()
        );
        // The longest accepted chain of operators parses on a test thread's
        // small stack.
        let chain = format!("{}1 > 0", "1 + ".repeat((MAX_EXPR_LEN - 8) / 4));
        assert!(chain.len() <= MAX_EXPR_LEN);
        assert!(Expr::compile(&chain).is_ok());
    }

    #[test]
    fn an_expression_too_costly_for_the_evidence_is_not_run() {
        use crate::evidence::{Location, Problem, ProblemKind};
        let quadratic = Expr::compile(
            "evidence.problems.all(p, evidence.problems.exists(q, q.location.path == p.location.path))",
        )
        .unwrap();
        let with = |n: usize| {
            let ev = crate::area::Evidence {
                problems: (0..n)
                    .map(|i| Problem {
                        kind: ProblemKind::Empty,
                        document_kind: None,
                        location: Location::file(format!("f{i}.yaml")),
                        message: String::new(),
                    })
                    .collect(),
                ..Default::default()
            };
            context(&ev, [&quadratic].into_iter())
        };
        assert_eq!(quadratic.evaluate(&with(200), "x").status, Status::Pass);
        let over = quadratic.evaluate(&with(20_000), "x");
        assert_eq!(over.status, Status::Unknown);
        assert!(
            over.message.contains("longest list 20000"),
            "{}",
            over.message
        );
        assert!(over.message.contains("the budget is"), "{}", over.message);
    }

    #[test]
    fn sections_read_by_an_expression() {
        assert_eq!(
            sections("evidence.iac.x && evidence . service.y"),
            Some(vec!["iac".into(), "service".into()])
        );
        assert_eq!(sections("size(evidence) > 0"), None);
        assert_eq!(sections("evidence['iac'] != null"), None);
        assert_eq!(sections("my_evidence.x"), Some(vec![]));
    }

    #[test]
    fn unread_sections_are_not_converted_but_read_ones_are() {
        let mut ev = crate::area::Evidence::default();
        ev.files.visited = 3;
        let only_files = [Expr::compile("evidence.files.visited == 3").unwrap()];
        let ctx = context(&ev, only_files.iter());
        assert_eq!(only_files[0].evaluate(&ctx, "x").status, Status::Pass);
        let other = Expr::compile("evidence.ci != null").unwrap();
        assert_eq!(other.evaluate(&ctx, "x").status, Status::Unknown);
    }
}

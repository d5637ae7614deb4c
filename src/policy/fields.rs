//! The evidence fields a CEL rule reads, checked against the evidence
//! schema: a typo such as `w.namespce` evaluates to an error or to nothing
//! at run time, on every repository, and the rule silently means something
//! else. `policy lint` warns of each with the field meant.
//!
//! The walk follows the expression's syntax tree: `evidence` is the
//! document, `item` a `for_each` rule's item, and each comprehension
//! (`all`, `exists`, `map`, `filter`, ...) binds its variable to an element
//! of the list it ranges over. Where the schema says nothing (free-form
//! maps, JSON values), nothing is checked.

use cel::common::ast::{EntryExpr, Expr, operators};
use serde_json::Value as Json;

/// One field the schema does not have: the path read and the field meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// `evidence.iac.workloads[].namespce`.
    pub path: String,
    pub did_you_mean: Option<String>,
}

impl std::fmt::Display for UnknownField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}`, which the evidence schema does not have",
            self.path
        )?;
        match &self.did_you_mean {
            Some(m) => write!(f, " (did you mean `{m}`?)"),
            None => Ok(()),
        }
    }
}

/// What a schema node says of one member.
enum Member<'s> {
    Known(&'s Json),
    /// Not there; these are the fields it has.
    Unknown(Vec<&'s str>),
    /// The schema does not say (a free-form value).
    Open,
}

struct Walk<'s> {
    root: &'s Json,
    found: Vec<UnknownField>,
    /// `==`, `!=` and `in` calls that may compare whole lists or maps.
    deep: Vec<u64>,
}

/// A value's schema node, if known, and how it was reached.
type Typed<'s> = (Option<&'s Json>, String);

impl<'s> Walk<'s> {
    fn deref(&self, mut node: &'s Json) -> &'s Json {
        // `$ref` chains are short; the bound keeps a hostile schema finite.
        for _ in 0..16 {
            match node["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/$defs/"))
            {
                Some(name) => node = &self.root["$defs"][name],
                None => break,
            }
        }
        node
    }

    fn branches(&self, node: &'s Json) -> Option<&'s Vec<Json>> {
        node["anyOf"]
            .as_array()
            .or_else(|| node["oneOf"].as_array())
            .or_else(|| node["allOf"].as_array())
    }

    fn member(&self, node: &'s Json, field: &str) -> Member<'s> {
        let node = self.deref(node);
        if let Some(branches) = self.branches(node) {
            let mut names = Vec::new();
            for b in branches {
                match self.member(b, field) {
                    Member::Known(n) => return Member::Known(n),
                    Member::Open if !is_null(self.deref(b)) => return Member::Open,
                    Member::Open => {}
                    Member::Unknown(more) => names.extend(more),
                }
            }
            return Member::Unknown(names);
        }
        if let Some(n) = node["properties"].get(field) {
            return Member::Known(n);
        }
        match &node["additionalProperties"] {
            Json::Object(_) => return Member::Known(&node["additionalProperties"]),
            Json::Bool(true) => return Member::Open,
            _ => {}
        }
        match node["properties"].as_object() {
            Some(props) => Member::Unknown(props.keys().map(String::as_str).collect()),
            None if is_scalar_or_list(node) => Member::Unknown(Vec::new()),
            None => Member::Open,
        }
    }

    /// An element of a list (what a comprehension binds), if the schema
    /// says.
    fn element(&self, node: &'s Json) -> Option<&'s Json> {
        let node = self.deref(node);
        if let Some(branches) = self.branches(node) {
            return branches.iter().find_map(|b| self.element(b));
        }
        node.get("items").filter(|i| i.is_object())
    }

    /// What `node[key]` is: a list's element or a map's value.
    fn indexed(&self, node: &'s Json) -> Option<&'s Json> {
        let deref = self.deref(node);
        self.element(deref)
            .or_else(|| deref.get("additionalProperties").filter(|a| a.is_object()))
    }

    fn walk(&mut self, e: &cel::IdedExpr, scope: &mut Vec<(String, Typed<'s>)>) -> Typed<'s> {
        match &e.expr {
            Expr::Ident(name) => match scope.iter().rev().find(|(n, _)| n == name) {
                Some((_, typed)) => typed.clone(),
                None => (None, name.clone()),
            },
            Expr::Select(s) => {
                let (node, path) = self.walk(&s.operand, scope);
                let path = format!("{path}.{}", s.field);
                let Some(node) = node else {
                    return (None, path);
                };
                match self.member(node, &s.field) {
                    Member::Known(n) => (Some(n), path),
                    Member::Open => (None, path),
                    Member::Unknown(names) => {
                        self.found.push(UnknownField {
                            did_you_mean: crate::diag::closest(&s.field, names.into_iter())
                                .map(str::to_string),
                            path: path.clone(),
                        });
                        (None, path)
                    }
                }
            }
            Expr::Call(call) => {
                let operands: Vec<&cel::IdedExpr> =
                    call.target.iter().map(|t| &**t).chain(&call.args).collect();
                let typed: Vec<Typed<'s>> = operands.iter().map(|a| self.walk(a, scope)).collect();
                let scalar = |i: usize| {
                    operands
                        .get(i)
                        .is_some_and(|o| self.is_scalar(o, typed[i].0))
                };
                let deep = match call.func_name.as_str() {
                    // A scalar on either side ends the comparison at once.
                    operators::EQUALS | operators::NOT_EQUALS => !scalar(0) && !scalar(1),
                    // Each element is compared with the needle.
                    operators::IN => !scalar(0),
                    _ => false,
                };
                if deep {
                    self.deep.push(e.id);
                }
                match call.func_name.as_str() {
                    operators::INDEX | operators::OPT_INDEX => match typed.first() {
                        Some((node, path)) => {
                            (node.and_then(|n| self.indexed(n)), format!("{path}[]"))
                        }
                        None => (None, String::new()),
                    },
                    _ => (None, String::new()),
                }
            }
            Expr::Comprehension(c) => {
                let (range, path) = self.walk(&c.iter_range, scope);
                self.walk(&c.accu_init, scope);
                let depth = scope.len();
                let element = range.and_then(|r| self.element(r));
                // Over a map the first variable is a key: nothing to check.
                let bound = match (&c.iter_var2, element) {
                    (None, Some(el)) => (Some(el), format!("{path}[]")),
                    _ => (None, c.iter_var.clone()),
                };
                scope.push((c.iter_var.clone(), bound));
                if let Some(v) = &c.iter_var2 {
                    scope.push((v.clone(), (element, format!("{path}[]"))));
                }
                scope.push((c.accu_var.clone(), (None, c.accu_var.clone())));
                self.walk(&c.loop_cond, scope);
                self.walk(&c.loop_step, scope);
                self.walk(&c.result, scope);
                scope.truncate(depth);
                (None, String::new())
            }
            Expr::List(list) => {
                for el in &list.elements {
                    self.walk(el, scope);
                }
                (None, String::new())
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    self.walk_entry(entry, scope);
                }
                (None, String::new())
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    self.walk_entry(entry, scope);
                }
                (None, String::new())
            }
            Expr::Literal(_) | Expr::Unspecified => (None, String::new()),
        }
    }

    fn walk_entry(
        &mut self,
        entry: &cel::common::ast::IdedEntryExpr,
        scope: &mut Vec<(String, Typed<'s>)>,
    ) {
        match &entry.expr {
            EntryExpr::StructField(f) => {
                self.walk(&f.value, scope);
            }
            EntryExpr::MapEntry(m) => {
                self.walk(&m.key, scope);
                self.walk(&m.value, scope);
            }
        }
    }

    /// The schema node at `evidence.a.b` (a `for_each` list), reporting a
    /// step the schema lacks.
    fn path(&mut self, steps: &[String]) -> Option<&'s Json> {
        let mut node = self.root;
        let mut path = "evidence".to_string();
        for step in steps {
            path = format!("{path}.{step}");
            match self.member(node, step) {
                Member::Known(n) => node = n,
                Member::Open => return None,
                Member::Unknown(names) => {
                    self.found.push(UnknownField {
                        did_you_mean: crate::diag::closest(step, names.into_iter())
                            .map(str::to_string),
                        path,
                    });
                    return None;
                }
            }
        }
        Some(node)
    }
}

impl Walk<'_> {
    /// Whether `e` (whose schema node is `node`, if known) is a string,
    /// number, boolean or null: a literal, a field the schema says is one,
    /// or a call that yields one.
    fn is_scalar(&self, e: &cel::IdedExpr, node: Option<&Json>) -> bool {
        match &e.expr {
            Expr::Literal(_) => true,
            Expr::Call(call) => {
                !matches!(
                    call.func_name.as_str(),
                    operators::ADD
                        | operators::INDEX
                        | operators::OPT_INDEX
                        | operators::OPT_SELECT
                        | operators::CONDITIONAL
                ) && (call.func_name.starts_with('_')
                    || call.func_name.starts_with('!')
                    || call.func_name.starts_with('@')
                    || call.func_name == operators::NEGATE
                    || matches!(
                        call.func_name.as_str(),
                        "size"
                            | "contains"
                            | "startsWith"
                            | "endsWith"
                            | "matches"
                            | "string"
                            | "int"
                            | "uint"
                            | "double"
                            | "bool"
                            | "lowerAscii"
                            | "upperAscii"
                            | "trim"
                    ))
            }
            _ => node.is_some_and(|n| self.scalar_node(n)),
        }
    }

    fn scalar_node(&self, node: &Json) -> bool {
        let node = self.deref(node);
        if let Some(branches) = self.branches(node) {
            return !branches.is_empty() && branches.iter().all(|b| self.scalar_node(b));
        }
        typed_only(node, SCALARS)
    }
}

/// JSON Schema types that hold no members and no elements.
const SCALARS: &[&str] = &["string", "integer", "number", "boolean", "null"];

/// Whether `node`'s `type` (one, or a list of them) is only among `types`.
fn typed_only(node: &Json, types: &[&str]) -> bool {
    let allowed = |t: &Json| t.as_str().is_some_and(|t| types.contains(&t));
    match &node["type"] {
        Json::Array(listed) => !listed.is_empty() && listed.iter().all(allowed),
        t => allowed(t),
    }
}

fn is_null(node: &Json) -> bool {
    node["type"] == "null"
}

/// A node that cannot have members: a string, number, boolean or list.
fn is_scalar_or_list(node: &Json) -> bool {
    typed_only(
        node,
        &["string", "integer", "number", "boolean", "null", "array"],
    )
}

/// The fields `expr` reads that `schema` (the evidence schema) does not
/// have. `each`: a `for_each` rule's list, as its path under `evidence`.
pub fn unknown_fields(
    expr: &cel::IdedExpr,
    each: Option<&[String]>,
    schema: &Json,
) -> Vec<UnknownField> {
    walked(expr, each, schema).found
}

/// The evidence schema, made once.
static EVIDENCE_SCHEMA: std::sync::LazyLock<Json> = std::sync::LazyLock::new(crate::area::schema);

/// The `==`, `!=` and `in` calls of `expr` (their ids) that may compare
/// whole lists or maps, as far as the evidence schema tells: each costs
/// what it compares, where one that meets a scalar costs a step.
pub fn deep_comparisons(expr: &cel::IdedExpr, each: Option<&[String]>) -> Vec<u64> {
    walked(expr, each, &EVIDENCE_SCHEMA).deep
}

fn walked<'s>(expr: &cel::IdedExpr, each: Option<&[String]>, schema: &'s Json) -> Walk<'s> {
    let mut walk = Walk {
        root: schema,
        found: Vec::new(),
        deep: Vec::new(),
    };
    let mut scope = vec![(
        "evidence".to_string(),
        (Some(schema), "evidence".to_string()),
    )];
    if let Some(steps) = each {
        let list = walk.path(steps);
        let item = list.and_then(|l| walk.element(l));
        let path = format!("evidence.{}[]", steps.join("."));
        scope.push(("item".to_string(), (item, path)));
    }
    walk.walk(expr, &mut scope);
    walk.found.dedup();
    walk
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::expr::Expr as Rule;

    fn unknown(source: &str, each: Option<&str>) -> Vec<String> {
        let schema = crate::area::schema();
        let expr = match each {
            Some(e) => Rule::compile_each(source, e, None).unwrap(),
            None => Rule::compile(source).unwrap(),
        };
        unknown_fields(expr.ast(), expr.each_path(), &schema)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn typos_are_found_with_the_field_meant() {
        assert_eq!(
            unknown(
                "evidence.iac.workloads.all(w, w.replicas >= 2 && w.namespce != '')",
                None
            ),
            [
                "`evidence.iac.workloads[].namespce`, which the evidence schema does not have (did you mean `namespace`?)"
            ]
        );
        assert_eq!(
            unknown(
                "item.containers.all(c, has(c.limts))",
                Some("evidence.iac.workloads")
            ),
            [
                "`evidence.iac.workloads[].containers[].limts`, which the evidence schema does not have (did you mean `limits`?)"
            ]
        );
        assert_eq!(
            unknown("true", Some("evidence.iac.workloadz")),
            [
                "`evidence.iac.workloadz`, which the evidence schema does not have (did you mean `workloads`?)"
            ]
        );
        assert_eq!(
            unknown("evidence.servce.name != ''", None),
            [
                "`evidence.servce`, which the evidence schema does not have (did you mean `service`?)"
            ]
        );
    }

    #[test]
    fn what_the_schema_has_or_does_not_describe_passes() {
        for (source, each) in [
            ("evidence.iac.workloads.all(w, w.replicas >= 2)", None),
            (
                "item.containers.all(c, c.image.endsWith(':latest') == false)",
                Some("evidence.iac.workloads"),
            ),
            (
                "evidence.iac.kubernetes.exists(o, o.kind == 'Deployment')",
                None,
            ),
            (
                "size(evidence.iac.workloads) > 0 && evidence.iac.workloads[0].name != ''",
                None,
            ),
            ("[1, 2].all(x, x > 0) && {'a': 1}.all(k, k != '')", None),
        ] {
            assert_eq!(unknown(source, each), Vec::<String>::new(), "{source}");
        }
    }

    #[test]
    fn every_shipped_expression_reads_only_fields_the_schema_has() {
        let schema = crate::area::schema();
        let packs = [
            "builtin:baseline",
            "builtin:production",
            "examples/org-policy/packs/production.yaml",
        ];
        let mut exprs = 0;
        for pack in packs {
            let policy =
                crate::policy::load(pack, std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
                    .unwrap_or_else(|e| panic!("{pack}: {e}"));
            for rule in &policy.rules {
                if let crate::policy::Logic::Expr(expr) = &rule.logic {
                    exprs += 1;
                    let found = unknown_fields(expr.ast(), expr.each_path(), &schema);
                    assert!(found.is_empty(), "{pack} {}: {found:?}", rule.id);
                }
            }
        }
        assert!(exprs > 0, "no expression rule was checked");
    }
}

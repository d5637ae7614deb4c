//! What evaluating a CEL expression can cost, bounded before it runs.
//!
//! The `cel` crate has no step limit, and the evidence an expression walks
//! is written by the change under review: a rule that is cheap over 50
//! alerts can be quadratic over 50 000. So each evaluation is preceded by
//! an estimate over the actual input (its longest list or map, and its
//! longest string), an upper bound in the spirit of Kubernetes' CEL cost
//! estimator: every node costs one; concatenation costs what it allocates;
//! membership (`in`) the list it walks; string functions (`size`,
//! `contains`, `startsWith`, `endsWith`, `matches`) the characters they
//! read, at [`CHARS_PER_STEP`]; `matches` also compiles its pattern on every
//! call; and a comprehension costs its body once per element of its range.
//! Above [`MAX_EVAL_COST`] the expression is not run.

use cel::common::ast::{EntryExpr, Expr, LiteralValue, operators};

/// The most estimated steps one evaluation may take. Measured at 30-50 ns
/// per step (release build, nested `exists` and `map` over generated
/// evidence), about a second of evaluation; and, since every allocated
/// element is also a step, a bound on the memory the evaluation can
/// allocate.
pub const MAX_EVAL_COST: u64 = 20_000_000;
/// Characters a string function reads in the time of one step.
const CHARS_PER_STEP: u64 = 16;
/// What one `matches` call costs besides reading its input: the crate
/// compiles the pattern on every call. A pattern from the evidence may be
/// anything up to the regex size limit.
const MATCHES_LITERAL: u64 = 500;
const MATCHES_DYNAMIC: u64 = 200_000;
/// The largest compiled program a literal `matches` pattern may make,
/// checked when the policy loads (the regex crate's default is 10 MiB,
/// compiled again on every call).
const MAX_REGEX_SIZE: usize = 256 * 1024;

/// The input's dimensions: its longest list or map, its longest string,
/// and all its values (what one deep comparison may walk).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub items: u64,
    pub chars: u64,
    pub nodes: u64,
}

/// The estimate for one sub-expression: steps to evaluate it, the elements
/// it yields (a list's or map's length), the elements of one of those, and
/// the characters it may hold as a string.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    cost: u64,
    size: u64,
    element: u64,
    chars: u64,
}

/// Variables bound by the comprehensions around a node, with the size of
/// what each holds.
type Scope<'a> = Vec<(&'a str, u64)>;

/// Upper bound on the steps evaluating `expr` takes over input `bounds`.
/// `deep`: the ids of the comparisons that may compare whole lists or maps
/// ([`super::fields::deep_comparisons`]); each may walk all of the input.
pub fn estimate(expr: &cel::IdedExpr, bounds: Bounds, deep: &[u64]) -> u64 {
    let bounds = Bounds {
        items: bounds.items.max(1),
        chars: bounds.chars.max(1),
        nodes: bounds.nodes.max(1),
    };
    walk(expr, bounds, deep, &mut Vec::new()).cost
}

fn walk<'a>(e: &'a cel::IdedExpr, b: Bounds, deep: &[u64], scope: &mut Scope<'a>) -> Estimate {
    // Anything read from the evidence may be its longest list or string.
    let unknown = |cost| Estimate {
        cost,
        size: b.items,
        element: b.items,
        chars: b.chars,
    };
    match &e.expr {
        Expr::Unspecified => unknown(1),
        Expr::Literal(literal) => {
            let n = match literal {
                LiteralValue::String(s) => s.inner().len() as u64,
                LiteralValue::Bytes(s) => s.inner().len() as u64,
                _ => 1,
            };
            Estimate {
                cost: 1,
                size: n,
                element: 0,
                chars: n,
            }
        }
        Expr::Ident(name) => match scope.iter().rev().find(|(n, _)| n == name) {
            Some((_, size)) => Estimate {
                size: *size,
                ..unknown(1)
            },
            None => unknown(1),
        },
        Expr::Select(s) => {
            let operand = walk(&s.operand, b, deep, scope);
            unknown(operand.cost.saturating_add(1))
        }
        Expr::List(list) => collection(list.elements.iter(), b, deep, scope),
        Expr::Map(map) => collection(map.entries.iter().flat_map(entry), b, deep, scope),
        Expr::Struct(s) => collection(s.entries.iter().flat_map(entry), b, deep, scope),
        Expr::Call(call) => {
            let operands: Vec<Estimate> = call
                .target
                .iter()
                .map(|t| &**t)
                .chain(&call.args)
                .map(|a| walk(a, b, deep, scope))
                .collect();
            let cost = operands
                .iter()
                .fold(1u64, |acc, o| acc.saturating_add(o.cost));
            let largest = operands.iter().map(|o| o.size).max().unwrap_or(1);
            let chars = operands.iter().map(|o| o.chars).max().unwrap_or(1);
            let sum = |f: fn(&Estimate) -> u64| {
                operands
                    .iter()
                    .fold(0u64, |acc, o| acc.saturating_add(f(o)))
            };
            let read = chars / CHARS_PER_STEP;
            let compared = if deep.contains(&e.id) { b.nodes } else { 0 };
            match call.func_name.as_str() {
                // Concatenation allocates both sides, as elements or text.
                operators::ADD => Estimate {
                    cost: cost
                        .saturating_add(sum(|o| o.size))
                        .saturating_add(sum(|o| o.chars) / CHARS_PER_STEP),
                    size: sum(|o| o.size),
                    element: operands.iter().map(|o| o.element).max().unwrap_or(0),
                    chars: sum(|o| o.chars),
                },
                // Membership walks the list (and each element, when the
                // needle is a list or map).
                operators::IN => Estimate {
                    cost: cost
                        .saturating_add(largest)
                        .saturating_add(read)
                        .saturating_add(compared),
                    ..unknown(0)
                },
                // Equality of two lists or maps walks them.
                operators::EQUALS | operators::NOT_EQUALS => Estimate {
                    cost: cost.saturating_add(compared),
                    size: 1,
                    element: 0,
                    chars: 1,
                },
                // An element of the indexed list or map.
                operators::INDEX | operators::OPT_INDEX => {
                    let target = operands.first().copied().unwrap_or(unknown(1));
                    Estimate {
                        cost,
                        size: target.element,
                        element: b.items,
                        chars: b.chars,
                    }
                }
                "matches" => {
                    let pattern = call.args.last().map(|a| &a.expr);
                    let compile = match pattern {
                        Some(Expr::Literal(LiteralValue::String(p))) => {
                            MATCHES_LITERAL.saturating_add(p.inner().len() as u64)
                        }
                        _ => MATCHES_DYNAMIC,
                    };
                    Estimate {
                        cost: cost.saturating_add(compile).saturating_add(read),
                        ..unknown(0)
                    }
                }
                "size" | "contains" | "startsWith" | "endsWith" | "string" | "lowerAscii"
                | "upperAscii" | "trim" => Estimate {
                    cost: cost.saturating_add(read),
                    ..unknown(0)
                },
                // Logic, comparisons, conversions: one step (comparing two
                // strings stops at the first difference or length mismatch).
                _ => Estimate {
                    cost,
                    size: largest,
                    element: b.items,
                    chars,
                },
            }
        }
        Expr::Comprehension(c) => {
            let range = walk(&c.iter_range, b, deep, scope);
            let init = walk(&c.accu_init, b, deep, scope);
            let depth = scope.len();
            scope.push((&c.iter_var, range.element));
            if let Some(v) = &c.iter_var2 {
                scope.push((v, range.element));
            }
            // `map` and `filter` append to their accumulator in place
            // (the crate preallocates it), so reading it is one step.
            scope.push((&c.accu_var, 1));
            let cond = walk(&c.loop_cond, b, deep, scope);
            let step = walk(&c.loop_step, b, deep, scope);
            let result = walk(&c.result, b, deep, scope);
            scope.truncate(depth);
            let per_element = cond.cost.saturating_add(step.cost);
            Estimate {
                cost: range
                    .cost
                    .saturating_add(init.cost)
                    .saturating_add(range.size.saturating_mul(per_element))
                    .saturating_add(result.cost),
                size: range.size,
                element: b.items,
                chars: b.chars,
            }
        }
    }
}

fn entry(e: &cel::common::ast::IdedEntryExpr) -> Vec<&cel::IdedExpr> {
    match &e.expr {
        EntryExpr::StructField(f) => vec![&f.value],
        EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
    }
}

/// A literal list, map or message: each element's cost, as size the
/// element count, and as element size the largest element.
fn collection<'a>(
    elements: impl Iterator<Item = &'a cel::IdedExpr>,
    b: Bounds,
    deep: &[u64],
    scope: &mut Scope<'a>,
) -> Estimate {
    let mut out = Estimate {
        cost: 1,
        size: 0,
        element: 0,
        chars: 0,
    };
    for e in elements {
        let est = walk(e, b, deep, scope);
        out.cost = out.cost.saturating_add(est.cost);
        out.element = out.element.max(est.size);
        out.size += 1;
    }
    out
}

/// Literal `matches` patterns that compile to more than the regex size cap:
/// a configuration error at load, naming the pattern's size.
pub(super) fn check_patterns(expr: &cel::IdedExpr) -> Result<(), String> {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match &e.expr {
            Expr::Call(call) => {
                if call.func_name == "matches"
                    && let Some(Expr::Literal(LiteralValue::String(p))) =
                        call.args.last().map(|a| &a.expr)
                {
                    regex::RegexBuilder::new(p.inner())
                        .size_limit(MAX_REGEX_SIZE)
                        .build()
                        .map_err(|e| match e {
                            regex::Error::CompiledTooBig(_) => format!(
                                "a `matches` pattern compiles to more than {} KiB, and is compiled again on every call; simplify it (counted repetitions such as \\w{{100}} multiply its size)",
                                MAX_REGEX_SIZE / 1024
                            ),
                            other => format!("a `matches` pattern does not compile: {other}"),
                        })?;
                }
                stack.extend(call.target.iter().map(|t| &**t));
                stack.extend(&call.args);
            }
            Expr::Comprehension(c) => stack.extend([
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ]),
            Expr::Select(s) => stack.push(&s.operand),
            Expr::List(l) => stack.extend(&l.elements),
            Expr::Map(m) => stack.extend(m.entries.iter().flat_map(entry)),
            Expr::Struct(s) => stack.extend(s.entries.iter().flat_map(entry)),
            _ => {}
        }
    }
    Ok(())
}

/// The longest list or map, and the longest string, anywhere in `value`.
pub fn bounds(value: &serde_json::Value) -> Bounds {
    let mut stack = vec![value];
    let (mut items, mut chars, mut nodes) = (0usize, 0usize, 0usize);
    while let Some(v) = stack.pop() {
        nodes += 1;
        match v {
            serde_json::Value::String(s) => chars = chars.max(s.len()),
            serde_json::Value::Array(a) => {
                items = items.max(a.len());
                stack.extend(a);
            }
            serde_json::Value::Object(m) => {
                items = items.max(m.len());
                for (k, v) in m {
                    chars = chars.max(k.len());
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
    Bounds {
        items: items as u64,
        chars: chars as u64,
        nodes: nodes as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(source: &str, items: u64) -> u64 {
        cost_with(source, items, 100)
    }

    fn cost_with(source: &str, items: u64, chars: u64) -> u64 {
        let program = cel::Program::compile(source).unwrap();
        let deep = super::super::fields::deep_comparisons(program.expression(), None);
        estimate(
            program.expression(),
            Bounds {
                items,
                chars,
                nodes: items * 10,
            },
            &deep,
        )
    }

    /// Comparing two lists or maps walks them: once per element of a
    /// comprehension, that is quadratic however few nodes the expression
    /// has. Fields the evidence schema says are strings stay one step.
    #[test]
    fn comparing_whole_lists_costs_what_they_hold() {
        let k8s = "evidence.iac.kubernetes";
        let deep = format!("{k8s}.all(o, {k8s} == {k8s})");
        assert!(cost(&deep, 5_000) > MAX_EVAL_COST, "{}", cost(&deep, 5_000));
        let member = format!("{k8s}.all(o, {k8s} in [{k8s}])");
        assert!(cost(&member, 5_000) > MAX_EVAL_COST);
        // Scalars on one side, or fields the schema types as scalars.
        let scalar = format!("{k8s}.all(o, o.kind == 'ConfigMap' && o.name != o.kind)");
        assert!(cost(&scalar, 5_000) < 100_000, "{}", cost(&scalar, 5_000));
        let joined = "evidence.iac.workloads.all(w, evidence.iac.pod_disruption_budgets.exists(p, p.namespace == w.namespace))";
        assert!(
            cost(joined, 1_000) < MAX_EVAL_COST,
            "{}",
            cost(joined, 1_000)
        );
    }

    #[test]
    fn one_comprehension_is_linear_and_two_are_quadratic() {
        let one = "evidence.alerts.alerts.all(a, a.runbook != null)";
        assert!(cost(one, 1_000) * 9 < cost(one, 10_000));
        assert!(cost(one, 10_000) < cost(one, 1_000) * 11);
        let two =
            "evidence.iac.workloads.all(x, evidence.iac.workloads.exists(y, y.name == x.name))";
        assert!(cost(two, 1_000) * 90 < cost(two, 10_000));
        assert!(cost(two, 100_000) > MAX_EVAL_COST);
        assert!(cost(two, 1_000) < MAX_EVAL_COST);
    }

    #[test]
    fn map_and_filter_are_linear_like_the_crate() {
        let map = "evidence.a.map(x, x.name).size() > 0";
        assert!(cost(map, 100_000) < cost(map, 1_000) * 110);
    }

    #[test]
    fn concatenation_counts_what_it_allocates() {
        let one = "(evidence.a + evidence.a).size() > 0";
        let many = format!("({}evidence.a).size() > 0", "evidence.a + ".repeat(200));
        assert!(cost(&many, 100_000) > cost(one, 100_000) * 100);
        assert!(cost(&many, 100_000) > MAX_EVAL_COST);
    }

    #[test]
    fn literal_ranges_count_their_elements() {
        assert!(cost("[1, 2, 3].all(x, x > 0)", 1_000_000) < 100);
    }

    #[test]
    fn indexing_a_literal_does_not_hide_what_it_holds() {
        // Found attacking the estimator: `[L][0]` was a one-element list.
        let hidden = "[evidence.a][0].all(a, [evidence.a][0].exists(b, b.name == 'x') || true)";
        assert!(cost(hidden, 5_000) > MAX_EVAL_COST);
        let keyed = "{'k': evidence.a}['k'].all(a, {'k': evidence.a}['k'].exists(b, true))";
        assert!(cost(keyed, 5_000) > MAX_EVAL_COST);
        let copies = "[evidence.a][0].map(a, [evidence.a][0] + [evidence.a][0]).size() > 0";
        assert!(cost(copies, 5_000) > MAX_EVAL_COST);
    }

    #[test]
    fn string_functions_cost_what_they_read() {
        let l = format!("[{}]", vec!["0"; 300].join(","));
        let nested = format!("{l}.all(i, {l}.all(j, evidence.a[0].d.size() > 0))");
        assert!(cost_with(&nested, 1, 4_000_000) > MAX_EVAL_COST);
        assert!(cost_with(&nested, 1, 100) < MAX_EVAL_COST);
        // One pass over many alerts with a long string somewhere stays cheap.
        let one = "evidence.a.all(a, a.labels.size() > 0 && a.name.startsWith('K'))";
        assert!(cost_with(one, 5_000, 10_000) < MAX_EVAL_COST);
    }

    #[test]
    fn patterns_are_compiled_on_every_call() {
        let l = format!("[{}]", vec!["0"; 100].join(","));
        let nested = format!("{l}.all(i, {l}.all(j, 'a'.matches('^a') || true))");
        assert!(cost(&nested, 1) > 100 * 100 * MATCHES_LITERAL);
        let dynamic = "evidence.a.all(a, a.name.matches(a.pattern))";
        assert!(cost(dynamic, 1_000) > MAX_EVAL_COST);
        let huge = cel::Program::compile("'a'.matches('\\\\w{100}\\\\w{100}')").unwrap();
        assert!(
            check_patterns(huge.expression())
                .unwrap_err()
                .contains("KiB")
        );
        let fine =
            cel::Program::compile("evidence.a.exists(a, a.name.matches('^Kube[A-Z]'))").unwrap();
        assert!(check_patterns(fine.expression()).is_ok());
    }

    #[test]
    fn bounds_find_lists_maps_and_strings_at_any_depth() {
        let v = serde_json::json!({"a": [1, 2, 3], "b": {"c": "x".repeat(7)}});
        let b = bounds(&v);
        assert_eq!((b.items, b.chars), (3, 7));
        assert_eq!(bounds(&serde_json::json!([[1, 2, 3, 4]])).items, 4);
    }
}

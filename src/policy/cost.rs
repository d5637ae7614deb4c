//! What evaluating a CEL expression can cost, bounded before it runs.
//!
//! The `cel` crate has no step limit, and the evidence an expression walks
//! is written by the change under review: a rule that is cheap over 50
//! alerts can be quadratic over 50 000. So each evaluation is preceded by
//! an estimate over the actual input (the longest list, map or string in
//! it), an upper bound in the spirit of Kubernetes' CEL cost estimator:
//! every node costs one, concatenation costs what it allocates, membership
//! (`in`, `contains`) the list it walks, and a comprehension its body once
//! per element of its range.
//! Above [`MAX_EVAL_COST`] the expression is not run.

use cel::common::ast::{EntryExpr, Expr, LiteralValue, operators};

/// The most estimated steps one evaluation may take. Measured at 30-50 ns
/// per step (release build, nested `exists` and `map` over generated
/// evidence), about a second of evaluation; and, since every allocated element is also
/// a step, a bound on the memory the evaluation can allocate.
pub const MAX_EVAL_COST: u64 = 20_000_000;

/// The estimate for one sub-expression: steps to evaluate it, the size
/// (elements or characters) of what it yields, and the size of one of its
/// elements.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    cost: u64,
    size: u64,
    element: u64,
}

/// Variables bound by the comprehensions around a node, with the size of
/// what each holds.
type Bound<'a> = Vec<(&'a str, u64)>;

/// Upper bound on the steps evaluating `expr` takes when no list, map or
/// string in the input is longer than `longest`.
pub fn estimate(expr: &cel::IdedExpr, longest: u64) -> u64 {
    walk(expr, longest.max(1), &mut Vec::new()).cost
}

fn walk<'a>(e: &'a cel::IdedExpr, longest: u64, bound: &mut Bound<'a>) -> Estimate {
    let leaf = |size| Estimate {
        cost: 1,
        size,
        element: longest,
    };
    match &e.expr {
        Expr::Unspecified => leaf(0),
        Expr::Literal(LiteralValue::String(s)) => leaf(s.inner().len() as u64),
        Expr::Literal(LiteralValue::Bytes(b)) => leaf(b.inner().len() as u64),
        Expr::Literal(_) => leaf(1),
        Expr::Ident(name) => leaf(
            bound
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map_or(longest, |(_, s)| *s),
        ),
        Expr::Select(s) => {
            let operand = walk(&s.operand, longest, bound);
            Estimate {
                cost: operand.cost.saturating_add(1),
                size: longest,
                element: longest,
            }
        }
        Expr::List(list) => collection(list.elements.iter(), longest, bound),
        Expr::Map(map) => collection(map.entries.iter().flat_map(entry), longest, bound),
        Expr::Struct(s) => collection(s.entries.iter().flat_map(entry), longest, bound),
        Expr::Call(call) => {
            let operands: Vec<Estimate> = call
                .target
                .iter()
                .map(|t| &**t)
                .chain(&call.args)
                .map(|a| walk(a, longest, bound))
                .collect();
            let cost = operands
                .iter()
                .fold(1u64, |acc, o| acc.saturating_add(o.cost));
            let largest = operands.iter().map(|o| o.size).max().unwrap_or(1);
            let total = operands
                .iter()
                .fold(0u64, |acc, o| acc.saturating_add(o.size));
            match call.func_name.as_str() {
                // Concatenation allocates both sides.
                operators::ADD => Estimate {
                    cost: cost.saturating_add(total),
                    size: total,
                    element: longest,
                },
                // Membership walks the list.
                operators::IN | "contains" => Estimate {
                    cost: cost.saturating_add(largest),
                    size: 1,
                    element: 1,
                },
                // Comparisons, conversions and string functions: one step.
                // Strings in the evidence are bounded by the file-size cap
                // and compared with a `memcmp`; what could multiply is
                // iteration and allocation, both counted.
                _ => Estimate {
                    cost,
                    size: largest,
                    element: longest,
                },
            }
        }
        Expr::Comprehension(c) => {
            let range = walk(&c.iter_range, longest, bound);
            let init = walk(&c.accu_init, longest, bound);
            let depth = bound.len();
            bound.push((&c.iter_var, range.element));
            if let Some(v) = &c.iter_var2 {
                bound.push((v, range.element));
            }
            // `map` and `filter` append to their accumulator in place
            // (the crate preallocates it), so reading it is one step.
            bound.push((&c.accu_var, 1));
            let cond = walk(&c.loop_cond, longest, bound);
            let step = walk(&c.loop_step, longest, bound);
            let result = walk(&c.result, longest, bound);
            bound.truncate(depth);
            let per_element = cond.cost.saturating_add(step.cost);
            Estimate {
                cost: range
                    .cost
                    .saturating_add(init.cost)
                    .saturating_add(range.size.saturating_mul(per_element))
                    .saturating_add(result.cost),
                size: range.size,
                element: longest,
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
    longest: u64,
    bound: &mut Bound<'a>,
) -> Estimate {
    let mut out = Estimate {
        cost: 1,
        size: 0,
        element: 0,
    };
    for e in elements {
        let est = walk(e, longest, bound);
        out.cost = out.cost.saturating_add(est.cost);
        out.element = out.element.max(est.size);
        out.size += 1;
    }
    out
}

/// The longest list, map or string anywhere in `value`.
pub fn longest(value: &serde_json::Value) -> u64 {
    let mut stack = vec![value];
    let mut most = 0usize;
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(s) => most = most.max(s.len()),
            serde_json::Value::Array(a) => {
                most = most.max(a.len());
                stack.extend(a);
            }
            serde_json::Value::Object(m) => {
                most = most.max(m.len());
                stack.extend(m.values());
            }
            _ => {}
        }
    }
    most as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(source: &str, longest: u64) -> u64 {
        estimate(cel::Program::compile(source).unwrap().expression(), longest)
    }

    #[test]
    fn one_comprehension_is_linear_and_two_are_quadratic() {
        let one = "evidence.alerts.alerts.all(a, a.runbook != null)";
        assert!(cost(one, 1_000) * 9 < cost(one, 10_000));
        assert!(cost(one, 10_000) < cost(one, 1_000) * 11);
        let two = "evidence.a.all(x, evidence.a.exists(y, y.name == x.name))";
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
    fn longest_finds_lists_maps_and_strings_at_any_depth() {
        let v = serde_json::json!({"a": [1, 2, 3], "b": {"c": "x".repeat(7)}});
        assert_eq!(longest(&v), 7);
        assert_eq!(longest(&serde_json::json!([[1, 2, 3, 4]])), 4);
    }
}

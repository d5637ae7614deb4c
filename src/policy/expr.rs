//! CEL expressions over the evidence document. A rule's `expr` sees the
//! whole document as `evidence` and passes when it evaluates to `true`.

use std::sync::Arc;

use super::checks::{Outcome, Status};

pub struct Expr {
    pub source: String,
    program: cel::Program,
}

impl Expr {
    pub fn compile(source: &str) -> Result<Self, String> {
        let program = cel::Program::compile(source).map_err(|e| e.to_string())?;
        Ok(Self {
            source: source.to_string(),
            program,
        })
    }

    /// `evidence` is the evidence document already converted to a CEL value
    /// (done once per run, not per rule).
    pub fn evaluate(&self, evidence: &cel::Value, fail_message: &str) -> Outcome {
        let mut ctx = cel::Context::with_env(Arc::new(cel::Env::stdlib()));
        ctx.add_variable_from_value("evidence", evidence.clone());
        match self.program.execute(&ctx) {
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

pub fn evidence_value(evidence: &crate::evidence::Evidence) -> cel::Value {
    cel::to_value(evidence).unwrap_or(cel::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_over_evidence() {
        let mut ev = crate::evidence::Evidence::default();
        ev.files.visited = 3;
        let value = evidence_value(&ev);
        let e = Expr::compile("evidence.files.visited > 2 && evidence.service.manifest == null")
            .unwrap();
        assert_eq!(e.evaluate(&value, "no").status, Status::Pass);
        let e = Expr::compile("evidence.ci.github_workflows.size() > 0").unwrap();
        assert_eq!(e.evaluate(&value, "no CI").message, "no CI");
        let e = Expr::compile("evidence.nope.x").unwrap();
        assert_eq!(e.evaluate(&value, "x").status, Status::Unknown);
        assert!(Expr::compile("evidence.(").is_err());
    }
}

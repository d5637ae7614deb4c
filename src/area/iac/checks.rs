//! Checks about infrastructure as code.

use schemars::JsonSchema;
use serde::Deserialize;

use super::section::{Iac, TerraformModule};
use crate::check::{Check, Context, NoParams, Outcome};
use crate::evidence::Location;

pub struct IacPresent;

impl Check for IacPresent {
    type Section = Iac;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "iac-present"
    }
    fn summary(&self) -> &'static str {
        "Infrastructure is described as code (Terraform/OpenTofu, Pulumi, CloudFormation/SAM, CDK, Helm, Kustomize, Kubernetes manifests, Ansible or Bicep)."
    }
    fn run(&self, iac: &Iac, _: &NoParams, _: &Context) -> Vec<Outcome> {
        let tools = iac.tools();
        vec![Outcome::when(
            !tools.is_empty(),
            format!("infrastructure as code: {}", tools.join(", ")),
            "no infrastructure as code found",
        )]
    }
}

/// One outcome per Terraform root module, or a skip when there are none.
fn per_root_module(iac: &Iac, judge: impl Fn(&TerraformModule) -> Outcome) -> Vec<Outcome> {
    let out: Vec<Outcome> = iac
        .terraform
        .iter()
        .filter(|m| m.is_root)
        .map(|m| judge(m).target(&m.dir))
        .collect();
    if out.is_empty() {
        vec![Outcome::skip("no Terraform root modules")]
    } else {
        out
    }
}

fn module_location(m: &TerraformModule) -> Location {
    Location::file(m.files.first().cloned().unwrap_or_else(|| m.dir.clone()))
}

pub struct TerraformLockfile;

impl Check for TerraformLockfile {
    type Section = Iac;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "terraform-lockfile"
    }
    fn summary(&self) -> &'static str {
        "Every Terraform/OpenTofu root module commits its .terraform.lock.hcl."
    }
    fn run(&self, iac: &Iac, _: &NoParams, _: &Context) -> Vec<Outcome> {
        per_root_module(iac, |m| {
            Outcome::when(
                m.lock_file.is_some(),
                "lock file committed",
                format!("root module `{}` has no .terraform.lock.hcl", m.dir),
            )
            .at(module_location(m))
        })
    }
}

pub struct TerraformBackend;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendParams {
    /// Backend types that do not count (state on a laptop is not shared).
    #[serde(default = "local_backends")]
    forbid: Vec<String>,
}

fn local_backends() -> Vec<String> {
    vec!["local".into()]
}

impl Default for BackendParams {
    fn default() -> Self {
        Self {
            forbid: local_backends(),
        }
    }
}

impl Check for TerraformBackend {
    type Section = Iac;
    type Params = BackendParams;

    fn id(&self) -> &'static str {
        "terraform-backend"
    }
    fn summary(&self) -> &'static str {
        "Every Terraform/OpenTofu root module keeps state in a remote backend (`backend` or `cloud` block)."
    }
    fn run(&self, iac: &Iac, p: &BackendParams, _: &Context) -> Vec<Outcome> {
        per_root_module(iac, |m| match &m.backend {
            Some(b) if p.forbid.contains(&b.backend_type) => Outcome::fail(format!(
                "root module `{}` uses the `{}` backend",
                m.dir, b.backend_type
            ))
            .at(b.location.clone()),
            Some(b) => {
                Outcome::pass(format!("`{}` backend", b.backend_type)).at(b.location.clone())
            }
            None => Outcome::fail(format!(
                "root module `{}` has no backend: state stays local",
                m.dir
            ))
            .at(module_location(m)),
        })
    }
}

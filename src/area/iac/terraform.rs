//! Terraform / OpenTofu: per-file blocks (via hcl-edit, which keeps byte
//! spans so every block has a line), joined per directory into modules.

use std::collections::{BTreeMap, BTreeSet};

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, Body};

use super::Fact;
use super::section::*;
use crate::document::{Document, Sink, block_label, normalize, parent_dir};
use crate::evidence::Location;
use crate::yaml::Pos;

/// What one `.tf` file declares.
#[derive(Debug)]
pub struct TerraformFile {
    pub path: String,
    pub backend: Option<TerraformBackend>,
    pub has_provider_block: bool,
    pub required_providers: Vec<TerraformProvider>,
    pub resources: Vec<TerraformResource>,
    pub module_calls: Vec<TerraformModuleCall>,
}

pub fn file(doc: &Document, out: &mut Sink<Fact>) {
    let hcl = match doc.hcl() {
        Ok(hcl) => hcl,
        Err(problem) => return out.problem(problem.clone()),
    };
    let body = &hcl.body;
    let at = |block: &Block| {
        Location::at(
            &doc.path,
            block
                .span()
                .map_or(Pos { line: 1, column: 1 }, |s| hcl.pos(s.start)),
        )
    };
    let mut tf = TerraformFile {
        path: doc.path.clone(),
        backend: None,
        has_provider_block: false,
        required_providers: Vec::new(),
        resources: Vec::new(),
        module_calls: Vec::new(),
    };
    for block in body.blocks() {
        match block.ident.as_str() {
            "terraform" => {
                for inner in block.body.blocks() {
                    match inner.ident.as_str() {
                        "backend" => {
                            tf.backend = Some(TerraformBackend {
                                backend_type: block_label(inner, 0).unwrap_or_default(),
                                location: at(inner),
                            })
                        }
                        "cloud" => {
                            tf.backend = Some(TerraformBackend {
                                backend_type: "cloud".into(),
                                location: at(inner),
                            })
                        }
                        "required_providers" => tf
                            .required_providers
                            .extend(required_providers(&inner.body, at(inner))),
                        _ => {}
                    }
                }
            }
            "provider" => tf.has_provider_block = true,
            mode @ ("resource" | "data") => {
                let resource_type = block_label(block, 0).unwrap_or_default();
                let name = block_label(block, 1).unwrap_or_default();
                tf.resources.push(TerraformResource {
                    mode: mode.to_string(),
                    resource_type,
                    name,
                    location: at(block),
                })
            }
            "module" => tf.module_calls.push(TerraformModuleCall {
                name: block_label(block, 0).unwrap_or_default(),
                source: block
                    .body
                    .get_attribute("source")
                    .and_then(|a| a.value.as_str())
                    .map(str::to_string),
                location: at(block),
            }),
            _ => {}
        }
    }
    out.push(Fact::TerraformFile(tf));
}

fn required_providers(body: &Body, location: Location) -> Vec<TerraformProvider> {
    body.attributes()
        .map(|attr| {
            let (mut source, mut version) = (None, None);
            match &attr.value {
                Expression::Object(obj) => {
                    for (key, value) in obj.iter() {
                        let key = match key {
                            ObjectKey::Ident(id) => id.as_str().to_string(),
                            ObjectKey::Expression(e) => e.as_str().unwrap_or_default().to_string(),
                        };
                        let value = value.expr().as_str().map(str::to_string);
                        match key.as_str() {
                            "source" => source = value,
                            "version" => version = value,
                            _ => {}
                        }
                    }
                }
                // Terraform 0.12 shorthand: `aws = "~> 3.0"`.
                other => version = other.as_str().map(str::to_string),
            }
            TerraformProvider {
                name: attr.key.as_str().to_string(),
                source,
                version,
                location: location.clone(),
            }
        })
        .collect()
}

pub fn modules(files: Vec<TerraformFile>, locks: BTreeMap<String, String>) -> Vec<TerraformModule> {
    let mut by_dir: BTreeMap<String, Vec<TerraformFile>> = BTreeMap::new();
    for f in files {
        by_dir.entry(parent_dir(&f.path)).or_default().push(f);
    }
    let called: BTreeSet<String> = by_dir
        .iter()
        .flat_map(|(dir, files)| {
            files
                .iter()
                .flat_map(|f| &f.module_calls)
                .filter_map(move |call| {
                    let source = call.source.as_deref()?;
                    // A source that leaves the repository names no module here.
                    (source.starts_with("./") || source.starts_with("../"))
                        .then(|| normalize(dir, source))
                        .flatten()
                })
        })
        .collect();
    by_dir
        .into_iter()
        .map(|(dir, mut files)| {
            files.sort_by(|a, b| a.path.cmp(&b.path));
            let backend = files.iter().find_map(|f| f.backend.clone());
            let configures = backend.is_some() || files.iter().any(|f| f.has_provider_block);
            let under_modules = dir.split('/').any(|p| p == "modules");
            let is_root = !called.contains(&dir) && (configures || !under_modules);
            TerraformModule {
                lock_file: locks.get(&dir).cloned(),
                is_root,
                backend,
                files: files.iter().map(|f| f.path.clone()).collect(),
                required_providers: files
                    .iter()
                    .flat_map(|f| f.required_providers.clone())
                    .collect(),
                resources: files.iter().flat_map(|f| f.resources.clone()).collect(),
                module_calls: files.iter().flat_map(|f| f.module_calls.clone()).collect(),
                dir,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::shared::TERRAFORM;

    fn parse(path: &str, text: &str) -> Sink<Fact> {
        let mut out = Sink::default();
        file(&Document::new(path, TERRAFORM, text), &mut out);
        out
    }

    #[test]
    fn blocks_have_lines_and_modules_join() {
        let main = parse(
            "envs/prod/main.tf",
            "terraform {\n  backend \"s3\" {\n    bucket = \"x\"\n  }\n  required_providers {\n    aws = { source = \"hashicorp/aws\", version = \"~> 5.0\" }\n  }\n}\n\nmodule \"net\" {\n  source = \"../../modules/net\"\n}\n\nresource \"aws_s3_bucket\" \"logs\" {}\n",
        );
        let child = parse("modules/net/main.tf", "resource \"aws_vpc\" \"this\" {}\n");
        let files: Vec<TerraformFile> = main
            .facts
            .into_iter()
            .chain(child.facts)
            .map(|f| match f {
                Fact::TerraformFile(f) => f,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(files[0].backend.as_ref().unwrap().location.line, 2);
        assert_eq!(files[0].resources[0].location.line, 14);
        assert_eq!(
            files[0].required_providers[0].version.as_deref(),
            Some("~> 5.0")
        );
        let mods = modules(
            files,
            BTreeMap::from([(
                "envs/prod".to_string(),
                "envs/prod/.terraform.lock.hcl".to_string(),
            )]),
        );
        let prod = mods.iter().find(|m| m.dir == "envs/prod").unwrap();
        let net = mods.iter().find(|m| m.dir == "modules/net").unwrap();
        assert!(prod.is_root && prod.lock_file.is_some());
        assert!(!net.is_root);
    }

    #[test]
    fn syntax_error_is_a_problem_with_a_line() {
        let out = parse("bad.tf", "resource \"x\" \"y\" {\n  a = \n}\n");
        assert!(out.facts.is_empty());
        assert_eq!(out.problems[0].location.line, 2);
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(
            normalize("envs/prod", "../../modules/net").as_deref(),
            Some("modules/net")
        );
        assert_eq!(normalize(".", "./modules/a/").as_deref(), Some("modules/a"));
        assert_eq!(normalize("envs", "../../outside"), None);
    }
}

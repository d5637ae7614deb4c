//! JSON Schemas generated from the Rust types, and validation of a loaded
//! YAML document against them with errors that point at the offending key.

use std::sync::LazyLock;

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value as Json;

use crate::diag::ConfigError;
use crate::yaml::Node;

/// The schema of `T`, published as `id` (a file name under `schemas/`).
pub fn generate<T: schemars::JsonSchema>(id: &str) -> Json {
    with_id(
        serde_json::to_value(schemars::schema_for!(T)).expect("schema serializes"),
        id,
    )
}

/// `schema` with its published `$id`.
pub fn with_id(mut schema: Json, id: &str) -> Json {
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            Json::String(format!("https://readygate.dev/schemas/{id}")),
        );
    }
    schema
}

pub fn manifest() -> Json {
    generate::<crate::evidence::Manifest>("manifest.schema.json")
}

pub fn compile(schema: Json) -> Validator {
    jsonschema::validator_for(&schema).expect("generated schemas compile")
}

/// Compiled once per process.
pub static MANIFEST: LazyLock<Validator> = LazyLock::new(|| compile(manifest()));

/// Validate `doc` (loaded from `file`) with `validator`; every violation
/// becomes an error at the line of the key or item it concerns, with
/// `hint` (where the accepted keys are written down).
pub fn validate(
    validator: &Validator,
    doc: &Node,
    file: &str,
    hint: &str,
) -> Result<Json, ConfigError> {
    validate_except(validator, doc, file, hint, |_| false)
}

/// One violation of a schema: where (the key or item it concerns), the
/// instance path as a key (`rules[2].level`), and what, without the
/// instance's value (which may be long, or hostile).
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub pos: crate::yaml::Pos,
    /// The JSON pointer of what it concerns (`/rules/2/level`).
    pub pointer: String,
    pub key: String,
    pub message: String,
}

/// Every violation of `validator` by `json` (the JSON form of `doc`), at
/// most `limit`, leaving out those at instance paths `skip` accepts (a
/// later, more specific check reports them better).
pub fn violations(
    validator: &Validator,
    doc: &Node,
    json: &Json,
    limit: usize,
    skip: impl Fn(&str) -> bool,
) -> Vec<Violation> {
    validator
        .iter_errors(json)
        .filter(|err| !skip(err.instance_path().as_str()))
        .take(limit)
        .map(|err| {
            let mut pointer = err.instance_path().as_str().to_string();
            let message = match err.kind() {
                // Point at the unexpected key itself, not at its parent.
                ValidationErrorKind::AdditionalProperties { unexpected }
                    if unexpected.len() == 1 =>
                {
                    pointer = format!(
                        "{pointer}/{}",
                        unexpected[0].replace('~', "~0").replace('/', "~1")
                    );
                    "unknown key".to_string()
                }
                _ => err.masked().to_string(),
            };
            Violation {
                pos: doc.pointer_pos(&pointer),
                key: pointer_to_key(&pointer),
                pointer,
                message,
            }
        })
        .collect()
}

/// [`validate`], leaving out violations at instance paths `skip` accepts
/// (those a later, more specific check reports better).
pub fn validate_except(
    validator: &Validator,
    doc: &Node,
    file: &str,
    hint: &str,
    skip: impl Fn(&str) -> bool,
) -> Result<Json, ConfigError> {
    let json = doc.to_json();
    let errors: Vec<ConfigError> = violations(validator, doc, &json, usize::MAX, skip)
        .into_iter()
        .map(|v| {
            let mut e = ConfigError::new(v.message).in_file(file).at(v.pos);
            if !v.key.is_empty() {
                e = e.key(v.key);
            }
            e.hint(hint)
        })
        .collect();
    match ConfigError::many(errors) {
        Some(err) => Err(err),
        None => Ok(json),
    }
}

/// `/rules/2/level` → `rules[2].level`.
pub fn pointer_to_key(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_keys_read_like_paths() {
        assert_eq!(pointer_to_key("/rules/2/level"), "rules[2].level");
        assert_eq!(pointer_to_key(""), "");
    }

    #[test]
    fn unknown_key_points_at_the_key() {
        let doc = crate::yaml::parse_single("service: api\ntier: 1\nownerz: [a]\n").unwrap();
        let err = validate(&MANIFEST, &doc, "readygate.yaml", "hint").unwrap_err();
        assert_eq!(err.pos.unwrap().line, 3);
        assert_eq!(err.key.as_deref(), Some("ownerz"));
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let doc = crate::yaml::parse_single("service: api\ntier: high\n").unwrap();
        let err = validate(&MANIFEST, &doc, "readygate.yaml", "hint").unwrap_err();
        assert_eq!(err.pos.unwrap().line, 2);
        assert_eq!(err.key.as_deref(), Some("tier"));
    }
}

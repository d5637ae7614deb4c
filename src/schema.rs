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
    validate_except(validator, &Json::Null, doc, file, hint, |_| false)
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
/// later, more specific check reports them better). `schema`, the
/// validator's schema when at hand (else `Null`), names the keys an object
/// takes when one is unknown.
pub fn violations(
    validator: &Validator,
    schema: &Json,
    doc: &Node,
    json: &Json,
    limit: usize,
    skip: impl Fn(&str) -> bool,
) -> Vec<Violation> {
    validator
        .iter_errors(json)
        .filter(|err| !skip(err.instance_path().as_str()))
        .flat_map(|err| {
            let at = err.instance_path().as_str().to_string();
            let found: Vec<(String, String)> = match err.kind() {
                // Each unexpected key at the key itself, not at its parent.
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|key| {
                        (
                            format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                            unknown_key(schema, err.schema_path().as_str(), key),
                        )
                    })
                    .collect(),
                kind => vec![(
                    at,
                    match allowed(kind) {
                        Some(values) => format!("must be one of: {}", values.join(", ")),
                        None => err.masked().to_string(),
                    },
                )],
            };
            found.into_iter().map(|(pointer, message)| Violation {
                pos: doc.pointer_pos(&pointer),
                key: pointer_to_key(&pointer),
                pointer,
                message,
            })
        })
        .take(limit)
        .collect()
}

/// "unknown key", with the key meant or the keys the object takes, read
/// from the schema at the `additionalProperties` that refused it.
fn unknown_key(schema: &Json, keyword: &str, key: &str) -> String {
    let object = keyword
        .strip_suffix("/additionalProperties")
        .and_then(|p| schema.pointer(p));
    let keys: Vec<&str> = object
        .and_then(|o| o["properties"].as_object())
        .map(|props| props.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return "unknown key".to_string();
    }
    match crate::diag::closest(key, keys.iter().copied()) {
        Some(meant) => format!("unknown key; did you mean `{meant}`?"),
        None => format!("unknown key (keys here: {})", keys.join(", ")),
    }
}

/// The values a value must take, when the schema lists them: an `enum`, a
/// `const`, or an `anyOf`/`oneOf` of those (a `null` branch of an optional
/// field left out). `None` when some branch is not a list of values.
fn allowed(kind: &ValidationErrorKind) -> Option<Vec<String>> {
    let show = |v: &Json| match v {
        Json::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    };
    match kind {
        ValidationErrorKind::Enum { options } => {
            Some(options.as_array()?.iter().map(show).collect())
        }
        ValidationErrorKind::Constant { expected_value } => Some(vec![show(expected_value)]),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let mut values = Vec::new();
            for branch in context {
                match branch.as_slice() {
                    [only] => match only.kind() {
                        ValidationErrorKind::Type { kind }
                            if format!("{kind:?}").to_lowercase().contains("null") => {}
                        other => values.extend(allowed(other)?),
                    },
                    _ => return None,
                }
            }
            (!values.is_empty()).then_some(values)
        }
        _ => None,
    }
}

/// [`validate`], leaving out violations at instance paths `skip` accepts
/// (those a later, more specific check reports better).
pub fn validate_except(
    validator: &Validator,
    schema: &Json,
    doc: &Node,
    file: &str,
    hint: &str,
    skip: impl Fn(&str) -> bool,
) -> Result<Json, ConfigError> {
    let json = doc.to_json();
    let errors: Vec<ConfigError> = violations(validator, schema, doc, &json, usize::MAX, skip)
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

//! The service section of the evidence: who owns it, how it describes
//! itself, its SLOs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::{Location, ManifestFact};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ServiceFacts {
    /// The `readygate.yaml` manifest nearest the repository root.
    pub manifest: Option<ManifestFact>,
    /// Backstage `catalog-info.yaml` entities.
    pub catalog: Vec<CatalogEntity>,
    pub codeowners: Option<Codeowners>,
    /// SLOs from OpenSLO, Sloth, Pyrra files and the manifest.
    pub slos: Vec<Slo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CatalogEntity {
    pub location: Location,
    pub kind: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
    pub system: Option<String>,
    pub component_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub links: Vec<CatalogLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CatalogLink {
    pub url: String,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub link_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Codeowners {
    pub location: Location,
    pub rules: Vec<CodeownersRule>,
    /// True when a `*` rule gives every file a default owner.
    pub has_default_owner: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CodeownersRule {
    pub line: u32,
    pub pattern: String,
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SloSource {
    Openslo,
    Sloth,
    Pyrra,
    Manifest,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Slo {
    pub location: Location,
    pub source: SloSource,
    pub name: String,
    pub service: Option<String>,
    /// Target as a fraction (0.999) when the file states one.
    pub objective: Option<f64>,
    pub window: Option<String>,
}

//! The feature-flags section of the evidence: flag definitions (with the
//! format that defines them), what is wrong with them, and the SDKs and
//! providers that show flags are evaluated at run time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Flags {
    /// Files that define flags, one per file and format.
    pub sources: Vec<FlagSource>,
    pub flags: Vec<Flag>,
    /// What the flag's own tooling would reject or misread, at the line.
    pub violations: Vec<FlagViolation>,
    /// Feature-flag SDKs declared in dependency manifests.
    pub sdks: Vec<SdkUse>,
    /// Flag providers configured in Kubernetes (OpenFeature operator
    /// objects, a flagd container).
    pub providers: Vec<FlagProvider>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FlagFormat {
    /// flagd / OpenFeature flag definitions (`flags` with `state` and
    /// `variants`).
    Flagd,
    /// OpenFeature CLI flag manifest (`flagType`, `defaultValue`).
    OpenfeatureManifest,
    /// go-feature-flag (`variations`, `defaultRule`), counted, not validated.
    GoFeatureFlag,
    /// Flipt declarative files (`features.yml`, a `.flipt.yml` index).
    Flipt,
    /// An Unleash state export (`features`, `featureStrategies`).
    Unleash,
    /// LaunchDarkly flags managed with its Terraform provider.
    Launchdarkly,
}

impl FlagFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Flagd => "flagd",
            Self::OpenfeatureManifest => "OpenFeature manifest",
            Self::GoFeatureFlag => "go-feature-flag",
            Self::Flipt => "Flipt",
            Self::Unleash => "Unleash export",
            Self::Launchdarkly => "LaunchDarkly (Terraform)",
        }
    }

    /// Whether the area checks this format's definitions for what its own
    /// tooling refuses (go-feature-flag and Unleash exports are counted
    /// and read, not validated).
    pub fn validated(self) -> bool {
        !matches!(self, Self::GoFeatureFlag | Self::Unleash)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FlagSource {
    /// The file (line 1), or the line a multi-document file's flags start.
    pub location: Location,
    pub format: FlagFormat,
    pub flags: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Flag {
    pub key: String,
    /// The line of the flag's key.
    pub location: Location,
    pub format: FlagFormat,
    /// The namespace the format keys flags within, when it has one: a
    /// Flipt namespace, a flagd `flagSetId`, a LaunchDarkly or Unleash
    /// project. One key in two sets is two flags.
    pub set: Option<String>,
    /// Whether the flag is served: flagd `state: ENABLED`; `None` when the
    /// format has no such switch.
    pub enabled: Option<bool>,
    pub variants: Vec<String>,
    /// `boolean`, `string`, `number`, `object`, or `mixed`.
    pub variant_type: Option<String>,
    /// The default variant (flagd) or default value (manifests).
    pub default: Option<String>,
    /// Targeting rules decide the variant for some users.
    pub targeting: bool,
    /// A percentage rollout (flagd `fractional`): `[variant, weight]` pairs.
    pub rollout: Vec<(String, u64)>,
    /// The format's metadata marks the flag temporary (a release or
    /// experiment flag to remove once launched).
    pub temporary: bool,
    /// The format's own flag type, when it has one (Unleash `release`,
    /// `experiment`, `kill-switch`, ...).
    pub kind: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    /// Not strict JSON: flagd rejects the whole file.
    Syntax,
    /// Against the format's published schema.
    Schema,
    /// Variants of one flag have different types.
    VariantTypes,
    /// A `$ref` names no `$evaluators` entry, or evaluators refer in a cycle.
    EvaluatorRef,
    /// A `fractional` rollout names an unknown variant or weighs nothing.
    Fractional,
    /// `defaultVariant` names no variant.
    DefaultVariant,
    /// The same key defined in two files with different defaults or types.
    Conflict,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FlagViolation {
    pub kind: ViolationKind,
    pub location: Location,
    /// The flag concerned, when there is one.
    pub flag: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SdkUse {
    /// The line that declares the dependency.
    pub location: Location,
    /// The package as the manifest names it.
    pub package: String,
    /// `openfeature`, `launchdarkly`, `unleash`, `flipt`, `go-feature-flag`,
    /// `flagsmith`, `growthbook`, `configcat`, `split`.
    pub vendor: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FlagProvider {
    pub location: Location,
    /// `FeatureFlag`, `FeatureFlagSource`, `flagd container`, or
    /// `LaunchDarkly code references` (`.launchdarkly/coderefs.yaml`).
    pub kind: String,
    pub name: Option<String>,
}

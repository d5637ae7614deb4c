//! Built-in packs, compiled into the binary from `policies/`.

pub static PACKS: &[(&str, &str)] = &[
    ("baseline", include_str!("../../policies/baseline.yaml")),
    ("production", include_str!("../../policies/production.yaml")),
];

pub fn get(name: &str) -> Option<&'static str> {
    PACKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

pub fn names() -> Vec<&'static str> {
    PACKS.iter().map(|(n, _)| *n).collect()
}

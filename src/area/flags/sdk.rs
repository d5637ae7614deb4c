//! Feature-flag SDKs declared in dependency manifests: `Cargo.toml`,
//! `package.json`, `go.mod`, `requirements*.txt`, `pyproject.toml`,
//! `pom.xml`, `build.gradle(.kts)`, `*.csproj`, `Gemfile`. A line-level
//! read: the package name is recognised on the line that declares it,
//! whatever the manifest's syntax, and the version is read next to it.

use super::Fact;
use super::section::SdkUse;
use crate::document::{Document, Head, Sink};
use crate::evidence::Location;

/// Package-name prefixes (as written in manifests) and their vendor.
/// Maven coordinates appear as a groupId on its own line.
const PACKAGES: &[(&str, &str)] = &[
    // OpenFeature: npm, Go, Python, Rust, Java, .NET, Ruby, PHP
    ("@openfeature/", "openfeature"),
    ("github.com/open-feature/go-sdk", "openfeature"),
    ("openfeature-sdk", "openfeature"),
    ("openfeature-provider-", "openfeature"),
    ("open-feature", "openfeature"),
    ("dev.openfeature", "openfeature"),
    ("OpenFeature", "openfeature"),
    ("open-feature/sdk", "openfeature"),
    // LaunchDarkly
    ("@launchdarkly/", "launchdarkly"),
    ("launchdarkly-", "launchdarkly"),
    ("github.com/launchdarkly/go-server-sdk", "launchdarkly"),
    ("com.launchdarkly", "launchdarkly"),
    ("LaunchDarkly.ServerSdk", "launchdarkly"),
    ("ldclient-py", "launchdarkly"),
    // Unleash
    ("unleash-client", "unleash"),
    ("@unleash/", "unleash"),
    ("github.com/Unleash/unleash-client-go", "unleash"),
    ("UnleashClient", "unleash"),
    ("io.getunleash", "unleash"),
    ("Unleash.Client", "unleash"),
    ("unleash-api-client", "unleash"),
    // Flipt
    ("@flipt-io/", "flipt"),
    ("go.flipt.io/flipt", "flipt"),
    ("io.flipt", "flipt"),
    ("flipt-client", "flipt"),
    // go-feature-flag
    (
        "github.com/thomaspoignant/go-feature-flag",
        "go-feature-flag",
    ),
    // Others people use
    ("flagsmith", "flagsmith"),
    ("@growthbook/", "growthbook"),
    ("growthbook", "growthbook"),
    ("configcat-", "configcat"),
    ("github.com/configcat/go-sdk", "configcat"),
    ("com.configcat", "configcat"),
    ("ConfigCat.Client", "configcat"),
    ("@splitsoftware/", "split"),
    ("splitio", "split"),
];

/// Whether a dependency manifest names any flag SDK: the content sniff.
pub fn names_an_sdk(head: &Head) -> bool {
    PACKAGES.iter().any(|(p, _)| head.text.contains(p))
}

/// Every line that declares a flag SDK.
pub fn dependencies(doc: &Document, out: &mut Sink<Fact>) {
    let name = doc.path.rsplit('/').next().unwrap_or(&doc.path);
    if name == "package.json" {
        return package_json(doc, out);
    }
    let go_mod = name == "go.mod";
    let mut in_require = false;
    for (i, line) in doc.text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with(['#', '/']) || trimmed.starts_with("<!--") {
            continue; // a comment
        }
        // go.mod: only what it requires, not its own `module` or `replace`.
        if go_mod {
            if trimmed.starts_with("require (") {
                in_require = true;
                continue;
            }
            if in_require && trimmed.starts_with(')') {
                in_require = false;
                continue;
            }
            // `// indirect`: a dependency of a dependency, not imported.
            if !(in_require || trimmed.starts_with("require ")) || trimmed.ends_with("// indirect")
            {
                continue;
            }
        }
        // Prose and the project's own identity are not dependencies.
        let key = trimmed.trim_start_matches(['"', '<']);
        if [
            "description",
            "name",
            "keywords",
            "homepage",
            "repository",
            "url",
            "directory",
            "module",
        ]
        .iter()
        .any(|k| key.starts_with(k))
        {
            continue;
        }
        if let Some(sdk) = on_line(line) {
            out.push(Fact::Sdk(SdkUse {
                location: Location::new(&doc.path, i as u32 + 1, sdk.0 as u32 + 1),
                package: sdk.1.to_string(),
                vendor: sdk.2.to_string(),
                version: version(&line[sdk.0 + sdk.1.len()..]),
            }));
        }
    }
}

/// package.json: the names in its dependency sections, located at the line
/// that declares each.
fn package_json(doc: &Document, out: &mut Sink<Fact>) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&doc.text) else {
        return; // not this area's to report: npm would refuse it too
    };
    for section in [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ] {
        let Some(deps) = json.get(section).and_then(|d| d.as_object()) else {
            continue;
        };
        for (package, version) in deps {
            let Some((_, _, vendor)) = on_line(&format!("\"{package}\"")) else {
                continue;
            };
            let quoted = format!("\"{package}\"");
            let at = doc.text.find(&quoted).unwrap_or(0);
            let line = 1 + doc.text[..at].matches('\n').count() as u32;
            let column = 1 + (at - doc.text[..at].rfind('\n').map_or(0, |p| p + 1)) as u32;
            out.push(Fact::Sdk(SdkUse {
                location: Location::new(&doc.path, line, column + 1),
                package: package.clone(),
                vendor: vendor.to_string(),
                version: version.as_str().and_then(self::version),
            }));
        }
    }
}

/// The first flag SDK named on `line`: (byte offset, package, vendor). The
/// marker starts the name (or a path segment of it), and a marker that is a
/// whole name is not the start of a longer word.
fn on_line(line: &str) -> Option<(usize, &str, &'static str)> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || "@/._-".contains(c);
    PACKAGES.iter().find_map(|(marker, vendor)| {
        line.match_indices(marker).find_map(|(at, _)| {
            let start = line[..at]
                .char_indices()
                .rev()
                .find(|(_, c)| !is_name(*c))
                .map_or(0, |(p, c)| p + c.len_utf8());
            let end = line[at..]
                .char_indices()
                .find(|(_, c)| !is_name(*c))
                .map_or(line.len(), |(p, _)| at + p);
            let package = &line[start..end];
            let rest = &package[at - start + marker.len()..];
            let whole = marker.ends_with(['/', '-', '.'])
                || rest.is_empty()
                || rest.starts_with(['/', '.', '-']);
            let starts = start == at || line[..at].ends_with(['/', '.']);
            (whole && starts).then_some((start, package, *vendor))
        })
    })
}

/// The first version-looking token after the package on its line:
/// `"^1.2.3"`, `v1.2.3`, `==0.7.0`, `= "0.2"`, `Version="2.1.0"`.
fn version(rest: &str) -> Option<String> {
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let before = rest[..start].trim_end_matches(['^', '~', '>', '=', '<', 'v', ' ']);
    // Only separators between the name and the version.
    if before.chars().any(|c| c.is_ascii_alphabetic()) && !before.contains("ersion") {
        return None;
    }
    let end = rest[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || ".-+".contains(c)))
        .map_or(rest.len(), |e| start + e);
    Some(rest[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocKind;

    fn found(path: &str, text: &str) -> Vec<(String, String, Option<String>, u32)> {
        let doc = Document::new(path, DocKind("dependency-manifest"), text);
        let mut out = Sink::default();
        dependencies(&doc, &mut out);
        out.facts
            .into_iter()
            .filter_map(|f| match f {
                Fact::Sdk(s) => Some((s.package, s.vendor, s.version, s.location.line)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_manifest_syntax() {
        assert_eq!(
            found(
                "package.json",
                "{\n  \"dependencies\": {\n    \"@openfeature/server-sdk\": \"^1.17.0\",\n    \"express\": \"4\"\n  }\n}\n"
            ),
            [(
                "@openfeature/server-sdk".into(),
                "openfeature".into(),
                Some("1.17.0".into()),
                3
            )]
        );
        assert_eq!(
            found(
                "go.mod",
                "module x\n\nrequire (\n\tgithub.com/open-feature/go-sdk v1.14.1\n\tgithub.com/open-feature/go-sdk-contrib/providers/flagd v0.2.6\n\tgithub.com/configcat/go-sdk/v9 v9.0.7\n\tgithub.com/Unleash/unleash-client-go/v4 v4.1.2 // indirect\n)\n"
            )
            .into_iter()
            .map(|(_, vendor, _, line)| (vendor, line))
            .collect::<Vec<_>>(),
            [
                ("openfeature".to_string(), 4),
                ("openfeature".to_string(), 5),
                ("configcat".to_string(), 6)
            ]
        );
        assert_eq!(
            found("requirements.txt", "openfeature-sdk==0.8.0\nrequests\n")[0].2,
            Some("0.8.0".into())
        );
        assert_eq!(
            found("Cargo.toml", "[dependencies]\nopen-feature = \"0.2\"\n")[0].2,
            Some("0.2".into())
        );
        assert_eq!(
            found(
                "pom.xml",
                "<dependency>\n  <groupId>dev.openfeature</groupId>\n  <artifactId>sdk</artifactId>\n</dependency>\n"
            )[0]
            .3,
            2
        );
        assert_eq!(
            found(
                "App.csproj",
                "<PackageReference Include=\"OpenFeature\" Version=\"2.1.0\" />\n"
            )[0]
            .2,
            Some("2.1.0".into())
        );
        assert_eq!(
            found("Gemfile", "gem 'launchdarkly-server-sdk', '~> 8.0'\n")[0].1,
            "launchdarkly"
        );
    }

    #[test]
    fn comments_and_longer_words_are_not_sdks() {
        assert!(found("requirements.txt", "# openfeature-sdk later\n").is_empty());
        assert!(found("package.json", "{\"name\": \"open-feature-demo\"}\n").is_empty());
        // Found reading real repositories: prose, the module itself,
        // replace lines, repository URLs.
        assert!(found("package.json", "{\"description\": \"no open-feature here yet\", \"repository\": {\"url\": \"https://github.com/open-feature/js-sdk-contrib\", \"directory\": \"libs/providers/flagsmith\"}}").is_empty());
        assert!(found("go.mod", "module github.com/open-feature/go-sdk-contrib/providers/flagsmith\n\nreplace github.com/open-feature/go-sdk => ../sdk\n").is_empty());
        assert_eq!(
            found(
                "package.json",
                "{\"name\":\"x\",\"dependencies\":{\"@openfeature/web-sdk\":\"1.2.0\"}}"
            )
            .len(),
            1
        );
        assert!(found("go.mod", "require example.com/my-open-features v1\n").is_empty());
        assert!(found("requirements.txt", "flagsmithy==1\n").is_empty());
    }
}

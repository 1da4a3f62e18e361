//! What to build, from `cargo metadata`: the `[[workspace.metadata.leptos]]` table cargo-leptos
//! reads, resolved against the workspace root and target directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cargo_metadata::{MetadataCommand, TargetKind};
use serde::Deserialize;

/// The keys of `[[workspace.metadata.leptos]]` this task uses (cargo-leptos' names); the
/// others (site address, reload port, ...) are for `cargo leptos watch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LeptosTable {
    output_name: String,
    lib_package: String,
    #[serde(default)]
    lib_features: Vec<String>,
    #[serde(default = "yes")]
    lib_default_features: bool,
    #[serde(default = "release")]
    lib_profile_release: String,
    #[serde(default = "site_root")]
    site_root: PathBuf,
    #[serde(default = "pkg")]
    site_pkg_dir: PathBuf,
    style_file: Option<PathBuf>,
    assets_dir: Option<PathBuf>,
    #[serde(default)]
    wasm_opt_features: Vec<String>,
}

fn yes() -> bool {
    true
}
fn release() -> String {
    "release".to_owned()
}
fn site_root() -> PathBuf {
    PathBuf::from("target/site")
}
fn pkg() -> PathBuf {
    PathBuf::from("pkg")
}

/// Everything [`crate::bundle::build`] needs, with absolute paths.
#[derive(Debug, Clone)]
pub struct Project {
    pub manifest_path: PathBuf,
    pub target_dir: PathBuf,
    pub output_name: String,
    pub lib_package: String,
    /// The lib target's crate name (`dashboard_ui`): the name of the `.wasm` cargo writes.
    pub lib_crate_name: String,
    pub lib_features: Vec<String>,
    pub lib_default_features: bool,
    pub profile: String,
    pub site_root: PathBuf,
    pub pkg_dir: PathBuf,
    pub style_file: Option<PathBuf>,
    pub assets_dir: Option<PathBuf>,
    pub wasm_opt_args: Vec<String>,
}

impl Project {
    pub fn load(manifest_path: Option<&Path>) -> anyhow::Result<Self> {
        let mut command = MetadataCommand::new();
        command.no_deps();
        if let Some(path) = manifest_path {
            command.manifest_path(path);
        }
        let metadata = command.exec().context("cargo metadata")?;
        let root = metadata.workspace_root.clone().into_std_path_buf();
        let table = leptos_table(&metadata.workspace_metadata)?;
        let Some(lib) = metadata
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == table.lib_package)
        else {
            bail!(
                "lib-package '{}' is not a package of this workspace",
                table.lib_package
            );
        };
        let Some(lib_target) = lib.targets.iter().find(|t| {
            t.kind
                .iter()
                .any(|k| matches!(k, TargetKind::CDyLib | TargetKind::Lib))
        }) else {
            bail!("package '{}' has no lib target", table.lib_package);
        };
        let site_root = root.join(&table.site_root);
        Ok(Self {
            manifest_path: root.join("Cargo.toml"),
            target_dir: metadata.target_directory.clone().into_std_path_buf(),
            output_name: table.output_name,
            lib_package: table.lib_package,
            lib_crate_name: lib_target.name.replace('-', "_"),
            lib_features: table.lib_features,
            lib_default_features: table.lib_default_features,
            profile: table.lib_profile_release,
            pkg_dir: site_root.join(&table.site_pkg_dir),
            site_root,
            style_file: table.style_file.map(|p| root.join(p)),
            assets_dir: table.assets_dir.map(|p| root.join(p)),
            wasm_opt_args: table.wasm_opt_features,
        })
    }

    /// Where cargo writes the lib's wasm for the configured profile.
    pub fn cargo_wasm(&self) -> PathBuf {
        self.target_dir
            .join("wasm32-unknown-unknown")
            .join(&self.profile)
            .join(format!("{}.wasm", self.lib_crate_name))
    }
}

/// The single `[[workspace.metadata.leptos]]` entry (a table or a one-element array).
fn leptos_table(workspace_metadata: &serde_json::Value) -> anyhow::Result<LeptosTable> {
    let value = match workspace_metadata.get("leptos") {
        Some(serde_json::Value::Array(entries)) if entries.len() == 1 => entries[0].clone(),
        Some(serde_json::Value::Array(entries)) => bail!(
            "[[workspace.metadata.leptos]] has {} entries; this task builds exactly one",
            entries.len()
        ),
        Some(table @ serde_json::Value::Object(_)) => table.clone(),
        Some(_) => bail!("[workspace.metadata.leptos] is neither a table nor an array of tables"),
        None => bail!("no [[workspace.metadata.leptos]] in the workspace's Cargo.toml"),
    };
    serde_json::from_value(value).context("[[workspace.metadata.leptos]]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_as_cargo_leptos_does() {
        let meta = serde_json::json!({"leptos": [{
            "name": "dashboard", "output-name": "dashboard", "lib-package": "dashboard-ui",
            "lib-features": ["hydrate"], "lib-default-features": false,
            "lib-profile-release": "wasm-release", "site-root": "target/site",
            "wasm-opt-features": ["-Oz"], "reload-port": 3001
        }]});
        let table = leptos_table(&meta).expect("table");
        assert_eq!(table.output_name, "dashboard");
        assert_eq!(table.lib_features, ["hydrate"]);
        assert!(!table.lib_default_features);
        assert_eq!(table.lib_profile_release, "wasm-release");
        assert_eq!(table.site_pkg_dir, PathBuf::from("pkg"));
        assert_eq!(table.wasm_opt_features, ["-Oz"]);
    }

    #[test]
    fn refuses_what_it_cannot_build() {
        let none = leptos_table(&serde_json::json!({})).expect_err("no table");
        assert!(
            none.to_string()
                .contains("no [[workspace.metadata.leptos]]")
        );
        let two = leptos_table(&serde_json::json!({"leptos": [{}, {}]})).expect_err("two");
        assert!(two.to_string().contains("2 entries"));
        let missing = leptos_table(&serde_json::json!({"leptos": {"output-name": "x"}}))
            .expect_err("no lib-package");
        assert!(format!("{missing:#}").contains("lib-package"));
    }

    #[test]
    fn this_workspace_names_a_buildable_bundle() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let project = Project::load(Some(&manifest)).expect("workspace loads");
        assert_eq!(project.lib_crate_name, "dashboard_ui");
        assert!(project.site_root.ends_with("target/site"));
        assert!(project.style_file.as_ref().is_some_and(|p| p.is_file()));
        assert!(project.assets_dir.as_ref().is_some_and(|p| p.is_dir()));
        assert!(
            project
                .cargo_wasm()
                .ends_with("wasm32-unknown-unknown/wasm-release/dashboard_ui.wasm")
        );
    }
}

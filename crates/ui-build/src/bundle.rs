//! The build steps, in order: cargo (wasm32), wasm-bindgen, wasm-opt, style and assets, twins.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::config::Project;
use crate::precompress;

/// What was written.
#[derive(Debug, Default)]
pub struct Report {
    /// Files written into the site root, twins not counted.
    pub files: usize,
    /// True when cargo's wasm had not changed and the optimised bundle was kept.
    pub reused_wasm: bool,
    pub wasm_bytes: u64,
    pub wasm_br_bytes: u64,
}

pub fn build(project: &Project, optimise: bool) -> anyhow::Result<Report> {
    cargo_build(project)?;
    std::fs::create_dir_all(&project.pkg_dir)
        .with_context(|| format!("creating {}", project.pkg_dir.display()))?;
    let name = &project.output_name;
    let js = project.pkg_dir.join(format!("{name}.js"));
    let wasm = project.pkg_dir.join(format!("{name}.wasm"));
    let mut written = Vec::new();

    // wasm-opt takes most of a minute: when cargo's wasm is the one the site's bundle was made
    // from (same size and modification time, same optimisation), the bundle is kept.
    let stamp_file = project.pkg_dir.join(".apiary-ui-build");
    let stamp = stamp_of(&project.cargo_wasm(), optimise)?;
    let fresh = std::fs::read_to_string(&stamp_file).is_ok_and(|old| old == stamp)
        && [&js, &wasm]
            .iter()
            .all(|f| f.is_file() && precompress::twin_path(f, "br").is_file());
    if !fresh {
        let _ = std::fs::remove_file(&stamp_file);
        // wasm-bindgen writes `<name>.js` and `<name>_bg.wasm` (and any `snippets/`) into a
        // scratch directory under target/; only the finished files go to the site.
        let scratch = project.target_dir.join("apiary-ui-build");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("clearing {}", scratch.display()))?;
        }
        bindgen(project, &scratch)?;
        copy(&scratch.join(format!("{name}.js")), &js)?;
        let mut generated = vec![js.clone()];
        let snippets = scratch.join("snippets");
        if snippets.is_dir() {
            generated.extend(copy_tree(&snippets, &project.pkg_dir.join("snippets"))?);
        }
        let bindgen_wasm = scratch.join(format!("{name}_bg.wasm"));
        if optimise {
            wasm_opt(project, &bindgen_wasm, &wasm)?;
        } else {
            copy(&bindgen_wasm, &wasm)?;
        }
        generated.push(wasm.clone());
        for file in &generated {
            precompress::twins(file)?;
        }
        written.extend(generated);
    }
    // The style and the assets are small: always copied, so an edit shows without a rebuild.
    let mut copied = Vec::new();
    if let Some(style) = &project.style_file {
        let css = project.pkg_dir.join(format!("{name}.css"));
        copy(style, &css)?;
        copied.push(css);
    }
    if let Some(assets) = &project.assets_dir {
        copied.extend(copy_tree(assets, &project.site_root)?);
    }
    for file in &copied {
        precompress::twins(file)?;
    }
    written.extend(copied);
    if !fresh {
        std::fs::write(&stamp_file, &stamp)
            .with_context(|| format!("writing {}", stamp_file.display()))?;
    }
    Ok(Report {
        files: written.len(),
        reused_wasm: fresh,
        wasm_bytes: size(&wasm)?,
        wasm_br_bytes: size(&precompress::twin_path(&wasm, "br"))?,
    })
}

/// What the site's bundle was made from: cargo's wasm (size, modification time) and whether
/// wasm-opt ran.
fn stamp_of(cargo_wasm: &Path, optimise: bool) -> anyhow::Result<String> {
    let meta = std::fs::metadata(cargo_wasm)
        .with_context(|| format!("reading {}", cargo_wasm.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!(
        "{} bytes={} modified_ns={modified} wasm_opt={optimise}\n",
        cargo_wasm.display(),
        meta.len()
    ))
}

fn cargo_build(project: &Project) -> anyhow::Result<()> {
    // `cargo run -p apiary-ui-build` sets $CARGO to the cargo that ran us: the same toolchain.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(&project.manifest_path)
        .args(["--package", &project.lib_package, "--lib"])
        .args(["--target", "wasm32-unknown-unknown"])
        .args(["--profile", &project.profile]);
    if !project.lib_default_features {
        command.arg("--no-default-features");
    }
    if !project.lib_features.is_empty() {
        command.args(["--features", &project.lib_features.join(",")]);
    }
    run(&mut command, "cargo build (wasm32-unknown-unknown)")?;
    let wasm = project.cargo_wasm();
    if !wasm.is_file() {
        bail!(
            "cargo built, but {} is not there (is `crate-type` missing \"cdylib\"?)",
            wasm.display()
        );
    }
    Ok(())
}

fn bindgen(project: &Project, out_dir: &Path) -> anyhow::Result<()> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(project.cargo_wasm())
        .out_name(&project.output_name)
        .typescript(false)
        .web(true)?;
    bindgen
        .generate(out_dir)
        .with_context(|| format!("wasm-bindgen on {}", project.cargo_wasm().display()))
}

/// binaryen's optimiser. Its version matters (Debian's 108 breaks the externref table that
/// wasm-bindgen adds), so scripts/lib.sh installs a pinned one and puts it on PATH.
fn wasm_opt(project: &Project, input: &Path, output: &Path) -> anyhow::Result<()> {
    let program = std::env::var_os("WASM_OPT").unwrap_or_else(|| "wasm-opt".into());
    let mut command = Command::new(&program);
    command
        .args(&project.wasm_opt_args)
        .arg(input)
        .arg("-o")
        .arg(output);
    run(&mut command, "wasm-opt").with_context(|| {
        format!(
            "optimising the bundle with {} (install binaryen >= 117 or set WASM_OPT; \
             --no-wasm-opt skips it)",
            PathBuf::from(&program).display()
        )
    })
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {what} ({:?})", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

/// Copies every file under `from` into `to` (keeping the relative layout) and returns the
/// files written. Twins (`.gz`, `.br`) in the source are skipped: they are made afresh.
pub fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut pending = vec![from.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("reading {}", dir.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if precompress::is_twin(&path) {
                continue;
            }
            let relative = path.strip_prefix(from).unwrap_or(&path);
            let target = to.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            copy(&path, &target)?;
            written.push(target);
        }
    }
    written.sort();
    Ok(written)
}

fn size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tree_keeps_the_layout_and_skips_stale_twins() {
        let from = tempfile::tempdir().expect("tempdir");
        let to = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(from.path().join("img")).expect("mkdir");
        std::fs::write(from.path().join("favicon.svg"), "<svg/>").expect("write");
        std::fs::write(from.path().join("favicon.svg.gz"), "stale").expect("write");
        std::fs::write(from.path().join("img/logo.png"), [1u8, 2, 3]).expect("write");
        let written = copy_tree(from.path(), to.path()).expect("copied");
        assert_eq!(
            written,
            [
                to.path().join("favicon.svg"),
                to.path().join("img/logo.png")
            ]
        );
        assert_eq!(
            std::fs::read(to.path().join("img/logo.png")).expect("read"),
            [1, 2, 3]
        );
        assert!(!to.path().join("favicon.svg.gz").exists());
    }
}

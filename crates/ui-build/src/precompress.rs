//! The `.gz` and `.br` twins tower-http's `ServeFile` sends to browsers that accept them
//! (`precompressed_gzip`, `precompressed_br`): compressed once here at the strongest settings,
//! never per request.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// `file.ext` -> `file.ext.<suffix>`.
pub fn twin_path(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

pub fn is_twin(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("gz" | "br"))
}

/// Writes `file.gz` (gzip level 9) and `file.br` (brotli quality 11, 4 MiB window).
pub fn twins(file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let gz = twin_path(file, "gz");
    std::fs::write(&gz, gzip(&bytes)?).with_context(|| format!("writing {}", gz.display()))?;
    let br = twin_path(file, "br");
    std::fs::write(&br, brotli(&bytes)?).with_context(|| format!("writing {}", br.display()))?;
    Ok(())
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn twins_decompress_to_the_original() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("dashboard.js");
        let original = "export function hydrate() {}\n".repeat(200);
        std::fs::write(&file, &original).expect("write");
        twins(&file).expect("twins");

        let gz = std::fs::read(dir.path().join("dashboard.js.gz")).expect("gz");
        let mut from_gz = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut from_gz)
            .expect("gunzip");
        assert_eq!(from_gz, original);

        let br = std::fs::read(dir.path().join("dashboard.js.br")).expect("br");
        let mut from_br = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut from_br).expect("unbrotli");
        assert_eq!(from_br, original.as_bytes());
        assert!(br.len() < original.len() / 10, "repetitive text compresses");
    }

    #[test]
    fn names() {
        assert_eq!(
            twin_path(Path::new("pkg/dashboard.wasm"), "br"),
            PathBuf::from("pkg/dashboard.wasm.br")
        );
        assert!(is_twin(Path::new("a.css.gz")));
        assert!(!is_twin(Path::new("a.css")));
    }
}

//! Regenerates `crates/seed/data/products.json`: `cargo run -p apiary-seed --bin gen-seed`.

fn main() -> std::process::ExitCode {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/products.json");
    match std::fs::write(&path, apiary_seed::generate_json()) {
        Ok(()) => {
            println!(
                "wrote {} products to {}",
                apiary_seed::generate().len(),
                path.display()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-seed: cannot write {}: {e}", path.display());
            std::process::ExitCode::FAILURE
        }
    }
}

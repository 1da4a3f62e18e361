//! `apiary-load`: what `apiary load ...` runs. Everything is in the library.

fn main() -> std::process::ExitCode {
    apiary_load::main_from(std::env::args_os())
}

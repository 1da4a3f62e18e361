//! The console: every line is prefixed with who said it, so interleaved output stays readable.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

const COLOURS: [&str; 6] = ["36", "33", "35", "32", "34", "31"];

fn colour_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED
        .get_or_init(|| std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
}

/// Width of the name column, set once the plan is known.
static WIDTH: OnceLock<usize> = OnceLock::new();

pub fn set_name_width(width: usize) {
    let _ = WIDTH.set(width.max("apiary".len()));
}

fn prefix(name: &str, colour: usize) -> String {
    let width = WIDTH.get().copied().unwrap_or(8);
    if colour_enabled() {
        format!(
            "\x1b[{}m{name:>width$} |\x1b[0m",
            COLOURS[colour % COLOURS.len()]
        )
    } else {
        format!("{name:>width$} |")
    }
}

/// One line of a service's output.
pub fn service_line(name: &str, colour: usize, line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} {line}", prefix(name, colour));
}

/// One line from the launcher itself.
pub fn launcher(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} {line}", prefix("apiary", 5));
}

/// An error from the launcher, on stderr.
pub fn launcher_error(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "apiary: error: {line}");
}

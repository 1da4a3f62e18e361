//! The flagd flag-definition format (<https://flagd.dev/reference/flag-definitions/>) as far as
//! Apiary writes and reads it, and the rule that a variant's label says its value.
//!
//! Every Apiary flag carries its unit in `metadata.unit`; a variant's label is the value written
//! in that unit (`"25%"` is 25, `"800ms"` is 800, `"off"` is zero / false). [`label_mismatches`]
//! finds a variant whose label lies about its value — the OpenTelemetry demo once shipped a
//! `"90%"` variant whose value was 0.95.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SCHEMA: &str = "https://flagd.dev/schema/v0/flags.json";

/// A whole flag file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagSet {
    #[serde(rename = "$schema", default = "schema")]
    pub schema: String,
    pub flags: BTreeMap<String, Flag>,
}

fn schema() -> String {
    SCHEMA.to_owned()
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    pub variants: BTreeMap<String, Value>,
    #[serde(rename = "defaultVariant")]
    pub default_variant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeting: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

impl Flag {
    pub fn unit(&self) -> Option<Unit> {
        self.metadata
            .get("unit")
            .and_then(Value::as_str)
            .and_then(Unit::parse)
    }
}

/// What a flag's number or string means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 0–100 (not a fraction).
    Percent,
    Millis,
    Mebibytes,
    /// Extra attempts per call.
    Retries,
    /// An HTTP status code (`off` = the default, 500).
    Status,
    /// A boolean: `on` / `off`.
    Switch,
    /// A string whose label is itself.
    Text,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Millis => "ms",
            Unit::Mebibytes => "MiB",
            Unit::Retries => "retries",
            Unit::Status => "status",
            Unit::Switch => "switch",
            Unit::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Unit::Percent,
            Unit::Millis,
            Unit::Mebibytes,
            Unit::Retries,
            Unit::Status,
            Unit::Switch,
            Unit::Text,
        ]
        .into_iter()
        .find(|u| u.as_str() == s)
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The only label a variant with `value` may have in a flag of `unit`; None when the value
/// is not of the unit's type (a string in a percent flag, a negative percent…).
pub fn canonical_label(unit: Unit, value: &Value) -> Option<String> {
    match unit {
        Unit::Switch => value
            .as_bool()
            .map(|b| if b { "on" } else { "off" }.to_owned()),
        Unit::Text => value.as_str().map(str::to_owned),
        Unit::Status => {
            let n = value.as_f64()?;
            if n == 0.0 {
                return Some("off".to_owned());
            }
            (n.fract() == 0.0 && (100.0..=599.0).contains(&n)).then(|| number(n))
        }
        Unit::Percent | Unit::Millis | Unit::Mebibytes | Unit::Retries => {
            let n = value.as_f64()?;
            if !n.is_finite() || n < 0.0 || (unit == Unit::Percent && n > 100.0) {
                return None;
            }
            if n == 0.0 {
                return Some("off".to_owned());
            }
            Some(match unit {
                Unit::Percent => format!("{}%", number(n)),
                Unit::Millis => format!("{}ms", number(n)),
                Unit::Mebibytes => format!("{}MiB", number(n)),
                _ => format!("{} retries", number(n)),
            })
        }
    }
}

/// Every variant whose label does not say its value, every flag without a known unit, and
/// every default variant that does not exist — as readable lines. Empty means the file is honest.
pub fn label_mismatches(set: &FlagSet) -> Vec<String> {
    let mut out = Vec::new();
    for (key, flag) in &set.flags {
        let Some(unit) = flag.unit() else {
            out.push(format!(
                "{key}: no metadata.unit (one of percent, ms, MiB, retries, switch, text)"
            ));
            continue;
        };
        for (label, value) in &flag.variants {
            match canonical_label(unit, value) {
                Some(expected) if &expected == label => {}
                Some(expected) => out.push(format!(
                    "{key}: variant {label:?} has value {value}, which reads {expected:?}"
                )),
                None => out.push(format!(
                    "{key}: variant {label:?} has value {value}, not a {}",
                    unit.as_str()
                )),
            }
        }
        if !flag.variants.contains_key(&flag.default_variant) {
            out.push(format!(
                "{key}: defaultVariant {:?} is not one of its variants",
                flag.default_variant
            ));
        }
    }
    out
}

/// Writes `set` to `path` the way watchers need it: to a temporary file beside it, then renamed
/// over it, so a reader never sees half a file. Creates the directory.
pub fn write_flag_file(path: &std::path::Path, set: &FlagSet) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_vec_pretty(set).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_say_the_value_in_the_unit() {
        assert_eq!(
            canonical_label(Unit::Percent, &json!(25)).as_deref(),
            Some("25%")
        );
        assert_eq!(
            canonical_label(Unit::Percent, &json!(2.5)).as_deref(),
            Some("2.5%")
        );
        assert_eq!(
            canonical_label(Unit::Percent, &json!(0)).as_deref(),
            Some("off")
        );
        assert_eq!(canonical_label(Unit::Percent, &json!(101)), None);
        assert_eq!(canonical_label(Unit::Percent, &json!(-1)), None);
        assert_eq!(
            canonical_label(Unit::Millis, &json!(800)).as_deref(),
            Some("800ms")
        );
        assert_eq!(
            canonical_label(Unit::Mebibytes, &json!(64)).as_deref(),
            Some("64MiB")
        );
        assert_eq!(
            canonical_label(Unit::Status, &json!(503)).as_deref(),
            Some("503")
        );
        assert_eq!(canonical_label(Unit::Status, &json!(99)), None);
        assert_eq!(
            canonical_label(Unit::Retries, &json!(5)).as_deref(),
            Some("5 retries")
        );
        assert_eq!(
            canonical_label(Unit::Switch, &json!(true)).as_deref(),
            Some("on")
        );
        assert_eq!(
            canonical_label(Unit::Text, &json!("0.2.0-rc.1")).as_deref(),
            Some("0.2.0-rc.1")
        );
        assert_eq!(canonical_label(Unit::Millis, &json!("800")), None);
    }

    #[test]
    fn the_demo_s_ninety_percent_that_is_ninety_five_is_caught() {
        let set: FlagSet = serde_json::from_value(json!({
            "flags": {
                "paymentFailure": {
                    "state": "ENABLED",
                    "variants": {"90%": 95, "off": 0},
                    "defaultVariant": "off",
                    "metadata": {"unit": "percent"}
                },
                "fine": {
                    "state": "ENABLED",
                    "variants": {"10%": 10, "off": 0},
                    "defaultVariant": "gone",
                    "metadata": {"unit": "percent"}
                },
                "unitless": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}
            }
        }))
        .expect("parses");
        let found = label_mismatches(&set);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("defaultVariant \"gone\""), "{found:?}");
        assert!(
            found[1].contains("\"90%\" has value 95, which reads \"95%\""),
            "{found:?}"
        );
        assert!(found[2].contains("no metadata.unit"), "{found:?}");
    }
}

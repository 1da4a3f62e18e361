//! `apiary fault ...` and `apiary drill ...`: thin clients of the dashboard's control API. The
//! dashboard validates, applies, audits and runs; this prints.

use std::path::PathBuf;
use std::time::Duration;

use apiary_manifest::Manifest;
use serde_json::{Map, Value, json};

use crate::LaunchError;
use crate::cli::{ControlArgs, DrillArgs, DrillCommand, FaultArgs, FaultCommand};
use crate::plan::load_manifest;

struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    actor: String,
}

fn usage(msg: impl Into<String>) -> LaunchError {
    LaunchError::Usage(msg.into())
}

impl Api {
    fn new(args: &ControlArgs) -> Result<(Self, Manifest, PathBuf), LaunchError> {
        let (path, manifest) = load_manifest(&crate::cli::ManifestArgs {
            manifest: args.manifest.clone(),
        })?;
        let base = match &args.dashboard {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let d = manifest.dashboard.as_ref().ok_or_else(|| {
                    usage("the manifest has no [dashboard]; pass --dashboard URL")
                })?;
                format!("http://{}:{}", manifest.stack.host, d.port)
            }
        };
        let data_dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| manifest.data_dir(&path));
        let token = apiary_manifest::read_control_token(&data_dir);
        let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LaunchError::Runtime(e.to_string()))?;
        Ok((
            Self {
                base,
                token,
                http,
                actor: format!("{user} (apiary cli)"),
            },
            manifest,
            path,
        ))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, LaunchError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("x-apiary-actor", &self.actor);
        if method != reqwest::Method::GET {
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            req = req.json(&body.unwrap_or_else(|| json!({})));
        }
        let resp = req.send().await.map_err(|e| {
            LaunchError::Runtime(format!(
                "the dashboard at {} did not answer ({e}); is `apiary up` running?",
                self.base
            ))
        })?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let msg = value["error"]["message"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        let code = value["error"]["code"].as_str().unwrap_or("error");
        let text = format!("{status} {code}: {msg}");
        if status.is_client_error() {
            Err(usage(text))
        } else {
            Err(LaunchError::Runtime(text))
        }
    }

    async fn get(&self, path: &str) -> Result<Value, LaunchError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, LaunchError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// `kind k=v k=v` -> `{"kind": kind, "k": v, ...}`; numbers and booleans as such.
pub fn fault_spec(kind: &str, params: &[String]) -> Result<Map<String, Value>, LaunchError> {
    let mut spec = Map::new();
    spec.insert("kind".into(), json!(kind));
    for p in params {
        let (k, v) = p.split_once('=').ok_or_else(|| {
            usage(format!(
                "{p:?}: parameters are KEY=VALUE (e.g. service=payment)"
            ))
        })?;
        let value = if let Ok(n) = v.parse::<i64>() {
            json!(n)
        } else if let Ok(n) = v.parse::<f64>() {
            json!(n)
        } else if let Ok(b) = v.parse::<bool>() {
            json!(b)
        } else {
            json!(v)
        };
        spec.insert(k.to_owned(), value);
    }
    Ok(spec)
}

fn range(s: &str, what: &str) -> Result<[f64; 2], LaunchError> {
    let bad = || {
        usage(format!(
            "--{what} {s:?} must be MIN..MAX seconds, e.g. 10..20"
        ))
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    Ok([a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?])
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub async fn fault(args: FaultArgs) -> Result<(), LaunchError> {
    if let FaultCommand::Flags = args.command {
        let (_, manifest) = load_manifest(&crate::cli::ManifestArgs {
            manifest: args.control.manifest.clone(),
        })?;
        let flags = apiary_faults::base_flags(&manifest.fault_shape());
        println!(
            "{}",
            serde_json::to_string_pretty(&flags).unwrap_or_default()
        );
        return Ok(());
    }
    let (api, _, _) = Api::new(&args.control)?;
    match args.command {
        FaultCommand::List => {
            let v = api.get("/api/faults").await?;
            let active = v["active"].as_array().cloned().unwrap_or_default();
            if active.is_empty() {
                println!("no active faults");
            }
            for f in active {
                let left = f["expires_at"]
                    .as_u64()
                    .unwrap_or(0)
                    .saturating_sub(now_ms())
                    / 1000;
                println!(
                    "{:<22} {:<48} {:>5}s left  by {}",
                    f["id"].as_str().unwrap_or(""),
                    f["label"].as_str().unwrap_or(""),
                    left,
                    f["actor"].as_str().unwrap_or("")
                );
            }
            println!(
                "kinds: {}",
                v["kinds"]
                    .as_array()
                    .map(|k| k
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
        }
        FaultCommand::Set {
            kind,
            params,
            ttl,
            reason,
        } => {
            let mut spec = fault_spec(&kind, &params)?;
            if let Some(ttl) = ttl {
                spec.insert("ttl_s".into(), json!(ttl));
            }
            if let Some(r) = reason {
                spec.insert("reason".into(), json!(r));
            }
            let f = api.post("/api/faults", Value::Object(spec)).await?;
            println!(
                "fault on: {} (id {}, ends in {} s unless cleared: apiary fault clear {})",
                f["label"].as_str().unwrap_or(""),
                f["id"].as_str().unwrap_or(""),
                ttl.unwrap_or(0),
                f["id"].as_str().unwrap_or("")
            );
        }
        FaultCommand::Clear { id } => {
            let f = api
                .call(reqwest::Method::DELETE, &format!("/api/faults/{id}"), None)
                .await?;
            println!("fault off: {}", f["label"].as_str().unwrap_or(&id));
        }
        FaultCommand::Reset => {
            let v = api.post("/api/faults/reset", json!({})).await?;
            println!("faults cleared: {}", v["cleared"]);
        }
        FaultCommand::Audit { limit } => {
            let v = api.get(&format!("/api/faults/audit?limit={limit}")).await?;
            for e in v["entries"].as_array().cloned().unwrap_or_default() {
                println!(
                    "{} {:<14} {:<28} {}",
                    e["at"],
                    e["action"].as_str().unwrap_or(""),
                    e["actor"].as_str().unwrap_or(""),
                    e["detail"]
                );
            }
        }
        // Answered above, without the dashboard.
        FaultCommand::Flags => {}
    }
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ms(v: &Value) -> String {
    v.as_u64().map_or_else(
        || "not seen".to_owned(),
        |m| format!("{:.1} s", m as f64 / 1000.0),
    )
}

fn print_report(r: &Value) {
    println!();
    println!(
        "drill: {} ({})",
        r["title"].as_str().unwrap_or(""),
        r["id"].as_str().unwrap_or("")
    );
    println!("verdict: {}", r["verdict"].as_str().unwrap_or(""));
    for reason in r["reasons"].as_array().cloned().unwrap_or_default() {
        println!("  - {}", reason.as_str().unwrap_or(""));
    }
    println!("symptom: {}", r["symptom"].as_str().unwrap_or(""));
    println!("time to detect:  {}", ms(&r["time_to_detect_ms"]));
    println!("time to recover: {}", ms(&r["time_to_recover_ms"]));
    for f in r["faults"].as_array().cloned().unwrap_or_default() {
        println!(
            "  fault {:<44} detected {:<9} recovered {}",
            f["label"].as_str().unwrap_or(""),
            ms(&f["time_to_detect_ms"]),
            ms(&f["time_to_recover_ms"])
        );
    }
    for step in r["scaling"].as_array().cloned().unwrap_or_default() {
        let phase = |p: &str| {
            let v = &step[p];
            format!(
                "p99 {} at {} req/s",
                v["p99_ms"]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |x| format!("{x:.0} ms")),
                v["rps"]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |x| format!("{x:.1}"))
            )
        };
        println!(
            "scale {} {} -> {} instance(s){}: before {}; spike, before scaling {}; spike, after scaling {}",
            step["service"].as_str().unwrap_or(""),
            step["from"]
                .as_u64()
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
            step["replicas"].as_u64().unwrap_or(0),
            step["error"]
                .as_str()
                .map(|e| format!(" (failed: {e})"))
                .unwrap_or_default(),
            phase("before"),
            phase("during"),
            phase("after")
        );
    }
    if let Some(st) = r["stages"].as_object() {
        println!("time to detect by stage (ms after the flag changed):");
        for stage in st
            .get("stages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!(
                "  {:<44} {:>8}  {}",
                stage["name"].as_str().unwrap_or(""),
                stage["at_ms"]
                    .as_u64()
                    .map_or_else(|| "-".to_owned(), |t| format!("{t} ms")),
                stage["note"].as_str().unwrap_or("")
            );
        }
        if let Some(d) = st.get("dominant").and_then(Value::as_str) {
            println!("  longest step: {d}");
        }
    }
    if let Some(c) = r["cause"].as_object() {
        println!(
            "probable cause: {} — {} (injected: {}){}",
            c.get("top")
                .and_then(|t| t["summary"].as_str())
                .unwrap_or("none"),
            if c.get("hit").and_then(Value::as_bool) == Some(true) {
                "right"
            } else {
                "wrong"
            },
            c.get("expected")
                .and_then(Value::as_array)
                .map(|e| e
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "))
                .unwrap_or_default(),
            match c.get("attribute_hit").and_then(Value::as_bool) {
                Some(true) => "; its attribute right",
                Some(false) => "; its attribute wrong",
                None => "",
            }
        );
    }
    for b in r["budget"].as_array().cloned().unwrap_or_default() {
        println!(
            "error budget: {} {} spent {:.3} % of 30 days ({} bad of {} requests)",
            b["service"].as_str().unwrap_or(""),
            b["slo"].as_str().unwrap_or(""),
            b["spent_30d"].as_f64().unwrap_or(0.0) * 100.0,
            b["bad"].as_f64().unwrap_or(0.0),
            b["requests"].as_f64().unwrap_or(0.0)
        );
    }
    for phase in ["before", "during", "after"] {
        if let Some(m) = r["slis"][phase].as_object() {
            let line: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("SLIs {phase}: {}", line.join(" "));
        }
    }
}

/// Follows a run until it ends, printing its timeline; Ctrl-C stops the drill.
async fn follow(api: &Api, id: &str) -> Result<(), LaunchError> {
    let mut shown = 0usize;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut stopping = false;
    loop {
        let r = api.get(&format!("/api/drills/runs/{id}")).await?;
        let events = r["timeline"].as_array().cloned().unwrap_or_default();
        for e in events.iter().skip(shown) {
            println!(
                "[{:>6.1}s] {}",
                e["t_ms"].as_u64().unwrap_or(0) as f64 / 1000.0,
                e["event"].as_str().unwrap_or("")
            );
        }
        shown = events.len();
        if r["verdict"] != "running" {
            print_report(&r);
            return match r["verdict"].as_str() {
                Some("passed") => Ok(()),
                _ => Err(LaunchError::Runtime(format!(
                    "drill {}: {}",
                    r["verdict"].as_str().unwrap_or("failed"),
                    r["reasons"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("; "))
                        .unwrap_or_default()
                ))),
            };
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = &mut ctrl_c, if !stopping => {
                stopping = true;
                println!("stopping the drill (its faults are rolled back)...");
                api.post(&format!("/api/drills/runs/{id}/stop"), json!({})).await?;
            }
        }
    }
}

pub async fn drill(args: DrillArgs) -> Result<(), LaunchError> {
    let (api, _, _) = Api::new(&args.control)?;
    match args.command {
        DrillCommand::List => {
            let v = api.get("/api/drills").await?;
            for d in v["drills"].as_array().cloned().unwrap_or_default() {
                let problems = d["problems"].as_array().cloned().unwrap_or_default();
                println!(
                    "{:<28} {}{}",
                    d["name"].as_str().unwrap_or(""),
                    d["summary"].as_str().unwrap_or(""),
                    if problems.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "  [cannot run: {}]",
                            problems
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    }
                );
            }
        }
        DrillCommand::Show { name } => {
            let v = api.get(&format!("/api/drills/{name}")).await?;
            println!("{}", pretty(&v));
        }
        DrillCommand::Run {
            name,
            time_scale,
            detach,
        } => {
            let v = api
                .post(
                    &format!("/api/drills/{name}/run"),
                    json!({"time_scale": time_scale}),
                )
                .await?;
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            println!("drill run {id} started; the dashboard shades it on every chart");
            if !detach {
                follow(&api, &id).await?;
            }
        }
        DrillCommand::Stop { id } => {
            api.post(&format!("/api/drills/runs/{id}/stop"), json!({}))
                .await?;
            println!("stopping {id}");
        }
        DrillCommand::Report { id } => {
            let id = match id {
                Some(id) => id,
                None => {
                    let v = api.get("/api/drills/runs").await?;
                    v["runs"][0]["id"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| usage("no drill has run yet"))?
                }
            };
            let r = api.get(&format!("/api/drills/runs/{id}")).await?;
            print_report(&r);
        }
        DrillCommand::Gameday {
            seed,
            duration,
            interval,
            fault_duration,
            allowed,
            detach,
        } => {
            let allowed = allowed
                .iter()
                .map(|a| {
                    let mut words = a.split_whitespace();
                    let kind = words
                        .next()
                        .ok_or_else(|| usage("--allow needs a fault kind"))?;
                    let params: Vec<String> = words.map(str::to_owned).collect();
                    fault_spec(kind, &params).map(Value::Object)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let body = json!({
                "seed": seed,
                "duration_s": duration,
                "interval_s": range(&interval, "interval")?,
                "fault_duration_s": range(&fault_duration, "fault-duration")?,
                "allowed": allowed,
            });
            let v = api.post("/api/drills/gameday", body).await?;
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            println!("game day {id} started (seed {seed})");
            if !detach {
                follow(&api, &id).await?;
            }
        }
    }
    Ok(())
}

/// `apiary scale [SERVICE=N ...]`: lists every service's instances, or changes them through
/// the dashboard's control plane (which asks the launcher and audits it).
pub async fn scale(args: crate::cli::ScaleArgs) -> Result<(), LaunchError> {
    let (api, manifest, _) = Api::new(&args.control)?;
    let targets = args
        .targets
        .iter()
        .map(|t| crate::plan::parse_replicas(t, &manifest).map(|(s, n)| (s.name.clone(), n)))
        .collect::<Result<Vec<_>, _>>()?;
    let print = |group: &Value| {
        let ids: Vec<&str> = group["instances"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["url"].as_str()).collect())
            .unwrap_or_default();
        println!(
            "{:<16} {:>2}  {}",
            group["service"].as_str().unwrap_or(""),
            group["replicas"].as_u64().unwrap_or(0),
            ids.join(" ")
        );
    };
    if targets.is_empty() {
        let v = api.get("/api/scale").await?;
        for group in v["services"].as_array().cloned().unwrap_or_default() {
            print(&group);
        }
        return Ok(());
    }
    for (service, replicas) in targets {
        let mut body = json!({"service": service, "replicas": replicas});
        if let Some(r) = &args.reason {
            body["reason"] = json!(r);
        }
        let v = api.post("/api/scale", body).await?;
        print(&v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_a_typed_spec() {
        let s = fault_spec(
            "latency",
            &[
                "service=payment".into(),
                "ms=800".into(),
                "jitter_ms=2.5".into(),
            ],
        )
        .expect("parses");
        assert_eq!(
            Value::Object(s),
            json!({"kind": "latency", "service": "payment", "ms": 800, "jitter_ms": 2.5})
        );
        assert!(fault_spec("latency", &["service".into()]).is_err());
        assert_eq!(range("10..20", "x").expect("range"), [10.0, 20.0]);
        assert!(range("10-20", "x").is_err());
    }
}

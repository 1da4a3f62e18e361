//! Live scaling (`/api/scale`): the dashboard asks the launcher that runs the stack
//! (`APIARY_LAUNCHER_URL`, the same control token) to add or remove instances of a service,
//! audits it and marks it on the charts. Where no launcher runs the stack (compose,
//! Kubernetes), the orchestrator scales it: `docker compose up --scale`, `kubectl scale` or the
//! autoscaler.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct LauncherClient {
    base: String,
    /// `Debug` never prints it.
    token: SecretString,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("the launcher did not answer: {0}")]
    Unreachable(String),
    #[error("the launcher refused ({status}): {body}")]
    Refused { status: u16, body: Value },
}

impl LauncherClient {
    pub fn new(base: &str, token: SecretString) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            // Adding an instance waits for it to be ready (up to 30 s each).
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(300))
                .build()
                .unwrap_or_default(),
        }
    }

    async fn answer(resp: Result<reqwest::Response, reqwest::Error>) -> Result<Value, ScaleError> {
        let resp = resp.map_err(|e| ScaleError::Unreachable(e.to_string()))?;
        super::load::json_answer(resp)
            .await
            .map_err(|(status, body)| ScaleError::Refused { status, body })
    }

    /// Every service's instances.
    pub async fn instances(&self) -> Result<Value, ScaleError> {
        let resp = self
            .http
            .get(format!("{}/instances", self.base))
            .bearer_auth(self.token.expose_secret())
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        Self::answer(resp).await
    }

    /// Runs `replicas` instances of `service`; answers the service's instances after.
    pub async fn scale(&self, service: &str, replicas: u64) -> Result<Value, ScaleError> {
        let resp = self
            .http
            .put(format!("{}/scale/{service}", self.base))
            .bearer_auth(self.token.expose_secret())
            .json(&json!({"replicas": replicas}))
            .send()
            .await;
        Self::answer(resp).await
    }
}

//! The load generator's control API as the dashboard drives it (traffic spikes, `/api/load`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct LoadClient {
    base: String,
    /// `Debug` never prints it.
    token: SecretString,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the load generator did not answer: {0}")]
    Unreachable(String),
    #[error("the load generator refused ({status}): {body}")]
    Refused { status: u16, body: Value },
}

impl LoadClient {
    pub fn new(base: &str, token: SecretString) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer(resp: reqwest::Response) -> Result<Value, LoadError> {
        json_answer(resp)
            .await
            .map_err(|(status, body)| LoadError::Refused { status, body })
    }

    pub async fn status(&self) -> Result<Value, LoadError> {
        let resp = self
            .http
            .get(format!("{}/status", self.base))
            .send()
            .await
            .map_err(|e| LoadError::Unreachable(e.to_string()))?;
        Self::answer(resp).await
    }

    /// `POST {base}/{action}` with a JSON body and the token.
    pub async fn post(&self, action: &str, body: &Value) -> Result<Value, LoadError> {
        let resp = self
            .http
            .post(format!("{}/{action}", self.base))
            .bearer_auth(self.token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| LoadError::Unreachable(e.to_string()))?;
        Self::answer(resp).await
    }
}

/// A control API's JSON answer: the body when the status is a success, else the status and the
/// body (what the dashboard relays).
pub(super) async fn json_answer(resp: reqwest::Response) -> Result<Value, (u16, Value)> {
    let status = resp.status();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err((status.as_u16(), body))
    }
}

//! What a checkout answers, as data: the HTTP status and JSON body of each outcome. The saga
//! stores its answer with its final state, so a replay of the same checkout id (a retry, a
//! concurrent duplicate, a request that came back after checkout restarted) gets the same
//! verdict without running anything again.

use apiary_wire::shop::{CheckoutResult, CheckoutStatus, SagaLogEntry, SagaState};
use apiary_wire::{ErrorBody, ErrorDetail};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::saga::CheckoutError;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Answer {
    /// 201 with the placed order.
    pub fn created(result: &CheckoutResult) -> Self {
        Self {
            status: StatusCode::CREATED.as_u16(),
            body: serde_json::to_value(result).unwrap_or_default(),
        }
    }

    pub fn error(status: u16, body: &ErrorBody) -> Self {
        Self {
            status,
            body: serde_json::to_value(body).unwrap_or_default(),
        }
    }

    pub fn error_code(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::error(
            status.as_u16(),
            &ErrorBody {
                error: ErrorDetail {
                    code: code.to_owned(),
                    message: message.into(),
                },
            },
        )
    }

    /// 202: not finished yet; ask `status_url`.
    pub fn accepted(status: &CheckoutStatus) -> Self {
        Self {
            status: StatusCode::ACCEPTED.as_u16(),
            body: serde_json::to_value(status).unwrap_or_default(),
        }
    }

    /// The placed order, when this is a placed answer.
    pub fn result(&self) -> Option<CheckoutResult> {
        serde_json::from_value(self.body.get("result").unwrap_or(&self.body).clone()).ok()
    }

    /// The error, when this is an error answer.
    pub fn error_detail(&self) -> Option<ErrorDetail> {
        serde_json::from_value::<ErrorBody>(self.body.clone())
            .ok()
            .map(|b| b.error)
    }
}

/// The answer for a checkout that placed no order.
pub fn for_error(err: &CheckoutError) -> Answer {
    match err {
        CheckoutError::CartEmpty => Answer::error_code(
            StatusCode::CONFLICT,
            "cart_empty",
            "the cart is empty; add something first",
        ),
        CheckoutError::ProductsUnavailable(_) => {
            Answer::error_code(StatusCode::CONFLICT, "product_unavailable", err.to_string())
        }
        CheckoutError::Inconsistent(message) => {
            tracing::error!(%message, "checkout stopped on inconsistent data");
            Answer::error_code(StatusCode::CONFLICT, "checkout_conflict", message.clone())
        }
        CheckoutError::Store(e) => {
            tracing::error!(error = %e, "the saga log is unusable; checkout stopped");
            Answer::error_code(
                StatusCode::SERVICE_UNAVAILABLE,
                "saga_log_unavailable",
                "checkout cannot record its progress right now; try again shortly",
            )
        }
        // Refusals (out of stock, declined card, unserved country) are relayed as they came:
        // they are the verdict on the shopper's input. Broken peers are 502/503/504.
        CheckoutError::Step { error, .. } => {
            let (status, body) = error.relayed();
            Answer::error(status.as_u16(), &body)
        }
    }
}

/// A checkout that was running when checkout stopped, undone on restart.
pub fn interrupted() -> Answer {
    Answer::error_code(
        StatusCode::CONFLICT,
        "checkout_interrupted",
        "checkout restarted while this checkout was running; whatever it held was released and \
         nothing stays charged; start a new checkout",
    )
}

/// `GET /checkouts/{id}` and the 202 body.
pub fn status_view(
    checkout_id: &str,
    state: SagaState,
    answer: Option<&Answer>,
    log: Vec<SagaLogEntry>,
) -> CheckoutStatus {
    CheckoutStatus {
        checkout_id: checkout_id.to_owned(),
        order_id: checkout_id.to_owned(),
        state,
        status_url: format!("/checkouts/{}", apiary_chassis::encode_segment(checkout_id)),
        result: match state {
            SagaState::Placed | SagaState::Pending => answer.and_then(Answer::result),
            _ => None,
        },
        error: match state {
            SagaState::Failed => answer.and_then(Answer::error_detail),
            _ => None,
        },
        log,
    }
}

/// What a replay of a finished (or parked) checkout gets: the placed order as 200, the same
/// error as before, or 202 while the order is being finished.
pub fn replay(checkout_id: &str, state: SagaState, answer: Option<&Answer>) -> Answer {
    match (state, answer) {
        (SagaState::Placed, Some(a)) => Answer {
            status: StatusCode::OK.as_u16(),
            body: a.result().map_or_else(
                || a.body.clone(),
                |r| serde_json::to_value(r).unwrap_or_default(),
            ),
        },
        (SagaState::Failed, Some(a)) => a.clone(),
        _ => Answer::accepted(&status_view(checkout_id, state, answer, Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::{Currency, Money};

    fn result() -> CheckoutResult {
        let money = Money {
            amount_minor: 990,
            currency: Currency::EUR,
        };
        CheckoutResult {
            order_id: "co-1".into(),
            status: "placed".into(),
            lines: Vec::new(),
            shipping: money,
            total: money,
            charge_id: "ch_1".into(),
            carrier: "DHL".into(),
            eta_days: 2,
        }
    }

    #[test]
    fn a_placed_checkout_replays_as_200_with_the_same_order() {
        let first = Answer::created(&result());
        assert_eq!(first.status, 201);
        let again = replay("co-1", SagaState::Placed, Some(&first));
        assert_eq!(again.status, 200);
        assert_eq!(again.result(), Some(result()));
    }

    #[test]
    fn a_failed_checkout_replays_its_error_and_an_unfinished_one_is_202() {
        let declined = Answer::error_code(StatusCode::PAYMENT_REQUIRED, "card_declined", "no");
        assert_eq!(replay("co-1", SagaState::Failed, Some(&declined)), declined);
        let pending = replay("co-1", SagaState::Running, None);
        assert_eq!(pending.status, 202);
        let view: CheckoutStatus = serde_json::from_value(pending.body).expect("status view");
        assert_eq!(view.status_url, "/checkouts/co-1");
        assert_eq!(view.state, SagaState::Running);
        let failed = status_view("co-1", SagaState::Failed, Some(&declined), Vec::new());
        assert_eq!(
            failed.error.map(|e| e.code).as_deref(),
            Some("card_declined")
        );
    }
}

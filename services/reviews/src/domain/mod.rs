//! Domain types that parse: once constructed, they are valid.

/// A product id: `BK`, `MU` or `VI`, a dash, four digits (`^(BK|MU|VI)-[0-9]{4}$`).
pub use apiary_wire::ids::ProductId;

/// Largest page of reviews a listing returns.
pub const MAX_LIMIT: u32 = 50;
/// Page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 10;

/// How many reviews to list: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub type Limit = apiary_wire::ids::PageLimit<MAX_LIMIT, DEFAULT_LIMIT>;

/// Bounds of a review's texts, in characters after trimming.
pub const MAX_AUTHOR_CHARS: usize = 60;
pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_BODY_CHARS: usize = 2000;

/// Why a submitted review is refused (422). Messages never repeat what was sent: an author
/// field may hold an e-mail address, which must not reach a log or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("rating must be a whole number from 1 to 5")]
    InvalidRating,
    #[error("author must be a display name of 1 to 60 characters, not an e-mail address")]
    InvalidAuthor,
    #[error("title must be 1 to 120 characters")]
    InvalidTitle,
    #[error("body must be 1 to 2000 characters")]
    InvalidBody,
}

impl ReviewError {
    pub fn code(self) -> &'static str {
        match self {
            ReviewError::InvalidRating => "invalid_rating",
            ReviewError::InvalidAuthor => "invalid_author",
            ReviewError::InvalidTitle => "invalid_title",
            ReviewError::InvalidBody => "invalid_body",
        }
    }
}

/// A review that passed validation: trimmed texts within bounds, a rating of 1 to 5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDraft {
    pub rating: u8,
    pub author: String,
    pub title: String,
    pub body: String,
}

impl ReviewDraft {
    /// Parses the fields as they came in the JSON body (any JSON type), checking rating,
    /// author, title, body in that order; the first problem is the answer.
    pub fn parse(
        rating: &serde_json::Value,
        author: &serde_json::Value,
        title: &serde_json::Value,
        body: &serde_json::Value,
    ) -> Result<Self, ReviewError> {
        let rating = rating
            .as_u64()
            .filter(|r| (1..=5).contains(r))
            .and_then(|r| u8::try_from(r).ok())
            .ok_or(ReviewError::InvalidRating)?;
        let author = text(author, MAX_AUTHOR_CHARS)
            .filter(|a| !a.contains('@'))
            .ok_or(ReviewError::InvalidAuthor)?;
        let title = text(title, MAX_TITLE_CHARS).ok_or(ReviewError::InvalidTitle)?;
        let body = text(body, MAX_BODY_CHARS).ok_or(ReviewError::InvalidBody)?;
        Ok(Self {
            rating,
            author,
            title,
            body,
        })
    }
}

/// A JSON string, trimmed, of 1 to `max` characters.
fn text(value: &serde_json::Value, max: usize) -> Option<String> {
    let trimmed = value.as_str()?.trim();
    let chars = trimmed.chars().count();
    (1..=max).contains(&chars).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn product_ids_have_a_fixed_shape() {
        for ok in ["BK-0001", "MU-0100", "VI-9999"] {
            assert!(ProductId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "bk-0001",
            "XX-0001",
            "BK0001",
            "BK-001",
            "BK-00011",
            "",
            "BK-00a1",
            "BK-０００1",
        ] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_default_to_10_and_stay_within_1_to_50() {
        assert_eq!(Limit::parse(None).map(Limit::get), Ok(10));
        assert_eq!(Limit::parse(Some("")).map(Limit::get), Ok(10));
        assert_eq!(Limit::parse(Some("1")).map(Limit::get), Ok(1));
        assert_eq!(Limit::parse(Some("50")).map(Limit::get), Ok(50));
        for bad in ["0", "51", "-1", "ten", "2.5"] {
            assert!(Limit::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    fn draft(
        rating: Value,
        author: &str,
        title: &str,
        body: &str,
    ) -> Result<ReviewDraft, ReviewError> {
        ReviewDraft::parse(&rating, &json!(author), &json!(title), &json!(body))
    }

    #[test]
    fn a_good_review_is_trimmed() {
        let d = draft(json!(4), "  Ada L. ", " Great ", "\nLovely book.\n").expect("valid");
        assert_eq!(
            d,
            ReviewDraft {
                rating: 4,
                author: "Ada L.".to_owned(),
                title: "Great".to_owned(),
                body: "Lovely book.".to_owned(),
            }
        );
    }

    #[test]
    fn each_field_has_its_error() {
        for rating in [
            json!(0),
            json!(6),
            json!(-1),
            json!(4.5),
            json!("5"),
            Value::Null,
            json!(300),
        ] {
            assert_eq!(
                draft(rating.clone(), "A", "T", "B"),
                Err(ReviewError::InvalidRating),
                "{rating}"
            );
        }
        for author in ["", "   ", "ada@example.com", "@ada", &"a".repeat(61)] {
            assert_eq!(
                draft(json!(5), author, "T", "B"),
                Err(ReviewError::InvalidAuthor),
                "{author:?}"
            );
        }
        assert!(draft(json!(5), &"é".repeat(60), "T", "B").is_ok());
        for title in ["", " ", &"t".repeat(121)] {
            assert_eq!(
                draft(json!(5), "A", title, "B"),
                Err(ReviewError::InvalidTitle)
            );
        }
        for body in ["", "\n", &"b".repeat(2001)] {
            assert_eq!(
                draft(json!(5), "A", "T", body),
                Err(ReviewError::InvalidBody)
            );
        }
        assert!(draft(json!(1), "A", &"t".repeat(120), &"b".repeat(2000)).is_ok());
        // Non-strings are the field's error too.
        assert_eq!(
            ReviewDraft::parse(&json!(5), &json!(42), &json!("T"), &json!("B")),
            Err(ReviewError::InvalidAuthor)
        );
    }

    #[test]
    fn messages_never_repeat_the_input() {
        let err = draft(json!(5), "ada@example.com", "T", "B").expect_err("e-mail");
        assert!(!err.to_string().contains("ada"), "{err}");
    }
}

//! Domain types that parse: once constructed, they are valid.

/// A product id: the category's prefix (`BK`, `MU`, `VI`), a dash, four digits (`BK-0001`).
pub use apiary_wire::ids::ProductId;

/// Why a category or a listing request was refused (the message is the 400's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("'{0}' is not a category (expected books, music or video)")]
    Category(String),
    #[error(transparent)]
    Id(#[from] apiary_wire::ids::InvalidId),
    #[error("ids lists at most {MAX_LIMIT} products")]
    TooManyIds,
    #[error("q is longer than {MAX_QUERY_CHARS} characters")]
    TextTooLong,
    #[error("limit must be a whole number from 1 to {MAX_LIMIT}")]
    Limit,
    #[error("offset must be a whole number from 0 to {MAX_OFFSET}")]
    Offset,
}

/// The shop's three departments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Books,
    Music,
    Video,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Books, Category::Music, Category::Video];

    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        match raw {
            "books" => Ok(Category::Books),
            "music" => Ok(Category::Music),
            "video" => Ok(Category::Video),
            other => Err(QueryError::Category(truncate(other, 40))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Books => "books",
            Category::Music => "music",
            Category::Video => "video",
        }
    }

    /// The id prefix of this category's products.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Category::Books => "BK",
            Category::Music => "MU",
            Category::Video => "VI",
        }
    }
}

/// Largest page a listing returns.
pub const MAX_LIMIT: usize = 100;
/// Largest offset accepted (far past the end of any catalog; the documents state it).
pub const MAX_OFFSET: usize = 1_000_000;
/// Longest search text accepted.
pub const MAX_QUERY_CHARS: usize = 100;

/// A validated listing request: optional category, optional search text, a page window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub category: Option<Category>,
    /// Only these products (sorted, unique), for callers that hold ids (carts, recommendations).
    pub ids: Option<Vec<ProductId>>,
    /// Lower-cased search text, matched against title and creator.
    pub text: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

impl ListQuery {
    pub fn parse(
        category: Option<&str>,
        q: Option<&str>,
        limit: Option<&str>,
        offset: Option<&str>,
        ids: Option<&str>,
    ) -> Result<Self, QueryError> {
        let ids = match ids.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(list) => {
                let mut parsed = list
                    .split(',')
                    .map(|id| ProductId::parse(id.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                parsed.sort();
                parsed.dedup();
                if parsed.len() > MAX_LIMIT {
                    return Err(QueryError::TooManyIds);
                }
                Some(parsed)
            }
        };
        let category = category
            .filter(|c| !c.is_empty())
            .map(Category::parse)
            .transpose()?;
        let text = match q.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
                return Err(QueryError::TextTooLong);
            }
            Some(q) => Some(q.to_lowercase()),
            None => None,
        };
        let limit = match limit {
            // An id list is one page unless the caller pages it.
            None | Some("") => ids.as_ref().map_or(20, |ids| ids.len().max(1)),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(QueryError::Limit),
            },
        };
        let offset = match offset {
            None | Some("") => 0,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_OFFSET)
                .ok_or(QueryError::Offset)?,
        };
        Ok(Self {
            category,
            ids,
            text,
            limit,
            offset,
        })
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_have_a_fixed_shape() {
        assert!(ProductId::parse("BK-0001").is_ok());
        for bad in [
            "bk-0001", "BK0001", "BK-001", "BK-00011", "", "BK-00a1", "ÄB-0001",
        ] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_queries_parse_or_explain() {
        let q = ListQuery::parse(Some("music"), Some("  Bach "), Some("5"), Some("10"), None)
            .expect("valid");
        assert_eq!(q.category, Some(Category::Music));
        assert_eq!(q.text.as_deref(), Some("bach"));
        assert_eq!((q.limit, q.offset), (5, 10));
        let d = ListQuery::parse(None, None, None, None, None).expect("defaults");
        assert_eq!((d.limit, d.offset), (20, 0));
        assert!(ListQuery::parse(Some("games"), None, None, None, None).is_err());
        assert!(ListQuery::parse(None, None, Some("0"), None, None).is_err());
        assert!(ListQuery::parse(None, None, Some("101"), None, None).is_err());
        assert!(ListQuery::parse(None, None, None, Some("-1"), None).is_err());
        assert!(ListQuery::parse(None, Some(&"x".repeat(101)), None, None, None).is_err());
        assert!(ListQuery::parse(None, None, None, None, Some("BK-0001,nope")).is_err());
        let ids = ListQuery::parse(None, None, None, None, Some("MU-0002, BK-0001,MU-0002"))
            .expect("ids");
        assert_eq!(ids.limit, 2);
        assert_eq!(ids.ids.map(|v| v.len()), Some(2));
    }
}

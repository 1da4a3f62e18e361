//! What the run reads about the shop before any journey: the categories with their sizes and
//! every product id, through the gateway; and how query values are encoded.

use apiary_wire::CategoryList;
use bytes::Bytes;
use http::{HeaderValue, Method, header};

use super::replies::ProductPage;
use crate::client::{Body, Client};
use crate::stats::ErrorClass;

/// Why the shop's catalog could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("GET {path} answered {status}")]
    Status { path: String, status: u16 },
    #[error("GET {path} failed: {class}")]
    Failed { path: String, class: String },
    #[error("{path} answered something else: {source}")]
    Malformed {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the gateway lists no products")]
    Empty,
}

/// What the run knows about the shop before any journey: categories (with their sizes) and
/// product ids, fetched from the gateway at start (see [`Catalog::fetch`]).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub categories: Vec<(String, usize)>,
    pub products: Vec<String>,
}

impl Catalog {
    /// Reads categories and every product id through the gateway (`/api/categories`, then
    /// `/api/products?category=` page by page). Fails on the first unusable answer.
    pub async fn fetch(client: &Client) -> Result<Catalog, CatalogError> {
        let reply = get_json(client, "/api/categories").await?;
        let list: CategoryList =
            serde_json::from_slice(&reply).map_err(|source| CatalogError::Malformed {
                path: "/api/categories".to_owned(),
                source,
            })?;
        let mut catalog = Catalog::default();
        for c in list.items {
            let mut offset = 0;
            // Bounded: at most 100 pages of 100 per category.
            for _ in 0..100 {
                let path = format!(
                    "/api/products?category={}&limit=100&offset={offset}",
                    encode_query(&c.name)
                );
                let page: ProductPage = serde_json::from_slice(&get_json(client, &path).await?)
                    .map_err(|source| CatalogError::Malformed {
                        path: path.clone(),
                        source,
                    })?;
                let n = page.items.len();
                catalog
                    .products
                    .extend(page.items.into_iter().map(|p| p.id));
                offset += n;
                if n == 0 || offset >= page.total {
                    break;
                }
            }
            catalog.categories.push((c.name, c.count));
        }
        // Sorted so journeys pick the same ids for the same seed whatever the answer order.
        catalog.products.sort();
        catalog.products.dedup();
        if catalog.products.is_empty() {
            return Err(CatalogError::Empty);
        }
        Ok(catalog)
    }
}

async fn get_json(client: &Client, path: &str) -> Result<Bytes, CatalogError> {
    let mut req = client.request(Method::GET, path, Body::default());
    req.header(&header::ACCEPT, &super::call::JSON).header(
        &super::call::BAGGAGE,
        &HeaderValue::from_static("synthetic_request=true"),
    );
    match client.send(req).await {
        Ok(r) if r.status == 200 => Ok(r.body),
        Ok(r) => Err(CatalogError::Status {
            path: path.to_owned(),
            status: r.status,
        }),
        Err(f) => Err(CatalogError::Failed {
            path: path.to_owned(),
            class: ErrorClass::from(f).label(),
        }),
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode_query(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("blue night"), "blue%20night");
        assert_eq!(encode_query("a&b=c"), "a%26b%3Dc");
        assert_eq!(encode_query("BK-0001"), "BK-0001");
    }
}

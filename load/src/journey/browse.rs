//! Looking around the shop: the landing page, a category page, a search, a product page, and
//! a plain GET of any path (for benchmarks).

use std::time::Instant;

use apiary_wire::CategoryList;
use rand::Rng;
use tracing::Span;

use super::call::Call;
use super::catalog::encode_query;
use super::replies::ProductPage;
use super::{Session, Shop, StepEnd, pick};
use crate::profile::{Action, ShopData, Step};

impl Shop {
    /// `GET /api/categories`; the session remembers the categories.
    pub(super) async fn landing(&self, s: &mut Session, at: Instant, span: &Span) -> StepEnd {
        let mut categories = None;
        let end = self
            .call(
                s,
                at,
                span,
                Call::get(Action::Landing, "/api/categories".into()),
                |b| {
                    serde_json::from_slice::<CategoryList>(b)
                        .map(|l| {
                            categories =
                                Some(l.items.into_iter().map(|c| (c.name, c.count)).collect())
                        })
                        .is_ok()
                },
            )
            .await;
        if let Some(c) = categories {
            s.categories = c;
        }
        end
    }

    /// A random page of a category (the step's, or one the session or the run knows).
    pub(super) async fn browse(
        &self,
        s: &mut Session,
        data: &ShopData,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let catalog = self.catalog();
        let known = if s.categories.is_empty() {
            &catalog.categories
        } else {
            &s.categories
        };
        let (category, count) = match &step.category {
            Some(c) => (c.clone(), 0),
            None => match pick(&mut s.rng, known) {
                Some((c, n)) => (c.clone(), *n),
                None => return StepEnd::Skipped,
            },
        };
        let page_size = data.page_size as usize;
        let pages = count.div_ceil(page_size.max(1)).max(1);
        let offset = s.rng.random_range(0..pages) * page_size;
        let path = format!(
            "/api/products?category={}&limit={page_size}&offset={offset}",
            encode_query(&category)
        );
        self.listing_call(s, at, span, Call::get(Action::Browse, path))
            .await
    }

    /// A search for the step's text or one of the shop's search terms.
    pub(super) async fn search(
        &self,
        s: &mut Session,
        data: &ShopData,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let term = match &step.query {
            Some(q) => q.clone(),
            None => match pick(&mut s.rng, &data.search_terms) {
                Some(t) => t.clone(),
                None => return StepEnd::Skipped,
            },
        };
        let path = format!(
            "/api/products?q={}&limit={}",
            encode_query(&term),
            data.page_size
        );
        self.listing_call(s, at, span, Call::get(Action::Search, path))
            .await
    }

    /// A product page: one from the last listing, else any; the session remembers it.
    pub(super) async fn product(&self, s: &mut Session, at: Instant, span: &Span) -> StepEnd {
        let Some(id) = self.product_for(s) else {
            return StepEnd::Skipped;
        };
        let path = format!("/api/products/{}", apiary_chassis::encode_segment(&id));
        let end = self
            .call(s, at, span, Call::get(Action::Product, path), |_| true)
            .await;
        if matches!(end, StepEnd::Continue(_)) {
            s.product = Some(id);
        }
        end
    }

    /// `GET {path}`: the step's path, or `/`.
    pub(super) async fn get_path(
        &self,
        s: &mut Session,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let path = step.path.clone().unwrap_or_else(|| "/".to_owned());
        self.call(s, at, span, Call::get(Action::Get, path), |_| true)
            .await
    }

    /// A listing (browse, search); the session remembers its product ids.
    async fn listing_call(
        &self,
        s: &mut Session,
        at: Instant,
        span: &Span,
        call: Call<'_>,
    ) -> StepEnd {
        let mut listing = None;
        let end = self
            .call(s, at, span, call, |b| {
                serde_json::from_slice::<ProductPage>(b)
                    .map(|p| listing = Some(p.items.into_iter().map(|p| p.id).collect()))
                    .is_ok()
            })
            .await;
        if let Some(l) = listing {
            s.listing = l;
        }
        end
    }
}

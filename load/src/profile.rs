//! The profile file: weighted shopper journeys, their steps and think times, and run defaults.
//!
//! TOML, parsed in two passes: serde into `Raw*` structs that keep each value's byte span
//! (`toml::Spanned`), then validation into [`Profile`]. Every error, syntactic or semantic,
//! names the line and column it is about and shows that line, so a typo in a 200-line profile
//! is found at once. See `load/profiles/shop.toml` for a complete example and `load/README.md`
//! for the reference.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use crate::shape::RateShape;
use crate::units::{CountRange, DurationRange, InvalidValue};

/// What one step of a journey does against the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `GET /api/categories`: the landing page.
    Landing,
    /// `GET /api/products?category=&limit=&offset=`: a page of a category.
    Browse,
    /// `GET /api/products?q=&limit=`.
    Search,
    /// `GET /api/products/{id}`: the product page (stock, reviews, recommendations).
    Product,
    /// `POST /api/carts`.
    CreateCart,
    /// `POST /api/carts/{cart_id}/items` (creates the cart first when the session has none).
    AddToCart,
    /// `GET /api/carts/{cart_id}`.
    ViewCart,
    /// `PUT /api/carts/{cart_id}/items/{product_id}`.
    UpdateCart,
    /// `DELETE /api/carts/{cart_id}/items/{product_id}`.
    RemoveFromCart,
    /// `POST /api/checkout` with a test card.
    Checkout,
    /// `GET /api/orders/{order_id}`.
    OrderStatus,
    /// `GET {path}` on the target: for benchmarks against a static endpoint.
    Get,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::Landing,
        Action::Browse,
        Action::Search,
        Action::Product,
        Action::CreateCart,
        Action::AddToCart,
        Action::ViewCart,
        Action::UpdateCart,
        Action::RemoveFromCart,
        Action::Checkout,
        Action::OrderStatus,
        Action::Get,
    ];

    /// The step label in stats, metrics and reports.
    pub fn name(self) -> &'static str {
        match self {
            Action::Landing => "landing",
            Action::Browse => "browse",
            Action::Search => "search",
            Action::Product => "product",
            Action::CreateCart => "create_cart",
            Action::AddToCart => "add_to_cart",
            Action::ViewCart => "view_cart",
            Action::UpdateCart => "update_cart",
            Action::RemoveFromCart => "remove_from_cart",
            Action::Checkout => "checkout",
            Action::OrderStatus => "order_status",
            Action::Get => "get",
        }
    }

    /// Position in [`Action::ALL`] (per-step stats are an array indexed by it).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The gateway route, for span names (`{method} {route}`).
    pub fn route(self) -> (&'static str, &'static str) {
        match self {
            Action::Landing => ("GET", "/api/categories"),
            Action::Browse | Action::Search => ("GET", "/api/products"),
            Action::Product => ("GET", "/api/products/{id}"),
            Action::CreateCart => ("POST", "/api/carts"),
            Action::AddToCart => ("POST", "/api/carts/{cart_id}/items"),
            Action::ViewCart => ("GET", "/api/carts/{cart_id}"),
            Action::UpdateCart => ("PUT", "/api/carts/{cart_id}/items/{product_id}"),
            Action::RemoveFromCart => ("DELETE", "/api/carts/{cart_id}/items/{product_id}"),
            Action::Checkout => ("POST", "/api/checkout"),
            Action::OrderStatus => ("GET", "/api/orders/{order_id}"),
            Action::Get => ("GET", "{path}"),
        }
    }
}

/// The test card a checkout step pays with (the payment service's rule-based outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// 4242 4242 4242 4242: succeeds.
    Valid,
    /// 4000 0000 0000 0002: `card_declined`.
    Declined,
    /// 4000 0000 0000 9995: `insufficient_funds`.
    InsufficientFunds,
}

impl CardKind {
    pub fn number(self) -> &'static str {
        match self {
            CardKind::Valid => "4242424242424242",
            CardKind::Declined => "4000000000000002",
            CardKind::InsufficientFunds => "4000000000009995",
        }
    }
}

/// How journey start times are spread at a given rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Evenly spaced (1/rate apart): the steadiest load, best for measurements.
    Uniform,
    /// Exponential gaps (a Poisson process): how independent shoppers really arrive.
    Poisson,
}

/// One validated step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    /// Pause before this step (after the previous one answered). Unused on a journey's first.
    pub think: DurationRange,
    /// How many times the step runs in a row (with a think time before each).
    pub repeat: CountRange,
    /// Units to add or set (add_to_cart, update_cart).
    pub quantity: CountRange,
    /// The card for checkout.
    pub card: CardKind,
    /// The path for `get`.
    pub path: Option<String>,
    /// A fixed category for `browse` (default: one of the shop's, at random).
    pub category: Option<String>,
    /// A fixed text for `search` (default: one of `[shop].search_terms`, at random).
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub name: String,
    pub weight: f64,
    pub steps: Vec<Step>,
}

/// Run defaults from `[run]`; the CLI overrides each.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDefaults {
    pub shape: Option<RateShape>,
    pub arrival: Option<Arrival>,
}

/// Data journeys draw from, from `[shop]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopData {
    pub search_terms: Vec<String>,
    pub countries: Vec<String>,
    pub page_size: u32,
}

/// A validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Where it came from (a path, or `built-in shop profile`).
    pub origin: String,
    pub run: RunDefaults,
    pub shop: ShopData,
    pub journeys: Vec<Journey>,
    /// Running sum of weights, for picking a journey with one random number.
    cumulative: Vec<f64>,
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            origin: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read the profile: {e}"),
            source_line: None,
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// The shop profile shipped in `load/profiles/shop.toml`, compiled in.
    pub fn builtin_shop() -> Result<Profile, ProfileError> {
        Profile::parse(SHOP_PROFILE, "built-in shop profile")
    }

    /// Validates profile text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let at =
            |span: Range<usize>, message: String| ProfileError::at(text, origin, span, message);
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            at(span, e.message().trim().to_owned())
        })?;

        let mut run = RunDefaults {
            shape: None,
            arrival: raw.run.as_ref().and_then(|r| r.arrival),
        };
        let mut default_think = DurationRange::ZERO;
        if let Some(r) = &raw.run {
            if let (Some(rate), Some(shape)) = (&r.rate, &r.shape) {
                let second = rate.span().start.max(shape.span().start);
                let span = if second == rate.span().start {
                    rate.span()
                } else {
                    shape.span()
                };
                return Err(at(span, "give either `rate` or `shape`, not both".into()));
            }
            if let Some(rate) = &r.rate {
                run.shape = Some(
                    rate.get_ref()
                        .to_string()
                        .parse()
                        .map_err(|e: InvalidValue| at(rate.span(), e.to_string()))?,
                );
            }
            if let Some(shape) = &r.shape {
                run.shape = Some(
                    shape
                        .get_ref()
                        .parse()
                        .map_err(|e: InvalidValue| at(shape.span(), e.to_string()))?,
                );
            }
            if let Some(think) = &r.think {
                default_think = think
                    .get_ref()
                    .parse()
                    .map_err(|e: InvalidValue| at(think.span(), e.to_string()))?;
            }
        }

        let raw_shop = raw.shop.unwrap_or_default();
        let shop = ShopData {
            search_terms: raw_shop.search_terms.unwrap_or_default(),
            countries: match raw_shop.countries {
                Some(c) => {
                    for country in &c {
                        let v = country.get_ref();
                        if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                            return Err(at(
                                country.span(),
                                format!("'{v}' is not a two-letter country code (e.g. DE)"),
                            ));
                        }
                    }
                    c.into_iter().map(Spanned::into_inner).collect()
                }
                None => vec!["DE".to_owned()],
            },
            page_size: match raw_shop.page_size {
                Some(p) if !(1..=100).contains(p.get_ref()) => {
                    return Err(at(p.span(), "page_size must be from 1 to 100".into()));
                }
                Some(p) => p.into_inner() as u32,
                None => 20,
            },
        };

        if raw.journey.is_empty() {
            return Err(at(
                text.len()..text.len(),
                "the profile has no journeys: add at least one [[journey]] table".into(),
            ));
        }
        let mut names = HashSet::new();
        let mut journeys = Vec::with_capacity(raw.journey.len());
        for j in raw.journey {
            let name = j.name.get_ref().trim().to_owned();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(at(
                    j.name.span(),
                    "a journey name is letters, digits, '_' or '-' (it becomes a metric label)"
                        .into(),
                ));
            }
            if !names.insert(name.clone()) {
                return Err(at(
                    j.name.span(),
                    format!("journey '{name}' is defined twice"),
                ));
            }
            let weight = *j.weight.get_ref();
            if !weight.is_finite() || weight <= 0.0 {
                return Err(at(
                    j.weight.span(),
                    "weight must be a positive number".into(),
                ));
            }
            if j.steps.is_empty() {
                return Err(at(j.name.span(), format!("journey '{name}' has no steps")));
            }
            let mut steps = Vec::with_capacity(j.steps.len());
            for s in j.steps {
                steps.push(validate_step(&s, default_think, &shop, &at)?);
            }
            journeys.push(Journey {
                name,
                weight,
                steps,
            });
        }
        let mut sum = 0.0;
        let cumulative = journeys
            .iter()
            .map(|j| {
                sum += j.weight;
                sum
            })
            .collect();
        Ok(Profile {
            origin: origin.to_owned(),
            run,
            shop,
            journeys,
            cumulative,
        })
    }

    /// Picks a journey by weight.
    pub fn choose(&self, rng: &mut impl Rng) -> &Journey {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.journeys[i.min(self.journeys.len() - 1)]
    }

    /// Whether any journey talks to the shop API (and so needs its product ids and categories).
    pub fn needs_catalog(&self) -> bool {
        self.journeys
            .iter()
            .flat_map(|j| &j.steps)
            .any(|s| s.action != Action::Get)
    }
}

fn validate_step(
    s: &Spanned<RawStep>,
    default_think: DurationRange,
    shop: &ShopData,
    at: &impl Fn(Range<usize>, String) -> ProfileError,
) -> Result<Step, ProfileError> {
    let raw = s.get_ref();
    let action = raw.action;
    let only_for = |span: Option<Range<usize>>, name: &str, allowed: &[Action]| match span {
        Some(span) if !allowed.contains(&action) => Err(at(
            span,
            format!(
                "`{name}` does not apply to a {} step (only to {})",
                action.name(),
                allowed
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        _ => Ok(()),
    };
    only_for(
        raw.quantity.as_ref().map(Spanned::span),
        "quantity",
        &[Action::AddToCart, Action::UpdateCart],
    )?;
    only_for(
        raw.card.as_ref().map(Spanned::span),
        "card",
        &[Action::Checkout],
    )?;
    only_for(raw.path.as_ref().map(Spanned::span), "path", &[Action::Get])?;
    only_for(
        raw.category.as_ref().map(Spanned::span),
        "category",
        &[Action::Browse],
    )?;
    only_for(
        raw.query.as_ref().map(Spanned::span),
        "query",
        &[Action::Search],
    )?;

    let think = match &raw.think {
        Some(t) => t
            .get_ref()
            .parse()
            .map_err(|e: InvalidValue| at(t.span(), e.to_string()))?,
        None => default_think,
    };
    let count = |v: &Option<Spanned<IntOrText>>, default: CountRange, min: u32, max: u32| {
        let Some(v) = v else { return Ok(default) };
        let range: CountRange = match v.get_ref() {
            IntOrText::Int(n) => u32::try_from(*n)
                .map(|n| CountRange { min: n, max: n })
                .map_err(|_| at(v.span(), format!("{n} is out of range"))),
            IntOrText::Text(t) => t
                .parse()
                .map_err(|e: InvalidValue| at(v.span(), e.to_string())),
        }?;
        if range.min < min || range.max > max {
            return Err(at(v.span(), format!("must be from {min} to {max}")));
        }
        Ok(range)
    };
    let repeat = count(&raw.repeat, CountRange::ONE, 1, 100)?;
    let quantity = count(&raw.quantity, CountRange::ONE, 1, 10)?;
    let path = match &raw.path {
        Some(p) if !p.get_ref().starts_with('/') => {
            return Err(at(p.span(), "a path starts with '/'".into()));
        }
        Some(p) => Some(p.get_ref().clone()),
        None if action == Action::Get => {
            return Err(at(
                s.span(),
                "a get step needs a `path` (e.g. path = \"/\")".into(),
            ));
        }
        None => None,
    };
    if action == Action::Search && raw.query.is_none() && shop.search_terms.is_empty() {
        return Err(at(
            s.span(),
            "a search step needs a `query`, or `search_terms` in [shop]".into(),
        ));
    }
    Ok(Step {
        action,
        think,
        repeat,
        quantity,
        card: raw.card.as_ref().map_or(CardKind::Valid, |c| *c.get_ref()),
        path,
        category: raw.category.as_ref().map(|c| c.get_ref().clone()),
        query: raw.query.as_ref().map(|q| q.get_ref().clone()),
    })
}

/// The shop profile, compiled into the binary so `apiary load` works from any directory.
pub const SHOP_PROFILE: &str = include_str!("../profiles/shop.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    run: Option<RawRun>,
    shop: Option<RawShop>,
    #[serde(default)]
    journey: Vec<RawJourney>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    rate: Option<Spanned<f64>>,
    shape: Option<Spanned<String>>,
    arrival: Option<Arrival>,
    think: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShop {
    search_terms: Option<Vec<String>>,
    countries: Option<Vec<Spanned<String>>>,
    page_size: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJourney {
    name: Spanned<String>,
    weight: Spanned<f64>,
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    action: Action,
    think: Option<Spanned<String>>,
    repeat: Option<Spanned<IntOrText>>,
    quantity: Option<Spanned<IntOrText>>,
    card: Option<Spanned<CardKind>>,
    path: Option<Spanned<String>>,
    category: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
}

/// `repeat = 2` or `repeat = "1..3"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IntOrText {
    Int(i64),
    Text(String),
}

/// A profile that cannot be used, pointing at the place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub origin: String,
    /// 1-based; 0 when the error is not about a place in the text (an unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending line, shown under the message with a caret.
    pub source_line: Option<String>,
}

impl ProfileError {
    fn at(text: &str, origin: &str, span: Range<usize>, message: String) -> Self {
        let start = span.start.min(text.len());
        let before = &text[..floor_char_boundary(text, start)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let source_line = text[line_start..].lines().next().map(str::to_owned);
        ProfileError {
            origin: origin.to_owned(),
            line,
            column,
            message,
            source_line,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.origin, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.origin, self.line, self.column, self.message
        )?;
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string().len();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {:>col$}",
                "",
                self.line,
                src,
                "",
                "^",
                col = self.column
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_shop_profile_is_valid_and_covers_every_shop_step() {
        let p = Profile::builtin_shop().map_err(|e| e.to_string());
        let p = match p {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let used: HashSet<Action> = p
            .journeys
            .iter()
            .flat_map(|j| j.steps.iter().map(|s| s.action))
            .collect();
        for a in Action::ALL {
            if a != Action::Get {
                assert!(used.contains(&a), "shop.toml never uses {}", a.name());
            }
        }
        assert!(p.journeys.iter().any(|j| {
            j.steps
                .iter()
                .any(|s| s.action == Action::Checkout && s.card != CardKind::Valid)
        }));
    }

    #[test]
    fn weights_pick_journeys_in_proportion() {
        let text = r#"
[[journey]]
name = "a"
weight = 3
steps = [{ action = "landing" }]

[[journey]]
name = "b"
weight = 1
steps = [{ action = "landing" }]
"#;
        let p = Profile::parse(text, "t").map_err(|e| e.to_string());
        let Ok(p) = p else { panic!("{p:?}") };
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        let a = (0..4000).filter(|_| p.choose(&mut rng).name == "a").count();
        assert!((2800..3200).contains(&a), "{a}");
    }

    #[test]
    fn action_indexes_match_their_position() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.index(), i);
        }
    }
}

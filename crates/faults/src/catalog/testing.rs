//! The stack and the spec parser the catalogue's unit tests share.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{FaultSpec, ServiceShape, Shape, StoreKind};

pub(super) fn shape() -> Shape {
    let s = |deps: &[&str], store| ServiceShape {
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        store,
        ..ServiceShape::default()
    };
    Shape {
        services: BTreeMap::from([
            ("catalog".to_owned(), s(&[], None)),
            ("cart".to_owned(), s(&[], Some(StoreKind::Memory))),
            ("checkout".to_owned(), s(&["cart", "payment"], None)),
            ("payment".to_owned(), s(&[], Some(StoreKind::Sqlite))),
            (
                "orders".to_owned(),
                ServiceShape {
                    publishes: true,
                    ..s(&[], Some(StoreKind::Sqlite))
                },
            ),
            (
                "notifications".to_owned(),
                ServiceShape {
                    consumes: true,
                    ..s(&[], Some(StoreKind::Sqlite))
                },
            ),
        ]),
    }
}

pub(super) fn spec(v: Value) -> FaultSpec {
    serde_json::from_value(v).expect("a valid spec")
}

//! The tariff: a pure function from destination zone and unit count to a price, a carrier and a
//! delivery estimate. The same input always gives the same quote (a shopper who asks twice must
//! not see two prices).

use apiary_wire::{Currency, Money};

use crate::domain::Zone;

/// One zone's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tariff {
    /// The price of a parcel with one unit, in EUR cents.
    pub base_minor: i64,
    /// Added for every unit after the first, in EUR cents.
    pub per_extra_unit_minor: i64,
    pub carrier: &'static str,
    pub eta_days: u8,
}

pub fn tariff(zone: Zone) -> Tariff {
    match zone {
        Zone::Domestic => Tariff {
            base_minor: 490,
            per_extra_unit_minor: 50,
            carrier: "dhl-paket",
            eta_days: 2,
        },
        Zone::Eu => Tariff {
            base_minor: 890,
            per_extra_unit_minor: 100,
            carrier: "dpd-europe",
            eta_days: 4,
        },
        Zone::World => Tariff {
            base_minor: 1990,
            per_extra_unit_minor: 250,
            carrier: "ups-worldwide",
            eta_days: 7,
        },
    }
}

/// A priced shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub amount: Money,
    pub carrier: &'static str,
    pub eta_days: u8,
}

/// The price of shipping `units` (at least 1; 0 is priced as 1) to `zone`.
pub fn price(zone: Zone, units: u32) -> Price {
    let t = tariff(zone);
    let extra = i64::from(units.saturating_sub(1));
    Price {
        amount: Money {
            amount_minor: t.base_minor + extra * t.per_extra_unit_minor,
            currency: Currency::EUR,
        },
        carrier: t.carrier,
        eta_days: t.eta_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unit_costs_the_zone_base() {
        assert_eq!(price(Zone::Domestic, 1).amount.amount_minor, 490);
        assert_eq!(price(Zone::Eu, 1).amount.amount_minor, 890);
        assert_eq!(price(Zone::World, 1).amount.amount_minor, 1990);
        assert!(
            Zone::ALL
                .iter()
                .all(|z| price(*z, 1).amount.currency == Currency::EUR)
        );
    }

    #[test]
    fn every_unit_after_the_first_adds_the_surcharge() {
        assert_eq!(price(Zone::Domestic, 3).amount.amount_minor, 490 + 2 * 50);
        assert_eq!(price(Zone::Eu, 10).amount.amount_minor, 890 + 9 * 100);
        assert_eq!(price(Zone::World, 2).amount.amount_minor, 1990 + 250);
        // The largest parcel a cart can hold (50 lines of 99) still fits comfortably.
        assert_eq!(
            price(Zone::World, 50 * 99).amount.amount_minor,
            1990 + 4949 * 250
        );
    }

    #[test]
    fn farther_is_dearer_and_slower_for_the_same_parcel() {
        for units in [1, 2, 7, 99] {
            let [d, e, w] = Zone::ALL.map(|z| price(z, units));
            assert!(d.amount.amount_minor < e.amount.amount_minor, "{units}");
            assert!(e.amount.amount_minor < w.amount.amount_minor, "{units}");
            assert!(d.eta_days < e.eta_days && e.eta_days < w.eta_days);
        }
    }

    #[test]
    fn the_same_input_gives_the_same_price() {
        assert_eq!(price(Zone::Eu, 5), price(Zone::Eu, 5));
        assert_eq!(price(Zone::Domestic, 0), price(Zone::Domestic, 1));
        assert_eq!(price(Zone::Eu, 4).carrier, "dpd-europe");
    }
}

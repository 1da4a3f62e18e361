//! The current month in UTC, without a date-time crate: the expiry rule needs only year and
//! month.

/// A calendar month; ordered chronologically (year first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: u16,
    pub month: u8,
}

impl YearMonth {
    /// The month (UTC) containing `ms` since the Unix epoch.
    pub fn from_unix_ms(ms: i64) -> Self {
        let (year, month) = civil_from_days(ms.div_euclid(86_400_000));
        Self {
            year: u16::try_from(year).unwrap_or(u16::MAX),
            month,
        }
    }

    /// This month, UTC.
    pub fn now() -> Self {
        Self::from_unix_ms(apiary_store::now_ms())
    }
}

/// Year and month of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_map_to_their_month() {
        let ym = |ms| YearMonth::from_unix_ms(ms);
        assert_eq!(
            ym(0),
            YearMonth {
                year: 1970,
                month: 1
            }
        );
        // 2024-02-29T23:59:59.999Z and the next millisecond.
        assert_eq!(
            ym(1_709_251_199_999),
            YearMonth {
                year: 2024,
                month: 2
            }
        );
        assert_eq!(
            ym(1_709_251_200_000),
            YearMonth {
                year: 2024,
                month: 3
            }
        );
        // 2030-12-31T12:00:00Z and 2031-01-01T00:00:00Z.
        assert_eq!(
            ym(1_924_948_800_000),
            YearMonth {
                year: 2030,
                month: 12
            }
        );
        assert_eq!(
            ym(1_924_992_000_000),
            YearMonth {
                year: 2031,
                month: 1
            }
        );
    }

    #[test]
    fn months_order_by_year_first() {
        let a = YearMonth {
            year: 2029,
            month: 12,
        };
        let b = YearMonth {
            year: 2030,
            month: 1,
        };
        assert!(a < b);
    }
}

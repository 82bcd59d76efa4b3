//! Time helpers shared by fabrik's crates.
//!
//! Every fabrik timestamp is an `i64` count of microseconds since the Unix epoch, UTC
//! (the values of a `Timestamp(Microsecond, "UTC")` column). These helpers convert such
//! values to and from RFC 3339 text, the form fabrik writes in reasons, fixtures and logs.
//!
//! ```
//! use fabrik_model::time::{format_micros, micros_from_rfc3339};
//! let us = micros_from_rfc3339("2026-01-05T11:00:00+01:00").expect("valid RFC 3339");
//! assert_eq!(format_micros(us), "2026-01-05T10:00:00Z");
//! ```

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// Microseconds in one second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// 2000-01-01T00:00:00Z in microseconds since the epoch: the default earliest plausible time.
pub const Y2K_MICROS: i64 = 946_684_800 * MICROS_PER_SECOND;

/// Formats microseconds since the epoch as RFC 3339 in UTC with a `Z` suffix, with as many
/// fractional digits as needed (none, 3 or 6): `2026-01-05T10:00:00Z`,
/// `2026-01-05T10:00:00.250Z`.
///
/// A value outside chrono's range (about ±262,000 years) is written as `<n> µs`.
pub fn format_micros(us: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{us} µs"),
    }
}

/// Parses RFC 3339 text with a `Z` or `±HH:MM` offset into microseconds since the epoch
/// (UTC). Returns `None` for anything else, including timestamps without an offset.
pub fn micros_from_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// The wall clock now, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// The length of a [`TimeDelta`] in microseconds, saturating at `i64::MAX`.
pub fn delta_micros(delta: TimeDelta) -> i64 {
    delta
        .num_microseconds()
        .unwrap_or(if delta < TimeDelta::zero() {
            i64::MIN
        } else {
            i64::MAX
        })
}

/// A short human form of a duration: `1 day`, `366 days`, `6 h`, `90 s`.
pub fn format_delta(delta: TimeDelta) -> String {
    let secs = delta.num_seconds();
    if secs != 0 && secs % 86_400 == 0 {
        let days = secs / 86_400;
        if days == 1 {
            "1 day".to_string()
        } else {
            format!("{days} days")
        }
    } else if secs != 0 && secs % 3_600 == 0 {
        format!("{} h", secs / 3_600)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_offsets_and_fractions() {
        assert_eq!(
            micros_from_rfc3339("2000-01-01T00:00:00Z"),
            Some(Y2K_MICROS)
        );
        let us = micros_from_rfc3339("2026-01-05T10:00:00.25-02:00").expect("valid");
        assert_eq!(format_micros(us), "2026-01-05T12:00:00.250Z");
        assert_eq!(format_micros(us + 1), "2026-01-05T12:00:00.250001Z");
        assert_eq!(
            micros_from_rfc3339("2026-01-05T10:00:00"),
            None,
            "no offset"
        );
        assert_eq!(micros_from_rfc3339("yesterday"), None);
        assert_eq!(format_micros(i64::MAX), format!("{} µs", i64::MAX));
    }

    #[test]
    fn deltas_format_and_saturate() {
        assert_eq!(format_delta(TimeDelta::days(1)), "1 day");
        assert_eq!(format_delta(TimeDelta::days(366)), "366 days");
        assert_eq!(format_delta(TimeDelta::hours(6)), "6 h");
        assert_eq!(format_delta(TimeDelta::seconds(90)), "90 s");
        assert_eq!(delta_micros(TimeDelta::days(1)), MICROS_PER_DAY);
        assert_eq!(delta_micros(TimeDelta::MAX), i64::MAX);
        assert!(now_micros() > Y2K_MICROS);
    }
}

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

/// Parses RFC 3339 text with an offset (`2026-01-05T10:00:00Z`,
/// `2026-01-05 11:00:00.123456+01:00`; `T`, `t` or a space between date and time; up to
/// six fraction digits; `Z`, `z`, `±HH:MM`, `±HHMM` or `±HH`) to UTC microseconds, without
/// allocating. `None` for anything else (other forms, out-of-range fields, more than six
/// fraction digits, leap seconds): callers fall back to a general parser.
///
/// ```
/// use fabrik_model::time::parse_rfc3339_micros;
/// assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:01.5Z"), Some(1_500_000));
/// assert_eq!(parse_rfc3339_micros("1970-01-01 01:00:00+01:00"), Some(0));
/// assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:00"), None);
/// ```
pub fn parse_rfc3339_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b[at] == b'.' {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 || digits > 6 {
            return None;
        }
        micros = num(at + 1..at + 1 + digits)? * 10i64.pow((6 - digits) as u32);
        at += 1 + digits;
    }
    let offset_seconds = match &b[at..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (num_of(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (num_of(&[*h1, *h2])?, num_of(&[*m1, *m2])?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let v = h * 3600 + m * 60;
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

fn num_of(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    #[test]
    fn fast_rfc3339_agrees_with_chrono() {
        let cases = [
            "2026-01-05T10:00:00Z",
            "2026-01-05 10:00:00.722487Z",
            "2026-01-05t10:00:00.7z",
            "2024-02-29T23:59:59.999999+01:00",
            "1969-12-31T23:59:59.5Z",
            "1900-03-01T00:00:00-05:30",
            "2000-01-01T00:00:00+0100",
            "2000-01-01T00:00:00.000001-08",
            "0001-01-01T00:00:00Z",
        ];
        for c in cases {
            let with_t = c.replacen(' ', "T", 1);
            let h_only = with_t
                .strip_suffix("-08")
                .map(|p| format!("{p}-08:00"))
                .unwrap_or(with_t);
            let colon = if h_only.ends_with("+0100") {
                h_only.replace("+0100", "+01:00")
            } else {
                h_only
            };
            let expected = DateTime::parse_from_rfc3339(&colon)
                .map(|t| t.timestamp_micros())
                .ok();
            assert_eq!(parse_rfc3339_micros(c), expected, "{c}");
            assert!(expected.is_some(), "{c}");
        }
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-01-05T24:00:00Z",
            "2026-01-05T10:00:60Z",
            "2026-01-05T10:00:00",
            "2026-01-05T10:00:00.1234567Z",
            "2026-01-05T10:00:00+1:00",
            "2026-01-05T10:00:00Z ",
            "2026-1-05T10:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_micros(bad), None, "{bad}");
        }
    }
}

//! Time buckets: the start of the bucket each timestamp falls in.
//!
//! Two kinds, as TimescaleDB's `time_bucket` and DataFusion's `date_bin` / `date_trunc`
//! define them:
//!
//! - [`Bucket::Fixed`]: a fixed width counted from an origin, `origin + ⌊(ts − origin) /
//!   width⌋ · width` (floor division, so timestamps before the origin bucket correctly);
//! - [`Bucket::Calendar`]: a calendar unit (day, ISO week starting Monday, month, quarter,
//!   year) in a time zone: the bucket starts at local midnight of the unit's first day,
//!   returned as the UTC instant of that local time (DST days are 23 or 25 hours long).
//!
//! Timestamps are `i64` counts of a [`TimeUnit`] since the Unix epoch (UTC), as in Arrow's
//! timestamp arrays. [`Bucket::fill`] computes a whole slice; on sorted input (or input
//! sorted within runs, like telemetry sorted by `(sensor_id, ts)`) it costs one comparison
//! per row, because it keeps the current bucket's range and recomputes only when a
//! timestamp leaves it.

use arrow::datatypes::TimeUnit;
use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::error::{Error, Result};

/// A calendar unit for [`Bucket::Calendar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarUnit {
    /// A day, from local midnight.
    Day,
    /// An ISO week, from Monday local midnight.
    IsoWeek,
    /// A month, from the first day's local midnight.
    Month,
    /// A quarter (January, April, July, October).
    Quarter,
    /// A year.
    Year,
}

/// How timestamps are grouped into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Fixed-width buckets counted from an origin, both in the timestamps' unit.
    Fixed {
        /// The width (> 0).
        width: i64,
        /// A timestamp on a bucket boundary.
        origin: i64,
    },
    /// Calendar buckets in a time zone.
    Calendar {
        /// The unit.
        unit: CalendarUnit,
        /// The time zone whose local calendar is used.
        tz: Tz,
        /// The timestamps' unit.
        time_unit: TimeUnit,
    },
}

/// Ticks of `unit` per second.
pub fn ticks_per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// 2000-01-03T00:00:00Z in seconds: TimescaleDB's default origin for `time_bucket` with a
/// fixed width (a Monday, so weekly buckets start on Mondays).
pub const TIMESCALE_ORIGIN_SECS: i64 = 946_857_600;

impl Bucket {
    /// Fixed-width buckets; `width` and `origin` in the timestamps' unit.
    pub fn fixed(width: i64, origin: i64) -> Result<Self> {
        if width <= 0 {
            return Err(Error::BucketWidth { width });
        }
        Ok(Bucket::Fixed { width, origin })
    }

    /// Calendar buckets in the time zone named `tz` (IANA name, e.g. `"Europe/Berlin"`).
    pub fn calendar(unit: CalendarUnit, tz: &str, time_unit: TimeUnit) -> Result<Self> {
        let tz = tz.parse::<Tz>().map_err(|_| Error::TimeZone {
            name: tz.to_owned(),
        })?;
        Ok(Bucket::Calendar {
            unit,
            tz,
            time_unit,
        })
    }

    /// The bucket holding `ts`, as its half-open range `[start, end)`.
    ///
    /// Returns `None` only for calendar buckets of timestamps outside chrono's range
    /// (about ±262,000 years) or whose range does not fit in `i64`.
    pub fn range(&self, ts: i64) -> Option<(i64, i64)> {
        match *self {
            Bucket::Fixed { width, origin } => {
                let offset = ts.checked_sub(origin)?;
                let start = origin.checked_add(offset.div_euclid(width).checked_mul(width)?)?;
                Some((start, start.checked_add(width)?))
            }
            Bucket::Calendar {
                unit,
                tz,
                time_unit,
            } => calendar_range(ts, unit, tz, ticks_per_second(time_unit)),
        }
    }

    /// The start of the bucket holding `ts` (see [`Bucket::range`]).
    pub fn start(&self, ts: i64) -> Option<i64> {
        self.range(ts).map(|(start, _)| start)
    }

    /// Writes the bucket start of every timestamp of `ts` into `out` (same length).
    ///
    /// Returns the number of timestamps that have no bucket (see [`Bucket::range`]); their
    /// slot in `out` holds `i64::MIN`. One comparison per row while timestamps stay in the
    /// current bucket, which makes sorted input nearly free.
    pub fn fill(&self, ts: &[i64], out: &mut [i64]) -> usize {
        assert_eq!(ts.len(), out.len(), "Bucket::fill: output length");
        let mut unbucketed = 0;
        // An empty range: the first timestamp recomputes it.
        let (mut start, mut end) = (0i64, 0i64);
        for (o, &t) in out.iter_mut().zip(ts) {
            if t >= start && t < end {
                *o = start;
                continue;
            }
            match self.range(t) {
                Some((s, e)) => {
                    (start, end) = (s, e);
                    *o = s;
                }
                None => {
                    (start, end) = (0, 0);
                    *o = i64::MIN;
                    unbucketed += 1;
                }
            }
        }
        unbucketed
    }
}

/// The local start of the calendar unit holding local date `d`.
fn unit_start(d: NaiveDate, unit: CalendarUnit) -> Option<NaiveDate> {
    match unit {
        CalendarUnit::Day => Some(d),
        CalendarUnit::IsoWeek => d.checked_sub_days(chrono::Days::new(u64::from(
            d.weekday().num_days_from_monday(),
        ))),
        CalendarUnit::Month => d.with_day(1),
        CalendarUnit::Quarter => NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1),
        CalendarUnit::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1),
    }
}

/// The local start of the next unit after the one starting at `start`.
fn next_unit_start(start: NaiveDate, unit: CalendarUnit) -> Option<NaiveDate> {
    match unit {
        CalendarUnit::Day => start.succ_opt(),
        CalendarUnit::IsoWeek => start.checked_add_days(chrono::Days::new(7)),
        CalendarUnit::Month => start.checked_add_months(chrono::Months::new(1)),
        CalendarUnit::Quarter => start.checked_add_months(chrono::Months::new(3)),
        CalendarUnit::Year => start.checked_add_months(chrono::Months::new(12)),
    }
}

/// The UTC instant (seconds) of local midnight starting `d` in `tz`. A midnight that does
/// not exist (a DST gap at 00:00) is moved to the first local time after the gap; an
/// ambiguous one takes the earlier instant.
fn local_midnight_utc(d: NaiveDate, tz: Tz) -> Option<i64> {
    let midnight: NaiveDateTime = d.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => Some(t.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
        LocalResult::None => {
            // Gaps are at most a few hours; step forward by minutes until the clock exists.
            (1..=24 * 60).find_map(|m| {
                let t = midnight.checked_add_signed(chrono::TimeDelta::minutes(m))?;
                tz.from_local_datetime(&t).earliest().map(|t| t.timestamp())
            })
        }
    }
}

fn calendar_range(ts: i64, unit: CalendarUnit, tz: Tz, per_sec: i64) -> Option<(i64, i64)> {
    let secs = ts.div_euclid(per_sec);
    let utc = chrono::DateTime::from_timestamp(secs, 0)?;
    let local = utc.with_timezone(&tz).date_naive();
    let first = unit_start(local, unit)?;
    let next = next_unit_start(first, unit)?;
    let start = local_midnight_utc(first, tz)?.checked_mul(per_sec)?;
    let end = local_midnight_utc(next, tz)?.checked_mul(per_sec)?;
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: i64 = 1_000_000;

    fn utc_us(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_micros())
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn fixed_buckets_floor_before_and_after_the_origin() -> Result<()> {
        let b = Bucket::fixed(60 * US, 0)?;
        assert_eq!(
            b.start(utc_us("2026-01-05T10:07:59.999999Z")),
            Some(utc_us("2026-01-05T10:07:00Z"))
        );
        assert_eq!(b.start(-1), Some(-60 * US));
        assert_eq!(b.start(-60 * US), Some(-60 * US));
        let offset = Bucket::fixed(3600 * US, 15 * 60 * US)?;
        assert_eq!(
            offset.start(utc_us("2026-01-05T10:07:00Z")),
            Some(utc_us("2026-01-05T09:15:00Z"))
        );
        assert!(matches!(
            Bucket::fixed(0, 0),
            Err(Error::BucketWidth { width: 0 })
        ));
        Ok(())
    }

    #[test]
    fn calendar_buckets_follow_the_local_calendar() -> Result<()> {
        let day = Bucket::calendar(CalendarUnit::Day, "Europe/Berlin", TimeUnit::Microsecond)?;
        // 23:30 UTC on 2026-01-05 is 00:30 on the 6th in Berlin (UTC+1).
        assert_eq!(
            day.start(utc_us("2026-01-05T23:30:00Z")),
            Some(utc_us("2026-01-05T23:00:00Z"))
        );
        // The spring-forward day is 23 hours long.
        let (s, e) = day
            .range(utc_us("2026-03-29T12:00:00Z"))
            .unwrap_or_default();
        assert_eq!((s, e - s), (utc_us("2026-03-28T23:00:00Z"), 23 * 3600 * US));
        let week = Bucket::calendar(CalendarUnit::IsoWeek, "UTC", TimeUnit::Microsecond)?;
        // 2026-01-01 is a Thursday; its ISO week starts Monday 2025-12-29.
        assert_eq!(
            week.start(utc_us("2026-01-01T08:00:00Z")),
            Some(utc_us("2025-12-29T00:00:00Z"))
        );
        let month = Bucket::calendar(
            CalendarUnit::Month,
            "America/New_York",
            TimeUnit::Microsecond,
        )?;
        assert_eq!(
            month.start(utc_us("2026-03-01T03:00:00Z")),
            Some(utc_us("2026-02-01T05:00:00Z"))
        );
        let quarter = Bucket::calendar(CalendarUnit::Quarter, "UTC", TimeUnit::Second)?;
        assert_eq!(
            quarter.start(utc_us("2026-05-17T00:00:00Z") / US),
            Some(utc_us("2026-04-01T00:00:00Z") / US)
        );
        assert!(matches!(
            Bucket::calendar(CalendarUnit::Day, "Mars/Olympus", TimeUnit::Second),
            Err(Error::TimeZone { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_midnight_lost_to_dst_starts_the_day_after_the_gap() -> Result<()> {
        // America/Sao_Paulo skipped 00:00–01:00 on 2018-11-04.
        let day = Bucket::calendar(
            CalendarUnit::Day,
            "America/Sao_Paulo",
            TimeUnit::Microsecond,
        )?;
        assert_eq!(
            day.start(utc_us("2018-11-04T12:00:00Z")),
            Some(utc_us("2018-11-04T03:00:00Z"))
        );
        Ok(())
    }

    #[test]
    fn fill_equals_start_on_sorted_and_unsorted_input() -> Result<()> {
        let ts: Vec<i64> = [5, 3, 125, 119, 120, -7, 240, 241, 239]
            .iter()
            .map(|s| s * US)
            .collect();
        for b in [
            Bucket::fixed(60 * US, 0)?,
            Bucket::calendar(CalendarUnit::Day, "Asia/Kolkata", TimeUnit::Microsecond)?,
        ] {
            let mut out = vec![0; ts.len()];
            assert_eq!(b.fill(&ts, &mut out), 0);
            let expected: Vec<i64> = ts.iter().map(|&t| b.start(t).unwrap_or(i64::MIN)).collect();
            assert_eq!(out, expected);
        }
        Ok(())
    }
}

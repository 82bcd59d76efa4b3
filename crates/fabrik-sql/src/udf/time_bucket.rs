//! `time_bucket`: TimescaleDB's bucket start, and the [`Bucket`] behind DataFusion's own
//! `date_bin` / `date_trunc` calls.
//!
//! ```sql
//! time_bucket(INTERVAL '15 minutes', ts)                         -- from 2000-01-03T00:00Z
//! time_bucket(INTERVAL '1 hour', ts, TIMESTAMP '2026-01-01 00:30:00')  -- from an origin
//! time_bucket(INTERVAL '1 month', ts)                            -- calendar month (UTC)
//! time_bucket(INTERVAL '1 day', ts, 'Europe/Berlin')             -- calendar day in Berlin
//! ```
//!
//! Semantics (TimescaleDB's):
//!
//! - a fixed width (days, hours, minutes, … with no months) counts from the origin
//!   2000-01-03T00:00:00Z, a Monday (so `'7 days'` buckets start on Mondays), or from the
//!   origin timestamp given as third argument;
//! - whole months `'1 month'`, `'3 months'`, `'12 months'` (`'1 year'`) are calendar
//!   months, quarters and years, in UTC;
//! - with a time zone name as third argument (a string; an origin must be a timestamp),
//!   `'1 day'` is the calendar day in that zone, `'7 days'` / `'1 week'` the ISO week (from
//!   Monday), and the whole months above the month, quarter and year in that zone, DST
//!   included; each bucket is returned as the UTC instant of its local start.
//!
//! Calendar buckets in a zone start at local midnight of the unit's first day; where
//! that midnight is ambiguous (clocks falling back across it, e.g. Berlin on 1916-10-01)
//! the earlier instant is taken, where it does not exist the first local time after the
//! gap (in whole minutes). TimescaleDB (PostgreSQL) takes the later instant of an
//! ambiguous midnight; only historical dates of a few zones are affected.
//!
//! Anything else is a planning error that says what is supported. The timestamp may be of
//! any unit, with or without a time zone, and the result has the same type; null
//! timestamps (and a null interval, origin or zone) give null.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayData, ArrayRef, make_array};
use datafusion::arrow::buffer::{Buffer, NullBuffer};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, IntervalMonthDayNano, IntervalUnit, TimeUnit,
};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use fabrik_kernels::bucket::{TIMESCALE_ORIGIN_SECS, ticks_per_second};
use fabrik_kernels::{Bucket, CalendarUnit};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// How to call `time_bucket`, for error messages.
const USAGE: &str = "time_bucket(INTERVAL '15 minutes', ts [, TIMESTAMP 'origin' | 'Time/Zone'])";

/// Nanoseconds per tick of `unit`.
fn nanos_per_tick(unit: TimeUnit) -> i64 {
    1_000_000_000 / ticks_per_second(unit)
}

/// The interval as it would be written, for messages.
fn describe(interval: IntervalMonthDayNano) -> String {
    let mut parts = Vec::new();
    if interval.months != 0 {
        parts.push(format!("{} months", interval.months));
    }
    if interval.days != 0 {
        parts.push(format!("{} days", interval.days));
    }
    if interval.nanoseconds != 0 || parts.is_empty() {
        parts.push(format!("{} ns", interval.nanoseconds));
    }
    format!("'{}'", parts.join(" "))
}

/// The calendar unit of a whole number of months, if it is one.
fn months_unit(months: i32) -> Option<CalendarUnit> {
    match months {
        1 => Some(CalendarUnit::Month),
        3 => Some(CalendarUnit::Quarter),
        12 => Some(CalendarUnit::Year),
        _ => None,
    }
}

/// The fixed width of an interval with no months, in nanoseconds (`None` on overflow).
fn fixed_nanos(interval: IntervalMonthDayNano) -> Option<i64> {
    i64::from(interval.days)
        .checked_mul(NANOS_PER_DAY)?
        .checked_add(interval.nanoseconds)
}

/// The [`Bucket`] of `time_bucket(interval, ts [, origin | tz])` on timestamps of `unit`
/// (see the [module docs](self) for the semantics).
///
/// `origin` is in nanoseconds since the Unix epoch (UTC), as SQL timestamps are coerced to
/// `Timestamp(Nanosecond)`; it must be a whole number of the timestamps' `unit`, as must
/// the width. `tz` is an IANA time-zone name. Unsupported combinations are a
/// [`fabrik_kernels::Error::TimeBucket`] (or [`fabrik_kernels::Error::TimeZone`] for an
/// unknown zone) whose message lists what is supported.
pub fn time_bucket_spec(
    interval: IntervalMonthDayNano,
    origin: Option<i64>,
    tz: Option<&str>,
    unit: TimeUnit,
) -> fabrik_kernels::Result<Bucket> {
    let refuse = |reason: &'static str| fabrik_kernels::Error::TimeBucket {
        interval: describe(interval),
        zone: tz.map(str::to_owned),
        has_origin: origin.is_some(),
        reason,
    };
    if interval.months != 0 {
        if interval.days != 0 || interval.nanoseconds != 0 {
            return Err(refuse("the interval mixes months with days or time"));
        }
        if origin.is_some() {
            return Err(refuse("month buckets take no origin"));
        }
        let calendar = months_unit(interval.months)
            .ok_or_else(|| refuse("only 1, 3 or 12 months are calendar units"))?;
        return Bucket::calendar(calendar, tz.unwrap_or("UTC"), unit);
    }
    if let Some(tz) = tz {
        if origin.is_some() {
            return Err(refuse("an origin and a time zone cannot be combined"));
        }
        let calendar = match (interval.days, interval.nanoseconds) {
            (1, 0) => CalendarUnit::Day,
            (7, 0) => CalendarUnit::IsoWeek,
            _ => {
                return Err(refuse(
                    "in a time zone only '1 day', '7 days' / '1 week' and whole months are calendar units",
                ));
            }
        };
        return Bucket::calendar(calendar, tz, unit);
    }
    let width = fixed_nanos(interval).ok_or_else(|| refuse("the width overflows"))?;
    if width <= 0 {
        return Err(refuse("the width must be positive"));
    }
    let tick = nanos_per_tick(unit);
    if width % tick != 0 {
        return Err(refuse(
            "the width is not a whole number of the timestamps' unit",
        ));
    }
    let origin = match origin {
        Some(o) if o % tick != 0 => {
            return Err(refuse(
                "the origin is not a whole number of the timestamps' unit",
            ));
        }
        Some(o) => o / tick,
        None => TIMESCALE_ORIGIN_SECS * ticks_per_second(unit),
    };
    Bucket::fixed(width / tick, origin)
}

/// The [`Bucket`] that gives exactly what DataFusion's `date_bin(interval, ts [, origin])`
/// returns on timestamps of `unit`, or `None` where `date_bin` does something a bucket does
/// not (or fabrik does not mirror it).
///
/// `origin` is in nanoseconds since the Unix epoch (DataFusion coerces it to
/// `Timestamp(Nanosecond)`); by default `1970-01-01T00:00:00Z`. A fixed stride gives
/// [`Bucket::Fixed`] when stride and origin are whole numbers of `unit`; a stride of 1, 3 or
/// 12 months with the default origin (or the epoch) gives the calendar month, quarter or
/// year in UTC. Everything else (a zero or negative stride, months with another origin or
/// another count, months mixed with days) is `None`.
///
/// `date_bin` computes in nanoseconds: on timestamps before 1677 or after 2262 it returns
/// null where the bucket still has a start.
pub fn date_bin_spec(
    interval: IntervalMonthDayNano,
    origin: Option<i64>,
    unit: TimeUnit,
) -> Option<Bucket> {
    if interval.months != 0 {
        if interval.days != 0 || interval.nanoseconds != 0 || origin.is_some_and(|o| o != 0) {
            return None;
        }
        return Bucket::calendar(months_unit(interval.months)?, "UTC", unit).ok();
    }
    let stride = fixed_nanos(interval)?;
    let tick = nanos_per_tick(unit);
    let origin = origin.unwrap_or(0);
    if stride <= 0 || stride % tick != 0 || origin % tick != 0 {
        return None;
    }
    Bucket::fixed(stride / tick, origin / tick).ok()
}

/// Whether a time-zone string names UTC.
fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "Etc/UTC" | "+00:00" | "Z" | "GMT" | "Etc/GMT")
}

/// The [`Bucket`] that gives exactly what DataFusion's `date_trunc(granularity, ts)`
/// returns on timestamps of `unit` carrying time zone `tz`, or `None` where it differs.
///
/// Granularities: `'microsecond'`, `'millisecond'`, `'second'`, `'minute'` truncate the UTC
/// value whatever the zone (as DataFusion does); `'hour'` and `'day'` on a timestamp with
/// no zone (or UTC) are fixed widths, `'day'` in another zone the local calendar day;
/// `'week'` (from Monday), `'month'`, `'quarter'`, `'year'` are calendar units in the zone
/// (UTC without one). `None` for `'hour'` in a zone other than UTC (DataFusion truncates
/// the local time, which differs in zones with a non-whole-hour offset), for zones that
/// are not IANA names (e.g. `'+05:30'`) unless a fine granularity ignores the zone, and for
/// unknown granularities.
///
/// Known differences of calendar buckets in a zone, seen on historical dates: on an
/// ambiguous local midnight (Berlin, 1916-10-01) DataFusion keeps the offset of the
/// truncated timestamp where the bucket takes the earlier instant, and a DST gap that does
/// not end on a whole minute (Berlin's switch from local mean time, 1893-04-01) is stepped
/// over by whole minutes by the bucket. DataFusion computes in nanoseconds: timestamps
/// before 1677 or after 2262 are an error there.
pub fn date_trunc_spec(granularity: &str, tz: Option<&str>, unit: TimeUnit) -> Option<Bucket> {
    let tick = nanos_per_tick(unit);
    let fixed = |nanos: i64| Bucket::fixed((nanos / tick).max(1), 0).ok();
    let utc = tz.is_none_or(is_utc);
    let zone = tz.filter(|_| !utc).unwrap_or("UTC");
    let calendar = |c: CalendarUnit| Bucket::calendar(c, zone, unit).ok();
    match granularity.to_ascii_lowercase().as_str() {
        "microsecond" => fixed(1_000),
        "millisecond" => fixed(1_000_000),
        "second" => fixed(1_000_000_000),
        "minute" => fixed(60_000_000_000),
        "hour" if utc => fixed(3_600_000_000_000),
        "day" if utc => fixed(NANOS_PER_DAY),
        "day" => calendar(CalendarUnit::Day),
        // 1970-01-05 is a Monday.
        "week" if utc => Bucket::fixed(7 * NANOS_PER_DAY / tick, 4 * NANOS_PER_DAY / tick).ok(),
        "week" => calendar(CalendarUnit::IsoWeek),
        "month" => calendar(CalendarUnit::Month),
        "quarter" => calendar(CalendarUnit::Quarter),
        "year" => calendar(CalendarUnit::Year),
        _ => None,
    }
}

/// Buckets every timestamp of a timestamp array (any unit, any zone); same type out.
/// Nulls stay null, and so do timestamps with no bucket (out of the calendar's range).
pub(crate) fn bucket_array(bucket: &Bucket, array: &dyn Array) -> DfResult<ArrayRef> {
    let DataType::Timestamp(..) = array.data_type() else {
        return exec_err!("time_bucket expects a timestamp, got {}", array.data_type());
    };
    let data = array.to_data();
    let ts: &[i64] = data.buffer::<i64>(0);
    let ts = &ts[..array.len()];
    let mut out = vec![0i64; ts.len()];
    let unbucketed = bucket.fill(ts, &mut out);
    let mut nulls = array.logical_nulls();
    if unbucketed > 0 {
        let has = NullBuffer::from_iter(out.iter().map(|&s| s != i64::MIN));
        nulls = NullBuffer::union(nulls.as_ref(), Some(&has));
    }
    let data = ArrayData::builder(array.data_type().clone())
        .len(out.len())
        .add_buffer(Buffer::from_vec(out))
        .nulls(nulls)
        .build()?;
    Ok(make_array(data))
}

/// The `time_bucket` scalar function (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimeBucket {
    signature: Signature,
}

impl Default for TimeBucket {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeBucket {
    /// The function, ready to register as `time_bucket`.
    pub fn new() -> Self {
        TimeBucket {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The third argument, once evaluated.
enum Third {
    None,
    Origin(i64),
    Zone(String),
    Null,
}

fn third(arg: Option<&ScalarValue>) -> DfResult<Third> {
    Ok(match arg {
        None => Third::None,
        Some(ScalarValue::Utf8(Some(z)))
        | Some(ScalarValue::LargeUtf8(Some(z)))
        | Some(ScalarValue::Utf8View(Some(z))) => Third::Zone(z.clone()),
        Some(ScalarValue::TimestampNanosecond(Some(o), _)) => Third::Origin(*o),
        Some(s) if s.is_null() => Third::Null,
        Some(s) => {
            return plan_err!(
                "time_bucket: the third argument must be an origin timestamp or a time zone name, got {}; use {USAGE}",
                s.data_type()
            );
        }
    })
}

fn interval_of(arg: &ScalarValue) -> DfResult<Option<IntervalMonthDayNano>> {
    match arg {
        ScalarValue::IntervalMonthDayNano(v) => Ok(*v),
        s => plan_err!(
            "time_bucket: the first argument must be an interval, got {}; use {USAGE}",
            s.data_type()
        ),
    }
}

fn spec(interval: IntervalMonthDayNano, third: &Third, unit: TimeUnit) -> DfResult<Bucket> {
    let (origin, tz) = match third {
        Third::Origin(o) => (Some(*o), None),
        Third::Zone(z) => (None, Some(z.as_str())),
        Third::None | Third::Null => (None, None),
    };
    time_bucket_spec(interval, origin, tz, unit)
        .map_err(|e| datafusion::error::DataFusionError::Plan(e.to_string()))
}

impl ScalarUDFImpl for TimeBucket {
    fn name(&self) -> &str {
        "time_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!(
                "time_bucket takes 2 or 3 arguments, got {}; use {USAGE}",
                arg_types.len()
            );
        }
        let mut out = Vec::with_capacity(arg_types.len());
        out.push(match &arg_types[0] {
            DataType::Interval(_) | DataType::Null => {
                DataType::Interval(IntervalUnit::MonthDayNano)
            }
            t => {
                return plan_err!(
                    "time_bucket: the first argument must be an interval, got {t}; use {USAGE}"
                );
            }
        });
        out.push(match &arg_types[1] {
            t @ DataType::Timestamp(..) => t.clone(),
            DataType::Null => DataType::Timestamp(TimeUnit::Nanosecond, None),
            t => {
                return plan_err!(
                    "time_bucket: the second argument must be a timestamp, got {t}; use {USAGE}"
                );
            }
        });
        if let Some(t) = arg_types.get(2) {
            out.push(match t {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => t.clone(),
                DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
                DataType::Null => DataType::Utf8,
                t => {
                    return plan_err!(
                        "time_bucket: the third argument must be an origin timestamp or a time zone name, got {t}; use {USAGE}"
                    );
                }
            });
        }
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types.get(1) {
            Some(t @ DataType::Timestamp(..)) => Ok(t.clone()),
            _ => plan_err!("time_bucket: the second argument must be a timestamp; use {USAGE}"),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let Some(DataType::Timestamp(unit, _)) = args.arg_fields.get(1).map(|f| f.data_type())
        else {
            return plan_err!("time_bucket: the second argument must be a timestamp; use {USAGE}");
        };
        // Constant arguments are checked now, so unsupported buckets fail at planning
        // (arguments that are not literals yet are checked when the function runs).
        let third_known =
            args.arg_fields.len() < 3 || args.scalar_arguments.get(2).is_some_and(Option::is_some);
        if let (Some(Some(interval)), true) = (args.scalar_arguments.first(), third_known)
            && let Some(interval) = interval_of(interval)?
        {
            let third = third(args.scalar_arguments.get(2).copied().flatten())?;
            spec(interval, &third, *unit)?;
        }
        Ok(Arc::new(Field::new(
            self.name(),
            args.arg_fields[1].data_type().clone(),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let ts_type = args.arg_fields[1].data_type().clone();
        let DataType::Timestamp(unit, _) = ts_type else {
            return exec_err!("time_bucket: the second argument must be a timestamp");
        };
        let ColumnarValue::Scalar(interval) = &args.args[0] else {
            return exec_err!("time_bucket: the interval must be a constant; use {USAGE}");
        };
        let third_arg = match args.args.get(2) {
            None => None,
            Some(ColumnarValue::Scalar(s)) => Some(s),
            Some(ColumnarValue::Array(_)) => {
                return exec_err!(
                    "time_bucket: the origin or time zone must be a constant; use {USAGE}"
                );
            }
        };
        let third = third(third_arg)?;
        let interval = interval_of(interval)?;
        let (Some(interval), false) = (interval, matches!(third, Third::Null)) else {
            // A null interval, origin or zone: null out.
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&ts_type)?));
        };
        let bucket = spec(interval, &third, unit)?;
        match &args.args[1] {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(bucket_array(&bucket, a)?)),
            ColumnarValue::Scalar(s) => {
                let out = bucket_array(&bucket, &s.to_array()?)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
        }
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> DfResult<SortProperties> {
        // Bucket starts are non-decreasing in the timestamp for constant other arguments.
        let constant = |i: usize| {
            input
                .get(i)
                .is_none_or(|p| p.sort_properties == SortProperties::Singleton)
        };
        match input.get(1) {
            Some(ts) if constant(0) && constant(2) => Ok(ts.sort_properties),
            _ => Ok(SortProperties::Unordered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: i64 = 1_000_000;

    fn iv(months: i32, days: i32, nanoseconds: i64) -> IntervalMonthDayNano {
        IntervalMonthDayNano {
            months,
            days,
            nanoseconds,
        }
    }

    #[test]
    fn time_bucket_specs() -> fabrik_kernels::Result<()> {
        let unit = TimeUnit::Microsecond;
        assert_eq!(
            time_bucket_spec(iv(0, 0, 900 * 1_000_000_000), None, None, unit)?,
            Bucket::fixed(900 * US, TIMESCALE_ORIGIN_SECS * US)?
        );
        assert_eq!(
            time_bucket_spec(iv(0, 1, 0), Some(3_000), None, TimeUnit::Nanosecond)?,
            Bucket::fixed(NANOS_PER_DAY, 3_000)?
        );
        assert_eq!(
            time_bucket_spec(iv(3, 0, 0), None, None, unit)?,
            Bucket::calendar(CalendarUnit::Quarter, "UTC", unit)?
        );
        assert_eq!(
            time_bucket_spec(iv(0, 7, 0), None, Some("Europe/Berlin"), unit)?,
            Bucket::calendar(CalendarUnit::IsoWeek, "Europe/Berlin", unit)?
        );
        for (interval, origin, tz) in [
            (iv(2, 0, 0), None, None),
            (iv(1, 1, 0), None, None),
            (iv(1, 0, 0), Some(0), None),
            (iv(0, 0, 3_600_000_000_000), None, Some("Europe/Berlin")),
            (iv(0, 1, 0), Some(0), Some("Europe/Berlin")),
            (iv(0, 0, 0), None, None),
            (iv(0, -1, 0), None, None),
            (iv(0, 0, 1_500), None, None),
        ] {
            let err = time_bucket_spec(interval, origin, tz, unit).expect_err("unsupported");
            assert!(
                matches!(err, fabrik_kernels::Error::TimeBucket { .. }),
                "{err}"
            );
            assert!(err.to_string().contains("Supported:"), "{err}");
        }
        assert!(matches!(
            time_bucket_spec(iv(0, 1, 0), None, Some("Mars/Base"), unit),
            Err(fabrik_kernels::Error::TimeZone { .. })
        ));
        Ok(())
    }

    #[test]
    fn date_bin_and_date_trunc_specs() -> fabrik_kernels::Result<()> {
        let unit = TimeUnit::Millisecond;
        assert_eq!(
            date_bin_spec(iv(0, 0, 60_000_000_000), None, unit),
            Some(Bucket::fixed(60_000, 0)?)
        );
        assert_eq!(date_bin_spec(iv(0, 0, 1_500), None, unit), None);
        assert_eq!(date_bin_spec(iv(0, 0, 60_000_000_000), Some(1), unit), None);
        assert_eq!(date_bin_spec(iv(2, 0, 0), None, unit), None);
        assert_eq!(date_bin_spec(iv(1, 0, 0), Some(5), unit), None);
        assert_eq!(date_bin_spec(iv(0, 0, -60), None, unit), None);
        assert_eq!(
            date_trunc_spec("Week", None, unit),
            Some(Bucket::fixed(7 * 86_400_000, 4 * 86_400_000)?)
        );
        assert_eq!(date_trunc_spec("hour", Some("Asia/Kolkata"), unit), None);
        assert_eq!(
            date_trunc_spec("minute", Some("+05:30"), unit),
            Some(Bucket::fixed(60_000, 0)?)
        );
        assert_eq!(date_trunc_spec("day", Some("+05:30"), unit), None);
        assert_eq!(date_trunc_spec("fortnight", None, unit), None);
        assert_eq!(
            date_trunc_spec("millisecond", None, TimeUnit::Second),
            Some(Bucket::fixed(1, 0)?)
        );
        Ok(())
    }
}

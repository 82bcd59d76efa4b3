//! Demand series: one value per period (day, ISO week or month), no gaps.
//!
//! Two ways in:
//! - [`SeriesSet::from_totals`]: rows of (series id, timestamp, quantity) in any order, as
//!   a `GROUP BY` over orders gives them; rows of one series and period are summed and the
//!   calendar is gap-filled with zeros, from each series' first sale (or from a common
//!   start, if asked) to a common end.
//! - [`SeriesSet::read_csv`]: long-format `series_id,ts,y` files a user brings, checked
//!   strictly: each series' timestamps ascending, no duplicates, numeric `y`; errors name
//!   the file, line and column.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, TimeUnit, TimestampMicrosecondType};
use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The period of a demand series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// Calendar days (UTC).
    Day,
    /// ISO weeks, Monday to Sunday (UTC).
    Week,
    /// Calendar months (UTC).
    Month,
    /// Calendar quarters, January to March first (UTC).
    Quarter,
    /// Calendar years (UTC).
    Year,
}

impl Frequency {
    /// Parses `day`, `week`, `month`, `quarter` or `year` (also `daily`, `weekly`,
    /// `monthly`, `quarterly`, `yearly`, `D`, `W`, `M`, `Q`, `Y`).
    pub fn parse(text: &str) -> Option<Frequency> {
        match text.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" | "d" => Some(Frequency::Day),
            "week" | "weekly" | "w" => Some(Frequency::Week),
            "month" | "monthly" | "m" => Some(Frequency::Month),
            "quarter" | "quarterly" | "q" => Some(Frequency::Quarter),
            "year" | "yearly" | "annual" | "y" => Some(Frequency::Year),
            _ => None,
        }
    }

    /// The name SQL's `date_trunc` uses: `day`, `week`, `month`, `quarter` or `year`.
    pub fn name(self) -> &'static str {
        match self {
            Frequency::Day => "day",
            Frequency::Week => "week",
            Frequency::Month => "month",
            Frequency::Quarter => "quarter",
            Frequency::Year => "year",
        }
    }

    /// The usual season length: 7 days, 52 weeks, 12 months, 4 quarters, 1 (no season)
    /// for years.
    pub fn season(self) -> usize {
        match self {
            Frequency::Day => 7,
            Frequency::Week => 52,
            Frequency::Month => 12,
            Frequency::Quarter => 4,
            Frequency::Year => 1,
        }
    }

    /// Months per period for the calendar frequencies.
    fn months(self) -> Option<i64> {
        match self {
            Frequency::Month => Some(1),
            Frequency::Quarter => Some(3),
            Frequency::Year => Some(12),
            Frequency::Day | Frequency::Week => None,
        }
    }

    /// The period index of a day (days since 1970-01-01): days count from the epoch,
    /// weeks from the ISO week of 1970-01-01 (it began on Monday 1969-12-29), months,
    /// quarters and years from January 1970.
    pub fn period_of_day(self, day: i64) -> i64 {
        match self {
            Frequency::Day => day,
            Frequency::Week => (day + 3).div_euclid(7),
            Frequency::Month | Frequency::Quarter | Frequency::Year => {
                let date = date_of_day(day);
                let month = i64::from(date.year() - 1970) * 12 + i64::from(date.month0());
                month.div_euclid(self.months().unwrap_or(1))
            }
        }
    }

    /// The period index of a timestamp (microseconds since the epoch, UTC).
    pub fn period_of_micros(self, micros: i64) -> i64 {
        self.period_of_day(micros.div_euclid(MICROS_PER_DAY))
    }

    /// The first day (days since 1970-01-01) of a period.
    pub fn first_day(self, period: i64) -> i64 {
        match self {
            Frequency::Day => period,
            Frequency::Week => period * 7 - 3,
            Frequency::Month | Frequency::Quarter | Frequency::Year => {
                let months = period.saturating_mul(self.months().unwrap_or(1));
                let year = 1970 + months.div_euclid(12);
                let month = months.rem_euclid(12) + 1;
                i32::try_from(year)
                    .ok()
                    .and_then(|y| NaiveDate::from_ymd_opt(y, month as u32, 1))
                    .map_or(i64::MAX, day_of_date)
            }
        }
    }

    /// The start of a period as microseconds since the epoch (UTC midnight).
    pub fn start_micros(self, period: i64) -> i64 {
        self.first_day(period).saturating_mul(MICROS_PER_DAY)
    }
}

impl std::fmt::Display for Frequency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn date_of_day(day: i64) -> NaiveDate {
    NaiveDate::default()
        .checked_add_signed(chrono::TimeDelta::days(day))
        .unwrap_or(NaiveDate::MAX)
}

fn day_of_date(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

/// How the dates of a series' periods are written: the day a period is labelled with,
/// learned from the input (weeks ending on Sunday, months labelled by their last day, …),
/// so that forecasts are labelled the way the input was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Days after the period's first day (0 for the first day: Monday of ISO weeks).
    Offset(i64),
    /// The last day of the period (month-, quarter- or year-end labels).
    PeriodEnd,
}

impl Label {
    /// The label day (days since 1970-01-01) of `period`.
    pub fn day(self, frequency: Frequency, period: i64) -> i64 {
        match self {
            Label::Offset(d) => frequency.first_day(period) + d,
            Label::PeriodEnd => frequency.first_day(period + 1) - 1,
        }
    }

    /// The label as an ISO date `YYYY-MM-DD`.
    pub fn date(self, frequency: Frequency, period: i64) -> String {
        date_of_day(self.day(frequency, period))
            .format("%Y-%m-%d")
            .to_string()
    }

    fn learn(frequency: Frequency, day: i64) -> Label {
        let period = frequency.period_of_day(day);
        if frequency.months().is_some()
            && frequency.first_day(period + 1) - 1 == day
            && day != frequency.first_day(period)
        {
            Label::PeriodEnd
        } else {
            Label::Offset(day - frequency.first_day(period))
        }
    }
}

/// One regular series: a value per period from `start`, no gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series id (a sku, `family/option=value`, a region, …).
    pub id: String,
    /// The period index of the first value ([`Frequency::period_of_day`]).
    pub start: i64,
    /// One value per period, oldest first.
    pub values: Vec<f64>,
}

impl Series {
    /// The period index after the last value.
    pub fn end(&self) -> i64 {
        self.start + self.values.len() as i64
    }
}

/// How [`SeriesSet::from_totals`] fills the calendar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fill {
    /// Start every series at this period (zeros before its first sale) instead of at its
    /// first sale.
    pub start: Option<i64>,
    /// End every series at this period (inclusive), zeros after its last sale; by default
    /// the last period present in the input.
    pub end: Option<i64>,
}

/// Regular series of one frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSet {
    /// Their frequency.
    pub frequency: Frequency,
    /// How their periods are labelled.
    pub label: Label,
    /// The series, sorted by id.
    pub series: Vec<Series>,
}

impl SeriesSet {
    /// Builds gap-filled series from batches with three columns: a series id (any string
    /// type or a dictionary of strings), a timestamp (any unit) or a date, and a quantity
    /// (any numeric type). Rows may come in any order; rows of the same series and period
    /// are summed; null quantities count as 0; a null id or timestamp is an error naming
    /// the batch row.
    pub fn from_totals(
        batches: &[RecordBatch],
        frequency: Frequency,
        fill: Fill,
    ) -> Result<SeriesSet> {
        let mut sums: HashMap<String, HashMap<i64, f64>> = HashMap::new();
        let mut last = i64::MIN;
        let mut row0 = 0u64;
        for batch in batches {
            let (ids, micros, ys) = columns(batch)?;
            for i in 0..batch.num_rows() {
                let row = row0 + i as u64;
                if ids.is_null(i) {
                    return Err(batch_error(row, batch, 0, "the series id is null".into()));
                }
                if micros.is_null(i) {
                    return Err(batch_error(row, batch, 1, "the timestamp is null".into()));
                }
                let y = if ys.is_null(i) { 0.0 } else { ys.value(i) };
                if !y.is_finite() {
                    return Err(batch_error(row, batch, 2, format!("the quantity is {y}")));
                }
                let period = frequency.period_of_micros(micros.value(i));
                last = last.max(period);
                *sums
                    .entry(ids.value(i).to_string())
                    .or_default()
                    .entry(period)
                    .or_insert(0.0) += y;
            }
            row0 += batch.num_rows() as u64;
        }
        let end = fill.end.unwrap_or(last);
        let mut series: Vec<Series> = sums
            .into_iter()
            .filter_map(|(id, periods)| {
                let first = periods.keys().copied().min()?;
                let start = fill.start.unwrap_or(first).min(first);
                let start = fill.start.map_or(start, |s| s.max(start.min(s)));
                if end < start {
                    return None;
                }
                let mut values = vec![0.0; (end - start + 1) as usize];
                for (p, y) in periods {
                    if p >= start && p <= end {
                        values[(p - start) as usize] += y;
                    }
                }
                Some(Series { id, start, values })
            })
            .collect();
        series.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(SeriesSet {
            frequency,
            label: Label::Offset(0),
            series,
        })
    }

    /// Reads a long-format CSV file with a header `series_id,ts,y` (columns found by name,
    /// in any order; other columns ignored). `ts` is an ISO date (`2026-03-02`) or an RFC
    /// 3339 timestamp; `y` a number. Rows of different series may interleave; within a
    /// series the timestamps must ascend one period at a time (a missing period is an
    /// error unless `fill_gaps`, which fills it with 0). The frequency is inferred from the
    /// spacing when not given.
    ///
    /// Errors name the file, the line (1-based, the header is line 1) and the column:
    /// a missing column, a value that is not a number or a date, a timestamp not after the
    /// previous one of its series (unsorted or duplicate), a gap, a timestamp off the
    /// series' period grid.
    pub fn read_csv(
        path: &Path,
        frequency: Option<Frequency>,
        fill_gaps: bool,
    ) -> Result<SeriesSet> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| input(&name, 0, "", format!("cannot open: {e}")))?;
        read_long(file, &name, frequency, fill_gaps)
    }
}

/// Reads long-format CSV from any reader; `name` is used in errors.
pub fn read_long(
    reader: impl std::io::Read,
    name: &str,
    frequency: Option<Frequency>,
    fill_gaps: bool,
) -> Result<SeriesSet> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| input(name, 1, "", format!("cannot read the header: {e}")))?
        .clone();
    let find = |col: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(col))
            .ok_or_else(|| input(name, 1, col, format!("no column {col:?} in the header {:?}: the file must have columns series_id,ts,y", headers.iter().collect::<Vec<_>>().join(","))))
    };
    let (c_id, c_ts, c_y) = (find("series_id")?, find("ts")?, find("y")?);
    // (id, day, y, line) per row, in file order.
    let mut rows: Vec<(usize, i64, f64, u64)> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(input(name, line, "", format!("malformed CSV: {e}"))),
        }
        let line = record.position().map_or(line, |p| p.line());
        let field = |c: usize, col: &str| {
            record.get(c).ok_or_else(|| {
                input(
                    name,
                    line,
                    col,
                    "the row has fewer fields than the header".into(),
                )
            })
        };
        let id = field(c_id, "series_id")?;
        if id.is_empty() {
            return Err(input(name, line, "series_id", "empty series id".into()));
        }
        let ts_text = field(c_ts, "ts")?;
        let day = parse_day(ts_text).ok_or_else(|| {
            input(
                name,
                line,
                "ts",
                format!("{ts_text:?} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp"),
            )
        })?;
        let y_text = field(c_y, "y")?;
        let y: f64 = y_text
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                input(
                    name,
                    line,
                    "y",
                    format!("{y_text:?} is not a finite number"),
                )
            })?;
        let k = match index.get(id) {
            Some(&k) => k,
            None => {
                index.insert(id.to_string(), ids.len());
                ids.push(id.to_string());
                ids.len() - 1
            }
        };
        rows.push((k, day, y, line));
    }
    if rows.is_empty() {
        return Err(input(name, 2, "", "no data rows after the header".into()));
    }
    // Order within each series, and the smallest step, for the frequency.
    let mut prev: Vec<Option<(i64, u64)>> = vec![None; ids.len()];
    let mut min_step = i64::MAX;
    for &(k, day, _, line) in &rows {
        if let Some((p, pline)) = prev[k] {
            if day <= p {
                let what = if day == p { "a duplicate of" } else { "before" };
                return Err(input(
                    name,
                    line,
                    "ts",
                    format!(
                        "series {:?}: {} is {what} {} on line {pline}: sort each series by ts and remove duplicates",
                        ids[k],
                        date_of_day(day),
                        date_of_day(p)
                    ),
                ));
            }
            min_step = min_step.min(day - p);
        }
        prev[k] = Some((day, line));
    }
    let frequency = match frequency {
        Some(f) => f,
        None => match min_step {
            1 => Frequency::Day,
            7 => Frequency::Week,
            28..=31 => Frequency::Month,
            89..=92 => Frequency::Quarter,
            365 | 366 => Frequency::Year,
            i64::MAX => {
                return Err(input(name, 2, "ts", "every series has a single row: the frequency cannot be inferred; give it (day, week, month, quarter or year)".into()));
            }
            s => {
                return Err(input(
                    name,
                    2,
                    "ts",
                    format!(
                        "the smallest step between timestamps is {s} days, not a day, a week, a month, a quarter or a year: give the frequency"
                    ),
                ));
            }
        },
    };
    let label = Label::learn(frequency, rows[0].1);
    let mut series: Vec<Series> = ids
        .iter()
        .map(|id| Series {
            id: id.clone(),
            start: 0,
            values: Vec::new(),
        })
        .collect();
    for &(k, day, y, line) in &rows {
        let period = frequency.period_of_day(day);
        if label.day(frequency, period) != day {
            return Err(input(
                name,
                line,
                "ts",
                format!(
                    "{} is not on the series' {frequency} grid (expected {}): every timestamp must fall on the same day of its period",
                    date_of_day(day),
                    label.date(frequency, period)
                ),
            ));
        }
        let s = &mut series[k];
        if s.values.is_empty() {
            s.start = period;
        } else {
            let next = s.end();
            if period > next {
                if !fill_gaps {
                    return Err(input(
                        name,
                        line,
                        "ts",
                        format!(
                            "series {:?} has no row for {} (gap of {} {frequency}s before this row): add rows with y = 0 or fill gaps",
                            s.id,
                            label.date(frequency, next),
                            period - next
                        ),
                    ));
                }
                s.values.resize((period - s.start) as usize, 0.0);
            } else if period < next {
                return Err(input(
                    name,
                    line,
                    "ts",
                    format!(
                        "series {:?}: two rows fall in the {frequency} of {}",
                        s.id,
                        label.date(frequency, period)
                    ),
                ));
            }
        }
        s.values.push(y);
    }
    series.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(SeriesSet {
        frequency,
        label,
        series,
    })
}

fn parse_day(text: &str) -> Option<i64> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day_of_date(d));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp().div_euclid(86_400))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc().timestamp().div_euclid(86_400))
        })
}

fn input(path: &str, line: u64, column: &str, problem: String) -> Error {
    Error::Input {
        path: path.to_string(),
        line,
        column: column.to_string(),
        problem,
    }
}

fn batch_error(row: u64, batch: &RecordBatch, column: usize, problem: String) -> Error {
    input("<batch>", row, batch.schema().field(column).name(), problem)
}

type Columns = (
    arrow::array::StringArray,
    arrow::array::TimestampMicrosecondArray,
    arrow::array::Float64Array,
);

/// The three columns of a totals batch, cast to Utf8 / Timestamp(µs) / Float64.
fn columns(batch: &RecordBatch) -> Result<Columns> {
    if batch.num_columns() != 3 {
        return Err(input(
            "<batch>",
            0,
            "",
            format!(
                "expected 3 columns (series id, timestamp, quantity), got {}",
                batch.num_columns()
            ),
        ));
    }
    let ids = cast(batch.column(0), &DataType::Utf8)?;
    let ts = match batch.column(1).data_type() {
        DataType::Timestamp(_, tz) => cast(
            batch.column(1),
            &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        )?,
        _ => cast(
            batch.column(1),
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?,
    };
    let y = cast(batch.column(2), &DataType::Float64)?;
    Ok((
        ids.as_string::<i32>().clone(),
        ts.as_primitive::<TimestampMicrosecondType>().clone(),
        y.as_primitive::<Float64Type>().clone(),
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn day(s: &str) -> i64 {
        parse_day(s).expect("date")
    }

    #[test]
    fn periods_follow_the_calendar() {
        // 1970-01-01 is a Thursday: its ISO week began on Monday 1969-12-29.
        assert_eq!(Frequency::Week.period_of_day(0), 0);
        assert_eq!(Frequency::Week.first_day(0), day("1969-12-29"));
        assert_eq!(Frequency::Week.period_of_day(day("1970-01-04")), 0);
        assert_eq!(Frequency::Week.period_of_day(day("1970-01-05")), 1);
        // 2026-11-29 is a Sunday: its week began on Monday 2026-11-23.
        let p = Frequency::Week.period_of_day(day("2026-11-29"));
        assert_eq!(Frequency::Week.first_day(p), day("2026-11-23"));
        let m = Frequency::Month.period_of_day(day("2024-02-29"));
        assert_eq!(m, 54 * 12 + 1);
        assert_eq!(Frequency::Month.first_day(m), day("2024-02-01"));
        assert_eq!(Frequency::Month.first_day(m + 1), day("2024-03-01"));
        assert_eq!(Label::PeriodEnd.date(Frequency::Month, m), "2024-02-29");
        assert_eq!(Frequency::Day.start_micros(1), MICROS_PER_DAY);
        // Quarters and years count from January 1970.
        let q = Frequency::Quarter.period_of_day(day("2024-08-15"));
        assert_eq!(q, 54 * 4 + 2);
        assert_eq!(Frequency::Quarter.first_day(q), day("2024-07-01"));
        assert_eq!(Label::PeriodEnd.date(Frequency::Quarter, q), "2024-09-30");
        let y = Frequency::Year.period_of_day(day("1969-06-01"));
        assert_eq!((y, Frequency::Year.first_day(y)), (-1, day("1969-01-01")));
    }

    #[test]
    fn totals_are_summed_and_gap_filled_with_zeros() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("sku", DataType::Utf8, true),
            Field::new("week", DataType::Date32, true),
            Field::new("qty", DataType::Int64, true),
        ]));
        let d = |s: &str| i32::try_from(day(s)).expect("day");
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "a", "a", "b"])),
                Arc::new(Date32Array::from(vec![
                    d("2026-01-05"),
                    d("2026-01-19"),
                    d("2026-01-07"), // same ISO week as 2026-01-05: summed
                    d("2026-01-26"),
                    d("2026-01-20"),
                ])),
                Arc::new(Int64Array::from(vec![
                    Some(2),
                    Some(1),
                    Some(3),
                    None,
                    Some(4),
                ])),
            ],
        )
        .expect("batch");
        let set = SeriesSet::from_totals(
            std::slice::from_ref(&batch),
            Frequency::Week,
            Fill::default(),
        )
        .expect("series");
        let w = Frequency::Week.period_of_day(day("2026-01-05"));
        assert_eq!(set.series.len(), 2);
        // a: weeks of Jan 5 (2+3), Jan 12 (gap: 0), Jan 19 (gap: 0), Jan 26 (null: 0).
        assert_eq!(
            set.series[0],
            Series {
                id: "a".into(),
                start: w,
                values: vec![5.0, 0.0, 0.0, 0.0]
            }
        );
        // b starts at its first sale (Jan 19), not before, and runs to the common end.
        assert_eq!(
            set.series[1],
            Series {
                id: "b".into(),
                start: w + 2,
                values: vec![5.0, 0.0]
            }
        );
        // From a common start and to a later end when asked.
        let set = SeriesSet::from_totals(
            &[batch],
            Frequency::Week,
            Fill {
                start: Some(w),
                end: Some(w + 4),
            },
        )
        .expect("series");
        assert_eq!(set.series[1].values, vec![0.0, 0.0, 5.0, 0.0, 0.0]);
        assert_eq!(set.series[1].start, w);
    }

    #[test]
    fn long_csv_is_read_with_its_labels() {
        let text =
            "series_id,ts,y\nA,2026-01-04,1\nB,2026-01-11,5\nA,2026-01-11,2\nA,2026-01-18,3\n";
        let set = read_long(text.as_bytes(), "in.csv", None, false).expect("read");
        assert_eq!(set.frequency, Frequency::Week);
        // Weeks labelled by their Sunday (offset 6 from Monday), as pandas' W-SUN.
        assert_eq!(set.label, Label::Offset(6));
        assert_eq!(set.series[0].values, vec![1.0, 2.0, 3.0]);
        assert_eq!(
            set.label.date(Frequency::Week, set.series[0].end()),
            "2026-01-25"
        );
        let months = "series_id,ts,y\nm,2024-01-31,1\nm,2024-02-29,2\nm,2024-03-31,3\n";
        let set = read_long(months.as_bytes(), "m.csv", None, false).expect("read");
        assert_eq!(
            (set.frequency, set.label),
            (Frequency::Month, Label::PeriodEnd)
        );
        let quarters = "series_id,ts,y\nq,1959-01-01,1\nq,1959-04-01,2\nq,1959-07-01,3\n";
        let set = read_long(quarters.as_bytes(), "q.csv", None, false).expect("read");
        assert_eq!(
            (set.frequency, set.label),
            (Frequency::Quarter, Label::Offset(0))
        );
        assert_eq!(
            set.label.date(set.frequency, set.series[0].end()),
            "1959-10-01"
        );
        let years = "series_id,ts,y\ny,1960-01-01,1\ny,1961-01-01,2\n";
        let set = read_long(years.as_bytes(), "y.csv", None, false).expect("read");
        assert_eq!(set.frequency, Frequency::Year);
    }

    #[test]
    fn bad_csv_rows_are_named_by_line_and_column() {
        let cases = [
            (
                "series_id,ts,y\nA,2026-01-05,1\nA,2026-01-05,2\n",
                3,
                "ts",
                "duplicate",
            ),
            (
                "series_id,ts,y\nA,2026-01-12,1\nA,2026-01-05,2\n",
                3,
                "ts",
                "before",
            ),
            (
                "series_id,ts,y\nA,2026-01-05,1\nA,2026-01-12,x\n",
                3,
                "y",
                "not a finite number",
            ),
            (
                "series_id,ts,y\nA,2026-01-05,1\nA,2026-01-19,2\nA,2026-02-02,2\n",
                2,
                "ts",
                "timestamps is 14 days",
            ),
            (
                "series_id,ts,y\nA,2026-01-05,1\nA,2026-01-12,1\nA,2026-01-26,2\n",
                4,
                "ts",
                "has no row for 2026-01-19",
            ),
            ("series_id,ts,y\nA,5 Jan,1\n", 2, "ts", "not a date"),
            ("id,ts,y\nA,2026-01-05,1\n", 1, "series_id", "no column"),
        ];
        for (text, line, column, needle) in cases {
            match read_long(text.as_bytes(), "in.csv", None, false) {
                Err(Error::Input {
                    line: l,
                    column: c,
                    problem,
                    ..
                }) => {
                    assert_eq!((l, c.as_str()), (line, column), "{problem}");
                    assert!(problem.contains(needle), "{problem:?} lacks {needle:?}");
                }
                other => panic!("{text:?}: expected an input error, got {other:?}"),
            }
        }
        // The same gap is filled with 0 when asked.
        let set = read_long(cases[4].0.as_bytes(), "in.csv", None, true).expect("filled");
        assert_eq!(set.series[0].values, vec![1.0, 1.0, 0.0, 2.0]);
    }
}

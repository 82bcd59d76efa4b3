//! Shift calendars: a plant's daily shifts in its time zone, its working days, and the
//! splitting of time intervals at shift and day boundaries.
//!
//! A [`ShiftCalendar`] holds the daily pattern of shifts (say early 06:00–14:00, late
//! 14:00–22:00, night 22:00–06:00 crossing midnight) in the plant's time zone
//! ([`chrono_tz::Tz`]) and the weekdays on which they are worked. A shift belongs to the
//! **local date it starts on** (the night shift of Saturday runs from Saturday 22:00 to
//! Sunday 06:00) and is worked when that date is a working day.
//!
//! [`ShiftCalendar::timeline`] lays the calendar over a range of instants as contiguous
//! [`Piece`]s, each inside one local calendar day and at most one shift (a [`ShiftSlot`]);
//! [`Timeline::split`] cuts any `[start, end)` interval along those pieces. Boundaries are
//! local times turned into instants with the zone's rules, so daylight saving is handled: a
//! night shift over the spring change lasts 7 hours, over the autumn change 9, and a local
//! day 23 or 25 hours. A boundary whose local time does not exist (it falls in the hour the
//! clocks skip) is the first instant at or after it (the moment of the change); one whose
//! local time happens twice is its first occurrence.
//!
//! Instants are microseconds since the Unix epoch (UTC), as in fabrik's tables.
//!
//! The default calendar is the one of `fabrik-datagen`'s synthetic plant P01
//! ([`ShiftCalendar::synthetic_plant`]): UTC+1 without daylight saving, three 8-hour shifts
//! from 06:00, worked Monday to Saturday (the plant closes from Sunday 06:00 to Monday
//! 06:00). [`PlantCalendars`] maps plant ids to calendars; its default gives every synthetic
//! plant (P01, P02, …) its own time zone.

use std::collections::BTreeMap;

use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::error::{Error, Result};

/// Microseconds per second.
pub const US_PER_SEC: i64 = 1_000_000;

const SECS_PER_DAY: u32 = 86_400;

/// The fixed UTC offsets (hours) of `fabrik-datagen`'s synthetic plants, in plant order
/// (P01 first), repeating after the last; the same list as
/// `fabrik_datagen::PLANT_UTC_OFFSETS`.
pub const SYNTHETIC_PLANT_UTC_OFFSETS: [i32; 6] = [1, 2, 0, 8, -5, 3];

/// One shift of a plant's daily pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// The shift's name, as reported (`early`, `late`, `night`, …).
    pub name: String,
    /// Local start time (whole seconds).
    pub start: NaiveTime,
    /// Local end time (whole seconds); at or before `start` when the shift crosses
    /// midnight, equal to `start` for a 24-hour shift.
    pub end: NaiveTime,
}

impl Shift {
    /// A shift from `start` to `end` local time.
    pub fn new(name: impl Into<String>, start: NaiveTime, end: NaiveTime) -> Self {
        Shift {
            name: name.into(),
            start,
            end,
        }
    }

    /// Start second of the day and length in seconds.
    fn span(&self) -> (u32, u32) {
        let s = self.start.num_seconds_from_midnight();
        let e = self.end.num_seconds_from_midnight();
        let len = if e > s { e - s } else { e + SECS_PER_DAY - s };
        (s, len)
    }

    fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }
}

/// A plant's shifts, time zone and working days (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftCalendar {
    tz: Tz,
    /// Sorted by start time.
    shifts: Vec<Shift>,
    /// Indexed by `Weekday::num_days_from_monday`.
    working: [bool; 7],
}

impl Default for ShiftCalendar {
    /// The calendar of the synthetic plant P01 ([`ShiftCalendar::synthetic_plant`]`(0)`).
    fn default() -> Self {
        ShiftCalendar::synthetic_plant(0)
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl ShiftCalendar {
    /// A calendar of `shifts` in time zone `tz`, worked on `working_days`.
    ///
    /// The shifts must have distinct, non-empty names, start and end on whole seconds and
    /// not overlap on the 24-hour clock (gaps are allowed: time outside every shift is not
    /// scheduled).
    pub fn new(tz: Tz, mut shifts: Vec<Shift>, working_days: &[Weekday]) -> Result<Self> {
        let bad = |problem: String, fix: &'static str| Err(Error::InvalidCalendar { problem, fix });
        if shifts.is_empty() {
            return bad("no shifts".into(), "give at least one shift");
        }
        for (i, s) in shifts.iter().enumerate() {
            if s.name.is_empty() {
                return bad(format!("shift {i} has no name"), "name every shift");
            }
            if shifts[..i].iter().any(|t| t.name == s.name) {
                return bad(
                    format!("two shifts are named `{}`", s.name),
                    "give every shift its own name",
                );
            }
            if s.start.nanosecond() != 0 || s.end.nanosecond() != 0 {
                return bad(
                    format!(
                        "shift `{}` starts or ends on a fraction of a second",
                        s.name
                    ),
                    "use whole seconds",
                );
            }
        }
        shifts.sort_by_key(|s| s.start);
        let n = shifts.len();
        for i in 0..n {
            let (s, len) = shifts[i].span();
            let next = &shifts[(i + 1) % n];
            let next_start = next.span().0 + if i + 1 == n { SECS_PER_DAY } else { 0 };
            if s + len > next_start {
                return bad(
                    format!("shift `{}` overlaps shift `{}`", shifts[i].name, next.name),
                    "shifts must not overlap on the 24-hour clock",
                );
            }
        }
        let mut working = [false; 7];
        for d in working_days {
            working[d.num_days_from_monday() as usize] = true;
        }
        Ok(ShiftCalendar {
            tz,
            shifts,
            working,
        })
    }

    /// Early 06:00–14:00, late 14:00–22:00 and night 22:00–06:00 in `tz`, worked Monday to
    /// Saturday (a night shift belongs to the day it starts on: Saturday's night shift runs
    /// into Sunday morning, and no shift starts on Sunday).
    pub fn three_shifts(tz: Tz) -> Self {
        ShiftCalendar {
            tz,
            shifts: vec![
                Shift::new("early", hm(6, 0), hm(14, 0)),
                Shift::new("late", hm(14, 0), hm(22, 0)),
                Shift::new("night", hm(22, 0), hm(6, 0)),
            ],
            working: [true, true, true, true, true, true, false],
        }
    }

    /// The calendar of `fabrik-datagen`'s synthetic plant number `plant` (0-based: 0 is
    /// P01): [`ShiftCalendar::three_shifts`] in the plant's fixed UTC offset
    /// ([`SYNTHETIC_PLANT_UTC_OFFSETS`]). The generator's planned stops (shift changes,
    /// breaks, the Sunday closure) are `PLANNED_STOP` rows of `machine_states`, not part of
    /// the calendar.
    pub fn synthetic_plant(plant: usize) -> Self {
        let hours = SYNTHETIC_PLANT_UTC_OFFSETS[plant % SYNTHETIC_PLANT_UTC_OFFSETS.len()];
        // every offset of the list has an Etc/GMT zone
        ShiftCalendar::three_shifts(fixed_offset_zone(hours).unwrap_or(Tz::UTC))
    }

    /// The time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The shifts, sorted by start time.
    pub fn shifts(&self) -> &[Shift] {
        &self.shifts
    }

    /// Whether shifts starting on `day` are worked.
    pub fn is_working_day(&self, day: Weekday) -> bool {
        self.working[day.num_days_from_monday() as usize]
    }

    /// The local calendar date of an instant (µs since the epoch).
    pub fn local_date(&self, t_us: i64) -> Result<NaiveDate> {
        Ok(self
            .tz
            .from_utc_datetime(&utc(t_us)?.naive_utc())
            .date_naive())
    }

    /// The instant (µs) of a local date and time: the first occurrence of an ambiguous
    /// local time, the moment of the change for one skipped by daylight saving.
    pub fn instant(&self, date: NaiveDate, time: NaiveTime) -> Result<i64> {
        let local = date.and_time(time);
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Ok(t.timestamp_micros()),
            LocalResult::Ambiguous(a, b) => Ok(a.min(b).timestamp_micros()),
            LocalResult::None => {
                // in a gap: the first second whose local time is at or after `local`
                let naive_s = local.and_utc().timestamp();
                let (mut lo, mut hi) = (naive_s - 86_400, naive_s + 86_400);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if self.local_naive(mid)? >= local {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                Ok(hi * US_PER_SEC)
            }
        }
    }

    fn local_naive(&self, t_s: i64) -> Result<NaiveDateTime> {
        let t = DateTime::from_timestamp(t_s, 0).ok_or_else(|| out_of_range(t_s * US_PER_SEC))?;
        Ok(self.tz.from_utc_datetime(&t.naive_utc()).naive_local())
    }

    /// The calendar laid over `[from_us, to_us)` (µs since the epoch).
    pub fn timeline(&self, from_us: i64, to_us: i64) -> Result<Timeline> {
        if from_us >= to_us {
            return Ok(Timeline {
                from_us,
                to_us: from_us,
                pieces: Vec::new(),
            });
        }
        let first = self
            .local_date(from_us)?
            .pred_opt()
            .ok_or_else(|| out_of_range(from_us))?;
        let last = self.local_date(to_us - 1)?;
        let mut slots: Vec<ShiftSlot> = Vec::new();
        let mut cuts: Vec<i64> = vec![from_us, to_us];
        let mut date = first;
        while date <= last {
            let next = date.succ_opt().ok_or_else(|| out_of_range(to_us))?;
            cuts.push(self.instant(next, NaiveTime::MIN)?);
            for (index, shift) in self.shifts.iter().enumerate() {
                let start_us = self.instant(date, shift.start)?;
                let end_date = if shift.crosses_midnight() { next } else { date };
                let end_us = self.instant(end_date, shift.end)?;
                if end_us > start_us && end_us > from_us && start_us < to_us {
                    cuts.push(start_us);
                    cuts.push(end_us);
                    slots.push(ShiftSlot {
                        shift: index,
                        date,
                        start_us,
                        end_us,
                        working: self.is_working_day(date.weekday()),
                    });
                }
            }
            date = next;
        }
        cuts.retain(|&c| (from_us..=to_us).contains(&c));
        cuts.sort_unstable();
        cuts.dedup();
        slots.sort_by_key(|s| s.start_us);
        let mut pieces = Vec::with_capacity(cuts.len());
        let mut k = 0;
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            while k < slots.len() && slots[k].end_us <= a {
                k += 1;
            }
            let slot = slots.get(k).filter(|s| s.start_us <= a).copied();
            pieces.push(Piece {
                start_us: a,
                end_us: b,
                date: self.local_date(a)?,
                slot,
            });
        }
        Ok(Timeline {
            from_us,
            to_us,
            pieces,
        })
    }

    /// `[start, end)` cut at shift and local-day boundaries.
    pub fn split(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<Piece>> {
        let (s, e) = (start.timestamp_micros(), end.timestamp_micros());
        Ok(self.timeline(s, e)?.split(s, e).collect())
    }
}

/// The IANA zone of a fixed UTC offset of whole hours (`Etc/GMT-1` is UTC+1: the sign of
/// the `Etc` names is inverted), −12 to +14.
pub fn fixed_offset_zone(hours: i32) -> Result<Tz> {
    let name = format!("Etc/GMT{:+}", -hours);
    name.parse::<Tz>()
        .map_err(|_| Error::UnknownTimeZone { name })
}

fn utc(t_us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(t_us).ok_or_else(|| out_of_range(t_us))
}

fn out_of_range(t_us: i64) -> Error {
    Error::InvalidParameter {
        parameter: "instant",
        value: t_us.to_string(),
        expected: "an instant within the years −262143 to 262142",
    }
}

/// A shift as worked on one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShiftSlot {
    /// Index of the shift in [`ShiftCalendar::shifts`].
    pub shift: usize,
    /// The local date the shift starts on.
    pub date: NaiveDate,
    /// Its start (µs since the epoch).
    pub start_us: i64,
    /// Its end (µs since the epoch, exclusive).
    pub end_us: i64,
    /// Whether `date` is a working day (else the shift is not scheduled).
    pub working: bool,
}

/// A stretch of time inside one local day and at most one shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Start (µs since the epoch, inclusive).
    pub start_us: i64,
    /// End (µs since the epoch, exclusive).
    pub end_us: i64,
    /// The local calendar date.
    pub date: NaiveDate,
    /// The shift it belongs to, if any.
    pub slot: Option<ShiftSlot>,
}

impl Piece {
    /// Length in microseconds.
    pub fn len_us(&self) -> i64 {
        self.end_us - self.start_us
    }

    /// The working shift it belongs to: `None` outside shifts and on non-working days.
    pub fn working_slot(&self) -> Option<ShiftSlot> {
        self.slot.filter(|s| s.working)
    }
}

/// A calendar laid over a range of instants: contiguous pieces, each inside one local day
/// and at most one shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    from_us: i64,
    to_us: i64,
    pieces: Vec<Piece>,
}

impl Timeline {
    /// Start of the range (µs).
    pub fn from_us(&self) -> i64 {
        self.from_us
    }

    /// End of the range (µs, exclusive).
    pub fn to_us(&self) -> i64 {
        self.to_us
    }

    /// The pieces, in time order, covering the range without gaps.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// `[start_us, end_us)`, clipped to the timeline's range, cut into pieces.
    pub fn split(&self, start_us: i64, end_us: i64) -> impl Iterator<Item = Piece> + '_ {
        let (s, e) = (start_us.max(self.from_us), end_us.min(self.to_us));
        let first = self.pieces.partition_point(|p| p.end_us <= s);
        self.pieces[first..]
            .iter()
            .take_while(move |p| p.start_us < e)
            .filter(move |_| s < e)
            .map(move |p| Piece {
                start_us: p.start_us.max(s),
                end_us: p.end_us.min(e),
                ..*p
            })
    }

    /// The piece holding instant `t_us`.
    pub fn piece_at(&self, t_us: i64) -> Option<&Piece> {
        let i = self.pieces.partition_point(|p| p.end_us <= t_us);
        self.pieces.get(i).filter(|p| p.start_us <= t_us)
    }
}

/// Shift calendars by plant id, with a default for plants not listed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantCalendars {
    default: ShiftCalendar,
    plants: BTreeMap<String, ShiftCalendar>,
}

impl Default for PlantCalendars {
    /// [`PlantCalendars::synthetic`].
    fn default() -> Self {
        PlantCalendars::synthetic()
    }
}

impl PlantCalendars {
    /// One calendar for every plant.
    pub fn uniform(calendar: ShiftCalendar) -> Self {
        PlantCalendars {
            default: calendar,
            plants: BTreeMap::new(),
        }
    }

    /// The calendars of `fabrik-datagen`'s synthetic plants: `P01` … `P99` each with
    /// [`ShiftCalendar::synthetic_plant`], P01's for any other plant id.
    pub fn synthetic() -> Self {
        let plants = (0..99)
            .map(|p| (format!("P{:02}", p + 1), ShiftCalendar::synthetic_plant(p)))
            .collect();
        PlantCalendars {
            default: ShiftCalendar::synthetic_plant(0),
            plants,
        }
    }

    /// The same calendars with `plant_id` on `calendar`.
    pub fn with_plant(mut self, plant_id: impl Into<String>, calendar: ShiftCalendar) -> Self {
        self.plants.insert(plant_id.into(), calendar);
        self
    }

    /// The calendar of a plant.
    pub fn get(&self, plant_id: &str) -> &ShiftCalendar {
        self.plants.get(plant_id).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600 * US_PER_SEC;

    fn at(s: &str) -> i64 {
        s.parse::<DateTime<Utc>>()
            .expect("test instant")
            .timestamp_micros()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    /// (local date, shift name or "-", hours) of each piece.
    fn describe(cal: &ShiftCalendar, pieces: &[Piece]) -> Vec<(String, String, f64)> {
        pieces
            .iter()
            .map(|p| {
                let shift = p.slot.map_or("-".to_string(), |s| {
                    format!("{}@{}", cal.shifts()[s.shift].name, s.date)
                });
                (p.date.to_string(), shift, p.len_us() as f64 / H as f64)
            })
            .collect()
    }

    #[test]
    fn night_shift_is_cut_at_midnight_and_belongs_to_its_start_day() -> Result<()> {
        let cal = ShiftCalendar::default(); // UTC+1
        // Tuesday 2025-03-04 20:00 to Wednesday 07:00 plant time = 19:00 to 06:00 UTC
        let p = cal.timeline(at("2025-03-04T19:00:00Z"), at("2025-03-05T06:00:00Z"))?;
        let want = [
            ("2025-03-04", "late@2025-03-04", 2.0),
            ("2025-03-04", "night@2025-03-04", 2.0),
            ("2025-03-05", "night@2025-03-04", 6.0),
            ("2025-03-05", "early@2025-03-05", 1.0),
        ];
        let got = describe(&cal, p.pieces());
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1.as_str(), g.2), w);
        }
        // splitting a sub-interval clips the pieces
        let inner: Vec<Piece> = p
            .split(at("2025-03-04T22:30:00Z"), at("2025-03-04T23:30:00Z"))
            .collect();
        let got = describe(&cal, &inner);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].2 + got[1].2, 1.0);
        assert_eq!(got[0].0, "2025-03-04");
        assert_eq!(got[1].0, "2025-03-05");
        Ok(())
    }

    #[test]
    fn sunday_shifts_are_not_worked_in_the_synthetic_calendar() -> Result<()> {
        let cal = ShiftCalendar::default();
        assert!(cal.is_working_day(Weekday::Sat) && !cal.is_working_day(Weekday::Sun));
        // Saturday 2025-03-08 23:00 UTC = Sunday 00:00 plant time: Saturday's night shift
        let p = cal.split(
            "2025-03-08T23:00:00Z".parse().expect("t"),
            "2025-03-09T23:00:00Z".parse().expect("t"),
        )?;
        let working: i64 = p
            .iter()
            .filter(|p| p.working_slot().is_some())
            .map(Piece::len_us)
            .sum();
        assert_eq!(working, 6 * H, "Saturday night runs to Sunday 06:00");
        assert_eq!(p.iter().map(Piece::len_us).sum::<i64>(), 24 * H);
        Ok(())
    }

    #[test]
    fn daylight_saving_days_and_shifts() -> Result<()> {
        let tz: Tz = "Europe/Berlin"
            .parse()
            .map_err(|_| Error::UnknownTimeZone {
                name: "Europe/Berlin".into(),
            })?;
        let cal = ShiftCalendar::three_shifts(tz);
        // spring: clocks go 02:00 -> 03:00 on Sunday 2025-03-30; Saturday's night shift
        // (22:00 CET = 21:00 UTC to 06:00 CEST = 04:00 UTC) lasts 7 hours
        let tl = cal.timeline(at("2025-03-29T21:00:00Z"), at("2025-03-30T04:00:00Z"))?;
        let got = describe(&cal, tl.pieces());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].2 + got[1].2, 7.0);
        assert_eq!(got[1].1, "night@2025-03-29");
        // the local day of 2025-03-30 lasts 23 hours
        let day = cal.timeline(at("2025-03-29T23:00:00Z"), at("2025-03-30T22:00:00Z"))?;
        assert!(day.pieces().iter().all(|p| p.date == d("2025-03-30")));
        // autumn: 2025-10-26 repeats 02:00-03:00; that night shift lasts 9 hours
        let tl = cal.timeline(at("2025-10-25T20:00:00Z"), at("2025-10-26T05:00:00Z"))?;
        let night: i64 = tl
            .pieces()
            .iter()
            .filter(|p| p.slot.is_some_and(|s| s.shift == 2))
            .map(Piece::len_us)
            .sum();
        assert_eq!(night, 9 * H);
        // a boundary in the skipped hour is the moment of the change
        assert_eq!(
            cal.instant(d("2025-03-30"), hm(2, 30))?,
            at("2025-03-30T01:00:00Z")
        );
        Ok(())
    }

    #[test]
    fn calendars_are_validated() {
        let bad = ShiftCalendar::new(
            Tz::UTC,
            vec![
                Shift::new("a", hm(6, 0), hm(15, 0)),
                Shift::new("b", hm(14, 0), hm(22, 0)),
            ],
            &[Weekday::Mon],
        );
        assert!(matches!(bad, Err(Error::InvalidCalendar { .. })), "{bad:?}");
        let wrap = ShiftCalendar::new(
            Tz::UTC,
            vec![
                Shift::new("day", hm(6, 0), hm(18, 0)),
                Shift::new("night", hm(18, 0), hm(7, 0)),
            ],
            &[Weekday::Mon],
        );
        assert!(
            matches!(wrap, Err(Error::InvalidCalendar { .. })),
            "{wrap:?}"
        );
        let ok = ShiftCalendar::new(
            Tz::UTC,
            vec![
                Shift::new("night", hm(18, 0), hm(6, 0)),
                Shift::new("day", hm(6, 0), hm(18, 0)),
            ],
            &[Weekday::Mon],
        )
        .expect("two 12-hour shifts");
        assert_eq!(ok.shifts()[0].name, "day");
        assert!(matches!(
            ShiftCalendar::new(Tz::UTC, vec![], &[]),
            Err(Error::InvalidCalendar { .. })
        ));
    }

    #[test]
    fn synthetic_zones_follow_the_generator() -> Result<()> {
        assert_eq!(fixed_offset_zone(1)?, Tz::Etc__GMTMinus1);
        assert_eq!(fixed_offset_zone(-5)?, Tz::Etc__GMTPlus5);
        assert_eq!(
            PlantCalendars::default().get("P04").tz(),
            Tz::Etc__GMTMinus8
        );
        assert_eq!(PlantCalendars::default().get("X").tz(), Tz::Etc__GMTMinus1);
        assert_eq!(
            SYNTHETIC_PLANT_UTC_OFFSETS,
            fabrik_datagen::PLANT_UTC_OFFSETS
        );
        Ok(())
    }
}

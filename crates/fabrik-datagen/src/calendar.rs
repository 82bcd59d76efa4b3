//! Time helpers: microsecond arithmetic, civil dates, the plants' clocks and shift
//! calendars, and the retail calendar (Singles' Day, Black Friday).
//!
//! **Plant time** is UTC plus a fixed offset per plant ([`plant_utc_offset_hours`]; no daylight
//! saving). Shifts start at 06:00, 14:00 and 22:00 plant time.

/// Microseconds per second.
pub const US_PER_SEC: i64 = 1_000_000;
/// Microseconds per minute.
pub const US_PER_MIN: i64 = 60 * US_PER_SEC;
/// Microseconds per hour.
pub const US_PER_HOUR: i64 = 60 * US_PER_MIN;
/// Microseconds per day.
pub const US_PER_DAY: i64 = 24 * US_PER_HOUR;

/// Fixed UTC offsets (hours) of the plants, in plant order, repeating after the last:
/// P01 is UTC+1 (central Europe, winter time), P02 UTC+2, P03 UTC+0, P04 UTC+8, P05 UTC−5,
/// P06 UTC+3.
pub const PLANT_UTC_OFFSETS: [i32; 6] = [1, 2, 0, 8, -5, 3];

/// The fixed UTC offset in hours of plant `plant` (0-based): plant time = UTC + offset.
pub fn plant_utc_offset_hours(plant: usize) -> i32 {
    PLANT_UTC_OFFSETS[plant % PLANT_UTC_OFFSETS.len()]
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Weekday of a day number: 0 = Monday … 6 = Sunday.
pub(crate) fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// Day of the year, 1-based.
pub(crate) fn day_of_year(day: i64) -> u32 {
    let (y, _, _) = civil_from_days(day);
    (day - days_from_civil(y, 1, 1) + 1) as u32
}

/// Day number of Black Friday (the day after the fourth Thursday of November) of a year.
pub(crate) fn black_friday(year: i64) -> i64 {
    let nov1 = days_from_civil(year, 11, 1);
    let first_thursday = nov1 + i64::from((3 + 7 - weekday(nov1)) % 7);
    first_thursday + 22
}

/// The day number containing the instant `us`.
pub(crate) fn day_of(us: i64) -> i64 {
    us.div_euclid(US_PER_DAY)
}

/// `YYYY-MM-DD` of a day number.
pub(crate) fn date_text(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A planned stop of a whole plant: `[start, end)` in UTC microseconds, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop {
    pub start: i64,
    pub end: i64,
    pub reason: &'static str,
}

/// `stops` sorted by start, with touching or overlapping stops merged into one (which keeps
/// the reason of the first).
pub(crate) fn merge_stops(mut stops: Vec<Stop>) -> Vec<Stop> {
    stops.sort_by_key(|s| s.start);
    let mut merged: Vec<Stop> = Vec::with_capacity(stops.len());
    for s in stops {
        match merged.last_mut() {
            Some(prev) if s.start <= prev.end => prev.end = prev.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// Planned stops of a plant within `[from, to)` (UTC µs), sorted, not overlapping.
///
/// In plant time, every day: a 15-minute shift change at 06:00, 14:00 and 22:00 and a
/// 30-minute break in each shift (10:00, 18:00, 02:00). The plant does not work on Sundays
/// from 06:00 to Monday 06:00 ("no shift (Sunday)").
pub(crate) fn planned_stops(offset_hours: i32, from: i64, to: i64) -> Vec<Stop> {
    let off = i64::from(offset_hours) * US_PER_HOUR;
    // plant-local day numbers covering [from, to), one day of margin each side
    let first = day_of(from + off) - 1;
    let last = day_of(to + off) + 1;
    let mut stops = Vec::new();
    for day in first..=last {
        let local0 = day * US_PER_DAY - off; // UTC instant of local midnight
        let at = |h: i64, m: i64| local0 + h * US_PER_HOUR + m * US_PER_MIN;
        if weekday(day) == 6 {
            // Sunday: night break of the Saturday night shift, then closed from 06:00
            stops.push(Stop {
                start: at(2, 0),
                end: at(2, 30),
                reason: "break",
            });
            stops.push(Stop {
                start: at(6, 0),
                end: at(30, 0),
                reason: "no shift (Sunday)",
            });
            continue;
        }
        if weekday(day) != 0 {
            stops.push(Stop {
                start: at(2, 0),
                end: at(2, 30),
                reason: "break",
            });
        }
        if weekday(day) != 0 {
            stops.push(Stop {
                start: at(6, 0),
                end: at(6, 15),
                reason: "shift change",
            });
        } else {
            // Monday 06:00 is the end of the Sunday stop: a start-up briefing instead
            stops.push(Stop {
                start: at(6, 0),
                end: at(6, 15),
                reason: "shift start briefing",
            });
        }
        stops.push(Stop {
            start: at(10, 0),
            end: at(10, 30),
            reason: "lunch break",
        });
        stops.push(Stop {
            start: at(14, 0),
            end: at(14, 15),
            reason: "shift change",
        });
        stops.push(Stop {
            start: at(18, 0),
            end: at(18, 30),
            reason: "break",
        });
        stops.push(Stop {
            start: at(22, 0),
            end: at(22, 15),
            reason: "shift change",
        });
    }
    // the Sunday closure meets the Monday briefing: merged into one stop
    let mut merged = merge_stops(stops);
    merged.retain(|s| s.end > from && s.start < to);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_weekdays() {
        for day in [-1000, 0, 1, 59, 365, 10_000, 20_150, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(weekday(0), 3, "1970-01-01 was a Thursday");
        assert_eq!(
            weekday(days_from_civil(2025, 3, 3)),
            0,
            "2025-03-03 was a Monday"
        );
        assert_eq!(day_of_year(days_from_civil(2024, 12, 31)), 366);
    }

    #[test]
    fn black_friday_dates() {
        assert_eq!(civil_from_days(black_friday(2023)), (2023, 11, 24));
        assert_eq!(civil_from_days(black_friday(2024)), (2024, 11, 29));
        assert_eq!(civil_from_days(black_friday(2019)), (2019, 11, 29));
        assert_eq!(weekday(black_friday(2030)), 4);
    }

    #[test]
    fn date_text_and_merged_stops() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(days_from_civil(2025, 3, 3)), "2025-03-03");
        let stop = |start, end, reason| Stop { start, end, reason };
        let merged = merge_stops(vec![
            stop(50, 60, "c"),
            stop(0, 10, "a"),
            stop(10, 20, "b"),
            stop(15, 18, "d"),
            stop(30, 40, "e"),
        ]);
        assert_eq!(
            merged,
            vec![stop(0, 20, "a"), stop(30, 40, "e"), stop(50, 60, "c")]
        );
    }

    #[test]
    fn shift_calendar_in_plant_time() {
        let monday = days_from_civil(2025, 3, 3) * US_PER_DAY;
        let stops = planned_stops(1, monday, monday + 7 * US_PER_DAY);
        assert!(
            stops.windows(2).all(|w| w[0].end <= w[1].start),
            "sorted, no overlap"
        );
        // Tuesday's 06:00 shift change at UTC+1 is 05:00 UTC
        let tue_0500 = monday + US_PER_DAY + 5 * US_PER_HOUR;
        assert!(
            stops
                .iter()
                .any(|s| s.start == tue_0500 && s.reason == "shift change")
        );
        // Sunday closure: 06:00 Sunday to 06:15 Monday plant time, merged with the briefing
        let sun_0500 = monday + 6 * US_PER_DAY + 5 * US_PER_HOUR;
        let closed = stops
            .iter()
            .find(|s| s.start == sun_0500)
            .expect("Sunday stop");
        assert_eq!(closed.end, sun_0500 + 24 * US_PER_HOUR + 15 * US_PER_MIN);
    }
}

//! Overall equipment effectiveness (OEE) as ISO 22400-2 defines it, per machine or line and
//! per shift or local day.
//!
//! # Definitions
//!
//! Time is taken from `machine_states` inside the **working shifts** of the plant's
//! [`ShiftCalendar`](crate::shift::ShiftCalendar) (time outside every shift, or in a shift starting on a non-working day,
//! is not scheduled and is left out). For each machine and period (ISO 22400 names in
//! brackets):
//!
//! - `recorded_s` — the period's shift time covered by state records (planned operation
//!   time, POT; a window starting mid-shift gives a partial shift);
//! - `planned_stop_s` — time in `PLANNED_STOP` (planned down time, PDOT: breaks, shift
//!   changes, planned maintenance);
//! - `planned_busy_s` = `recorded_s` − `planned_stop_s` (planned busy time, PBT);
//! - `run_s` — time in `RUNNING` (actual production time, APT); `idle_s`, `setup_s`,
//!   `down_s` the time in `IDLE`, `SETUP` and `DOWN`, so that
//!   `planned_busy_s = run_s + idle_s + setup_s + down_s`;
//! - `good_qty`, `scrap_qty` — units counted (good quantity GQ, scrap quantity SQ; produced
//!   quantity PQ = GQ + SQ);
//! - `ideal_s` = Σ `ideal_cycle_s` × (`good_qty` + `scrap_qty`) over the count rows, each
//!   with **its own** ideal cycle time (that of the configuration built: planned run time
//!   per item PRI × PQ);
//! - `availability` = `run_s` / `planned_busy_s`; `performance` = `ideal_s` / `run_s`
//!   (ISO's effectiveness); `quality` = `good_qty` / (`good_qty` + `scrap_qty`);
//!   `oee` = availability × performance × quality. Each is null when its denominator is 0.
//!
//! State intervals are cut at shift and local-day boundaries ([`crate::shift`]), so a
//! `RUNNING` interval over 22:00 counts in both shifts, over midnight in both days.
//!
//! **Production counts** are intervals that end at `ts` (the schema's "end of the counting
//! interval"); their start is not recorded. A count row is attributed, whole, to the period
//! holding its end (the instant just before `ts`, so a count at exactly 14:00 belongs to
//! the shift ending at 14:00). Splitting a count in proportion to time would need its start
//! and would give fractional units; in `fabrik-datagen`'s plant no count straddles a
//! boundary anyway (counts close every 5 minutes on the UTC clock and at every state
//! change, shift boundaries are whole hours of a whole-hour offset and begin with a planned
//! stop). A count whose interval straddles a boundary in other data moves its units (and
//! its ideal time) to the later period. Likewise a unit begun before a stop and finished
//! after it counts, whole, where it is finished (the generator's stations do this at shift
//! changes), so a period's performance can exceed 1 by up to a unit's ideal cycle over
//! its run time, with the period before correspondingly lower.
//!
//! **Lines**: a line's row sums its machines' times and counts, so its availability is
//! time-weighted over the stations and its quality counts a unit at every station that
//! reports it. This is the stations' aggregate, not the throughput OEE of the line as one
//! machine (which would need the bottleneck's or the last station's counts only: filter
//! `oee('machine', …)` on that station for it).
//!
//! ```sql
//! SELECT * FROM oee('line', 'shift');
//! SELECT * FROM oee('machine', 'day', TIMESTAMP '2025-03-03T00:00:00Z', TIMESTAMP '2025-03-10T00:00:00Z');
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef, TimeUnit};
use datafusion::prelude::{SessionContext, col};
use fabrik_sql::Session;

use crate::columns::{floats, ints, micros, text, ts_lit};
use crate::error::{Error, Result};
use crate::shift::{Piece, PlantCalendars, ShiftSlot, Timeline, US_PER_SEC};

/// What a row of an OEE or loss table is about: one machine, or one line (its machines
/// summed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Entity {
    /// One row per machine.
    #[default]
    Machine,
    /// One row per line.
    Line,
}

impl Entity {
    /// `machine` or `line` (as in SQL).
    pub fn name(self) -> &'static str {
        match self {
            Entity::Machine => "machine",
            Entity::Line => "line",
        }
    }

    /// The entity named `machine` or `line` (any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "machine" => Some(Entity::Machine),
            "line" => Some(Entity::Line),
            _ => None,
        }
    }
}

/// The time bucket of a row: a worked shift, or a local calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Period {
    /// One row per worked shift (identified by its start date and name).
    #[default]
    Shift,
    /// One row per local calendar day (the working shifts' time on that day).
    Day,
}

impl Period {
    /// `shift` or `day` (as in SQL).
    pub fn name(self) -> &'static str {
        match self {
            Period::Shift => "shift",
            Period::Day => "day",
        }
    }

    /// The period named `shift` or `day` (any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "shift" => Some(Period::Shift),
            "day" => Some(Period::Day),
            _ => None,
        }
    }
}

/// What to compute OEE (or the six losses) over.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OeeOptions {
    /// One row per machine or per line.
    pub entity: Entity,
    /// One row per shift or per day.
    pub period: Period,
    /// The plants' shift calendars (by default those of the synthetic plants).
    pub calendars: PlantCalendars,
    /// Only time from this instant on (state intervals are clipped).
    pub from: Option<DateTime<Utc>>,
    /// Only time before this instant (state intervals are clipped).
    pub to: Option<DateTime<Utc>>,
}

impl OeeOptions {
    /// Rows per `entity` and `period`, with the default calendars and no time limits.
    pub fn new(entity: Entity, period: Period) -> Self {
        OeeOptions {
            entity,
            period,
            ..OeeOptions::default()
        }
    }

    /// The same options limited to `[from, to)`.
    pub fn with_range(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    /// The same options with other shift calendars.
    pub fn with_calendars(mut self, calendars: PlantCalendars) -> Self {
        self.calendars = calendars;
        self
    }

    /// The range in µs (unbounded ends as `i64::MIN` / `i64::MAX`).
    pub(crate) fn range_us(&self) -> Result<(i64, i64)> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(Error::EmptyRange { from, to });
        }
        Ok((
            self.from.map_or(i64::MIN, |t| t.timestamp_micros()),
            self.to.map_or(i64::MAX, |t| t.timestamp_micros()),
        ))
    }
}

/// OEE per machine or line and shift or day (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct Oee;

impl Oee {
    /// Computes OEE from the session's `machine_states` and `production_counts`; one row
    /// per entity and period with scheduled time, sorted by plant, line, machine, date and
    /// shift start. The schema is [`Oee::schema`].
    pub async fn compute(session: &Session, options: &OeeOptions) -> Result<RecordBatch> {
        compute(session.context(), options).await
    }

    /// The schema of [`Oee::compute`]'s result for an entity and period.
    pub fn schema(entity: Entity, period: Period) -> SchemaRef {
        let mut fields = key_fields(entity, period);
        let secs = |name: &str, doc: &str| field(name, DataType::Float64, false, doc);
        let ratio = |name: &str, doc: &str| field(name, DataType::Float64, true, doc);
        fields.extend([
            secs(
                "recorded_s",
                "scheduled shift time covered by state records (POT), s",
            ),
            secs("planned_stop_s", "time in PLANNED_STOP (PDOT), s"),
            secs("planned_busy_s", "recorded_s - planned_stop_s (PBT), s"),
            secs("run_s", "time in RUNNING (APT), s"),
            secs("idle_s", "time in IDLE, s"),
            secs("setup_s", "time in SETUP, s"),
            secs("down_s", "time in DOWN, s"),
            field("good_qty", DataType::Int64, false, "good units counted"),
            field(
                "scrap_qty",
                DataType::Int64,
                false,
                "scrapped units counted",
            ),
            secs("ideal_s", "sum of ideal_cycle_s x (good + scrap), s"),
            ratio("availability", "run_s / planned_busy_s"),
            ratio("performance", "ideal_s / run_s"),
            ratio("quality", "good / (good + scrap)"),
            ratio("oee", "availability x performance x quality"),
        ]);
        Arc::new(Schema::new(fields))
    }
}

pub(crate) async fn compute(ctx: &SessionContext, options: &OeeOptions) -> Result<RecordBatch> {
    let accounts = accounts(ctx, options).await?;
    let schema = Oee::schema(options.entity, options.period);
    let mut columns = key_columns(&accounts, options.entity, options.period);
    let a: Vec<&Account> = accounts.values().collect();
    let secs = |f: fn(&Account) -> i64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            a.iter().map(|x| f(x) as f64 / US_PER_SEC as f64),
        ))
    };
    columns.extend([
        secs(|x| x.recorded_us),
        secs(|x| x.planned_stop_us),
        secs(Account::planned_busy_us),
        secs(|x| x.run_us),
        secs(|x| x.idle_us),
        secs(|x| x.setup_us),
        secs(|x| x.down_us),
        Arc::new(Int64Array::from_iter_values(a.iter().map(|x| x.good))) as ArrayRef,
        Arc::new(Int64Array::from_iter_values(a.iter().map(|x| x.scrap))),
        Arc::new(Float64Array::from_iter_values(
            a.iter().map(|x| x.ideal_s()),
        )),
        Arc::new(Float64Array::from_iter(a.iter().map(|x| x.availability()))),
        Arc::new(Float64Array::from_iter(a.iter().map(|x| x.performance()))),
        Arc::new(Float64Array::from_iter(a.iter().map(|x| x.quality()))),
        Arc::new(Float64Array::from_iter(a.iter().map(|x| x.oee()))),
    ]);
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// A field with its meaning in the metadata (key `fabrik.doc`, as the domain tables).
pub(crate) fn field(name: &str, ty: DataType, nullable: bool, doc: &str) -> Field {
    Field::new(name, ty, nullable).with_metadata(HashMap::from([(
        fabrik_model::schema::META_DOC.to_string(),
        doc.to_string(),
    )]))
}

/// The key columns' fields of an entity and period.
pub(crate) fn key_fields(entity: Entity, period: Period) -> Vec<Field> {
    let mut fields = vec![
        field("plant_id", DataType::Utf8, false, "plant"),
        field("line_id", DataType::Utf8, false, "assembly line"),
    ];
    if entity == Entity::Machine {
        fields.push(field("machine_id", DataType::Utf8, false, "machine"));
    }
    match period {
        Period::Shift => fields.extend([
            field(
                "date",
                DataType::Date32,
                false,
                "local date the shift starts on",
            ),
            field("shift", DataType::Utf8, false, "shift name"),
            field(
                "shift_start",
                DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
                false,
                "start of the shift",
            ),
        ]),
        Period::Day => fields.push(field("date", DataType::Date32, false, "local date")),
    }
    fields
}

/// The key columns of the accounts, in their order.
pub(crate) fn key_columns(
    accounts: &BTreeMap<BucketKey, Account>,
    entity: Entity,
    period: Period,
) -> Vec<ArrayRef> {
    let keys: Vec<&BucketKey> = accounts.keys().collect();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| k.plant_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| k.line_id.as_str()),
        )),
    ];
    if entity == Entity::Machine {
        columns.push(Arc::new(StringArray::from_iter_values(
            keys.iter()
                .map(|k| k.machine_id.as_deref().unwrap_or_default()),
        )));
    }
    columns.push(Arc::new(Date32Array::from_iter_values(
        keys.iter().map(|k| Date32Type::from_naive_date(k.date)),
    )));
    if period == Period::Shift {
        columns.push(Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| k.shift.as_deref().unwrap_or_default()),
        )));
        columns.push(Arc::new(
            TimestampMicrosecondArray::from_iter_values(keys.iter().map(|k| k.shift_start_us))
                .with_timezone("UTC"),
        ));
    }
    columns
}

/// The group of a row of the result, in output order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BucketKey {
    pub plant_id: String,
    pub line_id: String,
    /// `None` for lines.
    pub machine_id: Option<String>,
    /// The local day, or the date the shift starts on.
    pub date: NaiveDate,
    /// The shift's start (0 for days).
    pub shift_start_us: i64,
    /// The shift's name (`None` for days).
    pub shift: Option<String>,
}

/// Time (µs) by state and units counted in one group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Account {
    pub recorded_us: i64,
    pub planned_stop_us: i64,
    pub run_us: i64,
    pub idle_us: i64,
    pub setup_us: i64,
    pub down_us: i64,
    pub good: i64,
    pub scrap: i64,
    /// Σ ideal_cycle_s × good.
    pub ideal_good_s: f64,
    /// Σ ideal_cycle_s × scrap.
    pub ideal_scrap_s: f64,
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

impl Account {
    fn add(&mut self, o: &Account) {
        self.recorded_us += o.recorded_us;
        self.planned_stop_us += o.planned_stop_us;
        self.run_us += o.run_us;
        self.idle_us += o.idle_us;
        self.setup_us += o.setup_us;
        self.down_us += o.down_us;
        self.good += o.good;
        self.scrap += o.scrap;
        self.ideal_good_s += o.ideal_good_s;
        self.ideal_scrap_s += o.ideal_scrap_s;
    }

    pub fn planned_busy_us(&self) -> i64 {
        self.recorded_us - self.planned_stop_us
    }

    pub fn ideal_s(&self) -> f64 {
        self.ideal_good_s + self.ideal_scrap_s
    }

    fn availability(&self) -> Option<f64> {
        ratio(self.run_us as f64, self.planned_busy_us() as f64)
    }

    fn performance(&self) -> Option<f64> {
        ratio(self.ideal_s() * US_PER_SEC as f64, self.run_us as f64)
    }

    fn quality(&self) -> Option<f64> {
        ratio(self.good as f64, (self.good + self.scrap) as f64)
    }

    fn oee(&self) -> Option<f64> {
        Some(self.availability()? * self.performance()? * self.quality()?)
    }
}

/// The states of `machine_states`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Idle,
    Setup,
    Down,
    PlannedStop,
}

impl State {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => State::Running,
            "IDLE" => State::Idle,
            "SETUP" => State::Setup,
            "DOWN" => State::Down,
            "PLANNED_STOP" => State::PlannedStop,
            _ => return None,
        })
    }
}

/// A machine's ids.
struct Ids {
    plant_id: String,
    line_id: String,
    machine_id: String,
}

/// Interns machines: index per machine id.
#[derive(Default)]
struct Machines {
    index: HashMap<String, usize>,
    ids: Vec<Ids>,
}

impl Machines {
    fn get(&mut self, plant: &str, line: &str, machine: &str) -> usize {
        if let Some(&i) = self.index.get(machine) {
            return i;
        }
        let i = self.ids.len();
        self.index.insert(machine.to_string(), i);
        self.ids.push(Ids {
            plant_id: plant.to_string(),
            line_id: line.to_string(),
            machine_id: machine.to_string(),
        });
        i
    }
}

struct StateRow {
    machine: usize,
    state: State,
    start_us: i64,
    end_us: i64,
}

struct CountRow {
    machine: usize,
    ts_us: i64,
    good: i64,
    scrap: i64,
    ideal_cycle_s: f64,
}

const STATES: &str = "machine_states";
const COUNTS: &str = "production_counts";

/// Time and units per group of the options (the work behind [`Oee`] and the six losses).
pub(crate) async fn accounts(
    ctx: &SessionContext,
    options: &OeeOptions,
) -> Result<BTreeMap<BucketKey, Account>> {
    let (from, to) = options.range_us()?;
    let mut machines = Machines::default();

    let mut states = ctx.table(STATES).await?;
    if from > i64::MIN {
        states = states.filter(col("end_ts").gt(ts_lit(from)))?;
    }
    if to < i64::MAX {
        states = states.filter(col("start_ts").lt(ts_lit(to)))?;
    }
    let states = states
        .select_columns(&[
            "plant_id",
            "line_id",
            "machine_id",
            "state",
            "start_ts",
            "end_ts",
        ])?
        .collect()
        .await?;
    let mut state_rows = Vec::new();
    for b in &states {
        let (plant, line, machine, state) = (
            text(b, STATES, "plant_id")?,
            text(b, STATES, "line_id")?,
            text(b, STATES, "machine_id")?,
            text(b, STATES, "state")?,
        );
        let (start, end) = (micros(b, STATES, "start_ts")?, micros(b, STATES, "end_ts")?);
        for i in 0..b.num_rows() {
            let (Some(s), Some(e)) = (start[i], end[i]) else {
                continue;
            };
            let (s, e) = (s.max(from), e.min(to));
            if s >= e {
                continue;
            }
            let m = machines.get(plant.value(i), line.value(i), machine.value(i));
            let st = State::parse(state.value(i)).ok_or_else(|| Error::UnknownState {
                machine_id: machine.value(i).to_string(),
                state: state.value(i).to_string(),
            })?;
            state_rows.push(StateRow {
                machine: m,
                state: st,
                start_us: s,
                end_us: e,
            });
        }
    }

    let mut counts = ctx.table(COUNTS).await?;
    if from > i64::MIN {
        counts = counts.filter(col("ts").gt(ts_lit(from)))?;
    }
    if to < i64::MAX {
        counts = counts.filter(col("ts").lt_eq(ts_lit(to)))?;
    }
    let counts = counts
        .select_columns(&[
            "plant_id",
            "line_id",
            "machine_id",
            "ts",
            "good_qty",
            "scrap_qty",
            "ideal_cycle_s",
        ])?
        .collect()
        .await?;
    let mut count_rows = Vec::new();
    for b in &counts {
        let (plant, line, machine) = (
            text(b, COUNTS, "plant_id")?,
            text(b, COUNTS, "line_id")?,
            text(b, COUNTS, "machine_id")?,
        );
        let ts = micros(b, COUNTS, "ts")?;
        let (good, scrap) = (ints(b, COUNTS, "good_qty")?, ints(b, COUNTS, "scrap_qty")?);
        let ideal = floats(b, COUNTS, "ideal_cycle_s")?;
        for i in 0..b.num_rows() {
            let Some(t) = ts[i] else { continue };
            count_rows.push(CountRow {
                machine: machines.get(plant.value(i), line.value(i), machine.value(i)),
                ts_us: t,
                good: good[i].unwrap_or(0),
                scrap: scrap[i].unwrap_or(0),
                ideal_cycle_s: ideal[i].unwrap_or(0.0),
            });
        }
    }

    // one timeline per plant over everything read of it
    let mut spans: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut widen = |m: usize, s: i64, e: i64| {
        let span = spans
            .entry(machines.ids[m].plant_id.as_str())
            .or_insert((s, e));
        *span = (span.0.min(s), span.1.max(e));
    };
    for r in &state_rows {
        widen(r.machine, r.start_us, r.end_us);
    }
    for c in &count_rows {
        widen(c.machine, c.ts_us - 1, c.ts_us);
    }
    let mut timelines: HashMap<&str, Timeline> = HashMap::new();
    for (plant, (s, e)) in spans {
        timelines.insert(plant, options.calendars.get(plant).timeline(s, e)?);
    }

    // accounts per (machine, bucket), then per output key
    type Inner = (usize, NaiveDate, i64, usize);
    let bucket = |m: usize, piece: &Piece, slot: ShiftSlot| -> Inner {
        match options.period {
            Period::Shift => (m, slot.date, slot.start_us, slot.shift),
            Period::Day => (m, piece.date, 0, usize::MAX),
        }
    };
    let mut inner: HashMap<Inner, Account> = HashMap::new();
    for r in &state_rows {
        let Some(tl) = timelines.get(machines.ids[r.machine].plant_id.as_str()) else {
            continue;
        };
        for piece in tl.split(r.start_us, r.end_us) {
            let Some(slot) = piece.working_slot() else {
                continue;
            };
            let acc = inner.entry(bucket(r.machine, &piece, slot)).or_default();
            let len = piece.len_us();
            acc.recorded_us += len;
            match r.state {
                State::Running => acc.run_us += len,
                State::Idle => acc.idle_us += len,
                State::Setup => acc.setup_us += len,
                State::Down => acc.down_us += len,
                State::PlannedStop => acc.planned_stop_us += len,
            }
        }
    }
    for c in &count_rows {
        let Some(tl) = timelines.get(machines.ids[c.machine].plant_id.as_str()) else {
            continue;
        };
        let Some(piece) = tl.piece_at(c.ts_us - 1) else {
            continue;
        };
        let Some(slot) = piece.working_slot() else {
            continue;
        };
        let acc = inner.entry(bucket(c.machine, piece, slot)).or_default();
        acc.good += c.good;
        acc.scrap += c.scrap;
        acc.ideal_good_s += c.ideal_cycle_s * c.good as f64;
        acc.ideal_scrap_s += c.ideal_cycle_s * c.scrap as f64;
    }

    let mut out: BTreeMap<BucketKey, Account> = BTreeMap::new();
    for ((m, date, shift_start_us, shift), acc) in inner {
        let ids = &machines.ids[m];
        let key = BucketKey {
            plant_id: ids.plant_id.clone(),
            line_id: ids.line_id.clone(),
            machine_id: (options.entity == Entity::Machine).then(|| ids.machine_id.clone()),
            date,
            shift_start_us,
            shift: (options.period == Period::Shift).then(|| {
                options.calendars.get(&ids.plant_id).shifts()[shift]
                    .name
                    .clone()
            }),
        };
        out.entry(key).or_default().add(&acc);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_null_without_a_denominator() {
        let a = Account {
            recorded_us: 10 * US_PER_SEC,
            planned_stop_us: 2 * US_PER_SEC,
            run_us: 4 * US_PER_SEC,
            idle_us: 4 * US_PER_SEC,
            good: 3,
            scrap: 1,
            ideal_good_s: 1.5,
            ideal_scrap_s: 0.5,
            ..Account::default()
        };
        assert_eq!(a.planned_busy_us(), 8 * US_PER_SEC);
        assert_eq!(a.availability(), Some(0.5));
        assert_eq!(a.performance(), Some(0.5));
        assert_eq!(a.quality(), Some(0.75));
        assert_eq!(a.oee(), Some(0.1875));
        let idle = Account {
            recorded_us: 5,
            planned_stop_us: 5,
            ..Account::default()
        };
        assert_eq!(
            (
                idle.availability(),
                idle.performance(),
                idle.quality(),
                idle.oee()
            ),
            (None, None, None, None)
        );
    }

    #[test]
    fn names_parse_back() {
        for e in [Entity::Machine, Entity::Line] {
            assert_eq!(Entity::parse(e.name()), Some(e));
        }
        for p in [Period::Shift, Period::Day] {
            assert_eq!(Period::parse(&p.name().to_uppercase()), Some(p));
        }
        assert_eq!(Entity::parse("plant"), None);
    }
}

//! The shop floor: production plan, machine state timelines, production counts and the
//! developing faults that end in breakdowns.
//!
//! Each plant builds the orders of its regions on their planned build day. A day's orders
//! are grouped by (family, capacity) and the groups spread over the lines; every station of
//! a line works the jobs in that order, a job becoming available to a station when the
//! station before it has finished it (day-0 jobs at the start of the window, later days at
//! 06:00 plant time). Between the plant's planned stops (shift changes, breaks, Sundays)
//! and its own maintenance, a station runs (counting units every 5 minutes), changes over
//! when an option it cares about changes, idles when starved or on micro-stops, and breaks
//! down — at random (reasons with Pareto-like frequencies and lognormal durations) or at the
//! end of a developing fault, whose onset hours earlier shows in one of its sensors.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, StringBuilder, TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use fabrik_model::Table;
use fabrik_model::vocab::MACHINE_STATES;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::calendar::{
    Stop, US_PER_DAY, US_PER_HOUR, US_PER_MIN, US_PER_SEC, day_of, merge_stops, planned_stops,
    weekday,
};
use crate::catalog::{Catalog, Config, MADE_TO_ORDER_FROM};
use crate::config::PlantConfig;
use crate::error::Result;
use crate::orders::{Built, OrderBook};
use crate::streams::{Purpose, cumulative, exponential, lognormal, pick, poisson, stream, uniform};
use crate::supply::Supply;
use crate::topology::{MachineType, Topology};

/// A machine state (index into `vocab::MACHINE_STATES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum State {
    Running = 0,
    Idle = 1,
    Setup = 2,
    Down = 3,
    PlannedStop = 4,
}

impl State {
    pub fn name(self) -> &'static str {
        MACHINE_STATES[self as usize]
    }
}

/// One row of `machine_states`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateInterval {
    pub machine: usize,
    pub state: State,
    pub reason: Option<Cow<'static, str>>,
    pub start: i64,
    pub end: i64,
    /// Order index (id − 1) while RUNNING or SETUP.
    pub order: Option<usize>,
}

/// One row of `production_counts`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Count {
    pub machine: usize,
    pub ts: i64,
    pub order: usize,
    pub good: i32,
    pub scrap: i32,
    pub ideal_cycle_s: f64,
    /// Index into `Supply::lots`.
    pub lot: Option<usize>,
}

/// A developing fault that ended in a breakdown (ground truth).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultPlan {
    pub machine: usize,
    pub sensor: usize,
    pub onset: i64,
    /// When the DOWN interval started.
    pub breakdown: i64,
    pub reason: &'static str,
    /// Where the sensor's value heads at the breakdown (beyond its operating limit).
    pub peak: f64,
}

/// Random failures: reason, median duration (minutes), log-sd. Listed by frequency rank;
/// weights fall as 1 / rank^1.2.
const FAILURES: [(&str, f64, f64); 10] = [
    ("material jam", 4.0, 0.8),
    ("sensor error", 6.0, 0.9),
    ("tool wear", 20.0, 0.7),
    ("material shortage", 35.0, 1.0),
    ("software fault", 10.0, 1.0),
    ("conveyor fault", 25.0, 0.9),
    ("electrical fault", 50.0, 1.1),
    ("operator absent", 15.0, 0.8),
    ("quality hold", 40.0, 0.9),
    ("safety stop", 8.0, 0.7),
];

/// The breakdown a developing fault on a metric ends in, and its median duration (minutes).
pub(crate) fn fault_reason(metric: &str) -> (&'static str, f64) {
    match metric {
        "vibration" => ("bearing failure", 180.0),
        "temperature" => ("overheating", 90.0),
        "current" => ("motor overload", 60.0),
        "pressure" => ("pneumatic leak", 45.0),
        _ => ("drive fault", 120.0),
    }
}

fn fault_weight(metric: &str) -> f64 {
    match metric {
        "vibration" => 5.0,
        "temperature" | "current" => 2.0,
        "pressure" => 1.5,
        _ => 1.0,
    }
}

/// Ideal cycle time (s) of a configuration on a station, given the plant's base cycle.
pub(crate) fn ideal_cycle_s(base: f64, kind: MachineType, machine_factor: f64, c: Config) -> f64 {
    let cap = f64::from(c.capacity);
    let f = match kind {
        MachineType::DrumWelder => {
            if c.capacity != 0 {
                0.85 * (1.0 + 0.03 * (cap - 8.0))
            } else {
                0.6
            }
        }
        MachineType::TubAssembly => match c.family {
            0 | 2 => 0.8 * (1.0 + 0.02 * (cap - 8.0)),
            1 => 0.5,
            3 => 0.7,
            _ => 0.9,
        },
        MachineType::MotorMount => 0.9 * [1.0, 1.05, 1.2][usize::from(c.motor)],
        MachineType::FinalTest => [1.0, 1.05, 1.2][usize::from(c.panel)],
        MachineType::Paint => {
            0.9 * if usize::from(c.color) >= MADE_TO_ORDER_FROM {
                1.25
            } else {
                1.0
            }
        }
    };
    (base * f * machine_factor * 10.0).round() / 10.0
}

/// The option a station changes over for between two configurations, with the median
/// setup time in minutes; `None` when it needs no changeover.
fn changeover(kind: MachineType, from: Config, to: Config) -> Option<(String, f64)> {
    let opt =
        |name: &str, a: String, b: String, minutes: f64| Some((format!("{name} {a}→{b}"), minutes));
    let (fa, fb) = (from.option_texts(), to.option_texts());
    if from.family != to.family {
        return opt("product_family", fa[0].clone(), fb[0].clone(), 20.0);
    }
    match kind {
        MachineType::DrumWelder | MachineType::TubAssembly if from.capacity != to.capacity => {
            opt("capacity_kg", fa[1].clone(), fb[1].clone(), 12.0)
        }
        MachineType::MotorMount if from.motor != to.motor => {
            opt("motor", fa[2].clone(), fb[2].clone(), 4.0)
        }
        MachineType::Paint if from.color != to.color => {
            let m = if usize::from(to.color) >= MADE_TO_ORDER_FROM {
                12.0
            } else {
                6.0
            };
            opt("color", fa[3].clone(), fb[3].clone(), m)
        }
        MachineType::FinalTest if from.panel != to.panel => {
            opt("panel", fa[4].clone(), fb[4].clone(), 1.5)
        }
        _ => None,
    }
}

/// A job: build `qty` good units of an order.
#[derive(Debug, Clone, Copy)]
struct Job {
    order: usize,
    config: Config,
    qty: i32,
}

/// What the shop floor did during the operations window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Operations {
    /// Sorted by (machine, start).
    pub states: Vec<StateInterval>,
    /// Range of each machine's intervals in `states`.
    pub states_of: Vec<Range<usize>>,
    /// Sorted by (machine, ts).
    pub counts: Vec<Count>,
    /// Sorted by (machine, breakdown).
    pub faults: Vec<FaultPlan>,
    /// What happened to each order planned in the window.
    pub built: HashMap<usize, Built>,
    /// Base cycle time (s) per plant.
    pub base_cycle_s: Vec<f64>,
}

struct MachineRun {
    states: Vec<StateInterval>,
    counts: Vec<Count>,
    faults: Vec<FaultPlan>,
    /// Finish time of every job (order index → instant), in job order.
    finished: Vec<(usize, i64)>,
    started: Vec<usize>,
}

impl Operations {
    /// Plans and simulates every line of every plant.
    pub fn simulate(
        config: &PlantConfig,
        topo: &Topology,
        catalog: &Catalog,
        orders: &OrderBook,
        supply: &Supply,
    ) -> Operations {
        let start = config.start_us();
        let end = config.end_us();
        let first_day = day_of(start);
        let days = i64::from(config.days);
        let n_plants = topo.plants.len();

        // jobs per (plant, window day)
        let mut by_plant_day: Vec<Vec<Job>> = vec![Vec::new(); n_plants * days as usize];
        for i in 0..orders.len() {
            let d = orders.build_day[i] - first_day;
            if orders.cancelled[i] || !(0..days).contains(&d) {
                continue;
            }
            let p = orders.plant_of(i, n_plants);
            by_plant_day[p * days as usize + d as usize].push(Job {
                order: i,
                config: orders.config[i],
                qty: orders.quantity[i],
            });
        }
        // spread each day's (family, capacity) groups over the plant's lines
        let lines_of_plant: Vec<Vec<usize>> = (0..n_plants)
            .map(|p| {
                (0..topo.lines.len())
                    .filter(|&l| topo.lines[l].plant == p)
                    .collect()
            })
            .collect();
        let mut line_jobs: Vec<Vec<(i64, Job)>> = vec![Vec::new(); topo.lines.len()];
        let mut base_cycle_s = vec![300.0; n_plants];
        for p in 0..n_plants {
            let lines = &lines_of_plant[p];
            let off = i64::from(topo.plants[p].utc_offset_hours) * US_PER_HOUR;
            let mut units_total = 0i64;
            for d in 0..days {
                let mut jobs = std::mem::take(&mut by_plant_day[p * days as usize + d as usize]);
                jobs.sort_by_key(|j| (j.config.family, j.config.capacity, j.order));
                let release = if d == 0 {
                    start
                } else {
                    (first_day + d) * US_PER_DAY + 6 * US_PER_HOUR - off
                };
                let mut load = vec![0i64; lines.len()];
                let mut k = 0;
                while k < jobs.len() {
                    let key = (jobs[k].config.family, jobs[k].config.capacity);
                    let mut e = k;
                    while e < jobs.len() && (jobs[e].config.family, jobs[e].config.capacity) == key
                    {
                        e += 1;
                    }
                    let target = (0..lines.len()).min_by_key(|&x| (load[x], x)).unwrap_or(0);
                    for job in &jobs[k..e] {
                        load[target] += i64::from(job.qty);
                        line_jobs[lines[target]].push((release, *job));
                    }
                    k = e;
                }
                units_total += load.iter().sum::<i64>();
            }
            // size the lines so that they are busy about 75 % of their open hours
            let open_s = days as f64 * 86_400.0 * (6.0 / 7.0) * 0.9 * lines.len() as f64;
            if units_total > 0 {
                base_cycle_s[p] = (0.75 * open_s / units_total as f64 / 1.12).clamp(20.0, 1800.0);
            }
        }

        let runs: Vec<Vec<MachineRun>> = (0..topo.lines.len())
            .into_par_iter()
            .map(|l| {
                let line = &topo.lines[l];
                let plant = line.plant;
                let stops = planned_stops(topo.plants[plant].utc_offset_hours, start, end);
                let mut releases: Vec<(i64, Job)> = line_jobs[l].clone();
                let mut runs = Vec::new();
                for m in line.machines.clone() {
                    let run = simulate_machine(
                        config,
                        topo,
                        catalog,
                        supply,
                        Station {
                            machine: m,
                            base_cycle_s: base_cycle_s[plant],
                            stops: &stops,
                        },
                        &releases,
                    );
                    // the next station gets each job when this one has finished it
                    let done: HashMap<usize, i64> = run.finished.iter().copied().collect();
                    releases = releases
                        .iter()
                        .filter_map(|(_, job)| done.get(&job.order).map(|&t| (t, *job)))
                        .collect();
                    runs.push(run);
                }
                runs
            })
            .collect();

        let mut ops = Operations {
            base_cycle_s,
            ..Operations::default()
        };
        for (l, line_runs) in runs.into_iter().enumerate() {
            let last = topo.lines[l].machines.end - 1;
            for (k, mut run) in line_runs.into_iter().enumerate() {
                let m = topo.lines[l].machines.start + k;
                for &o in &run.started {
                    ops.built.entry(o).or_insert(Built::Started);
                }
                if m == last {
                    for &(o, t) in &run.finished {
                        ops.built.insert(o, Built::Finished(t));
                    }
                }
                let s0 = ops.states.len();
                ops.states.append(&mut run.states);
                ops.states_of.push(s0..ops.states.len());
                ops.counts.append(&mut run.counts);
                ops.faults.append(&mut run.faults);
            }
        }
        // orders planned in the window that no station touched
        for jobs in &line_jobs {
            for (_, job) in jobs {
                ops.built.entry(job.order).or_insert(Built::NotStarted);
            }
        }
        ops
    }

    /// Rows `range` of `machine_states`.
    pub fn states_batch(&self, topo: &Topology, range: Range<usize>) -> Result<RecordBatch> {
        let s = &self.states[range];
        let n = s.len();
        let mut plant = StringBuilder::with_capacity(n, n * 3);
        let mut line = StringBuilder::with_capacity(n, n * 7);
        let mut machine = StringBuilder::with_capacity(n, n * 11);
        let mut state = StringBuilder::with_capacity(n, n * 8);
        let mut reason = StringBuilder::with_capacity(n, n * 12);
        for x in s {
            let m = &topo.machines[x.machine];
            plant.append_value(&topo.plants[m.plant].id);
            line.append_value(&topo.lines[m.line].id);
            machine.append_value(&m.id);
            state.append_value(x.state.name());
            reason.append_option(x.reason.as_deref());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(plant.finish()),
            Arc::new(line.finish()),
            Arc::new(machine.finish()),
            Arc::new(state.finish()),
            Arc::new(reason.finish()),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(s.iter().map(|x| x.start))
                    .with_timezone("UTC"),
            ),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(s.iter().map(|x| x.end))
                    .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from_iter(
                s.iter().map(|x| x.order.map(|o| o as i64 + 1)),
            )),
        ];
        Ok(RecordBatch::try_new(
            Table::MachineStates.schema(),
            columns,
        )?)
    }

    /// Rows `range` of `production_counts`.
    pub fn counts_batch(
        &self,
        topo: &Topology,
        orders: &OrderBook,
        supply: &Supply,
        range: Range<usize>,
    ) -> Result<RecordBatch> {
        let c = &self.counts[range];
        let n = c.len();
        let mut sku_of: HashMap<u32, String> = HashMap::new();
        let mut plant = StringBuilder::with_capacity(n, n * 3);
        let mut line = StringBuilder::with_capacity(n, n * 7);
        let mut machine = StringBuilder::with_capacity(n, n * 11);
        let mut sku = StringBuilder::with_capacity(n, n * 17);
        let mut lot = StringBuilder::with_capacity(n, n * 18);
        for x in c {
            let m = &topo.machines[x.machine];
            plant.append_value(&topo.plants[m.plant].id);
            line.append_value(&topo.lines[m.line].id);
            machine.append_value(&m.id);
            let cfg = orders.config[x.order];
            sku.append_value(sku_of.entry(cfg.code()).or_insert_with(|| cfg.sku()));
            lot.append_option(x.lot.map(|l| supply.lots[l].id.as_str()));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(plant.finish()),
            Arc::new(line.finish()),
            Arc::new(machine.finish()),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(c.iter().map(|x| x.ts))
                    .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from_iter_values(
                c.iter().map(|x| x.order as i64 + 1),
            )),
            Arc::new(sku.finish()),
            Arc::new(Int32Array::from_iter_values(c.iter().map(|x| x.good))),
            Arc::new(Int32Array::from_iter_values(c.iter().map(|x| x.scrap))),
            Arc::new(Float64Array::from_iter_values(
                c.iter().map(|x| x.ideal_cycle_s),
            )),
            Arc::new(lot.finish()),
        ];
        Ok(RecordBatch::try_new(
            Table::ProductionCounts.schema(),
            columns,
        )?)
    }
}

struct Station<'a> {
    machine: usize,
    base_cycle_s: f64,
    stops: &'a [Stop],
}

/// A developing fault as scheduled (the breakdown may come later if the machine is stopped).
struct Scheduled {
    sensor: usize,
    onset: i64,
    breakdown: i64,
    peak: f64,
}

fn schedule_faults(config: &PlantConfig, topo: &Topology, machine: usize) -> Vec<Scheduled> {
    let start = config.start_us();
    let end = config.end_us();
    let mut rng = stream(config.seed, Purpose::Fault, machine as u64, 0);
    let sensors = topo.machines[machine].sensors.clone();
    let weights: Vec<f64> = sensors
        .clone()
        .map(|s| fault_weight(topo.sensors[s].metric))
        .collect();
    let cum = cumulative(&weights);
    let n = poisson(&mut rng, config.fault_rate * f64::from(config.days));
    let earliest = start + 3 * US_PER_HOUR;
    let mut out: Vec<Scheduled> = Vec::new();
    for _ in 0..n {
        if earliest >= end {
            break;
        }
        let breakdown = rng.random_range(earliest..end);
        let max_lead = (breakdown - start).min(36 * US_PER_HOUR);
        let lead = rng.random_range((2 * US_PER_HOUR).min(max_lead)..=max_lead);
        let sensor = sensors.start + pick(&mut rng, &cum);
        let metric = topo.sensors[sensor].metric;
        let (lo, hi) = fabrik_model::vocab::operating_limits(metric).unwrap_or((0.0, 1.0));
        let peak = if metric == "pressure" {
            lo * uniform(&mut rng, 0.5, 0.9)
        } else {
            hi * uniform(&mut rng, 1.1, 1.4)
        };
        out.push(Scheduled {
            sensor,
            onset: breakdown - lead,
            breakdown,
            peak,
        });
    }
    out.sort_by_key(|f| f.breakdown);
    // keep breakdowns at least 8 h apart
    let mut kept: Vec<Scheduled> = Vec::with_capacity(out.len());
    for f in out {
        if kept
            .last()
            .is_none_or(|k| f.breakdown >= k.breakdown + 8 * US_PER_HOUR)
        {
            kept.push(f);
        }
    }
    kept
}

/// A machine's own planned maintenance: 2–3.5 h after the 06:00 shift change, about every
/// ten days, on a Tuesday to Friday.
fn maintenance(rng: &mut ChaCha8Rng, offset_hours: i32, start: i64, end: i64) -> Vec<Stop> {
    let off = i64::from(offset_hours) * US_PER_HOUR;
    let days = (end - start) / US_PER_DAY;
    let n = poisson(rng, days as f64 / 10.0);
    let mut out = Vec::new();
    for _ in 0..n {
        let d = day_of(start) + rng.random_range(0..days.max(1));
        if !(1..=4).contains(&weekday(d)) {
            continue;
        }
        let s = d * US_PER_DAY - off + 6 * US_PER_HOUR + 15 * US_PER_MIN;
        let dur = rng.random_range(2 * US_PER_HOUR..7 * US_PER_HOUR / 2);
        out.push(Stop {
            start: s,
            end: s + dur,
            reason: "planned maintenance",
        });
    }
    out
}

fn push_interval(out: &mut Vec<StateInterval>, iv: StateInterval, end: i64) {
    let iv = StateInterval {
        end: iv.end.min(end),
        ..iv
    };
    if iv.end <= iv.start {
        return;
    }
    if let Some(last) = out.last_mut()
        && last.end == iv.start
        && last.state == iv.state
        && last.reason == iv.reason
        && last.order == iv.order
    {
        last.end = iv.end;
        return;
    }
    out.push(iv);
}

struct Open {
    job: Job,
    good: i32,
    /// Fraction of the current unit done.
    progress: f64,
}

fn simulate_machine(
    config: &PlantConfig,
    topo: &Topology,
    catalog: &Catalog,
    supply: &Supply,
    station: Station<'_>,
    releases: &[(i64, Job)],
) -> MachineRun {
    let m = station.machine;
    let machine = &topo.machines[m];
    let kind = machine.kind;
    let start = config.start_us();
    let end = config.end_us();
    let mut rng = stream(config.seed, Purpose::Machine, m as u64, 0);
    let mut scrap_rng = stream(config.seed, Purpose::Scrap, m as u64, 0);
    let machine_factor = uniform(&mut rng, 0.95, 1.05);
    let slowness = uniform(&mut rng, 1.05, 1.2);
    let base_scrap = uniform(&mut rng, 0.004, 0.015);
    let mtbf_us = uniform(&mut rng, 2.5, 6.0) * US_PER_HOUR as f64;
    let micro_us = 45.0 * US_PER_MIN as f64;
    let failure_cum = cumulative(
        &(1..=FAILURES.len())
            .map(|r| 1.0 / (r as f64).powf(1.2))
            .collect::<Vec<_>>(),
    );

    let mut stops: Vec<Stop> = station.stops.to_vec();
    stops.extend(maintenance(
        &mut rng,
        topo.plants[machine.plant].utc_offset_hours,
        start,
        end,
    ));
    let stops = merge_stops(stops);
    let scheduled = schedule_faults(config, topo, m);

    let mut run = MachineRun {
        states: Vec::new(),
        counts: Vec::new(),
        faults: Vec::new(),
        finished: Vec::new(),
        started: Vec::new(),
    };
    let mut queue: VecDeque<Open> = VecDeque::new();
    let mut next_release = 0usize;
    let mut configured: Option<Config> = releases.first().map(|(_, j)| j.config);
    let mut fail_left = exponential(&mut rng, mtbf_us) as i64 + 1;
    let mut micro_left = exponential(&mut rng, micro_us) as i64 + 1;
    let mut after_setup = false;
    let mut stop_i = 0usize;
    let mut fault_i = 0usize;
    let mut t = start;
    let state = |state: State,
                 reason: Option<Cow<'static, str>>,
                 start: i64,
                 end: i64,
                 order: Option<usize>| StateInterval {
        machine: m,
        state,
        reason,
        start,
        end,
        order,
    };

    while t < end {
        while next_release < releases.len() && releases[next_release].0 <= t {
            queue.push_back(Open {
                job: releases[next_release].1,
                good: 0,
                progress: 0.0,
            });
            next_release += 1;
        }
        while stop_i < stops.len() && stops[stop_i].end <= t {
            stop_i += 1;
        }
        if let Some(s) = stops.get(stop_i)
            && s.start <= t
        {
            push_interval(
                &mut run.states,
                state(
                    State::PlannedStop,
                    Some(Cow::Borrowed(s.reason)),
                    t,
                    s.end,
                    None,
                ),
                end,
            );
            t = s.end;
            continue;
        }
        let next_stop = stops.get(stop_i).map_or(end, |s| s.start.min(end));
        if let Some(f) = scheduled.get(fault_i)
            && f.breakdown <= t
        {
            let metric = topo.sensors[f.sensor].metric;
            let (reason, median) = fault_reason(metric);
            let dur = (lognormal(&mut rng, median, 0.5) * US_PER_MIN as f64) as i64 + US_PER_MIN;
            push_interval(
                &mut run.states,
                state(State::Down, Some(Cow::Borrowed(reason)), t, t + dur, None),
                end,
            );
            run.faults.push(FaultPlan {
                machine: m,
                sensor: f.sensor,
                onset: f.onset,
                breakdown: t,
                reason,
                peak: f.peak,
            });
            fault_i += 1;
            t += dur;
            fail_left = exponential(&mut rng, mtbf_us) as i64 + 1;
            continue;
        }
        let next_fault = scheduled.get(fault_i).map_or(i64::MAX, |f| f.breakdown);
        let Some(open) = queue.front_mut() else {
            let until = releases
                .get(next_release)
                .map_or(end, |r| r.0)
                .min(next_stop)
                .min(next_fault)
                .min(end);
            push_interval(
                &mut run.states,
                state(State::Idle, None, t, until, None),
                end,
            );
            t = until;
            continue;
        };
        let job = open.job;
        if let Some(from) = configured
            && let Some((what, minutes)) = changeover(kind, from, job.config)
        {
            let dur = (lognormal(&mut rng, minutes, 0.3) * US_PER_MIN as f64) as i64 + US_PER_SEC;
            let reason = format!("changeover {}→{} ({what})", from.sku(), job.config.sku());
            push_interval(
                &mut run.states,
                state(
                    State::Setup,
                    Some(Cow::Owned(reason)),
                    t,
                    t + dur,
                    Some(job.order),
                ),
                end,
            );
            configured = Some(job.config);
            after_setup = true;
            t += dur;
            continue;
        }
        configured = Some(job.config);

        // RUNNING until the job is done or something interrupts it, counting every 5 minutes
        let ideal = ideal_cycle_s(station.base_cycle_s, kind, machine_factor, job.config);
        let part = catalog.critical_part(kind, job.config);
        if open.good == 0 && open.progress == 0.0 {
            run.started.push(job.order);
        }
        let run_start = t;
        let mut done = false;
        loop {
            let boundary = (t.div_euclid(5 * US_PER_MIN) + 1) * 5 * US_PER_MIN;
            let mut seg_end = boundary
                .min(next_stop)
                .min(next_fault)
                .min(end)
                .min(t + fail_left)
                .min(t + micro_left);
            let x = fault_progress(&scheduled, t);
            let cycle_us = ideal * slowness * (1.0 + 0.25 * x * x) * US_PER_SEC as f64;
            let lot_index = supply.lot_in_use(machine.plant, part, t);
            let lot_bad = lot_index.is_some_and(|l| supply.lots[l].bad);
            let p_scrap = base_scrap * (1.0 + 8.0 * x * x) * if lot_bad { 6.0 } else { 1.0 };
            let (mut good, mut scrap) = (0i32, 0i32);
            let mut cur = t;
            loop {
                let t_unit = cur + ((1.0 - open.progress) * cycle_us).ceil() as i64;
                if t_unit > seg_end {
                    open.progress += (seg_end - cur) as f64 / cycle_us;
                    break;
                }
                open.progress = 0.0;
                cur = t_unit;
                let p = if after_setup {
                    (p_scrap * 4.0).min(0.9)
                } else {
                    p_scrap.min(0.9)
                };
                after_setup = false;
                if scrap_rng.random::<f64>() < p {
                    scrap += 1;
                } else {
                    good += 1;
                    open.good += 1;
                    if open.good >= job.qty {
                        seg_end = t_unit;
                        done = true;
                        break;
                    }
                }
            }
            run.counts.push(Count {
                machine: m,
                ts: seg_end,
                order: job.order,
                good,
                scrap,
                ideal_cycle_s: ideal,
                lot: lot_index,
            });
            fail_left -= seg_end - t;
            micro_left -= seg_end - t;
            t = seg_end;
            if done
                || t >= next_stop
                || t >= next_fault
                || t >= end
                || fail_left <= 0
                || micro_left <= 0
            {
                break;
            }
        }
        push_interval(
            &mut run.states,
            state(State::Running, None, run_start, t, Some(job.order)),
            end,
        );
        if done {
            run.finished.push((job.order, t));
            queue.pop_front();
        }
        if fail_left <= 0 && t < end {
            let (reason, median, sigma) = FAILURES[pick(&mut rng, &failure_cum)];
            let dur =
                (lognormal(&mut rng, median, sigma) * US_PER_MIN as f64) as i64 + 30 * US_PER_SEC;
            push_interval(
                &mut run.states,
                state(State::Down, Some(Cow::Borrowed(reason)), t, t + dur, None),
                end,
            );
            t += dur;
            fail_left = exponential(&mut rng, mtbf_us) as i64 + 1;
        } else if micro_left <= 0 && t < end {
            // starved or blocked for a few minutes
            let dur = rng.random_range(US_PER_MIN..8 * US_PER_MIN);
            push_interval(
                &mut run.states,
                state(State::Idle, None, t, t + dur, None),
                end,
            );
            t += dur;
            micro_left = exponential(&mut rng, micro_us) as i64 + 1;
        }
    }
    run
}

/// How far the most advanced developing fault of a machine is at `t` (0 = none, 1 = at breakdown).
fn fault_progress(scheduled: &[Scheduled], t: i64) -> f64 {
    scheduled
        .iter()
        .filter(|f| f.onset <= t && t < f.breakdown)
        .map(|f| (t - f.onset) as f64 / (f.breakdown - f.onset).max(1) as f64)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> (PlantConfig, Topology, OrderBook, Operations) {
        let config = PlantConfig {
            days: 2,
            order_history_days: 40,
            fault_rate: 1.0,
            ..PlantConfig::tiny(11)
        };
        let topo = Topology::new(&config);
        let catalog = Catalog::new();
        let orders = OrderBook::generate(&config);
        let supply = Supply::generate(&config, &topo, &catalog, &orders);
        let ops = Operations::simulate(&config, &topo, &catalog, &orders, &supply);
        (config, topo, orders, ops)
    }

    #[test]
    fn states_cover_the_window_without_overlap() {
        let (config, topo, _, ops) = plant();
        assert_eq!(ops.states_of.len(), topo.machines.len());
        for r in &ops.states_of {
            let s = &ops.states[r.clone()];
            assert_eq!(s.first().map(|x| x.start), Some(config.start_us()));
            assert_eq!(s.last().map(|x| x.end), Some(config.end_us()));
            assert!(s.windows(2).all(|w| w[0].end == w[1].start));
            for x in s {
                assert!(x.end > x.start);
                let needs_reason =
                    matches!(x.state, State::Setup | State::Down | State::PlannedStop);
                assert_eq!(x.reason.is_some(), needs_reason, "{x:?}");
                assert_eq!(
                    x.order.is_some(),
                    matches!(x.state, State::Running | State::Setup),
                    "{x:?}"
                );
            }
        }
        let states: std::collections::HashSet<State> = ops.states.iter().map(|s| s.state).collect();
        for want in [State::Running, State::Idle, State::PlannedStop, State::Down] {
            assert!(states.contains(&want), "{want:?} never happens");
        }
    }

    #[test]
    fn counts_follow_running_intervals() {
        let (_, _, orders, ops) = plant();
        assert!(!ops.counts.is_empty());
        let good: i64 = ops.counts.iter().map(|c| i64::from(c.good)).sum();
        assert!(good > 0);
        for c in &ops.counts {
            assert!(c.order < orders.len() && c.good >= 0 && c.scrap >= 0 && c.ideal_cycle_s > 0.0);
            let r = &ops.states_of[c.machine];
            let in_run = ops.states[r.clone()].iter().any(|s| {
                s.state == State::Running
                    && s.order == Some(c.order)
                    && s.start < c.ts
                    && c.ts <= s.end
            });
            assert!(
                in_run,
                "count at {} outside a RUNNING interval of its order",
                c.ts
            );
        }
        assert!(
            ops.counts
                .windows(2)
                .all(|w| (w[0].machine, w[0].ts) < (w[1].machine, w[1].ts))
        );
    }

    #[test]
    fn faults_end_in_down_intervals() {
        let (_, _, _, ops) = plant();
        assert!(
            !ops.faults.is_empty(),
            "fault_rate 1.0 over 2 machine-days should give faults"
        );
        for f in &ops.faults {
            assert!(f.onset < f.breakdown);
            let r = &ops.states_of[f.machine];
            assert!(ops.states[r.clone()].iter().any(|s| s.state == State::Down
                && s.start == f.breakdown
                && s.reason.as_deref() == Some(f.reason)));
        }
    }

    #[test]
    fn changeovers_name_the_option() {
        let a = Config {
            family: 0,
            capacity: 8,
            motor: 0,
            color: 0,
            panel: 0,
        };
        let b = Config { capacity: 9, ..a };
        let (why, _) = changeover(MachineType::DrumWelder, a, b).expect("drum size change");
        assert_eq!(why, "capacity_kg 8→9");
        assert!(changeover(MachineType::Paint, a, b).is_none());
        let c = Config { color: 3, ..a };
        assert_eq!(
            changeover(MachineType::Paint, a, c).map(|x| x.0),
            Some("color white→graphite".to_string())
        );
    }
}

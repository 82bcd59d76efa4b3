//! Order sequencing: the order in which one line builds a day's orders, so that it spends
//! fewer minutes changing over between configurations and misses fewer due times.
//!
//! # The problem
//!
//! A line builds one order at a time. Each [`Order`] needs a configuration of the line
//! (an index into a [`SetupMatrix`]: the minutes to change from one configuration to
//! another, asymmetric allowed, the diagonal being the time between two orders of one
//! configuration, usually 0), a processing time, and may have a due time. The line
//! starts the day at time 0 in an initial configuration. Building the orders in a
//! sequence `o₁ … oₙ`:
//!
//! ```text
//! Cₖ = Cₖ₋₁ + S[conf(oₖ₋₁)][conf(oₖ)] + p(oₖ),   C₀ = 0, conf(o₀) = the initial configuration
//! ```
//!
//! `Cₖ` is the completion time of the `k`-th order; the order is late by
//! `Tₖ = max(0, Cₖ − due(oₖ))` (never late without a due time). Times are integers in one
//! unit — minutes from the day's start in the names here, but any unit (seconds…) works
//! when every input uses it. A due time may be negative (an order already overdue when
//! the day starts); processing and changeover times may not.
//!
//! # The objective
//!
//! Lexicographic: first the **total tardiness** `Σ Tₖ` (minutes late, summed over the
//! orders), then the **total changeover minutes** `Σ S[…][…]` (equivalently the
//! makespan). Total tardiness rather than the count of late orders: it does not trade one
//! order two hours late for two orders a minute late, and it still drives every late
//! order's lateness down. With no due time at all, the first term is 0 and the problem is
//! to minimise changeovers: an asymmetric travelling-salesman path.
//!
//! # The algorithms
//!
//! - [`sequence_exact`]: the optimum, by dynamic programming over (set of orders built,
//!   last order) with Pareto-optimal (tardiness, time) labels — exact for any setup matrix
//!   and due times (a label with no more tardiness and no later time dominates: the rest
//!   of the day can only do as well from it). Up to [`EXACT_MAX_ORDERS`] orders.
//! - [`sequence`]: a deterministic heuristic.
//!   - *Starts*: input order (FIFO); earliest due date; the orders grouped by
//!     configuration (each group in earliest-due order) with the groups ordered
//!     optimally by the same dynamic programme over groups (Held-Karp when there is no
//!     due time) up to [`GROUP_DP_MAX`] groups ([`GROUP_DP_MAX_DUE`] with due times), by
//!     nearest neighbour from the initial configuration, and by each group's earliest due
//!     time; with due times, the apparent-tardiness-cost-with-setups rule (ATCS, Lee,
//!     Bhaskaran & Pinedo 1997) over a grid of its two look-ahead parameters. On days of
//!     more than 40 orders only the 3 best starts are searched.
//!   - *Local search* (variable neighbourhood descent) from each start: first-improvement
//!     moves — relocating a segment of 1 to 3 orders, or a whole run of one
//!     configuration, swapping two orders, reversing a segment (within
//!     [`SequenceOptions::reach`] positions) — until none improves; then every window of
//!     [`SequenceOptions::window`] consecutive orders re-sequenced exactly, and windows
//!     of 10 consecutive runs of one configuration re-ordered exactly as blocks (the same
//!     Pareto programme, finished with the unchanged rest of the day); again while
//!     anything improves, within the caps of [`SequenceOptions`].
//!   - *Iterated local search* on days of 4 to 40 orders: 30 double-bridge kicks
//!     (cut points from a fixed-seed stream) of the best sequence, each searched again and
//!     kept when better.
//!
//!   Up to [`SequenceOptions::exact_up_to`] orders the exact programme is used instead.
//!   The plan is never worse than FIFO: when nothing beats the input order strictly, the
//!   input order is the plan. On random days of 8 to 12 orders the heuristic alone
//!   reaches the exact optimum every time we tried (7,000 days, half with tight due
//!   times; see the crate's integration tests); on a 200-order day it takes about half a
//!   second to two seconds (release build).
//!
//! Everything is deterministic: ties keep the earlier candidate (input order first).

mod cost;
mod exact;
mod search;

use std::collections::HashSet;

use crate::error::{Error, Result};
use cost::{Cost, Instance, Walk};

/// The largest instance [`sequence_exact`] takes: its dynamic programme has
/// `n · 2ⁿ` states.
pub const EXACT_MAX_ORDERS: usize = 12;

/// The most configuration groups the heuristic orders exactly when no order has a due
/// time (Held-Karp, `G² · 2ᴳ` steps).
pub const GROUP_DP_MAX: usize = 15;

/// The most configuration groups the heuristic orders exactly when some order has a due
/// time (more labels per state).
pub const GROUP_DP_MAX_DUE: usize = 12;

/// The largest time (in magnitude) an input may have: about 1.9 million years of
/// minutes, so that the sums of a day's schedule cannot overflow.
pub const MAX_TIME: i64 = 1 << 40;

/// One order to build.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Order {
    /// The order's id (unique in a day's orders).
    pub id: String,
    /// The line configuration it needs: a row of the [`SetupMatrix`].
    pub config: usize,
    /// Processing minutes (zero or positive).
    pub processing: i64,
    /// The due time in minutes from the day's start, if any.
    pub due: Option<i64>,
}

impl Order {
    /// An order.
    pub fn new(id: impl Into<String>, config: usize, processing: i64, due: Option<i64>) -> Self {
        Order {
            id: id.into(),
            config,
            processing,
            due,
        }
    }
}

/// The changeover minutes between the configurations of a line: `minutes(from, to)`,
/// square, asymmetric allowed, every entry zero or positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupMatrix {
    configs: usize,
    minutes: Vec<i64>,
}

impl SetupMatrix {
    /// The matrix of these rows (row = configuration changed from).
    pub fn new(rows: &[Vec<i64>]) -> Result<Self> {
        let configs = rows.len();
        let mut minutes = Vec::with_capacity(configs * configs);
        for (row, r) in rows.iter().enumerate() {
            if r.len() != configs {
                return Err(Error::SetupNotSquare {
                    row,
                    len: r.len(),
                    expected: configs,
                });
            }
            minutes.extend_from_slice(r);
        }
        SetupMatrix::check(configs, minutes)
    }

    /// The `configs × configs` matrix whose entry `(from, to)` is `f(from, to)`.
    pub fn from_fn(configs: usize, f: impl Fn(usize, usize) -> i64) -> Result<Self> {
        let minutes = (0..configs * configs)
            .map(|i| f(i / configs, i % configs))
            .collect();
        SetupMatrix::check(configs, minutes)
    }

    fn check(configs: usize, minutes: Vec<i64>) -> Result<Self> {
        if let Some(i) = minutes.iter().position(|&m| !(0..=MAX_TIME).contains(&m)) {
            let (from, to) = (i / configs, i % configs);
            if minutes[i] < 0 {
                return Err(Error::NegativeSetup {
                    from,
                    to,
                    minutes: minutes[i],
                });
            }
            return Err(Error::SetupTooLarge {
                from,
                to,
                minutes: minutes[i],
                limit: MAX_TIME,
            });
        }
        Ok(SetupMatrix { configs, minutes })
    }

    /// The number of configurations.
    pub fn configs(&self) -> usize {
        self.configs
    }

    /// The minutes to change from configuration `from` to `to`; `None` outside the matrix.
    pub fn minutes(&self, from: usize, to: usize) -> Option<i64> {
        (from < self.configs && to < self.configs).then(|| self.minutes[from * self.configs + to])
    }
}

/// An order the schedule completes after its due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Late {
    /// The order's index in the input.
    pub order: usize,
    /// Its completion time.
    pub completion: i64,
    /// Its due time.
    pub due: i64,
    /// Minutes late (`completion − due`, positive).
    pub minutes: i64,
}

/// A sequence of the orders and its figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The orders' input indices, in build order.
    pub sequence: Vec<usize>,
    /// The changeover minutes before each order of `sequence` (from the previous order's
    /// configuration, or the initial one).
    pub changeover: Vec<i64>,
    /// The completion time of each order of `sequence`.
    pub completion: Vec<i64>,
    /// The total changeover minutes.
    pub changeover_minutes: i64,
    /// The total tardiness: minutes late summed over the orders.
    pub tardiness_minutes: i64,
    /// The late orders, in build order.
    pub late: Vec<Late>,
    /// The completion time of the last order (0 without orders).
    pub makespan: i64,
}

impl Schedule {
    fn build(inst: &Instance, sequence: Vec<usize>) -> Schedule {
        let n = sequence.len();
        let mut changeover = Vec::with_capacity(n);
        let mut completion = Vec::with_capacity(n);
        let mut late = Vec::new();
        let mut walk = Walk::start(inst);
        for &o in &sequence {
            let before = walk;
            walk.step(inst, o);
            changeover.push(walk.cost.changeover - before.cost.changeover);
            completion.push(walk.time);
            let due = inst.due[o];
            if walk.time > due {
                late.push(Late {
                    order: o,
                    completion: walk.time,
                    due,
                    minutes: walk.time - due,
                });
            }
        }
        Schedule {
            sequence,
            changeover,
            completion,
            changeover_minutes: walk.cost.changeover,
            tardiness_minutes: walk.cost.tardiness,
            late,
            makespan: walk.time,
        }
    }

    fn cost(&self) -> Cost {
        Cost {
            tardiness: self.tardiness_minutes,
            changeover: self.changeover_minutes,
        }
    }
}

/// The plan for a day's orders beside the input order (FIFO), so a report can say what
/// the plan saves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceReport {
    /// The plan: never worse than `fifo` on the objective (lexicographic total tardiness,
    /// then changeover minutes); `fifo` itself when nothing beat it.
    pub plan: Schedule,
    /// The orders in input order.
    pub fifo: Schedule,
    /// Whether the plan is proven optimal (found by the exact programme).
    pub optimal: bool,
}

impl SequenceReport {
    /// Changeover minutes the plan saves against FIFO (negative when it spends more
    /// changeover to be less late).
    pub fn changeover_saved(&self) -> i64 {
        self.fifo.changeover_minutes - self.plan.changeover_minutes
    }

    /// Minutes of total tardiness the plan saves against FIFO (never negative).
    pub fn tardiness_saved(&self) -> i64 {
        self.fifo.tardiness_minutes - self.plan.tardiness_minutes
    }

    /// How many fewer orders are late in the plan than in FIFO (may be negative: the
    /// objective is total tardiness, not the count).
    pub fn late_orders_saved(&self) -> i64 {
        self.fifo.late.len() as i64 - self.plan.late.len() as i64
    }
}

/// The knobs of [`sequence_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceOptions {
    /// Up to this many orders the exact programme is used (capped at
    /// [`EXACT_MAX_ORDERS`]); 0 always uses the heuristic. Default 10.
    pub exact_up_to: usize,
    /// The most improving moves the local search accepts from one start. Default 10,000.
    pub max_moves: usize,
    /// The most candidate moves the local search evaluates from one start (each costs at
    /// most O(n); a window counts as `2^window`). Default 2,000,000.
    pub max_evaluations: u64,
    /// How far (in positions) a segment of 1 to 3 orders may move, and the most orders a
    /// swap or a reversal spans. Default 50. A whole run of one configuration moves
    /// anywhere.
    pub reach: usize,
    /// The windows of consecutive orders the local search re-sequences exactly (0 or 1:
    /// none; at most 16). Default 6.
    pub window: usize,
}

impl Default for SequenceOptions {
    fn default() -> Self {
        SequenceOptions {
            exact_up_to: 10,
            max_moves: 10_000,
            max_evaluations: 2_000_000,
            reach: 50,
            window: 7,
        }
    }
}

/// Checks the input and builds the instance the algorithms work on.
fn instance(orders: &[Order], setup: &SetupMatrix, initial: usize) -> Result<Instance> {
    let configurations = setup.configs;
    if initial >= configurations {
        return Err(Error::InitialConfiguration {
            config: initial,
            configurations,
        });
    }
    let mut ids = HashSet::with_capacity(orders.len());
    let mut largest: Option<(usize, i64)> = None;
    for (i, o) in orders.iter().enumerate() {
        if o.config >= configurations {
            return Err(Error::UnknownConfiguration {
                order: o.id.clone(),
                config: o.config,
                configurations,
            });
        }
        if o.processing < 0 {
            return Err(Error::NegativeProcessing {
                order: o.id.clone(),
                minutes: o.processing,
            });
        }
        if !ids.insert(o.id.as_str()) {
            return Err(Error::DuplicateOrder {
                order: o.id.clone(),
            });
        }
        for t in [Some(o.processing), o.due].into_iter().flatten() {
            if largest.is_none_or(|(_, m)| t.unsigned_abs() > m.unsigned_abs()) {
                largest = Some((i, t));
            }
        }
    }
    // Every completion time is at most the horizon H = Σ p + n · max S, and every
    // lateness at most H + max(−due); the sum of n latenesses must fit in an i64.
    let n = orders.len() as i128;
    let max_setup = setup.minutes.iter().copied().max().unwrap_or(0) as i128;
    let horizon: i128 = orders.iter().map(|o| o.processing as i128).sum::<i128>() + n * max_setup;
    let earliest_due = orders
        .iter()
        .filter_map(|o| o.due)
        .min()
        .unwrap_or(0)
        .min(0) as i128;
    let bound = n * (horizon - earliest_due);
    if let Some((i, t)) = largest
        && (t.unsigned_abs() > MAX_TIME as u64 || bound > i64::MAX as i128 / 2)
    {
        return Err(Error::TimeOverflow {
            orders: orders.len(),
            order: orders[i].id.clone(),
            minutes: t,
        });
    }
    Ok(Instance {
        config: orders.iter().map(|o| o.config).collect(),
        processing: orders.iter().map(|o| o.processing).collect(),
        due: orders
            .iter()
            .map(|o| o.due.unwrap_or(cost::NO_DUE))
            .collect(),
        setup: setup.minutes.clone(),
        configs: configurations,
        initial,
    })
}

/// The figures of a given sequence of the orders (their input indices, each once).
pub fn evaluate(
    orders: &[Order],
    setup: &SetupMatrix,
    initial: usize,
    sequence: &[usize],
) -> Result<Schedule> {
    let inst = instance(orders, setup, initial)?;
    if sequence.len() != orders.len() {
        return Err(Error::SequenceLength {
            found: sequence.len(),
            expected: orders.len(),
        });
    }
    let mut seen = vec![false; orders.len()];
    for (position, &index) in sequence.iter().enumerate() {
        if index >= orders.len() || std::mem::replace(&mut seen[index], true) {
            return Err(Error::NotAPermutation {
                position,
                index,
                orders: orders.len(),
            });
        }
    }
    Ok(Schedule::build(&inst, sequence.to_vec()))
}

/// The optimal sequence (see the [module docs](self)); [`Error::TooManyForExact`] above
/// [`EXACT_MAX_ORDERS`] orders. Among optimal sequences, the one the programme meets
/// first.
pub fn sequence_exact(orders: &[Order], setup: &SetupMatrix, initial: usize) -> Result<Schedule> {
    let inst = instance(orders, setup, initial)?;
    if orders.len() > EXACT_MAX_ORDERS {
        return Err(Error::TooManyForExact {
            orders: orders.len(),
            limit: EXACT_MAX_ORDERS,
        });
    }
    let (seq, _) = exact::optimal_orders(&inst);
    Ok(Schedule::build(&inst, seq))
}

/// The plan for a day's orders on one line with the default [`SequenceOptions`] (see the
/// [module docs](self)).
pub fn sequence(orders: &[Order], setup: &SetupMatrix, initial: usize) -> Result<SequenceReport> {
    sequence_with(orders, setup, initial, &SequenceOptions::default())
}

/// The plan for a day's orders on one line.
pub fn sequence_with(
    orders: &[Order],
    setup: &SetupMatrix,
    initial: usize,
    options: &SequenceOptions,
) -> Result<SequenceReport> {
    let inst = instance(orders, setup, initial)?;
    let fifo = Schedule::build(&inst, (0..orders.len()).collect());
    let exact = orders.len() <= options.exact_up_to.min(EXACT_MAX_ORDERS);
    let (seq, cost) = if exact {
        exact::optimal_orders(&inst)
    } else {
        search::heuristic(&inst, options)
    };
    let plan = if cost < fifo.cost() {
        Schedule::build(&inst, seq)
    } else {
        fifo.clone()
    };
    Ok(SequenceReport {
        plan,
        fifo,
        optimal: exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three configurations; changing 0→1 takes 10, 1→0 30, anything to or from 2 takes
    /// 20, staying takes 0.
    fn setup3() -> Result<SetupMatrix> {
        SetupMatrix::new(&[vec![0, 10, 20], vec![30, 0, 20], vec![20, 20, 0]])
    }

    #[test]
    fn hand_computed_changeovers() -> Result<()> {
        // Line starts in configuration 0. Orders (config, minutes): a(1, 5), b(0, 5),
        // c(1, 5), d(0, 5); no due times.
        // FIFO a b c d: changeovers 0→1 10, 1→0 30, 0→1 10, 1→0 30 = 80; completions
        //   15, 50, 65, 100.
        // Best: b d a c (stay in 0, then one 0→1): 0 + 0 + 10 + 0 = 10; completions
        //   5, 10, 25, 30. Saved: 70 minutes.
        let orders = vec![
            Order::new("a", 1, 5, None),
            Order::new("b", 0, 5, None),
            Order::new("c", 1, 5, None),
            Order::new("d", 0, 5, None),
        ];
        let report = sequence(&orders, &setup3()?, 0)?;
        assert_eq!(report.fifo.changeover_minutes, 80);
        assert_eq!(report.fifo.completion, vec![15, 50, 65, 100]);
        // b d first (either way round), then a c (either way round): ties.
        let configs: Vec<usize> = report
            .plan
            .sequence
            .iter()
            .map(|&o| orders[o].config)
            .collect();
        assert_eq!(configs, vec![0, 0, 1, 1]);
        assert_eq!(report.plan.changeover, vec![0, 0, 10, 0]);
        assert_eq!(report.plan.completion, vec![5, 10, 25, 30]);
        assert_eq!(report.changeover_saved(), 70);
        assert!(report.optimal);
        // The heuristic alone finds it too.
        let heuristic = sequence_with(
            &orders,
            &setup3()?,
            0,
            &SequenceOptions {
                exact_up_to: 0,
                ..SequenceOptions::default()
            },
        )?;
        assert_eq!(heuristic.plan.changeover_minutes, 10);
        assert!(!heuristic.optimal);
        Ok(())
    }

    #[test]
    fn hand_computed_due_dates() -> Result<()> {
        // Line in configuration 0. Orders (config, minutes, due):
        //   a(0, 30, none), b(2, 10, due 25), c(0, 30, none).
        // FIFO a b c: a ends 30; 0→2 20 + 10 → b ends 60, late 35; 2→0 20 + 30 → c ends
        //   110. Tardiness 35, changeover 40.
        // a c b: ends 30, 60, 90 (b late 65), changeover 20 → tardiness 65: worse.
        // b a c: 0→2 20 + 10 → b ends 30, late 5; 2→0 20 + 30 → 80; c → 110.
        //   Tardiness 5, changeover 40: the optimum (b first is the only way to be less
        //   late, and then two changeovers are needed).
        let orders = vec![
            Order::new("a", 0, 30, None),
            Order::new("b", 2, 10, Some(25)),
            Order::new("c", 0, 30, None),
        ];
        let report = sequence(&orders, &setup3()?, 0)?;
        assert_eq!(report.fifo.tardiness_minutes, 35);
        assert_eq!(
            report.fifo.late,
            vec![Late {
                order: 1,
                completion: 60,
                due: 25,
                minutes: 35
            }]
        );
        assert_eq!(report.plan.sequence[0], 1);
        assert_eq!(report.plan.tardiness_minutes, 5);
        assert_eq!(report.plan.changeover_minutes, 40);
        assert_eq!(report.plan.late.len(), 1);
        assert_eq!(report.plan.late[0].minutes, 5);
        assert_eq!(report.tardiness_saved(), 30);
        assert_eq!(report.changeover_saved(), 0);
        let a_c_b = evaluate(&orders, &setup3()?, 0, &[0, 2, 1])?;
        assert_eq!(
            (a_c_b.tardiness_minutes, a_c_b.changeover_minutes),
            (65, 20)
        );
        assert_eq!(a_c_b.completion, vec![30, 60, 90]);
        Ok(())
    }

    #[test]
    fn fifo_is_kept_when_nothing_beats_it() -> Result<()> {
        // Already grouped and on time: FIFO is optimal, so it is the plan, unchanged.
        let orders = vec![
            Order::new("a", 0, 10, Some(100)),
            Order::new("b", 0, 10, None),
            Order::new("c", 1, 10, None),
        ];
        let report = sequence(&orders, &setup3()?, 0)?;
        assert_eq!(report.plan, report.fifo);
        assert_eq!(report.plan.sequence, vec![0, 1, 2]);
        let empty = sequence(&[], &setup3()?, 2)?;
        assert_eq!(empty.plan.makespan, 0);
        Ok(())
    }

    #[test]
    fn bad_inputs_are_typed_errors() -> Result<()> {
        assert!(matches!(
            SetupMatrix::new(&[vec![0, 1], vec![1]]),
            Err(Error::SetupNotSquare {
                row: 1,
                len: 1,
                expected: 2
            })
        ));
        assert!(matches!(
            SetupMatrix::new(&[vec![0, -1], vec![1, 0]]),
            Err(Error::NegativeSetup {
                from: 0,
                to: 1,
                minutes: -1
            })
        ));
        let s = setup3()?;
        let unknown = [Order::new("x7", 3, 1, None)];
        assert!(matches!(
            sequence(&unknown, &s, 0),
            Err(Error::UnknownConfiguration { ref order, config: 3, configurations: 3 }) if order == "x7"
        ));
        let negative = [Order::new("n1", 0, -5, None)];
        assert!(matches!(
            sequence(&negative, &s, 0),
            Err(Error::NegativeProcessing { ref order, minutes: -5 }) if order == "n1"
        ));
        let twice = [Order::new("d", 0, 5, None), Order::new("d", 1, 5, None)];
        assert!(matches!(
            sequence(&twice, &s, 0),
            Err(Error::DuplicateOrder { ref order }) if order == "d"
        ));
        assert!(matches!(
            sequence(&[], &s, 3),
            Err(Error::InitialConfiguration {
                config: 3,
                configurations: 3
            })
        ));
        let huge = [Order::new("h", 0, i64::MAX, None)];
        assert!(matches!(
            sequence(&huge, &s, 0),
            Err(Error::TimeOverflow { ref order, .. }) if order == "h"
        ));
        let overdue = [Order::new("o", 0, 5, Some(i64::MIN))];
        assert!(matches!(
            sequence(&overdue, &s, 0),
            Err(Error::TimeOverflow { .. })
        ));
        let many: Vec<Order> = (0..13)
            .map(|i| Order::new(i.to_string(), 0, 1, None))
            .collect();
        assert!(matches!(
            sequence_exact(&many, &s, 0),
            Err(Error::TooManyForExact {
                orders: 13,
                limit: 12
            })
        ));
        let two = [Order::new("a", 0, 1, None), Order::new("b", 0, 1, None)];
        assert!(matches!(
            evaluate(&two, &s, 0, &[1, 1]),
            Err(Error::NotAPermutation {
                position: 1,
                index: 1,
                orders: 2
            })
        ));
        assert!(matches!(
            evaluate(&two, &s, 0, &[0]),
            Err(Error::SequenceLength {
                found: 1,
                expected: 2
            })
        ));
        Ok(())
    }
}

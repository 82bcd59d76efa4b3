//! The heuristic sequencer: constructive starts improved by local search (see the
//! [module docs](super)).

use super::SequenceOptions;
use super::cost::{Cost, Instance, NO_DUE, Walk, cost_of};
use super::exact::{optimal_blocks, pareto_blocks};
use super::{GROUP_DP_MAX, GROUP_DP_MAX_DUE};

/// The orders grouped by configuration (groups by configuration id), each group in
/// earliest-due order (orders without a due time last, ties in input order).
fn groups(inst: &Instance) -> Vec<Vec<usize>> {
    let mut by_config: Vec<Vec<usize>> = vec![Vec::new(); inst.configs];
    for o in edd(inst) {
        by_config[inst.config[o]].push(o);
    }
    by_config.retain(|g| !g.is_empty());
    by_config
}

/// The orders in earliest-due order (stable: ties and orders without a due time keep
/// the input order, the latter last).
fn edd(inst: &Instance) -> Vec<usize> {
    let mut order: Vec<usize> = (0..inst.len()).collect();
    order.sort_by_key(|&o| inst.due[o]);
    order
}

/// The groups by nearest neighbour: from the initial configuration, each time the group
/// with the cheapest changeover from the current configuration (ties: the lower
/// configuration).
fn nearest_neighbour(inst: &Instance, groups: &[Vec<usize>]) -> Vec<usize> {
    let mut left: Vec<&Vec<usize>> = groups.iter().collect();
    let mut config = inst.initial;
    let mut out = Vec::with_capacity(inst.len());
    while !left.is_empty() {
        let next = (0..left.len())
            .min_by_key(|&i| inst.setup(config, inst.config[left[i][0]]))
            .unwrap_or(0);
        let g = left.remove(next);
        out.extend_from_slice(g);
        config = inst.config[g[0]];
    }
    out
}

/// The groups in the order of their earliest due time (groups without one last, in
/// configuration order).
fn groups_by_due(groups: &[Vec<usize>], inst: &Instance) -> Vec<usize> {
    let mut order: Vec<&Vec<usize>> = groups.iter().collect();
    order.sort_by_key(|g| g.first().map_or(NO_DUE, |&o| inst.due[o]));
    order.into_iter().flatten().copied().collect()
}

/// Apparent tardiness cost with setups (ATCS; Lee, Bhaskaran & Pinedo, "A heuristic to
/// minimize the total weighted tardiness with sequence-dependent setups", IIE
/// Transactions 29, 1997): build the order with the largest index
/// `exp(−slack/(k₁·p̄)) · exp(−setup/(k₂·s̄)) / p` next, where `slack = max(due − p − t, 0)`
/// (the horizon for an order without a due time), `p̄` the mean processing time and `s̄`
/// the mean changeover. Computed in logarithms (no underflow); ties go to the lower
/// input index.
fn atcs(inst: &Instance, k1: f64, k2: f64) -> Vec<usize> {
    let n = inst.len();
    let p_mean = (inst.processing.iter().sum::<i64>() as f64 / n.max(1) as f64).max(1.0);
    let off: Vec<i64> = (0..inst.configs * inst.configs)
        .filter(|i| i / inst.configs != i % inst.configs)
        .map(|i| inst.setup[i])
        .collect();
    let s_mean = (off.iter().sum::<i64>() as f64 / off.len().max(1) as f64).max(1.0);
    let horizon = p_mean * n as f64 + s_mean * n as f64;
    let mut left: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n);
    let mut walk = Walk::start(inst);
    while !left.is_empty() {
        let score = |o: usize| {
            let p = inst.processing[o];
            let slack = if inst.due[o] == NO_DUE {
                horizon
            } else {
                ((inst.due[o] - p - walk.time) as f64).max(0.0)
            };
            let setup = inst.setup(walk.config, inst.config[o]) as f64;
            -slack / (k1 * p_mean) - setup / (k2 * s_mean) - (p.max(1) as f64).ln()
        };
        let mut best = 0;
        let mut best_score = f64::NEG_INFINITY;
        for (i, &o) in left.iter().enumerate() {
            let sc = score(o);
            if sc > best_score {
                best = i;
                best_score = sc;
            }
        }
        let o = left.remove(best);
        walk.step(inst, o);
        out.push(o);
    }
    out
}

/// The starting sequences, without duplicates, best (by cost) first; FIFO is always
/// among them.
fn starts(inst: &Instance) -> Vec<Vec<usize>> {
    let n = inst.len();
    let groups = groups(inst);
    let limit = if inst.has_due() {
        GROUP_DP_MAX_DUE
    } else {
        GROUP_DP_MAX
    };
    let mut candidates = vec![(0..n).collect(), edd(inst)];
    if groups.len() <= limit {
        candidates.push(optimal_blocks(inst, &groups).0);
    }
    candidates.push(nearest_neighbour(inst, &groups));
    candidates.push(groups_by_due(&groups, inst));
    if inst.has_due() {
        for k1 in [0.5, 1.0, 2.0, 4.0] {
            for k2 in [0.3, 1.0, 3.0] {
                candidates.push(atcs(inst, k1, k2));
            }
        }
    }
    let mut out: Vec<(Cost, Vec<usize>)> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if !out.iter().any(|(_, o)| *o == c) {
            out.push((cost_of(inst, &c), c));
        }
    }
    out.sort_by_key(|(cost, _)| *cost);
    out.into_iter().map(|(_, c)| c).collect()
}

/// Above this many orders only the [`SEARCHED_STARTS`] best starts are searched.
const SEARCH_ALL_STARTS_UP_TO: usize = 40;

/// The starts searched on larger days.
const SEARCHED_STARTS: usize = 3;

/// The most runs of one configuration re-ordered exactly at once.
const RUN_WINDOW: usize = 10;

/// Local search from one sequence (variable neighbourhood descent): first-improvement
/// moves until none improves, then an exact re-sequencing of every window of
/// [`SequenceOptions::window`] consecutive orders; again while a window improves, until
/// a cap is reached.
struct Search<'a> {
    inst: &'a Instance,
    seq: Vec<usize>,
    /// `prefix[k]`: the line after the first `k` orders of `seq`.
    prefix: Vec<Walk>,
    /// `due_after[k]`: whether an order of `seq[k..]` has a due time.
    due_after: Vec<bool>,
    cost: Cost,
    evaluations: u64,
    options: SequenceOptions,
}

impl<'a> Search<'a> {
    fn new(inst: &'a Instance, seq: Vec<usize>, options: &SequenceOptions) -> Self {
        let mut s = Search {
            inst,
            prefix: Vec::with_capacity(seq.len() + 1),
            due_after: vec![false; seq.len() + 1],
            seq,
            cost: Cost::default(),
            evaluations: 0,
            options: *options,
        };
        s.refresh(0);
        s
    }

    /// Recomputes the prefixes from position `from` on, `due_after`, and the cost.
    fn refresh(&mut self, from: usize) {
        self.prefix.truncate(from + 1);
        if self.prefix.is_empty() {
            self.prefix.push(Walk::start(self.inst));
        }
        let mut walk = self.prefix[from];
        for &o in &self.seq[from..] {
            walk.step(self.inst, o);
            self.prefix.push(walk);
        }
        self.cost = walk.cost;
        let n = self.seq.len();
        for k in (0..n).rev() {
            self.due_after[k] = self.due_after[k + 1] || self.inst.due[self.seq[k]] != NO_DUE;
        }
    }

    /// Whether the sequence `seq[..at] + changed + seq[tail..]` is better. Once the
    /// unchanged tail is reached in the same configuration at the same time (or with no
    /// due time left), its cost is the old one: no need to walk it.
    #[inline]
    fn improves(&self, at: usize, changed: impl Iterator<Item = usize>, tail: usize) -> bool {
        let (inst, bound) = (self.inst, self.cost);
        let mut walk = self.prefix[at];
        for o in changed {
            walk.step(inst, o);
            if walk.cost >= bound {
                return false;
            }
        }
        if tail == self.seq.len() {
            return walk.cost < bound;
        }
        walk.step(inst, self.seq[tail]);
        if walk.cost >= bound {
            return false;
        }
        let old = self.prefix[tail + 1];
        if walk.time == old.time || !self.due_after[tail + 1] {
            let total = Cost {
                tardiness: walk.cost.tardiness + (bound.tardiness - old.cost.tardiness),
                changeover: walk.cost.changeover + (bound.changeover - old.cost.changeover),
            };
            return total < bound;
        }
        walk.finish(inst, self.seq[tail + 1..].iter().copied(), bound)
            .is_some()
    }

    fn exhausted(&self) -> bool {
        self.evaluations >= self.options.max_evaluations
    }

    /// The length of the run of one configuration starting at `i`.
    fn run(&self, i: usize) -> usize {
        let c = self.inst.config[self.seq[i]];
        self.seq[i..]
            .iter()
            .take_while(|&&o| self.inst.config[o] == c)
            .count()
    }

    /// Moves `seq[i..i + len]` to position `j` of the remaining sequence, `j` within
    /// `reach` of `i` (anywhere when `far`), if that improves; whether it did.
    fn relocate(&mut self, i: usize, len: usize, far: bool) -> bool {
        let n = self.seq.len();
        let reach = if far { n } else { self.options.reach.max(1) };
        for j in i.saturating_sub(reach)..=(n - len).min(i + reach) {
            if j == i || self.exhausted() {
                continue;
            }
            self.evaluations += 1;
            let s = &self.seq;
            let better = if j < i {
                // seq[..j] + seq[i..i+len] + seq[j..i] + seq[i+len..]
                let changed = s[i..i + len].iter().chain(&s[j..i]);
                self.improves(j, changed.copied(), i + len)
            } else {
                // seq[..i] + seq[i+len..j+len] + seq[i..i+len] + seq[j+len..]
                let changed = s[i + len..j + len].iter().chain(&s[i..i + len]);
                self.improves(i, changed.copied(), j + len)
            };
            if better {
                let segment: Vec<usize> = self.seq.drain(i..i + len).collect();
                self.seq.splice(j..j, segment);
                self.refresh(i.min(j));
                return true;
            }
        }
        false
    }

    /// Swaps `seq[a]` with a later order within reach, if that improves.
    fn swap(&mut self, a: usize) -> bool {
        let n = self.seq.len();
        for b in a + 1..n.min(a + 1 + self.options.reach.max(1)) {
            if self.exhausted() {
                return false;
            }
            self.evaluations += 1;
            let s = &self.seq;
            let changed = std::iter::once(s[b])
                .chain(s[a + 1..b].iter().copied())
                .chain(std::iter::once(s[a]));
            if self.improves(a, changed, b + 1) {
                self.seq.swap(a, b);
                self.refresh(a);
                return true;
            }
        }
        false
    }

    /// Reverses `seq[a..=b]` (3 orders or more, within reach), if that improves.
    fn reverse(&mut self, a: usize) -> bool {
        let n = self.seq.len();
        for b in a + 2..n.min(a + 1 + self.options.reach.max(1)) {
            if self.exhausted() {
                return false;
            }
            self.evaluations += 1;
            let s = &self.seq;
            if self.improves(a, s[a..=b].iter().rev().copied(), b + 1) {
                self.seq[a..=b].reverse();
                self.refresh(a);
                return true;
            }
        }
        false
    }

    /// Tries the moves anchored at position `i` (segments of 1 to 3 orders or the run of
    /// one configuration starting there, swaps and reversals from there); whether one
    /// improved (and was applied).
    fn improve_at(&mut self, i: usize) -> bool {
        let n = self.seq.len();
        for len in 1..=3.min(n - i) {
            if self.relocate(i, len, false) {
                return true;
            }
        }
        let run = self.run(i);
        (run > 3 && self.relocate(i, run, true)) || self.swap(i) || self.reverse(i)
    }

    /// First improvement, sweeping the anchor position cyclically: after an improving
    /// move the same anchor is tried again; stops once `n` anchors in a row improve
    /// nothing (a local optimum of every move family) or a cap is reached. Returns the
    /// moves made.
    fn descend(&mut self, moves: &mut usize) {
        let n = self.seq.len();
        let (mut i, mut idle) = (0, 0);
        while idle < n && *moves < self.options.max_moves && !self.exhausted() {
            if self.improve_at(i) {
                *moves += 1;
                idle = 0;
            } else {
                idle += 1;
                i = (i + 1) % n;
            }
        }
    }

    /// Re-sequences `seq[a..a + len]`, cut into `blocks` (each kept whole), optimally
    /// given the orders before and after it (the dynamic programme's Pareto labels, each
    /// finished with the unchanged tail), if that improves; whether it did.
    fn resequence(&mut self, a: usize, blocks: &[Vec<usize>]) -> bool {
        let inst = self.inst;
        self.evaluations += 1 << blocks.len();
        let len: usize = blocks.iter().map(Vec::len).sum();
        let start = self.prefix[a];
        let processing: i64 = self.seq[a..a + len]
            .iter()
            .map(|&o| inst.processing[o])
            .sum();
        let mut best: Option<(Cost, Vec<usize>)> = None;
        for f in pareto_blocks(inst, blocks, start.time, start.config) {
            let walk = Walk {
                time: f.time,
                cost: Cost {
                    tardiness: start.cost.tardiness + f.tardiness,
                    changeover: start.cost.changeover + (f.time - start.time - processing),
                },
                config: f.config,
            };
            let bound = best.as_ref().map_or(self.cost, |(c, _)| *c);
            if let Some(cost) = walk.finish(inst, self.seq[a + len..].iter().copied(), bound) {
                best = Some((cost, f.orders));
            }
        }
        match best {
            Some((_, orders)) => {
                self.seq.splice(a..a + len, orders);
                self.refresh(a);
                true
            }
            None => false,
        }
    }

    /// Re-sequences every window of `w` consecutive orders; whether one improved.
    fn order_windows(&mut self, w: usize, moves: &mut usize) -> bool {
        let n = self.seq.len();
        let mut improved = false;
        for a in 0..=n - w {
            if self.exhausted() {
                break;
            }
            let blocks: Vec<Vec<usize>> = self.seq[a..a + w].iter().map(|&o| vec![o]).collect();
            if self.resequence(a, &blocks) {
                *moves += 1;
                improved = true;
            }
        }
        improved
    }

    /// Re-orders the runs of one configuration (each kept whole) in windows of
    /// [`RUN_WINDOW`] consecutive runs, sliding by half a window; whether one improved.
    fn run_windows(&mut self, moves: &mut usize) -> bool {
        let mut improved = false;
        let mut first_run = 0;
        loop {
            if self.exhausted() {
                break;
            }
            // The runs of the current sequence, as (start, length).
            let mut runs = Vec::new();
            let mut i = 0;
            while i < self.seq.len() {
                let len = self.run(i);
                runs.push((i, len));
                i += len;
            }
            if first_run >= runs.len() || (first_run > 0 && first_run + 1 >= runs.len()) {
                break;
            }
            let window = &runs[first_run..runs.len().min(first_run + RUN_WINDOW)];
            let a = window[0].0;
            let blocks: Vec<Vec<usize>> = window
                .iter()
                .map(|&(start, len)| self.seq[start..start + len].to_vec())
                .collect();
            if blocks.len() > 1 && self.resequence(a, &blocks) {
                *moves += 1;
                improved = true;
            }
            if first_run + RUN_WINDOW >= runs.len() {
                break;
            }
            first_run += RUN_WINDOW / 2;
        }
        improved
    }

    /// Descends, then re-sequences windows of orders and of runs while that improves.
    fn run_to_local_optimum(mut self) -> (Vec<usize>, Cost) {
        let n = self.seq.len();
        let w = self.options.window.min(n).min(16);
        let mut moves = 0;
        loop {
            self.descend(&mut moves);
            if moves >= self.options.max_moves || self.exhausted() {
                break;
            }
            let windows = w >= 2 && self.order_windows(w, &mut moves);
            if !(self.run_windows(&mut moves) || windows) {
                break;
            }
        }
        (self.seq, self.cost)
    }
}

/// A double-bridge kick (Martin, Otto & Felten's perturbation for iterated local search):
/// `A B C D` becomes `A C B D`, the cut points drawn from a fixed-seed stream.
fn double_bridge(seq: &[usize], state: &mut u64) -> Vec<usize> {
    let n = seq.len();
    let mut draw = |bound: usize| {
        // SplitMix64: a fixed, portable stream.
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % bound as u64) as usize
    };
    let mut cuts = [1 + draw(n - 1), 1 + draw(n - 1), 1 + draw(n - 1)];
    cuts.sort_unstable();
    let [p, q, r] = cuts;
    seq[..p]
        .iter()
        .chain(&seq[q..r])
        .chain(&seq[p..q])
        .chain(&seq[r..])
        .copied()
        .collect()
}

/// The heuristic's sequence and its cost: the best local optimum over the starts (the
/// first of equal ones), then, on days of up to [`SEARCH_ALL_STARTS_UP_TO`] orders,
/// [`KICKS`] rounds of iterated local search from the best (a double-bridge kick, then
/// the local search again, kept when better).
pub(crate) fn heuristic(inst: &Instance, options: &SequenceOptions) -> (Vec<usize>, Cost) {
    let n = inst.len();
    let mut starts = starts(inst);
    if n > SEARCH_ALL_STARTS_UP_TO {
        starts.truncate(SEARCHED_STARTS);
    }
    let mut best: Option<(Vec<usize>, Cost)> = None;
    for start in starts {
        let (seq, cost) = Search::new(inst, start, options).run_to_local_optimum();
        debug_assert_eq!(cost, cost_of(inst, &seq));
        if best.as_ref().is_none_or(|(_, c)| cost < *c) {
            best = Some((seq, cost));
        }
    }
    let Some(mut best) = best else {
        return (Vec::new(), Cost::default());
    };
    if (4..=SEARCH_ALL_STARTS_UP_TO).contains(&n) {
        let mut state = 0x5EED;
        for _ in 0..KICKS {
            let kicked = double_bridge(&best.0, &mut state);
            let (seq, cost) = Search::new(inst, kicked, options).run_to_local_optimum();
            if cost < best.1 {
                best = (seq, cost);
            }
        }
    }
    best
}

/// The kicks of the iterated local search.
const KICKS: usize = 30;

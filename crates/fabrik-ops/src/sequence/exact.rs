//! Dynamic programming over blocks of orders: the best order of a few blocks, each block
//! a fixed sequence of orders built without interruption.
//!
//! With one order per block it is the exact sequencer; with one block per configuration
//! (the orders of a configuration in earliest-due order) it orders the groups, which is
//! Held-Karp's asymmetric travelling-salesman path when there is no due time.
//!
//! A state is (the set of blocks built, the last block); its labels are the Pareto-optimal
//! (tardiness, completion time) pairs of the partial sequences reaching it. A label with
//! no more tardiness and no later time than another is at least as good whatever follows
//! (later orders can only be as late or later from a later time, and the changeovers to
//! come depend only on the last block), so keeping the Pareto front is exact. Without
//! due times the tardiness is always 0 and each state keeps one label.

use super::cost::{Cost, Instance};

/// One partial sequence: its figures and how it was reached.
#[derive(Debug, Clone, Copy)]
struct Label {
    tardiness: i64,
    time: i64,
    block: u32,
    parent: u32,
}

const ROOT: u32 = u32::MAX;

/// Builds `block` from `time` in configuration `config`: the new time, the tardiness
/// added and the configuration after it.
#[inline]
fn walk_block(inst: &Instance, block: &[usize], mut time: i64, mut config: usize) -> (i64, i64) {
    let mut tardiness = 0;
    for &o in block {
        let to = inst.config[o];
        time += inst.setup(config, to) + inst.processing[o];
        tardiness += (time - inst.due[o]).max(0);
        config = to;
    }
    (time, tardiness)
}

/// Adds `label` to a Pareto front (indices into `arena`) unless a label already there is
/// as good on both counts; removes the labels it beats.
fn insert(front: &mut Vec<u32>, arena: &mut Vec<Label>, label: Label) {
    if front.iter().any(|&i| {
        let l = &arena[i as usize];
        l.tardiness <= label.tardiness && l.time <= label.time
    }) {
        return;
    }
    front.retain(|&i| {
        let l = &arena[i as usize];
        !(label.tardiness <= l.tardiness && label.time <= l.time)
    });
    // The arena holds at most a few million labels for the sizes this runs on.
    front.push(arena.len() as u32);
    arena.push(label);
}

/// One way to build all the blocks that no other beats on both tardiness and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Final {
    /// The orders, in sequence.
    pub orders: Vec<usize>,
    /// The tardiness they add.
    pub tardiness: i64,
    /// The time the last one completes.
    pub time: i64,
    /// The configuration the line is left in.
    pub config: usize,
}

/// The Pareto-optimal ways of building all of `blocks` (at most 20; callers keep to far
/// fewer) from `time` with the line in `config`, in a deterministic order.
pub(crate) fn pareto_blocks(
    inst: &Instance,
    blocks: &[Vec<usize>],
    time: i64,
    config: usize,
) -> Vec<Final> {
    let b = blocks.len();
    if b == 0 {
        return vec![Final {
            orders: Vec::new(),
            tardiness: 0,
            time,
            config,
        }];
    }
    debug_assert!(b <= 20, "{b} blocks is too many for the dynamic programme");
    let last_config: Vec<usize> = blocks
        .iter()
        .map(|bl| bl.last().map_or(config, |&o| inst.config[o]))
        .collect();
    let full: usize = (1 << b) - 1;
    let mut arena: Vec<Label> = Vec::new();
    let mut fronts: Vec<Vec<u32>> = vec![Vec::new(); (full + 1) * b];
    for (k, block) in blocks.iter().enumerate() {
        let (end, tardiness) = walk_block(inst, block, time, config);
        let label = Label {
            tardiness,
            time: end,
            block: k as u32,
            parent: ROOT,
        };
        insert(&mut fronts[(1 << k) * b + k], &mut arena, label);
    }
    for mask in 1..full {
        for last in (0..b).filter(|&l| mask & (1 << l) != 0) {
            let front = std::mem::take(&mut fronts[mask * b + last]);
            for &li in &front {
                let from = arena[li as usize];
                for (k, block) in blocks.iter().enumerate() {
                    if mask & (1 << k) != 0 {
                        continue;
                    }
                    let (end, tardiness) = walk_block(inst, block, from.time, last_config[last]);
                    let label = Label {
                        tardiness: from.tardiness + tardiness,
                        time: end,
                        block: k as u32,
                        parent: li,
                    };
                    insert(&mut fronts[(mask | 1 << k) * b + k], &mut arena, label);
                }
            }
            fronts[mask * b + last] = front;
        }
    }
    let mut finals = Vec::new();
    for last in 0..b {
        for &i in &fronts[full * b + last] {
            let mut order = Vec::with_capacity(b);
            let mut at = i;
            while at != ROOT {
                let l = arena[at as usize];
                order.push(l.block as usize);
                at = l.parent;
            }
            order.reverse();
            finals.push(Final {
                orders: order
                    .iter()
                    .flat_map(|&k| blocks[k].iter().copied())
                    .collect(),
                tardiness: arena[i as usize].tardiness,
                time: arena[i as usize].time,
                config: last_config[last],
            });
        }
    }
    finals
}

/// The best order of `blocks` from the day's start: the orders in sequence and their
/// cost. Ties keep the first sequence met.
pub(crate) fn optimal_blocks(inst: &Instance, blocks: &[Vec<usize>]) -> (Vec<usize>, Cost) {
    let best = pareto_blocks(inst, blocks, 0, inst.initial)
        .into_iter()
        .min_by_key(|f| (f.tardiness, f.time))
        .map(|f| f.orders)
        .unwrap_or_default();
    let cost = super::cost::cost_of(inst, &best);
    (best, cost)
}

/// The optimal sequence of the orders (one block each) and its cost.
pub(crate) fn optimal_orders(inst: &Instance) -> (Vec<usize>, Cost) {
    let blocks: Vec<Vec<usize>> = (0..inst.len()).map(|o| vec![o]).collect();
    optimal_blocks(inst, &blocks)
}

#[cfg(test)]
mod tests {
    use super::super::cost::{NO_DUE, cost_of};
    use super::*;

    /// Every permutation of `0..n`, by Heap's algorithm.
    fn permutations(n: usize) -> Vec<Vec<usize>> {
        fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if k <= 1 {
                out.push(a.clone());
                return;
            }
            for i in 0..k {
                heap(k - 1, a, out);
                let j = if k.is_multiple_of(2) { i } else { 0 };
                a.swap(j, k - 1);
            }
        }
        let mut out = Vec::new();
        heap(n, &mut (0..n).collect(), &mut out);
        out
    }

    /// A small deterministic pseudo-random stream (tests only: the integration tests use
    /// ChaCha).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn dynamic_programme_equals_enumeration() {
        // 300 instances of up to 7 orders and 3 configurations, half with due times, the
        // setup matrix far from metric (entries 0..40, diagonal 0..5): the programme's
        // optimum equals the best of all n! sequences.
        let mut s = 7u64;
        for case in 0..300 {
            let n = 1 + (lcg(&mut s) % 7) as usize;
            let configs = 1 + (lcg(&mut s) % 3) as usize;
            let setup: Vec<i64> = (0..configs * configs)
                .map(|i| {
                    if i / configs == i % configs {
                        (lcg(&mut s) % 6) as i64
                    } else {
                        (lcg(&mut s) % 41) as i64
                    }
                })
                .collect();
            let with_due = case % 2 == 0;
            let inst = Instance {
                config: (0..n)
                    .map(|_| (lcg(&mut s) % configs as u64) as usize)
                    .collect(),
                processing: (0..n).map(|_| (lcg(&mut s) % 30) as i64).collect(),
                due: (0..n)
                    .map(|_| {
                        if with_due && !lcg(&mut s).is_multiple_of(4) {
                            (lcg(&mut s) % 150) as i64 - 10
                        } else {
                            NO_DUE
                        }
                    })
                    .collect(),
                setup,
                configs,
                initial: (lcg(&mut s) % configs as u64) as usize,
            };
            let best = permutations(n)
                .iter()
                .map(|p| cost_of(&inst, p))
                .min()
                .unwrap_or_default();
            let (seq, cost) = optimal_orders(&inst);
            assert_eq!(cost, best, "case {case}");
            assert_eq!(cost_of(&inst, &seq), cost);
            let mut sorted = seq.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        }
    }
}

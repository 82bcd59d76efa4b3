//! The checked instance the sequencers work on, and the objective.

/// The due time of an order without one: never reached (completion times are at most
/// the horizon, far below it).
pub(crate) const NO_DUE: i64 = i64::MAX;

/// A checked instance: every configuration in the matrix, every time bounded so that no
/// sum overflows.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// Each order's configuration.
    pub config: Vec<usize>,
    /// Each order's processing time.
    pub processing: Vec<i64>,
    /// Each order's due time ([`NO_DUE`] without one).
    pub due: Vec<i64>,
    /// The setup matrix, row-major.
    pub setup: Vec<i64>,
    /// The number of configurations.
    pub configs: usize,
    /// The line's initial configuration.
    pub initial: usize,
}

impl Instance {
    /// The number of orders.
    pub fn len(&self) -> usize {
        self.config.len()
    }

    /// The changeover time between two configurations.
    #[inline]
    pub fn setup(&self, from: usize, to: usize) -> i64 {
        self.setup[from * self.configs + to]
    }

    /// Whether some order has a due time.
    pub fn has_due(&self) -> bool {
        self.due.iter().any(|&d| d != NO_DUE)
    }
}

/// The objective: total tardiness first, then total changeover, compared
/// lexicographically (the derived order compares the fields in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub(crate) struct Cost {
    /// Minutes late, summed over the orders.
    pub tardiness: i64,
    /// Changeover minutes, summed.
    pub changeover: i64,
}

/// The line's state after building a prefix of a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walk {
    /// The time the last order completed.
    pub time: i64,
    /// The cost so far.
    pub cost: Cost,
    /// The configuration the line is in.
    pub config: usize,
}

impl Walk {
    /// The line at the day's start.
    pub fn start(inst: &Instance) -> Walk {
        Walk {
            time: 0,
            cost: Cost::default(),
            config: inst.initial,
        }
    }

    /// Builds `order` next.
    #[inline]
    pub fn step(&mut self, inst: &Instance, order: usize) {
        let to = inst.config[order];
        let setup = inst.setup(self.config, to);
        self.time += setup + inst.processing[order];
        self.cost.changeover += setup;
        // `time` is non-negative, so this never overflows even with `NO_DUE`.
        self.cost.tardiness += (self.time - inst.due[order]).max(0);
        self.config = to;
    }

    /// The cost of building `orders` after this state; `None` as soon as the partial cost
    /// reaches `bound` (costs only grow along a sequence, so the whole cannot beat it).
    #[inline]
    pub fn finish(
        mut self,
        inst: &Instance,
        orders: impl Iterator<Item = usize>,
        bound: Cost,
    ) -> Option<Cost> {
        for o in orders {
            self.step(inst, o);
            if self.cost >= bound {
                return None;
            }
        }
        (self.cost < bound).then_some(self.cost)
    }
}

/// The cost of a whole sequence.
pub(crate) fn cost_of(inst: &Instance, sequence: &[usize]) -> Cost {
    let mut walk = Walk::start(inst);
    for &o in sequence {
        walk.step(inst, o);
    }
    walk.cost
}

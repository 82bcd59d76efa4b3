//! The Shewhart individuals chart with the Western Electric and Nelson run rules.
//!
//! Each reading is a point; `c` is the centre line and `σ` the sigma of the chart's
//! [`Limits`]. The rules (Western Electric, *Statistical Quality Control Handbook*, 1956;
//! L. S. Nelson, "The Shewhart Control Chart — Tests for Special Causes", *Journal of
//! Quality Technology* 16(4), 1984):
//!
//! | rule | fires at a point when |
//! |---|---|
//! | [`Rule::We1`], [`Rule::Nelson1`] | it is beyond 3σ (`x > c + 3σ` or `x < c − 3σ`) |
//! | [`Rule::We2`], [`Rule::Nelson5`] | it is beyond 2σ on one side and so are at least 2 of the 3 points ending at it |
//! | [`Rule::We3`], [`Rule::Nelson6`] | it is beyond 1σ on one side and so are at least 4 of the 5 points ending at it |
//! | [`Rule::We4`] | it ends 8 points in a row on one side of the centre line |
//! | [`Rule::Nelson2`] | it ends 9 points in a row on one side of the centre line |
//! | [`Rule::Nelson3`] | it ends 6 points in a row steadily increasing, or steadily decreasing (5 rises or 5 falls) |
//! | [`Rule::Nelson4`] | it ends 14 points in a row alternating up and down (13 steps, each reversing the one before) |
//! | [`Rule::Nelson7`] | it ends 15 points in a row within 1σ (`c − σ < x < c + σ`, either side) |
//! | [`Rule::Nelson8`] | it ends 8 points in a row beyond 1σ (either side, none within 1σ) |
//!
//! # Boundaries
//!
//! "Beyond" and "within" are strict: a point exactly on a line (`c + 2σ`, …) is neither
//! beyond nor within it, and a point exactly on the centre line is on neither side, so it
//! breaks a same-side run. Two equal consecutive readings neither rise nor fall, so they
//! break a trend (Nelson 3) and an alternation (Nelson 4). Points beyond 3σ count as
//! beyond 2σ and 1σ.
//!
//! # Which points fire
//!
//! A rule fires at each point where its pattern, read over the points that end at that
//! point, holds — once per point and rule, as Minitab marks its tests: a run of 11 points
//! above the centre fires Western Electric 4 at its 8th, 9th, 10th and 11th points. For the
//! "k of m" rules (WE2 / WE3, Nelson 5 / 6) the point itself must be one of the k beyond
//! the zone on that side, so a point back inside the zone, whose window still holds two
//! earlier points beyond 2σ, does not fire: the index is always a point that shows the
//! pattern. Every selected rule fires independently, so one point may have several
//! [`Violation`]s (WE1 and Nelson 1 fire together); they are reported in point order, and
//! for one point in the order of [`Rule::ALL`].
//!
//! Missing readings (`NaN`, null) are skipped as the [module docs](super) say: the points
//! on either side of one are consecutive for every rule.

use arrow::array::Float64Array;

use super::Limits;

/// One Western Electric or Nelson rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Rule {
    /// Western Electric 1: one point beyond 3σ.
    We1 = 0,
    /// Western Electric 2: 2 of 3 consecutive points beyond 2σ on the same side.
    We2 = 1,
    /// Western Electric 3: 4 of 5 consecutive points beyond 1σ on the same side.
    We3 = 2,
    /// Western Electric 4: 8 consecutive points on one side of the centre line.
    We4 = 3,
    /// Nelson 1: one point beyond 3σ.
    Nelson1 = 4,
    /// Nelson 2: 9 points in a row on one side of the centre line.
    Nelson2 = 5,
    /// Nelson 3: 6 points in a row steadily increasing or decreasing.
    Nelson3 = 6,
    /// Nelson 4: 14 points in a row alternating up and down.
    Nelson4 = 7,
    /// Nelson 5: 2 of 3 points in a row beyond 2σ on the same side.
    Nelson5 = 8,
    /// Nelson 6: 4 of 5 points in a row beyond 1σ on the same side.
    Nelson6 = 9,
    /// Nelson 7: 15 points in a row within 1σ of the centre line, either side.
    Nelson7 = 10,
    /// Nelson 8: 8 points in a row beyond 1σ, either side (none within 1σ).
    Nelson8 = 11,
}

impl Rule {
    /// Every rule, in the order violations of one point are reported.
    pub const ALL: [Rule; 12] = [
        Rule::We1,
        Rule::We2,
        Rule::We3,
        Rule::We4,
        Rule::Nelson1,
        Rule::Nelson2,
        Rule::Nelson3,
        Rule::Nelson4,
        Rule::Nelson5,
        Rule::Nelson6,
        Rule::Nelson7,
        Rule::Nelson8,
    ];

    /// The rule's short id: `"WE1"` … `"WE4"`, `"N1"` … `"N8"`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::We1 => "WE1",
            Rule::We2 => "WE2",
            Rule::We3 => "WE3",
            Rule::We4 => "WE4",
            Rule::Nelson1 => "N1",
            Rule::Nelson2 => "N2",
            Rule::Nelson3 => "N3",
            Rule::Nelson4 => "N4",
            Rule::Nelson5 => "N5",
            Rule::Nelson6 => "N6",
            Rule::Nelson7 => "N7",
            Rule::Nelson8 => "N8",
        }
    }

    /// The rule of a short id as [`Rule::id`] writes it (case-insensitive).
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL
            .into_iter()
            .find(|r| r.id().eq_ignore_ascii_case(id))
    }

    #[inline]
    fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A set of rules to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RuleSet(u16);

impl RuleSet {
    /// No rule.
    pub const NONE: RuleSet = RuleSet(0);
    /// The four Western Electric rules.
    pub const WESTERN_ELECTRIC: RuleSet = RuleSet(0b1111);
    /// The eight Nelson rules.
    pub const NELSON: RuleSet = RuleSet(0b1111_1111_0000);
    /// Every rule (Western Electric and Nelson).
    pub const ALL: RuleSet = RuleSet(0b1111_1111_1111);

    /// This set with `rule` added.
    pub const fn with(self, rule: Rule) -> RuleSet {
        RuleSet(self.0 | 1 << (rule as u8))
    }

    /// Whether `rule` is in the set.
    pub fn contains(self, rule: Rule) -> bool {
        self.0 & rule.bit() != 0
    }

    /// The rules of the set, in [`Rule::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Rule> {
        Rule::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Rule> for RuleSet {
    fn from_iter<I: IntoIterator<Item = Rule>>(iter: I) -> Self {
        iter.into_iter().fold(RuleSet::NONE, RuleSet::with)
    }
}

/// A rule firing at a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Violation {
    /// The point's row in the series (missing rows counted), 0-based.
    pub index: usize,
    /// The rule that fired.
    pub rule: Rule,
    /// The reading at that point.
    pub value: f64,
    /// The chart's limits.
    pub limits: Limits,
}

/// The streaming state of a Shewhart individuals chart checking a [`RuleSet`]: feed it the
/// batches of one series in time order ([`update`](Self::update),
/// [`update_array`](Self::update_array)). O(1) per point, no allocation.
#[derive(Debug, Clone)]
pub struct ShewhartState {
    limits: Limits,
    rules: RuleSet,
    /// `c + kσ` and `c − kσ` for k = 1, 2, 3.
    upper: [f64; 3],
    lower: [f64; 3],
    /// Rows seen (missing ones included): the index of the next row.
    position: usize,
    /// The previous (non-missing) reading, if any.
    previous: Option<f64>,
    /// Lengths of the runs ending at the last point.
    above: usize,
    below: usize,
    rising: usize,
    falling: usize,
    alternating: usize,
    within1: usize,
    beyond1: usize,
    /// The direction of the last step: 1 up, −1 down, 0 none or flat.
    last_step: i8,
    /// The last points beyond 2σ / 1σ above / below: bit 0 is the last point.
    beyond2_up: u8,
    beyond2_down: u8,
    beyond1_up: u8,
    beyond1_down: u8,
}

impl ShewhartState {
    /// A chart with these limits checking these rules.
    pub fn new(limits: Limits, rules: RuleSet) -> Self {
        let (c, s) = (limits.center(), limits.sigma());
        ShewhartState {
            limits,
            rules,
            upper: [c + s, c + 2.0 * s, c + 3.0 * s],
            lower: [c - s, c - 2.0 * s, c - 3.0 * s],
            position: 0,
            previous: None,
            above: 0,
            below: 0,
            rising: 0,
            falling: 0,
            alternating: 0,
            within1: 0,
            beyond1: 0,
            last_step: 0,
            beyond2_up: 0,
            beyond2_down: 0,
            beyond1_up: 0,
            beyond1_down: 0,
        }
    }

    /// The chart's limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The rows seen so far (missing ones included): the index the next row will have.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Checks the next batch of the series, pushing its violations to `out`.
    pub fn update(&mut self, values: &[f64], out: &mut Vec<Violation>) {
        for &v in values {
            self.push(v, out);
        }
    }

    /// Checks the next batch of the series as an Arrow array (nulls are missing
    /// readings), pushing its violations to `out`.
    pub fn update_array(&mut self, values: &Float64Array, out: &mut Vec<Violation>) {
        for v in values.iter() {
            self.push(v.unwrap_or(f64::NAN), out);
        }
    }

    /// Checks the next reading (`NaN` is a missing one), pushing its violations to `out`.
    #[inline]
    pub fn push(&mut self, x: f64, out: &mut Vec<Violation>) {
        let index = self.position;
        self.position += 1;
        if x.is_nan() {
            return;
        }
        let (c, [u1, u2, u3], [l1, l2, l3]) = (self.limits.center(), self.upper, self.lower);

        // Runs on one side of the centre line.
        self.above = if x > c { self.above + 1 } else { 0 };
        self.below = if x < c { self.below + 1 } else { 0 };
        // Trends and alternation.
        let step: i8 = match self.previous {
            Some(p) if x > p => 1,
            Some(p) if x < p => -1,
            _ => 0,
        };
        self.rising = if step == 1 { self.rising + 1 } else { 1 };
        self.falling = if step == -1 { self.falling + 1 } else { 1 };
        self.alternating = if step == 0 {
            1
        } else if step == -self.last_step {
            self.alternating + 1
        } else {
            2
        };
        self.last_step = step;
        self.previous = Some(x);
        // Zones.
        self.within1 = if x > l1 && x < u1 {
            self.within1 + 1
        } else {
            0
        };
        self.beyond1 = if x > u1 || x < l1 {
            self.beyond1 + 1
        } else {
            0
        };
        self.beyond2_up = self.beyond2_up << 1 | u8::from(x > u2);
        self.beyond2_down = self.beyond2_down << 1 | u8::from(x < l2);
        self.beyond1_up = self.beyond1_up << 1 | u8::from(x > u1);
        self.beyond1_down = self.beyond1_down << 1 | u8::from(x < l1);

        let beyond3 = x > u3 || x < l3;
        let two_of_three = (x > u2 && (self.beyond2_up & 0b111).count_ones() >= 2)
            || (x < l2 && (self.beyond2_down & 0b111).count_ones() >= 2);
        let four_of_five = (x > u1 && (self.beyond1_up & 0b1_1111).count_ones() >= 4)
            || (x < l1 && (self.beyond1_down & 0b1_1111).count_ones() >= 4);
        let side = self.above.max(self.below);
        let fired = [
            beyond3,
            two_of_three,
            four_of_five,
            side >= 8,
            beyond3,
            side >= 9,
            self.rising.max(self.falling) >= 6,
            self.alternating >= 14,
            two_of_three,
            four_of_five,
            self.within1 >= 15,
            self.beyond1 >= 8,
        ];
        for (rule, fired) in Rule::ALL.into_iter().zip(fired) {
            if fired && self.rules.contains(rule) {
                out.push(Violation {
                    index,
                    rule,
                    value: x,
                    limits: self.limits,
                });
            }
        }
    }
}

/// The violations of `rules` in a whole series (see the [module docs](self)).
pub fn shewhart(values: &[f64], limits: Limits, rules: RuleSet) -> Vec<Violation> {
    let mut out = Vec::new();
    ShewhartState::new(limits, rules).update(values, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;

    /// Centre 0, sigma 1: readings are z-scores, so the zones are plain to read.
    fn unit() -> Result<Limits> {
        Limits::new(0.0, 1.0)
    }

    /// The indices at which `rule` fires on `values`.
    fn fires(values: &[f64], rule: Rule) -> Result<Vec<usize>> {
        Ok(shewhart(values, unit()?, RuleSet::NONE.with(rule))
            .into_iter()
            .map(|v| v.index)
            .collect())
    }

    #[test]
    fn rule_ids_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
            assert_eq!(rule.to_string(), rule.id());
        }
        assert_eq!(Rule::from_id("n5"), Some(Rule::Nelson5));
        assert_eq!(Rule::from_id("WE5"), None);
        assert_eq!(RuleSet::WESTERN_ELECTRIC.iter().count(), 4);
        assert_eq!(RuleSet::NELSON.iter().count(), 8);
        assert_eq!(RuleSet::ALL.iter().collect::<RuleSet>(), RuleSet::ALL);
    }

    #[test]
    fn beyond_three_sigma() -> Result<()> {
        // 3.5 and −3.2 are beyond 3σ; 3.0 is exactly on the limit (not beyond).
        let values = [0.5, 3.5, 3.0, -1.0, -3.2, 0.0];
        for rule in [Rule::We1, Rule::Nelson1] {
            assert_eq!(fires(&values, rule)?, vec![1, 4]);
            // Near miss: everything at or inside the limits.
            assert_eq!(
                fires(&[0.5, 2.99, 3.0, -3.0, -2.9], rule)?,
                Vec::<usize>::new()
            );
        }
        Ok(())
    }

    #[test]
    fn two_of_three_beyond_two_sigma() -> Result<()> {
        // Points beyond +2σ at 1 and 3 (2 of the 3 points 1..=3) → fires at 3; the point 4
        // (inside) does not fire although its window 2..=4 holds one and 3..=4 too.
        // Points beyond −2σ at 6 and 7 → fires at 7.
        let values = [0.0, 2.5, 1.0, 2.1, 0.0, 0.0, -2.2, -3.5, 0.0];
        for rule in [Rule::We2, Rule::Nelson5] {
            assert_eq!(fires(&values, rule)?, vec![3, 7]);
            // Near misses: beyond 2σ but 3 apart (2 of 4); on opposite sides; on the
            // line (2.0 is not beyond).
            assert_eq!(fires(&[2.5, 0.0, 0.0, 2.5], rule)?, Vec::<usize>::new());
            assert_eq!(fires(&[2.5, -2.5, 0.0], rule)?, Vec::<usize>::new());
            assert_eq!(fires(&[2.5, 2.0, 1.0], rule)?, Vec::<usize>::new());
        }
        // Three in a row fire at the second and the third.
        assert_eq!(fires(&[2.5, 2.5, 2.5], Rule::We2)?, vec![1, 2]);
        Ok(())
    }

    #[test]
    fn four_of_five_beyond_one_sigma() -> Result<()> {
        // Beyond +1σ at 0, 1, 3, 4 (4 of the 5 points 0..=4) → fires at 4, and at 5
        // (1, 3, 4, 5 of 1..=5).
        let values = [1.5, 1.2, 0.3, 1.1, 2.5, 1.4, 0.0];
        for rule in [Rule::We3, Rule::Nelson6] {
            assert_eq!(fires(&values, rule)?, vec![4, 5]);
            // Near misses: 3 of 5; 4 of 6 (a gap of two inside); 4 of 5 beyond 1σ but
            // 3 above and 2 below.
            assert_eq!(
                fires(&[1.5, 1.2, 0.3, 0.1, 2.5], rule)?,
                Vec::<usize>::new()
            );
            assert_eq!(
                fires(&[1.5, 1.2, 0.3, 0.1, 1.5, 1.5], rule)?,
                Vec::<usize>::new()
            );
            assert_eq!(
                fires(&[1.5, -1.3, 1.2, -1.3, 1.5, 1.5], rule)?,
                Vec::<usize>::new()
            );
        }
        // The lower side: −1.1 … at 2..=5 with a 0.9 at 1: 4 of the 5 points 1..=5.
        assert_eq!(
            fires(&[0.0, -0.9, -1.1, -1.2, -1.5, -1.01], Rule::We3)?,
            vec![5]
        );
        Ok(())
    }

    #[test]
    fn runs_on_one_side() -> Result<()> {
        // 9 points above (1..=9), then one exactly on the centre, then 8 below (11..=18).
        let mut values = vec![-0.5];
        values.extend([0.1; 9]);
        values.push(0.0);
        values.extend([-0.2; 8]);
        // WE4 (8 in a row): the 8th and 9th above (8, 9) and the 8th below (18).
        assert_eq!(fires(&values, Rule::We4)?, vec![8, 9, 18]);
        // Nelson 2 (9 in a row): only the 9th above; 8 below is a near miss.
        assert_eq!(fires(&values, Rule::Nelson2)?, vec![9]);
        // Near miss: 7 above, one on the centre line, 7 above.
        let mut near = vec![0.3; 7];
        near.push(0.0);
        near.extend([0.3; 7]);
        assert_eq!(fires(&near, Rule::We4)?, Vec::<usize>::new());
        assert_eq!(fires(&near, Rule::Nelson2)?, Vec::<usize>::new());
        Ok(())
    }

    #[test]
    fn trends() -> Result<()> {
        // Rising 0.0, 0.1, … 0.5 (6 points, 5 rises) at 1..=6, then 0.6 at 7, then falling
        // 6 points from 0.6: 0.5 … 0.0 at 8..=12 (0.6 at 7 starts the fall).
        let values = [
            0.2, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1,
        ];
        assert_eq!(fires(&values, Rule::Nelson3)?, vec![6, 7, 12]);
        // Near misses: 5 rising points; 6 with one flat step in the middle.
        assert_eq!(
            fires(&[0.0, 0.1, 0.2, 0.3, 0.4], Rule::Nelson3)?,
            Vec::<usize>::new()
        );
        assert_eq!(
            fires(&[0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5], Rule::Nelson3)?,
            Vec::<usize>::new()
        );
        Ok(())
    }

    #[test]
    fn alternation() -> Result<()> {
        // 15 points alternating up and down: the 14th (13) and 15th (14) fire.
        let zigzag: Vec<f64> = (0..15)
            .map(|i| if i % 2 == 0 { 0.1 } else { 0.4 })
            .collect();
        assert_eq!(fires(&zigzag, Rule::Nelson4)?, vec![13, 14]);
        // Near miss: 13 alternating points; 14 with two rises in the middle.
        assert_eq!(fires(&zigzag[..13], Rule::Nelson4)?, Vec::<usize>::new());
        let mut broken = zigzag[..14].to_vec();
        // 0.1 (6) → 0.3 (7) → 0.35 (8) → 0.4 (9): three rises in a row.
        broken[7] = 0.3;
        broken[8] = 0.35;
        assert_eq!(fires(&broken, Rule::Nelson4)?, Vec::<usize>::new());
        Ok(())
    }

    #[test]
    fn stratification_within_one_sigma() -> Result<()> {
        // 15 points within 1σ (−0.9 … 0.9) fire at the 15th (index 14), 16th (15).
        let mut values: Vec<f64> = (0..16)
            .map(|i| if i % 3 == 0 { -0.9 } else { 0.5 })
            .collect();
        values.push(1.5);
        assert_eq!(fires(&values, Rule::Nelson7)?, vec![14, 15]);
        // Near miss: 14 within, one exactly on +1σ (not within), 14 within.
        let mut near = vec![0.2; 14];
        near.push(1.0);
        near.extend([-0.2; 14]);
        assert_eq!(fires(&near, Rule::Nelson7)?, Vec::<usize>::new());
        Ok(())
    }

    #[test]
    fn mixture_beyond_one_sigma() -> Result<()> {
        // 8 points beyond 1σ on both sides (none within) → fires at the 8th (index 8).
        let values = [0.0, 1.5, -1.5, 2.0, -1.2, 1.1, -2.5, 1.3, -1.1, 0.2];
        assert_eq!(fires(&values, Rule::Nelson8)?, vec![8]);
        // Near miss: 7 beyond, one within, 7 beyond.
        let near = [
            1.5, -1.5, 2.0, -1.2, 1.1, -2.5, 1.3, 0.5, 1.5, -1.5, 2.0, -1.2, 1.1, -2.5, 1.3,
        ];
        assert_eq!(fires(&near, Rule::Nelson8)?, Vec::<usize>::new());
        Ok(())
    }

    #[test]
    fn missing_readings_are_skipped_not_counted() -> Result<()> {
        // 8 points above with NaNs between: the run is not broken, the NaN is not a
        // point, and the index is the row's (the 8th point is row 10).
        let values = [
            0.1,
            0.1,
            f64::NAN,
            0.1,
            0.1,
            0.1,
            f64::NAN,
            0.1,
            0.1,
            f64::NAN,
            0.1,
        ];
        assert_eq!(fires(&values, Rule::We4)?, vec![10]);
        // A NaN is never a violation, even under WE1.
        assert_eq!(fires(&[f64::NAN, 5.0, f64::NAN], Rule::We1)?, vec![1]);
        // Infinite readings are beyond the limits and do not panic.
        let all = shewhart(
            &[f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY],
            unit()?,
            RuleSet::ALL,
        );
        assert!(all.iter().any(|v| v.rule == Rule::We1 && v.index == 2));
        Ok(())
    }

    #[test]
    fn batches_equal_whole_and_violations_carry_limits() -> Result<()> {
        let limits = Limits::new(10.0, 2.0)?;
        // A pseudo-random series (z-scores in [−2.8, 2.7]) shifted up by 1.5σ after row 30,
        // with a missing reading at row 12.
        let values: Vec<f64> = (0..60)
            .map(|i| {
                let z = ((i * 37) % 23) as f64 / 4.0 - 2.8 + if i >= 30 { 1.5 } else { 0.0 };
                if i == 12 { f64::NAN } else { 10.0 + 2.0 * z }
            })
            .collect();
        let whole = shewhart(&values, limits, RuleSet::ALL);
        assert!(
            whole
                .iter()
                .map(|v| v.rule)
                .collect::<RuleSet>()
                .iter()
                .count()
                >= 3
        );
        for split in [1, 7, 30, 59] {
            let mut state = ShewhartState::new(limits, RuleSet::ALL);
            let mut out = Vec::new();
            state.update(&values[..split], &mut out);
            state.update_array(&Float64Array::from(values[split..].to_vec()), &mut out);
            assert_eq!(out, whole);
            assert_eq!(state.position(), 60);
        }
        for v in &whole {
            assert_eq!(v.value.to_bits(), values[v.index].to_bits());
            assert_eq!(v.limits, limits);
        }
        // Nulls of an Arrow array are missing readings.
        let mut state = ShewhartState::new(unit()?, RuleSet::WESTERN_ELECTRIC);
        let mut out = Vec::new();
        state.update_array(&Float64Array::from(vec![None, Some(4.0)]), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].index, 1);
        assert_eq!(out[0].rule, Rule::We1);
        Ok(())
    }
}

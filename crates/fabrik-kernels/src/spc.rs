//! Statistical process control (SPC) of one series: a sensor's readings in time order,
//! checked against control limits learned from a baseline.
//!
//! - [`Limits`]: the centre line and sigma of a chart, learned from a baseline with
//!   [`Limits::from_baseline`] (or given). [`Summary`] is the streaming, mergeable
//!   accumulator behind it.
//! - [`rules`]: the Shewhart individuals chart with the Western Electric rules and the
//!   Nelson rules ([`ShewhartState`], [`shewhart`]).
//! - [`ewma`](mod@ewma): the exponentially weighted moving average chart ([`EwmaState`],
//!   [`ewma()`](ewma::ewma)).
//! - [`cusum`](mod@cusum): the tabular CUSUM ([`CusumState`], [`cusum()`](cusum::cusum)).
//! - [`Capability`]: process capability Cp, Cpk, Pp, Ppk against specification limits.
//!
//! # Sigma
//!
//! An individuals chart (one reading per point, no subgroups) estimates the short-term
//! ("within") sigma from the average moving range of consecutive readings:
//! `σ̂ = MR̄ / d₂` with `d₂ = 1.128` for ranges of two (Montgomery, *Introduction to
//! Statistical Quality Control*, ch. 6, the individuals chart). This is the default,
//! [`SigmaEstimate::MovingRange`]: a drift or a shift in the baseline inflates it much
//! less than the overall sample standard deviation
//! ([`SigmaEstimate::SampleStdDev`], `n − 1` in the denominator), which is offered too and
//! is the "overall" sigma of Pp / Ppk.
//!
//! # Missing readings
//!
//! A `NaN` reading (or a null in an Arrow array) is skipped: it is not a point of the
//! chart, takes no part in a run, a window, a moving range or a statistic, and two
//! readings on either side of it are consecutive. It still has its row: the index a
//! violation or signal reports is the row's position in the whole series fed to a state
//! (missing rows included), so it points back into the input. Infinite readings are
//! readings (beyond every limit); they make a baseline's limits non-finite, which
//! [`Limits::new`] rejects.
//!
//! # Streaming
//!
//! Every chart has a state ([`ShewhartState`], [`EwmaState`], [`CusumState`]) fed the
//! batches of one series in time order; a batch's violations are pushed to a vector the
//! caller owns (cleared or not, as the caller likes), and indices continue across
//! batches. Feeding a series in any split gives the same output as feeding it whole (the
//! convenience functions [`shewhart`], [`ewma()`](ewma::ewma) and
//! [`cusum()`](cusum::cusum) do exactly that). Each point costs O(1) time and no
//! allocation (the output vector grows only when something fires).

pub mod cusum;
pub mod ewma;
pub mod rules;

use arrow::array::Float64Array;

pub use cusum::{CusumParams, CusumSide, CusumSignal, CusumState, cusum};
pub use ewma::{EwmaParams, EwmaSignal, EwmaState, ewma};
pub use rules::{Rule, RuleSet, ShewhartState, Violation, shewhart};

use crate::error::{Error, Result};

/// `d₂` for ranges of two consecutive readings: the expected range of two standard normal
/// draws (`2/√π` = 1.1284, tabulated as 1.128 in Montgomery's and Minitab's tables, which
/// this follows).
pub const D2_MOVING_RANGE: f64 = 1.128;

/// How sigma is estimated from a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigmaEstimate {
    /// Average moving range of consecutive readings over `d₂ = 1.128`: the standard for
    /// individuals charts (short-term, "within" sigma). The default.
    #[default]
    MovingRange,
    /// The sample standard deviation of the baseline (`n − 1` denominator): the overall,
    /// long-term sigma.
    SampleStdDev,
}

/// The centre line and sigma of a control chart.
///
/// The Shewhart limits are `center ± 3·sigma`; the Western Electric / Nelson zones are at
/// `center ± 1·sigma` and `± 2·sigma`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    center: f64,
    sigma: f64,
}

impl Limits {
    /// Limits with the given centre line and sigma: the centre must be finite and sigma
    /// finite and positive ([`Error::SpcLimits`] otherwise).
    pub fn new(center: f64, sigma: f64) -> Result<Self> {
        if !center.is_finite() || !sigma.is_finite() || sigma <= 0.0 {
            return Err(Error::SpcLimits { center, sigma });
        }
        Ok(Limits { center, sigma })
    }

    /// Limits learned from a baseline: the mean of its readings as the centre line and
    /// sigma estimated as `estimate` says (`NaN` readings skipped). Needs two readings;
    /// a constant baseline (sigma 0) is [`Error::SpcLimits`].
    pub fn from_baseline(values: &[f64], estimate: SigmaEstimate) -> Result<Self> {
        let mut summary = Summary::new();
        summary.update(values);
        summary.limits(estimate)
    }

    /// The centre line.
    pub fn center(&self) -> f64 {
        self.center
    }

    /// Sigma.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The upper control limit, `center + 3·sigma`.
    pub fn ucl(&self) -> f64 {
        self.center + 3.0 * self.sigma
    }

    /// The lower control limit, `center − 3·sigma`.
    pub fn lcl(&self) -> f64 {
        self.center - 3.0 * self.sigma
    }
}

/// A streaming, mergeable summary of a baseline: count, mean and sum of squared
/// deviations (Welford; merged as Chan et al.), and the moving ranges of consecutive
/// readings. `NaN` readings are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    count: u64,
    mean: f64,
    m2: f64,
    mr_sum: f64,
    mr_count: u64,
    first: f64,
    last: f64,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary::default()
    }

    /// Adds one reading (`NaN` is skipped).
    #[inline]
    pub fn push(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        if self.count == 0 {
            self.first = value;
        } else {
            self.mr_sum += (value - self.last).abs();
            self.mr_count += 1;
        }
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
        self.last = value;
    }

    /// Adds the readings of a batch, in order.
    pub fn update(&mut self, values: &[f64]) {
        for &v in values {
            self.push(v);
        }
    }

    /// Adds the readings of an Arrow array, in order (nulls skipped).
    pub fn update_array(&mut self, values: &Float64Array) {
        for v in values.iter().flatten() {
            self.push(v);
        }
    }

    /// The summary of `self`'s readings followed by `later`'s: the moving range between
    /// `self`'s last reading and `later`'s first is added, so merging the summaries of
    /// consecutive parts of a series in time order equals the summary of the whole.
    pub fn merge(&self, later: &Summary) -> Summary {
        if self.count == 0 {
            return *later;
        }
        if later.count == 0 {
            return *self;
        }
        let count = self.count + later.count;
        let (n1, n2) = (self.count as f64, later.count as f64);
        let delta = later.mean - self.mean;
        Summary {
            count,
            mean: self.mean + delta * n2 / count as f64,
            m2: self.m2 + later.m2 + delta * delta * n1 * n2 / count as f64,
            mr_sum: self.mr_sum + later.mr_sum + (later.first - self.last).abs(),
            mr_count: self.mr_count + later.mr_count + 1,
            first: self.first,
            last: later.last,
        }
    }

    /// The number of (non-`NaN`) readings.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean; `None` without readings.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// The sample standard deviation (`n − 1` denominator); `None` with fewer than two
    /// readings.
    pub fn sample_sd(&self) -> Option<f64> {
        (self.count > 1).then(|| (self.m2.max(0.0) / (self.count - 1) as f64).sqrt())
    }

    /// The average moving range of consecutive readings; `None` with fewer than two.
    pub fn average_moving_range(&self) -> Option<f64> {
        (self.mr_count > 0).then(|| self.mr_sum / self.mr_count as f64)
    }

    /// The moving-range sigma `MR̄ / 1.128`; `None` with fewer than two readings.
    pub fn moving_range_sigma(&self) -> Option<f64> {
        self.average_moving_range().map(|mr| mr / D2_MOVING_RANGE)
    }

    /// Sigma estimated as `estimate` says; `None` with fewer than two readings.
    pub fn sigma(&self, estimate: SigmaEstimate) -> Option<f64> {
        match estimate {
            SigmaEstimate::MovingRange => self.moving_range_sigma(),
            SigmaEstimate::SampleStdDev => self.sample_sd(),
        }
    }

    /// The limits of this baseline (see [`Limits::from_baseline`]).
    pub fn limits(&self, estimate: SigmaEstimate) -> Result<Limits> {
        let sigma = self.sigma(estimate).ok_or(Error::SpcTooFewPoints {
            found: self.count,
            needed: 2,
        })?;
        Limits::new(self.mean, sigma)
    }

    /// The process capability of these readings (see [`Capability`]): the mean, the
    /// moving-range sigma as the within sigma and the sample standard deviation as the
    /// overall sigma.
    pub fn capability(&self, spec: SpecLimits) -> Result<Capability> {
        let too_few = Error::SpcTooFewPoints {
            found: self.count,
            needed: 2,
        };
        let within = self.moving_range_sigma().ok_or(too_few)?;
        let overall = self.sample_sd().ok_or(Error::SpcTooFewPoints {
            found: self.count,
            needed: 2,
        })?;
        Capability::new(self.mean, within, overall, spec)
    }
}

/// Specification limits: the lower (LSL) and upper (USL) limits a product must meet; at
/// least one must be given.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpecLimits {
    /// The lower specification limit, if any.
    pub lsl: Option<f64>,
    /// The upper specification limit, if any.
    pub usl: Option<f64>,
}

impl SpecLimits {
    /// Both limits.
    pub fn two_sided(lsl: f64, usl: f64) -> Self {
        SpecLimits {
            lsl: Some(lsl),
            usl: Some(usl),
        }
    }

    /// Checks that at least one limit is given, each is finite, and `lsl < usl`.
    fn check(&self) -> Result<()> {
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        let ordered = match (self.lsl, self.usl) {
            (Some(l), Some(u)) => l < u,
            (None, None) => false,
            _ => true,
        };
        if finite(self.lsl) && finite(self.usl) && ordered {
            Ok(())
        } else {
            Err(Error::SpecLimits {
                lsl: self.lsl,
                usl: self.usl,
            })
        }
    }
}

/// Process capability against specification limits (Montgomery ch. 8):
///
/// - `Cp  = (USL − LSL) / 6σ_within`, `Cpk = min(USL − μ, μ − LSL) / 3σ_within`;
/// - `Pp  = (USL − LSL) / 6σ_overall`, `Ppk = min(USL − μ, μ − LSL) / 3σ_overall`.
///
/// With one limit only, Cp and Pp are `None` and Cpk / Ppk are one-sided: `(USL − μ)/3σ`
/// (CPU) or `(μ − LSL)/3σ` (CPL). A mean outside the limits gives a negative Cpk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capability {
    /// The process mean μ.
    pub mean: f64,
    /// The within (short-term) sigma of Cp / Cpk.
    pub sigma_within: f64,
    /// The overall (long-term) sigma of Pp / Ppk.
    pub sigma_overall: f64,
    /// Cp; `None` unless both limits are given.
    pub cp: Option<f64>,
    /// Cpk (one-sided with one limit).
    pub cpk: f64,
    /// Pp; `None` unless both limits are given.
    pub pp: Option<f64>,
    /// Ppk (one-sided with one limit).
    pub ppk: f64,
}

impl Capability {
    /// The capability of a process of the given mean and sigmas. The mean must be finite
    /// and both sigmas finite and positive ([`Error::SpcLimits`]); the specification
    /// limits as [`SpecLimits`] says ([`Error::SpecLimits`]).
    pub fn new(mean: f64, sigma_within: f64, sigma_overall: f64, spec: SpecLimits) -> Result<Self> {
        Limits::new(mean, sigma_within)?;
        Limits::new(mean, sigma_overall)?;
        spec.check()?;
        let spread = |sigma: f64| spec.lsl.zip(spec.usl).map(|(l, u)| (u - l) / (6.0 * sigma));
        let k = |sigma: f64| {
            let upper = spec.usl.map(|u| (u - mean) / (3.0 * sigma));
            let lower = spec.lsl.map(|l| (mean - l) / (3.0 * sigma));
            match (upper, lower) {
                (Some(u), Some(l)) => u.min(l),
                (Some(u), None) => u,
                (None, Some(l)) => l,
                // `check` rejects specifications without a limit.
                (None, None) => f64::NAN,
            }
        };
        Ok(Capability {
            mean,
            sigma_within,
            sigma_overall,
            cp: spread(sigma_within),
            cpk: k(sigma_within),
            pp: spread(sigma_overall),
            ppk: k(sigma_overall),
        })
    }
}

/// The process capability of a series of readings (`NaN` skipped): see
/// [`Summary::capability`].
pub fn capability(values: &[f64], spec: SpecLimits) -> Result<Capability> {
    let mut summary = Summary::new();
    summary.update(values);
    summary.capability(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn baseline_sigmas_by_hand() -> Result<()> {
        // Readings 10, 12, 11, 15, 12:
        // mean = 60/5 = 12;
        // squared deviations 4, 0, 1, 9, 0 → 14; sample sd = √(14/4) = √3.5;
        // moving ranges 2, 1, 4, 3 → MR̄ = 10/4 = 2.5; σ̂ = 2.5/1.128.
        let values = [10.0, 12.0, f64::NAN, 11.0, 15.0, 12.0];
        let mr = Limits::from_baseline(&values, SigmaEstimate::MovingRange)?;
        assert!(close(mr.center(), 12.0));
        assert!(close(mr.sigma(), 2.5 / 1.128));
        assert!(close(mr.ucl(), 12.0 + 3.0 * 2.5 / 1.128));
        assert!(close(mr.lcl(), 12.0 - 3.0 * 2.5 / 1.128));
        let sd = Limits::from_baseline(&values, SigmaEstimate::SampleStdDev)?;
        assert!(close(sd.sigma(), 3.5f64.sqrt()));
        assert_eq!(SigmaEstimate::default(), SigmaEstimate::MovingRange);
        Ok(())
    }

    #[test]
    fn summaries_merge_as_one() {
        let values = [3.0, 7.5, -1.0, 4.25, 9.0, 2.0, 2.5, 8.0];
        let mut whole = Summary::new();
        whole.update(&values);
        for split in 0..=values.len() {
            let (mut a, mut b) = (Summary::new(), Summary::new());
            a.update(&values[..split]);
            b.update(&values[split..]);
            let m = a.merge(&b);
            assert_eq!(m.count(), whole.count());
            assert!(close(
                m.mean().unwrap_or(f64::NAN),
                whole.mean().unwrap_or(0.0)
            ));
            assert!(close(
                m.sample_sd().unwrap_or(f64::NAN),
                whole.sample_sd().unwrap_or(0.0)
            ));
            assert!(close(
                m.moving_range_sigma().unwrap_or(f64::NAN),
                whole.moving_range_sigma().unwrap_or(0.0)
            ));
        }
    }

    #[test]
    fn bad_baselines_are_errors() {
        assert!(matches!(
            Limits::from_baseline(&[1.0, f64::NAN], SigmaEstimate::MovingRange),
            Err(Error::SpcTooFewPoints {
                found: 1,
                needed: 2
            })
        ));
        assert!(matches!(
            Limits::from_baseline(&[4.0, 4.0, 4.0], SigmaEstimate::SampleStdDev),
            Err(Error::SpcLimits { sigma, .. }) if sigma == 0.0
        ));
        assert!(matches!(
            Limits::from_baseline(&[4.0, f64::INFINITY], SigmaEstimate::MovingRange),
            Err(Error::SpcLimits { .. })
        ));
        assert!(Limits::new(0.0, -1.0).is_err());
        assert!(Limits::new(f64::NAN, 1.0).is_err());
    }

    #[test]
    fn capability_by_hand() -> Result<()> {
        // μ = 10, σ_within = 0.5, σ_overall = 0.8, LSL = 8, USL = 13:
        // Cp  = 5/(6·0.5) = 5/3;  Cpk = min(3, 2)/(3·0.5) = 2/1.5 = 4/3;
        // Pp  = 5/(6·0.8) = 5/4.8; Ppk = 2/(3·0.8) = 2/2.4.
        let c = Capability::new(10.0, 0.5, 0.8, SpecLimits::two_sided(8.0, 13.0))?;
        assert!(close(c.cp.unwrap_or(f64::NAN), 5.0 / 3.0));
        assert!(close(c.cpk, 4.0 / 3.0));
        assert!(close(c.pp.unwrap_or(f64::NAN), 5.0 / 4.8));
        assert!(close(c.ppk, 2.0 / 2.4));
        // One-sided: USL only → CPU = (13 − 10)/(3·0.5) = 2; LSL only → CPL = 2/1.5.
        let upper = Capability::new(
            10.0,
            0.5,
            0.8,
            SpecLimits {
                lsl: None,
                usl: Some(13.0),
            },
        )?;
        assert_eq!(upper.cp, None);
        assert!(close(upper.cpk, 2.0));
        assert!(close(upper.ppk, 3.0 / 2.4));
        let lower = Capability::new(
            10.0,
            0.5,
            0.8,
            SpecLimits {
                lsl: Some(8.0),
                usl: None,
            },
        )?;
        assert_eq!(lower.pp, None);
        assert!(close(lower.cpk, 2.0 / 1.5));
        // A mean above the USL: Cpk = (13 − 14)/1.5 < 0.
        let off = Capability::new(14.0, 0.5, 0.8, SpecLimits::two_sided(8.0, 13.0))?;
        assert!(close(off.cpk, -1.0 / 1.5));
        Ok(())
    }

    #[test]
    fn capability_of_readings_by_hand() -> Result<()> {
        // Readings 9, 11, 10, 12, 8: mean 10; deviations² 1, 1, 0, 4, 4 → 10, sample sd
        // √(10/4) = √2.5; moving ranges 2, 1, 2, 4 → MR̄ = 9/4, σ_within = 2.25/1.128.
        // LSL 4, USL 16: Cp = 12/(6·2.25/1.128), Cpk = 6/(3·2.25/1.128) (centred),
        // Pp = 12/(6·√2.5), Ppk = 6/(3·√2.5).
        let c = capability(
            &[9.0, 11.0, 10.0, 12.0, 8.0],
            SpecLimits::two_sided(4.0, 16.0),
        )?;
        let within = 2.25 / 1.128;
        assert!(close(c.sigma_within, within));
        assert!(close(c.cp.unwrap_or(f64::NAN), 12.0 / (6.0 * within)));
        assert!(close(c.cpk, 6.0 / (3.0 * within)));
        assert!(close(
            c.pp.unwrap_or(f64::NAN),
            12.0 / (6.0 * 2.5f64.sqrt())
        ));
        assert!(close(c.ppk, 6.0 / (3.0 * 2.5f64.sqrt())));
        Ok(())
    }

    #[test]
    fn bad_specifications_are_errors() {
        for spec in [
            SpecLimits::default(),
            SpecLimits::two_sided(5.0, 5.0),
            SpecLimits::two_sided(6.0, 5.0),
            SpecLimits {
                lsl: Some(f64::NAN),
                usl: None,
            },
        ] {
            assert!(matches!(
                Capability::new(1.0, 1.0, 1.0, spec),
                Err(Error::SpecLimits { .. })
            ));
        }
    }
}

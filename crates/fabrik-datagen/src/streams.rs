//! Seeded random streams: one ChaCha8 stream per (seed, purpose, entity, sub-entity), so
//! every piece of the plant can be generated on its own, in parallel, and come out the same
//! whatever the thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// What a stream is used for; part of its derivation, so streams never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Purpose {
    /// Orders of one day of the history (entity: day index).
    OrderDay = 1,
    /// Supplier attributes (entity: supplier index).
    Supplier = 2,
    /// Replenishment of one part at one plant (entity: plant, sub: part).
    Replenishment = 3,
    /// Machine timeline: failures, setups, speeds (entity: machine index).
    Machine = 4,
    /// Developing faults of one machine (entity: machine index).
    Fault = 5,
    /// Static profile of a sensor (entity: sensor index).
    SensorProfile = 6,
    /// Telemetry of one sensor on one day (entity: sensor, sub: day).
    SensorDay = 7,
    /// Dirty-mode defects of one file chunk (entity: table, sub: chunk).
    Dirty = 8,
    /// Production counts: scrap draws (entity: machine index).
    Scrap = 9,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `(seed, purpose, a, b)`.
pub(crate) fn stream(seed: u64, purpose: Purpose, a: u64, b: u64) -> ChaCha8Rng {
    let mut z = splitmix64(seed);
    for w in [purpose as u64, a, b] {
        z = splitmix64(z ^ splitmix64(w));
    }
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        z = splitmix64(z);
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// A standard normal draw.
#[inline]
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// A uniform draw in `[lo, hi)`.
#[inline]
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A lognormal draw with the given median and log-space standard deviation.
pub(crate) fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// An exponential draw with the given mean.
pub(crate) fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    let u: f64 = rng.random();
    -mean * (1.0 - u).ln()
}

/// The number of failures before the first success of a Bernoulli(p) sequence (p in (0, 1]).
/// Used to jump straight to the next rare event instead of drawing for every row.
pub(crate) fn geometric(rng: &mut ChaCha8Rng, p: f64) -> u64 {
    if p >= 1.0 {
        return 0;
    }
    if p <= 0.0 {
        return u64::MAX;
    }
    let u: f64 = rng.random();
    let g = ((1.0 - u).ln() / (1.0 - p).ln()).floor();
    if g >= u64::MAX as f64 {
        u64::MAX
    } else {
        g as u64
    }
}

/// A Poisson draw (0 for a mean that is not positive and finite).
pub(crate) fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    if !(mean.is_finite() && mean > 0.0) {
        return 0;
    }
    match Poisson::new(mean) {
        Ok(d) => {
            let x: f64 = d.sample(rng);
            x as u64
        }
        Err(_) => 0,
    }
}

/// Cumulative weights, for [`pick`].
pub(crate) fn cumulative(weights: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w.max(0.0);
            acc
        })
        .collect()
}

/// An index drawn with probability proportional to its weight, given cumulative weights.
pub(crate) fn pick(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cum.partition_point(|&c| c <= x)
        .min(cum.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| stream(1, Purpose::SensorDay, 3, 4).random())
            .collect();
        assert!(
            a.windows(2).all(|w| w[0] == w[1]),
            "same derivation, same first draw"
        );
        let x: u64 = stream(1, Purpose::SensorDay, 3, 4).random();
        let others: [u64; 4] = [
            stream(2, Purpose::SensorDay, 3, 4).random(),
            stream(1, Purpose::SensorProfile, 3, 4).random(),
            stream(1, Purpose::SensorDay, 4, 3).random(),
            stream(1, Purpose::SensorDay, 3, 5).random(),
        ];
        assert!(others.iter().all(|&o| o != x));
    }

    #[test]
    fn geometric_has_the_right_mean() {
        let mut rng = stream(9, Purpose::Dirty, 0, 0);
        let n = 20_000;
        let mean = (0..n)
            .map(|_| geometric(&mut rng, 0.01) as f64)
            .sum::<f64>()
            / n as f64;
        assert!((mean - 99.0).abs() < 5.0, "mean {mean}");
        assert_eq!(geometric(&mut rng, 1.0), 0);
        assert_eq!(geometric(&mut rng, 0.0), u64::MAX);
    }

    #[test]
    fn pick_follows_weights() {
        let mut rng = stream(9, Purpose::Dirty, 1, 0);
        let cum = cumulative(&[1.0, 0.0, 3.0]);
        let mut counts = [0usize; 3];
        for _ in 0..8000 {
            counts[pick(&mut rng, &cum)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = counts[2] as f64 / counts[0] as f64;
        assert!((2.6..3.4).contains(&ratio), "{counts:?}");
        assert_eq!(poisson(&mut rng, f64::NAN), 0);
    }
}

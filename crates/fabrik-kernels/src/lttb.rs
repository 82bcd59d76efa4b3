//! Largest-triangle-three-buckets downsampling (S. Steinarsson, *Downsampling Time Series
//! for Visual Representation*, 2013): keeps `threshold` points of a series that draw
//! nearly the same line.
//!
//! The first and last points are kept. The others are split into `threshold − 2` buckets
//! of (nearly) equal count; walking the buckets in order, each keeps the point that makes
//! the largest triangle with the point kept in the bucket before it and the average point
//! of the bucket after it (the last point for the last bucket). Ties keep the earlier
//! point.
//!
//! A `threshold` of at least the number of points, or below 3 (no bucket between first
//! and last), returns every point unchanged. The series must be sorted by time
//! ([`Error::Unsorted`] otherwise); `x` is the timestamp relative
//! to the first one, as `f64`. A `NaN` value makes every triangle through it `NaN`, which
//! is never the largest: such points are kept only when their whole bucket is `NaN` (the
//! bucket's first point is taken then). Drop missing values first when they must not show.

use crate::error::{Error, Result};
use crate::series::same_length;

/// The indices of the points LTTB keeps, ascending (see the [module docs](self)).
pub fn lttb_indices(ts: &[i64], values: &[f64], threshold: usize) -> Result<Vec<usize>> {
    same_length(ts.len(), values.len())?;
    if let Some(position) = ts.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error::Unsorted {
            position: position + 1,
            ts: ts[position + 1],
            previous: ts[position],
        });
    }
    let n = ts.len();
    if threshold >= n || threshold < 3 {
        return Ok((0..n).collect());
    }
    let t0 = ts[0];
    let x = |i: usize| (ts[i] - t0) as f64;
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let mut kept = Vec::with_capacity(threshold);
    let mut a = 0usize;
    kept.push(a);
    for i in 0..threshold - 2 {
        // The next bucket's average point.
        let avg_start = ((i + 1) as f64 * every) as usize + 1;
        let avg_end = (((i + 2) as f64 * every) as usize + 1).min(n);
        let (avg_x, avg_y) = if avg_start < avg_end {
            let len = (avg_end - avg_start) as f64;
            let (sx, sy) =
                (avg_start..avg_end).fold((0.0, 0.0), |(sx, sy), j| (sx + x(j), sy + values[j]));
            (sx / len, sy / len)
        } else {
            (x(n - 1), values[n - 1])
        };
        // This bucket.
        let from = (i as f64 * every) as usize + 1;
        let to = (((i + 1) as f64 * every) as usize + 1).min(n - 1);
        let (ax, ay) = (x(a), values[a]);
        let mut best = from;
        let mut best_area = -1.0;
        for (j, &y) in values.iter().enumerate().take(to).skip(from) {
            let area = ((ax - avg_x) * (y - ay) - (ax - x(j)) * (avg_y - ay)).abs() * 0.5;
            if area > best_area {
                best_area = area;
                best = j;
            }
        }
        kept.push(best);
        a = best;
    }
    kept.push(n - 1);
    Ok(kept)
}

/// The points LTTB keeps, as new timestamp and value vectors (see [`lttb_indices`]).
pub fn lttb(ts: &[i64], values: &[f64], threshold: usize) -> Result<(Vec<i64>, Vec<f64>)> {
    let kept = lttb_indices(ts, values, threshold)?;
    Ok((
        kept.iter().map(|&i| ts[i]).collect(),
        kept.iter().map(|&i| values[i]).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worked_example() -> Result<()> {
        // 8 points, threshold 4: every = (8 − 2) / (4 − 2) = 3.
        let ts: Vec<i64> = (0..8).collect();
        let v = [0.0, 2.0, 8.0, 1.0, 3.0, 9.0, 0.0, 4.0];
        // Bucket 1 = points 1..4, next bucket 4..7 averages to (5, 4); a = (0, 0).
        // Area ×2 = |(0 − 5)(y − 0) − (0 − x)(4 − 0)| = |−5y + 4x|:
        //   (1, 2) → 6, (2, 8) → 32, (3, 1) → 7: point 2 is kept.
        // Bucket 2 = points 4..7, next bucket is the last point (7, 4); a = (2, 8).
        // Area ×2 = |(2 − 7)(y − 8) − (2 − x)(4 − 8)| = |−5(y − 8) + 4(2 − x)|:
        //   (4, 3) → 17, (5, 9) → 17, (6, 0) → 24: point 6 is kept.
        assert_eq!(lttb_indices(&ts, &v, 4)?, vec![0, 2, 6, 7]);
        let (t, y) = lttb(&ts, &v, 4)?;
        assert_eq!((t, y), (vec![0, 2, 6, 7], vec![0.0, 8.0, 0.0, 4.0]));
        // Threshold 3: one bucket 1..7 against the last point (7, 4); a = (0, 0):
        // area ×2 = |−7y + 4x|: 10, 48, 5, 5, 43, 24 for points 1..=6: point 2 is kept.
        assert_eq!(lttb_indices(&ts, &v, 3)?, vec![0, 2, 7]);
        Ok(())
    }

    #[test]
    fn small_thresholds_and_short_series_are_unchanged() -> Result<()> {
        let ts = [0, 1, 2, 3];
        let v = [1.0, 5.0, 2.0, 3.0];
        for threshold in [0, 1, 2, 4, 10] {
            assert_eq!(lttb_indices(&ts, &v, threshold)?, vec![0, 1, 2, 3]);
        }
        assert_eq!(lttb_indices(&[], &[], 3)?, Vec::<usize>::new());
        assert!(matches!(
            lttb_indices(&[0, 2, 1, 3], &v, 3),
            Err(Error::Unsorted { position: 2, .. })
        ));
        Ok(())
    }

    #[test]
    fn keeps_threshold_points_first_and_last() -> Result<()> {
        let n = 1003;
        let ts: Vec<i64> = (0..n).map(|i| i * 7).collect();
        let v: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64).sin()).collect();
        for threshold in [3, 10, 100, 1002] {
            let kept = lttb_indices(&ts, &v, threshold)?;
            assert_eq!(kept.len(), threshold);
            assert_eq!(kept.first(), Some(&0));
            assert_eq!(kept.last(), Some(&(n as usize - 1)));
            assert!(kept.windows(2).all(|w| w[0] < w[1]), "{threshold}");
        }
        Ok(())
    }
}

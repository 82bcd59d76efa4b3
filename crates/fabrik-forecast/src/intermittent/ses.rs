//! Simple exponential smoothing as the intermittent-demand models use it: the smoothed
//! value starts at the first observation, a golden-section search picks the weight that
//! minimises the in-sample sum of squared one-step errors, and a series can be smoothed
//! after temporal aggregation into non-overlapping chunks (as `statsforecast` 2.1.1's
//! `ses_forecast`, `ses_sse`, `golden_section_ses` and `chunk_forecast` do).

/// Streaming SES over a sequence pushed one value at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SesState {
    alpha: f64,
    /// The one-step forecast of the latest value pushed (the first value itself at first).
    smoothed: f64,
    /// The latest value pushed.
    last: f64,
    count: usize,
}

impl SesState {
    pub(crate) fn new(alpha: f64) -> SesState {
        SesState {
            alpha,
            smoothed: 0.0,
            last: 0.0,
            count: 0,
        }
    }

    /// How many values were pushed.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    pub(crate) fn push(&mut self, x: f64) {
        if self.count == 0 {
            self.smoothed = x;
        } else {
            self.smoothed = self.alpha * self.last + (1.0 - self.alpha) * self.smoothed;
        }
        self.last = x;
        self.count += 1;
    }

    /// The one-step forecast after the values pushed so far (NaN before any).
    pub(crate) fn forecast(&self) -> f64 {
        match self.count {
            0 => f64::NAN,
            1 => self.last,
            _ => self.alpha * self.last + (1.0 - self.alpha) * self.smoothed,
        }
    }
}

/// The SES forecast after `x` (at least one value).
pub(crate) fn ses_forecast(x: impl IntoIterator<Item = f64>, alpha: f64) -> f64 {
    let mut s = SesState::new(alpha);
    for v in x {
        s.push(v);
    }
    s.forecast()
}

/// The in-sample sum of squared one-step errors of SES with weight `alpha` (0 for fewer
/// than two values).
pub(crate) fn ses_sse(x: &[f64], alpha: f64) -> f64 {
    let Some((&first, _)) = x.split_first() else {
        return 0.0;
    };
    let complement = 1.0 - alpha;
    let mut forecast = first;
    let mut sse = 0.0;
    for w in x.windows(2) {
        forecast = alpha * w[0] + complement * forecast;
        let err = w[1] - forecast;
        sse += err * err;
    }
    sse
}

/// The weight in `[lower, upper]` minimising [`ses_sse`], by golden-section search down to
/// an interval of 1e-12 (stopping early on a tie, so a series of fewer than two values
/// gets the middle of the range).
pub(crate) fn golden_section_ses(x: &[f64], lower: f64, upper: f64) -> f64 {
    let gr = (5.0_f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (lower, upper);
    let mut c = b - (b - a) / gr;
    let mut d = a + (b - a) / gr;
    let mut fc = ses_sse(x, c);
    let mut fd = ses_sse(x, d);
    while (b - a).abs() >= 1e-12 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - (b - a) / gr;
            fc = ses_sse(x, c);
        } else if fd < fc {
            a = c;
            c = d;
            fc = fd;
            d = a + (b - a) / gr;
            fd = ses_sse(x, d);
        } else {
            break;
        }
    }
    (b + a) / 2.0
}

/// The forecast of SES with the golden-section weight on `[0.1, 0.3]`.
pub(crate) fn optimized_ses_forecast(x: &[f64]) -> f64 {
    let alpha = golden_section_ses(x, 0.1, 0.3);
    ses_forecast(x.iter().copied(), alpha)
}

/// The one-step forecast of the sum of the next `level` periods: `y` is cut into
/// non-overlapping chunks of `level` periods ending at its last value (the incomplete
/// chunk at the start is dropped), the chunk sums are smoothed by SES with the
/// golden-section weight on `[0.1, 0.3]`. With no complete chunk the last value is
/// returned, with one chunk its sum. `scratch` holds the sums.
///
/// `level` is at least 1 and `y` not empty (callers' invariants).
pub(crate) fn chunk_forecast(y: &[f64], level: usize, scratch: &mut Vec<f64>) -> f64 {
    let n = y.len();
    let lost = n % level;
    if n - lost < level {
        return y[n - 1];
    }
    scratch.clear();
    scratch.extend(y[lost..].chunks_exact(level).map(|c| {
        let mut s = 0.0;
        for v in c {
            s += v;
        }
        s
    }));
    if scratch.len() <= 1 {
        return scratch[0];
    }
    optimized_ses_forecast(scratch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ses_matches_the_recursion_by_hand() {
        // x = [1, 2, 3], alpha 0.5: f1 = 1, f2 = 0.5*2 + 0.5*1 = 1.5, forecast 0.5*3 + 0.75
        assert_eq!(ses_forecast([1.0, 2.0, 3.0], 0.5), 2.25);
        assert_eq!(ses_forecast([4.0], 0.5), 4.0);
        // errors: 2 - 1 = 1, 3 - 1.5 = 1.5
        assert_eq!(ses_sse(&[1.0, 2.0, 3.0], 0.5), 1.0 + 2.25);
        assert_eq!(ses_sse(&[1.0], 0.5), 0.0);
    }

    #[test]
    fn golden_section_takes_the_middle_on_a_flat_loss() {
        assert!((golden_section_ses(&[3.0], 0.1, 0.3) - 0.2).abs() < 1e-15);
        // A trending series wants the largest weight.
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        assert!((golden_section_ses(&x, 0.1, 0.3) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn chunks_end_at_the_last_value() {
        let mut s = Vec::new();
        // 5 values, level 2: the first value is dropped, sums [2+3, 4+5] = [5, 9].
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        let a = golden_section_ses(&[5.0, 9.0], 0.1, 0.3);
        assert_eq!(chunk_forecast(&y, 2, &mut s), a * 9.0 + (1.0 - a) * 5.0);
        assert_eq!(chunk_forecast(&y, 3, &mut s), 12.0);
        assert_eq!(chunk_forecast(&y[..2], 3, &mut s), 2.0);
    }
}

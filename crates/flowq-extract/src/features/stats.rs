//! Running statistics in O(1) memory.

/// Count, minimum, maximum, mean and variance of a stream of values, updated
/// one value at a time with Welford's method (numerically stable, no stored
/// values). Every statistic of an empty stream is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    count: u64,
    min: f64,
    max: f64,
    mean: f64,
    /// Sum of squared deviations from the running mean.
    m2: f64,
    sum: f64,
}

impl Summary {
    /// Adds one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.count += 1;
        self.sum += x;
        if self.count == 1 {
            self.min = x;
            self.max = x;
            self.mean = x;
            self.m2 = 0.0;
            return;
        }
        // The values (lengths, gaps, durations) are never NaN nor -0.0, so a
        // plain comparison gives what `f64::min`/`max` give, in one
        // instruction each instead of a NaN-aware sequence.
        self.min = if x < self.min { x } else { self.min };
        self.max = if x > self.max { x } else { self.max };
        let delta = x - self.mean;
        // Through i64: one conversion instruction (u64 to f64 takes several);
        // the same f64 for any count below 2^63.
        self.mean += delta / self.count as i64 as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest value.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Sum of the values (0 for none).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Arithmetic mean.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// Sample standard deviation (divisor n − 1); needs two values.
    pub fn sample_std(&self) -> Option<f64> {
        (self.count > 1).then(|| (self.m2.max(0.0) / (self.count - 1) as f64).sqrt())
    }

    /// Sample variance (divisor n − 1); needs two values.
    pub fn sample_variance(&self) -> Option<f64> {
        (self.count > 1).then(|| self.m2.max(0.0) / (self.count - 1) as f64)
    }

    /// Population standard deviation (divisor n); needs one value.
    pub fn population_std(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.m2.max(0.0) / self.count as f64).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_single_value() {
        let mut s = Summary::default();
        assert_eq!((s.min(), s.mean(), s.sample_std()), (None, None, None));
        s.add(7.0);
        assert_eq!(
            (s.min(), s.max(), s.mean()),
            (Some(7.0), Some(7.0), Some(7.0))
        );
        assert_eq!((s.sample_std(), s.population_std()), (None, Some(0.0)));
    }

    #[test]
    fn matches_the_two_pass_formulas() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population variance 4, sample variance 32/7.
        let mut s = Summary::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.add(x);
        }
        assert_eq!(s.count(), 8);
        assert_eq!((s.min(), s.max()), (Some(2.0), Some(9.0)));
        assert!((s.mean().unwrap() - 5.0).abs() < 1e-12);
        assert!((s.population_std().unwrap() - 2.0).abs() < 1e-12);
        assert!((s.sample_std().unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn stable_with_a_large_offset() {
        // Nanosecond timestamps around 1.7e18 would ruin a naive sum of squares.
        let mut s = Summary::default();
        for x in [1.0e12 + 1.0, 1.0e12 + 2.0, 1.0e12 + 3.0] {
            s.add(x);
        }
        assert!((s.sample_std().unwrap() - 1.0).abs() < 1e-6);
    }
}

//! Metrics in the Prometheus text format, and a latency histogram with fixed buckets.
//!
//! [`Exposition`] writes metric families (`# HELP`, `# TYPE`, then the samples) in the
//! text format 0.0.4 that Prometheus scrapes; [`Histogram`] counts observations in fixed
//! buckets, so its memory stays the same however long a job runs, and gives quantiles by
//! linear interpolation within a bucket, as Prometheus's `histogram_quantile` does.
//!
//! ```
//! use ballotflow::connectors::metrics::{Exposition, Histogram};
//!
//! let mut latency = Histogram::latency();
//! latency.observe(0.2, 3);
//! latency.observe(0.7, 1);
//! let mut text = Exposition::default();
//! text.counter("ballotflow_votes_admitted_total", "Votes admitted.", &[], 4.0);
//! text.histogram("ballotflow_sink_commit_latency_seconds", "Arrival to commit.", &[], &latency);
//! let text = text.finish();
//! assert!(text.contains("ballotflow_votes_admitted_total 4\n"));
//! assert!(text.contains("ballotflow_sink_commit_latency_seconds_bucket{le=\"0.25\"} 3\n"));
//! assert!(text.contains("ballotflow_sink_commit_latency_seconds_count 4\n"));
//! ```

use std::fmt::Write;

/// Upper bounds (seconds) of [`Histogram::latency`]'s buckets; a last bucket, `+Inf`, holds
/// the rest.
pub const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Observations counted in fixed buckets (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (one more than `bounds`: the last is `+Inf`), observations in it.
    counts: Vec<u64>,
    sum: f64,
    max: f64,
}

impl Histogram {
    /// An empty histogram with these upper bounds (increasing).
    pub fn new(bounds: &'static [f64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bucket bounds must increase");
        Histogram { bounds, counts: vec![0; bounds.len() + 1], sum: 0.0, max: 0.0 }
    }

    /// An empty histogram of latencies in seconds, 5 ms to 5 min ([`LATENCY_BUCKETS`]).
    pub fn latency() -> Self {
        Histogram::new(LATENCY_BUCKETS)
    }

    /// Counts `n` observations of `value`.
    pub fn observe(&mut self, value: f64, n: u64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.counts[bucket] += n;
        self.sum += value * n as f64;
        if n > 0 {
            self.max = self.max.max(value);
        }
    }

    /// Observations counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sum of the observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The largest observation (0 if none).
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The `q` quantile (0 ≤ q ≤ 1), interpolated linearly within its bucket (the `+Inf`
    /// bucket answers with the largest observation); `None` if nothing was observed.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * count as f64).max(1.0);
        let mut below = 0u64;
        for (i, n) in self.counts.iter().enumerate() {
            if *n > 0 && (below + n) as f64 >= rank {
                let Some(upper) = self.bounds.get(i) else { return Some(self.max) };
                let lower = if i == 0 { 0.0 } else { self.bounds[i - 1] };
                let at = lower + (upper - lower) * (rank - below as f64) / *n as f64;
                return Some(at.min(self.max));
            }
            below += n;
        }
        Some(self.max)
    }

    /// Cumulative counts per upper bound, `+Inf` last, as the text format wants them.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = self.bounds.iter().copied().chain(std::iter::once(f64::INFINITY));
        bounds.zip(self.counts.iter().scan(0, |total, n| {
            *total += n;
            Some(*total)
        }))
    }
}

/// A metrics page in the Prometheus text format (see the module docs).
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
    families: Vec<String>,
}

impl Exposition {
    /// A counter (`name` should end in `_total`).
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, help, "counter");
        self.sample(name, labels, value);
    }

    /// A gauge.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, help, "gauge");
        self.sample(name, labels, value);
    }

    /// A histogram: its cumulative buckets, sum and count.
    pub fn histogram(&mut self, name: &str, help: &str, labels: &[(&str, &str)], histogram: &Histogram) {
        self.family(name, help, "histogram");
        for (bound, count) in histogram.cumulative() {
            let le = if bound.is_infinite() { "+Inf".to_string() } else { format_value(bound) };
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &with_le, count as f64);
        }
        self.sample(&format!("{name}_sum"), labels, histogram.sum());
        self.sample(&format!("{name}_count"), labels, histogram.count() as f64);
    }

    /// The page.
    pub fn finish(self) -> String {
        self.text
    }

    /// Writes a family's `# HELP` and `# TYPE` lines the first time it is named; the
    /// samples of one family must follow each other.
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        if self.families.last().is_some_and(|last| last == name) {
            return;
        }
        debug_assert!(!self.families.iter().any(|f| f == name), "samples of {name} are not together");
        self.families.push(name.to_string());
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                let value = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
                let _ = write!(self.text, "{}{label}=\"{value}\"", if i > 0 { "," } else { "" });
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", format_value(value));
    }
}

/// A sample value as the text format writes it (integers without a fraction).
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// The process's resident memory in bytes (`VmRSS`), where the platform tells.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quantile the plain way: sort every observation, take the one at the rank.
    fn exact(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = ((q * values.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1]
    }

    #[test]
    fn quantiles_fall_in_the_bucket_of_the_exact_quantile() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % 1_000_000) as f64 / 1_000_000.0
        };
        for scale in [0.01, 0.3, 4.0, 500.0] {
            let values: Vec<f64> = (0..2_000).map(|_| next() * scale).collect();
            let mut histogram = Histogram::latency();
            values.iter().for_each(|v| histogram.observe(*v, 1));
            assert_eq!(histogram.count(), 2_000);
            for q in [0.5, 0.9, 0.99] {
                let (got, want) = (histogram.quantile(q).unwrap(), exact(&values, q));
                let bucket = |v: f64| LATENCY_BUCKETS.partition_point(|b| *b < v);
                assert!(bucket(got) == bucket(want) || got == histogram.max(), "q{q} scale {scale}: {got} vs exact {want}");
                assert!(got <= histogram.max());
            }
        }
        assert_eq!(Histogram::latency().quantile(0.5), None);
    }

    #[test]
    fn buckets_are_cumulative_and_inclusive_of_their_bound() {
        let mut histogram = Histogram::new(&[1.0, 2.0]);
        histogram.observe(1.0, 2);
        histogram.observe(1.5, 1);
        histogram.observe(9.0, 1);
        assert_eq!(histogram.cumulative().collect::<Vec<_>>(), vec![(1.0, 2), (2.0, 3), (f64::INFINITY, 4)]);
        assert_eq!(histogram.quantile(1.0), Some(9.0));
        assert_eq!(histogram.quantile(0.5), Some(1.0));
        assert_eq!(histogram.sum(), 12.5);
    }

    #[test]
    fn exposition_writes_each_family_once_and_escapes_labels() {
        let mut text = Exposition::default();
        text.counter("x_total", "Xs.", &[("reason", "a\"b")], 1.0);
        text.counter("x_total", "Xs.", &[("reason", "c")], 2.5);
        text.gauge("y", "Y.", &[], f64::NAN);
        let text = text.finish();
        assert_eq!(text, "# HELP x_total Xs.\n# TYPE x_total counter\nx_total{reason=\"a\\\"b\"} 1\nx_total{reason=\"c\"} 2.5\n# HELP y Y.\n# TYPE y gauge\ny NaN\n");
    }
}

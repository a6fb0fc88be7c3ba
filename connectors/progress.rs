//! [`SourceProgress`]: how far a process's readers have read, and when that is reflected in
//! the results, shared by the readers and the sinks of the process.
//!
//! Readers publish, just before each flush of their inputs, the next position of every
//! partition they read, with the timely time `reflected_by` before which everything read so
//! far is admitted (`max(frontier, tick(largest event time)) + 1`). A sink whose frontier
//! has passed `reflected_by` holds every effect of that input. The PostgreSQL sink stores
//! the positions with each commit, and on a restart holds its writes back until the replay
//! has read as far again (see [`crate::connectors::postgres`]).
//!
//! Readers also report when their messages arrived (Kafka: the message timestamp), so a
//! sink can measure arrival-to-commit latency.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use crate::connectors::metrics::Histogram;
use crate::connectors::sink::least_frontier;

/// Positions as `{"source/partition": next position}`.
pub type Positions = BTreeMap<String, i64>;

/// The name of a partition of a source in [`Positions`].
pub fn position_key(source: &str, partition: i32) -> String {
    format!("{source}/{partition}")
}

#[derive(Clone, Copy, Debug)]
struct Position {
    next: i64,
    reflected_by: u64,
}

/// Input that arrived between two flushes of one reader.
#[derive(Clone, Copy, Debug)]
struct Batch {
    reflected_by: u64,
    arrived_ms: i64,
    count: u64,
}

#[derive(Debug)]
struct Inner {
    positions: BTreeMap<String, Position>,
    /// Whether a sink measures latency (otherwise arrivals are not kept).
    measured: bool,
    batches: VecDeque<Batch>,
    /// Per worker of the measured sink, its committed frontier (`None`: complete).
    committed: BTreeMap<usize, Option<u64>>,
    /// Arrival-to-commit latency of every input measured, in seconds.
    latencies: Histogram,
    /// What readers know of their partitions besides the position.
    health: BTreeMap<String, PartitionHealth>,
}

/// What a reader knows of a partition besides its position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartitionHealth {
    /// Messages behind the partition's end, if the client has said.
    pub lag: Option<i64>,
    /// Whether the event clock counts the partition idle (it holds no time back).
    pub idle: bool,
}

/// See the module docs. One per process, shared by reference.
#[derive(Debug)]
pub struct SourceProgress(Mutex<Inner>);

impl Default for SourceProgress {
    fn default() -> Self {
        let inner =
            Inner { positions: BTreeMap::new(), measured: false, batches: VecDeque::new(), committed: BTreeMap::new(), latencies: Histogram::latency(), health: BTreeMap::new() };
        SourceProgress(Mutex::new(inner))
    }
}

/// Arrival-to-commit latency percentiles, in milliseconds, from the fixed buckets of a
/// [`Histogram`] (interpolated within a bucket, never above the largest).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// Inputs measured.
    pub count: u64,
    /// Median.
    pub p50_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// Largest.
    pub max_ms: u64,
}

impl SourceProgress {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().expect("source progress poisoned")
    }

    /// A reader has read `partition` of `source` up to `next` (exclusive), and all of it
    /// is admitted before time `reflected_by`.
    pub fn publish(&self, source: &str, partition: i32, next: i64, reflected_by: u64) {
        let mut inner = self.inner();
        let entry = inner.positions.entry(position_key(source, partition)).or_insert(Position { next, reflected_by });
        if next >= entry.next {
            *entry = Position { next, reflected_by: reflected_by.max(entry.reflected_by) };
        }
    }

    /// `count` inputs, the earliest of which arrived at `arrived_ms` (ms since the epoch),
    /// are admitted before time `reflected_by`. Kept only once a sink measures latency.
    pub fn arrived(&self, reflected_by: u64, arrived_ms: i64, count: u64) {
        let mut inner = self.inner();
        if count > 0 && inner.measured {
            inner.batches.push_back(Batch { reflected_by, arrived_ms, count });
        }
    }

    /// A sink will report [`SourceProgress::committed`]: keep arrivals from now on.
    pub fn measure_latency(&self) {
        self.inner().measured = true;
    }

    /// What the reader of `partition` of `source` knows of it now.
    pub fn report_health(&self, source: &str, partition: i32, health: PartitionHealth) {
        self.inner().health.insert(position_key(source, partition), health);
    }

    /// What readers last reported of their partitions, keyed as [`Positions`].
    pub fn health(&self) -> BTreeMap<String, PartitionHealth> {
        self.inner().health.clone()
    }

    /// Every partition's next position.
    pub fn positions(&self) -> Positions {
        self.inner().positions.iter().map(|(k, p)| (k.clone(), p.next)).collect()
    }

    /// If every partition in `target` has been read at least that far, the time before
    /// which all of it is admitted; `None` while some partition is behind (or unknown).
    pub fn reached(&self, target: &Positions) -> Option<u64> {
        let inner = self.inner();
        target.iter().try_fold(0, |by, (key, next)| {
            let position = inner.positions.get(key).filter(|p| p.next >= *next)?;
            Some(by.max(position.reflected_by))
        })
    }

    /// Worker `worker` of the measured sink (of `workers`) has committed everything
    /// before `frontier`: inputs reflected before the least such frontier are done, and
    /// their latency is sampled.
    pub fn committed(&self, worker: usize, workers: usize, frontier: Option<u64>, now_ms: i64) {
        let mut inner = self.inner();
        inner.committed.insert(worker, frontier);
        if inner.committed.len() < workers {
            return;
        }
        let least = least_frontier(inner.committed.values().copied());
        let Inner { batches, latencies, .. } = &mut *inner;
        batches.retain(|batch| {
            let done = least.is_none_or(|f| batch.reflected_by <= f);
            if done {
                latencies.observe((now_ms - batch.arrived_ms).max(0) as f64 / 1000.0, batch.count);
            }
            !done
        });
    }

    /// Latency percentiles over everything measured so far.
    pub fn latency(&self) -> Option<Latency> {
        let histogram = self.latency_histogram();
        let ms = |q: f64| histogram.quantile(q).map(|s| (s * 1000.0).round() as u64);
        Some(Latency { count: histogram.count(), p50_ms: ms(0.5)?, p99_ms: ms(0.99)?, max_ms: (histogram.max() * 1000.0).round() as u64 })
    }

    /// Every latency measured so far, in seconds.
    pub fn latency_histogram(&self) -> Histogram {
        self.inner().latencies.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reached_needs_every_partition_and_reports_the_latest_time() {
        let progress = SourceProgress::default();
        let target: Positions = [("votes/0".to_string(), 10), ("votes/1".to_string(), 5)].into();
        progress.publish("votes", 0, 12, 300);
        assert_eq!(progress.reached(&target), None);
        progress.publish("votes", 1, 4, 100);
        assert_eq!(progress.reached(&target), None);
        progress.publish("votes", 1, 5, 200);
        assert_eq!(progress.reached(&target), Some(300));
        assert_eq!(progress.reached(&Positions::new()), Some(0));
    }

    #[test]
    fn latency_counts_a_batch_once_every_worker_committed_past_it() {
        let progress = SourceProgress::default();
        progress.arrived(1, 0, 1);
        progress.measure_latency();
        progress.arrived(10, 1_000, 3);
        progress.arrived(20, 1_100, 1);
        progress.committed(0, 2, Some(30), 1_500);
        assert_eq!(progress.latency(), None);
        progress.committed(1, 2, Some(15), 1_600);
        assert_eq!(progress.latency(), Some(Latency { count: 3, p50_ms: 600, p99_ms: 600, max_ms: 600 }));
        progress.committed(1, 2, None, 1_700);
        assert_eq!(progress.latency().unwrap().p99_ms, 600);
        assert_eq!(progress.latency().unwrap().count, 4, "the arrival before measuring began is not counted");
    }
}

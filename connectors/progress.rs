//! How far the readers have read, and when that is reflected in the results.
//!
//! **Through the dataflow** ([`PositionInput`], [`SourcePositions`]): at each flush, a reader
//! sends the next position of every partition it has read further (or whose reading became
//! reflected) since it last sent it, as a [`ReadPosition`], broadcast to every worker, at a
//! time no later than any input that flush admits, with the timely time `reflected_by`
//! before which everything read so far is admitted
//! (`max(frontier, tick(largest event time)) + 1`; unknown while read input is held back).
//! A sink operator folds what it receives into [`SourcePositions`]: once its frontier has
//! passed a time `t`, it has every position of every flush that admitted input before `t`,
//! in whichever process the reader runs. So its rows reflect no input past
//! [`SourcePositions::read`], and they reflect all input up to a position once the frontier
//! has passed that position's `reflected_by` ([`SourcePositions::reached`]). The PostgreSQL
//! sink stores the first with each commit and, on a restart, holds its writes back until the
//! second covers them (see [`crate::connectors::postgres`]).
//!
//! **In a process** ([`SourceProgress`]): what this process's readers have read and know of
//! their partitions, and when their messages arrived (Kafka: the message timestamp), so a
//! sink can measure arrival-to-commit latency; for displays and metrics.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::Input;
use timely::dataflow::{InputHandleVec, Scope, StreamVec};

use crate::connectors::metrics::Histogram;
use crate::connectors::sink::least_frontier;

/// Positions as `{"source/partition": next position}`.
pub type Positions = BTreeMap<String, i64>;

/// The name of a partition of a source in [`Positions`].
pub fn position_key(source: &str, partition: i32) -> String {
    format!("{source}/{partition}")
}

/// How far one reader has read one partition, as it flushed (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadPosition {
    /// The partition, as [`position_key`] names it.
    pub partition: String,
    /// The next position to read: everything before it has been read.
    pub next: i64,
    /// The time before which everything before `next` is admitted; `None` while some of it
    /// is read but held back.
    pub reflected_by: Option<u64>,
}

/// One worker's readers' positions, into the dataflow: every worker receives them.
pub struct PositionInput {
    handle: InputHandleVec<u64, ReadPosition>,
}

impl PositionInput {
    /// The input, and the stream of every worker's positions.
    pub fn new<'scope>(scope: Scope<'scope, u64>) -> (Self, StreamVec<'scope, u64, ReadPosition>) {
        let mut handle = InputHandleVec::new();
        let stream = scope.input_from(&mut handle).broadcast();
        (PositionInput { handle }, stream)
    }

    /// Sends `position` at the input's time: call it before the flush that admits what it
    /// covers, then [`PositionInput::advance_to`] the new frontier.
    pub fn send(&mut self, position: ReadPosition) {
        self.handle.send(position);
    }

    /// Moves the input to `time` (if it is later) and sends what was buffered.
    pub fn advance_to(&mut self, time: u64) {
        if time > *self.handle.time() {
            self.handle.advance_to(time);
        }
        self.handle.flush();
    }
}

/// What a sink knows of how far the sources have been read (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourcePositions {
    /// Every partition's largest position received.
    read: Positions,
    /// Per partition, the largest position known reflected, and the time by which it is.
    reflected: BTreeMap<String, Position>,
}

impl SourcePositions {
    /// Takes in one received position. Of two for the same position, the earlier time is
    /// kept (both are true), so a reader need not send a position again.
    pub fn observe(&mut self, position: ReadPosition) {
        let ReadPosition { partition, next, reflected_by } = position;
        if let Some(reflected_by) = reflected_by {
            let entry = self.reflected.entry(partition.clone()).or_insert(Position { next, reflected_by });
            match next.cmp(&entry.next) {
                std::cmp::Ordering::Greater => *entry = Position { next, reflected_by },
                std::cmp::Ordering::Equal => entry.reflected_by = entry.reflected_by.min(reflected_by),
                std::cmp::Ordering::Less => {}
            }
        }
        let read = self.read.entry(partition).or_insert(next);
        *read = (*read).max(next);
    }

    /// Every partition's largest position received: rows at a frontier these were handed
    /// over with reflect no input past them.
    pub fn read(&self) -> &Positions {
        &self.read
    }

    /// If every partition in `target` has been read at least that far, the time before
    /// which all of it is admitted; `None` while some partition is behind (or unknown).
    pub fn reached(&self, target: &Positions) -> Option<u64> {
        target.iter().try_fold(0, |by, (key, next)| {
            let position = self.reflected.get(key).filter(|p| p.next >= *next)?;
            Some(by.max(position.reflected_by))
        })
    }
}

/// A partition's position, and the time before which everything before it is admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    positions: Positions,
    /// How many of this process's workers run the sink that measures latency (otherwise
    /// arrivals are not kept).
    measured: Option<usize>,
    batches: VecDeque<Batch>,
    /// Per worker of the measured sink in this process, its committed frontier (`None`: complete).
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
            Inner { positions: Positions::new(), measured: None, batches: VecDeque::new(), committed: BTreeMap::new(), latencies: Histogram::latency(), health: BTreeMap::new() };
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

    /// A reader of this process has read `partition` of `source` up to `next` (exclusive).
    pub fn publish(&self, source: &str, partition: i32, next: i64) {
        let mut inner = self.inner();
        let entry = inner.positions.entry(position_key(source, partition)).or_insert(next);
        *entry = (*entry).max(next);
    }

    /// `count` inputs, the earliest of which arrived at `arrived_ms` (ms since the epoch),
    /// are admitted before time `reflected_by`. Kept only once a sink measures latency.
    pub fn arrived(&self, reflected_by: u64, arrived_ms: i64, count: u64) {
        let mut inner = self.inner();
        if count > 0 && inner.measured.is_some() {
            inner.batches.push_back(Batch { reflected_by, arrived_ms, count });
        }
    }

    /// A sink run by `workers` workers of this process will report
    /// [`SourceProgress::committed`]: keep arrivals from now on.
    pub fn measure_latency(&self, workers: usize) {
        self.inner().measured = Some(workers.max(1));
    }

    /// What the reader of `partition` of `source` knows of it now.
    pub fn report_health(&self, source: &str, partition: i32, health: PartitionHealth) {
        self.inner().health.insert(position_key(source, partition), health);
    }

    /// What readers last reported of their partitions, keyed as [`Positions`].
    pub fn health(&self) -> BTreeMap<String, PartitionHealth> {
        self.inner().health.clone()
    }

    /// Every partition's next position, as this process's readers have read them.
    pub fn positions(&self) -> Positions {
        self.inner().positions.clone()
    }

    /// Worker `worker` of the measured sink has committed everything before `frontier`:
    /// once every worker of this process has, inputs reflected before the least such
    /// frontier are done, and their latency is sampled.
    pub fn committed(&self, worker: usize, frontier: Option<u64>, now_ms: i64) {
        let mut inner = self.inner();
        inner.committed.insert(worker, frontier);
        if inner.measured.is_none_or(|workers| inner.committed.len() < workers) {
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

    fn at(partition: &str, next: i64, reflected_by: Option<u64>) -> ReadPosition {
        ReadPosition { partition: partition.to_string(), next, reflected_by }
    }

    #[test]
    fn reached_needs_every_partition_and_reports_the_latest_time() {
        let mut positions = SourcePositions::default();
        let target: Positions = [("votes/0".to_string(), 10), ("votes/1".to_string(), 5)].into();
        positions.observe(at("votes/0", 12, Some(300)));
        assert_eq!(positions.reached(&target), None);
        positions.observe(at("votes/1", 4, Some(100)));
        assert_eq!(positions.reached(&target), None);
        positions.observe(at("votes/1", 5, Some(200)));
        assert_eq!(positions.reached(&target), Some(300));
        assert_eq!(positions.reached(&Positions::new()), Some(0));
    }

    #[test]
    fn held_input_counts_as_read_but_not_as_reflected() {
        let mut positions = SourcePositions::default();
        positions.observe(at("votes/0", 5, Some(10)));
        positions.observe(at("votes/0", 9, None));
        let target: Positions = [("votes/0".to_string(), 9)].into();
        assert_eq!(positions.read(), &target, "the upper bound covers what is held");
        assert_eq!(positions.reached(&target), None, "held input is not reflected yet");
        positions.observe(at("votes/0", 9, Some(20)));
        assert_eq!(positions.reached(&target), Some(20));
        positions.observe(at("votes/0", 7, Some(30)));
        assert_eq!(positions.read()["votes/0"], 9, "positions never go back");
        assert_eq!(positions.reached(&target), Some(20));
        positions.observe(at("votes/0", 9, Some(40)));
        assert_eq!(positions.reached(&target), Some(20), "sent again at a later flush, still reflected by 20");
    }

    #[test]
    fn latency_counts_a_batch_once_every_worker_committed_past_it() {
        let progress = SourceProgress::default();
        progress.arrived(1, 0, 1);
        progress.measure_latency(2);
        progress.arrived(10, 1_000, 3);
        progress.arrived(20, 1_100, 1);
        progress.committed(0, Some(30), 1_500);
        assert_eq!(progress.latency(), None);
        progress.committed(1, Some(15), 1_600);
        assert_eq!(progress.latency(), Some(Latency { count: 3, p50_ms: 600, p99_ms: 600, max_ms: 600 }));
        progress.committed(1, None, 1_700);
        assert_eq!(progress.latency().unwrap().p99_ms, 600);
        assert_eq!(progress.latency().unwrap().count, 4, "the arrival before measuring began is not counted");
    }
}

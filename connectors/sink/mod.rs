//! Result sinks: keyed changes out of a differential collection, per closed timestamp.
//!
//! In: a collection of `(key, row)` in which each key has at most one row at any time
//! (a result table with a primary key). The [`SinkExt::sink_into`] operator exchanges the
//! updates by key, so every worker owns a disjoint set of keys and drives its own [`Sink`]
//! instance, with no single-writer bottleneck. When the input frontier passes a time `t`,
//! the updates at `t` are consolidated and handed over as one [`Change`] per changed key:
//! an upsert of the key's new row, or a delete if the row was retracted without a
//! replacement. Times are delivered in increasing order, then [`Sink::advance`] says that
//! everything before the new frontier has been delivered.
//!
//! Implementations: [`memory::MemorySink`] (tests, live progress), [`json`] (a results file),
//! [`crate::connectors::kafka::KafkaSink`] (result topics), and later PostgreSQL; [`Tee`]
//! delivers to two sinks.

pub mod json;
pub mod memory;

use std::sync::{Arc, Mutex};

use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;

/// One key's change at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<K, V> {
    /// The key's row is now `V` (inserted or replaced).
    Upsert(K, V),
    /// The key has no row any more.
    Delete(K),
}

/// A failure a sink could not recover from by itself.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// I/O failure, e.g. writing a file.
    #[error("sink I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Any other failure, described.
    #[error("sink failed: {0}")]
    Other(String),
}

/// The receiving end of a result collection, one instance per worker.
///
/// Implementations retry transient failures themselves; an error returned here is final
/// for this sink: the operator logs it, records it in its [`SinkReport`] and stops
/// delivering to the sink.
pub trait Sink<K, V> {
    /// The consolidated changes at `time`, one per changed key. Called once per time with
    /// changes, in increasing time order.
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError>;
    /// Everything before `frontier` has been delivered; `None` when the input is complete.
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError>;
}

/// Delivers to both sinks (the first one first).
pub struct Tee<A, B>(pub A, pub B);

impl<K: Clone, V: Clone, A: Sink<K, V>, B: Sink<K, V>> Sink<K, V> for Tee<A, B> {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        self.0.apply(time, changes.clone())?;
        self.1.apply(time, changes)
    }
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        self.0.advance(frontier)?;
        self.1.advance(frontier)
    }
}

/// An optional sink: `None` discards.
impl<K, V, S: Sink<K, V>> Sink<K, V> for Option<S> {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        self.as_mut().map_or(Ok(()), |s| s.apply(time, changes))
    }
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        self.as_mut().map_or(Ok(()), |s| s.advance(frontier))
    }
}

/// What a sink operator did, shared with whoever wants to watch it.
#[derive(Clone, Debug, Default)]
pub struct SinkReport(Arc<Mutex<SinkStats>>);

/// Counters behind a [`SinkReport`].
#[derive(Clone, Debug, Default)]
pub struct SinkStats {
    /// Changes delivered.
    pub changes: u64,
    /// Distinct times delivered.
    pub times: u64,
    /// The latest frontier delivered (`None` once complete).
    pub frontier: Option<u64>,
    /// The error that stopped the sink, if any.
    pub error: Option<String>,
}

impl SinkReport {
    /// A snapshot of the counters.
    pub fn stats(&self) -> SinkStats {
        self.0.lock().expect("sink report poisoned").clone()
    }
}

/// The least of some sinks' frontiers (`None`, complete, is past every time): `None` if all
/// are complete.
pub fn least_frontier(frontiers: impl IntoIterator<Item = Option<u64>>) -> Option<u64> {
    frontiers.into_iter().flatten().min()
}

/// Which worker delivers which keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Keys are spread over all workers by hash; every worker's sink gets its own keys.
    ByKey,
    /// Every key goes to this worker (e.g. to gather results in one process).
    Worker(usize),
}

/// Attaches a [`Sink`] to a keyed collection.
pub trait SinkExt<K, V> {
    /// Delivers the collection's changes to `sink` on this worker (see the module docs),
    /// with keys spread over the workers.
    fn sink_into<S: Sink<K, V> + 'static>(self, name: &str, sink: S) -> SinkReport;
    /// As [`SinkExt::sink_into`], with a choice of [`Routing`].
    fn sink_into_routed<S: Sink<K, V> + 'static>(self, name: &str, routing: Routing, sink: S) -> SinkReport;
}

impl<'scope, K, V> SinkExt<K, V> for VecCollection<'scope, u64, (K, V)>
where
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    fn sink_into<S: Sink<K, V> + 'static>(self, name: &str, sink: S) -> SinkReport {
        self.sink_into_routed(name, Routing::ByKey, sink)
    }

    fn sink_into_routed<S: Sink<K, V> + 'static>(self, name: &str, routing: Routing, mut sink: S) -> SinkReport {
        let report = SinkReport::default();
        let shared = report.clone();
        let name = name.to_string();
        let mut pending: Vec<((K, V), u64, isize)> = Vec::new();
        let mut delivered = Some(0u64);
        let mut failed = false;
        let exchange = Exchange::new(move |((key, _), _, _): &((K, V), u64, isize)| match routing {
            Routing::ByKey => key.hashed().into(),
            Routing::Worker(index) => index as u64,
        });
        self.inner.sink(exchange, &name.clone(), move |(input, frontier)| {
            input.for_each(|_cap, data| pending.append(data));
            let upper = frontier.frontier().first().copied();
            if upper == delivered || failed {
                if failed {
                    pending.clear();
                }
                return;
            }
            let outcome = deliver(&mut sink, &mut pending, upper);
            let mut stats = shared.0.lock().expect("sink report poisoned");
            match outcome {
                Ok((times, changes)) => {
                    stats.times += times;
                    stats.changes += changes;
                    stats.frontier = upper;
                    delivered = upper;
                }
                Err(error) => {
                    tracing::error!(sink = %name, %error, "sink failed; its output is discarded from now on");
                    stats.error = Some(error.to_string());
                    failed = true;
                    pending.clear();
                }
            }
        });
        report
    }
}

/// Hands every pending update before `upper` to the sink, time by time.
fn deliver<K: Ord + Clone + std::fmt::Debug, V: Ord + std::fmt::Debug, S: Sink<K, V>>(
    sink: &mut S,
    pending: &mut Vec<((K, V), u64, isize)>,
    upper: Option<u64>,
) -> Result<(u64, u64), SinkError> {
    let closed = |t: &u64| upper.is_none_or(|u| *t < u);
    let mut ready: Vec<_> = Vec::new();
    let mut index = 0;
    while index < pending.len() {
        if closed(&pending[index].1) {
            ready.push(pending.swap_remove(index));
        } else {
            index += 1;
        }
    }
    ready.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let (mut times, mut total) = (0, 0);
    let mut updates = ready.into_iter().peekable();
    while let Some(&(_, time, _)) = updates.peek() {
        let mut changes = Vec::new();
        // Per key: the row that went away (-1) and the row that replaced it (+1).
        let mut current: Option<(K, Option<V>)> = None;
        while let Some(((key, row), _, mut diff)) = updates.next_if(|u| u.1 == time) {
            while let Some((_, _, more)) = updates.next_if(|u| u.1 == time && u.0 .0 == key && u.0 .1 == row) {
                diff += more;
            }
            if diff == 0 {
                continue;
            }
            if current.as_ref().is_some_and(|(k, _)| *k != key) {
                changes.push(to_change(current.take().expect("checked")));
            }
            let entry = current.get_or_insert_with(|| (key.clone(), None));
            match diff {
                -1 => {}
                1 => {
                    assert!(entry.1.is_none(), "key {key:?} has two rows at time {time}: {:?} and {row:?}", entry.1);
                    entry.1 = Some(row);
                }
                _ => panic!("key {key:?} row {row:?} changed by {diff} at time {time}; a sink key must have at most one row"),
            }
        }
        if let Some(last) = current.take() {
            changes.push(to_change(last));
        }
        if !changes.is_empty() {
            times += 1;
            total += changes.len() as u64;
            sink.apply(time, changes)?;
        }
    }
    sink.advance(upper)?;
    Ok((times, total))
}

fn to_change<K, V>((key, row): (K, Option<V>)) -> Change<K, V> {
    match row {
        Some(row) => Change::Upsert(key, row),
        None => Change::Delete(key),
    }
}

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
//! Failures are typed ([`SinkError`]): a temporary one is retried by the operator without
//! blocking the worker, a permanent one stops that sink alone and is recorded in its
//! [`SinkReport`]. A job with several outputs attaches each as its own operator
//! ([`Output`], [`SinkExt::sink_output`]), so one output's failure never holds back or
//! discards another's.
//!
//! Implementations: [`memory::MemorySink`] (tests, live progress), [`json`] (a results file),
//! [`crate::connectors::kafka::KafkaSink`] (result topics) and
//! [`crate::connectors::postgres::PgSink`].

pub mod json;
pub mod memory;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

/// One key's change at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<K, V> {
    /// The key's row is now `V` (inserted or replaced).
    Upsert(K, V),
    /// The key has no row any more.
    Delete(K),
}

/// Any error a sink wraps.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a sink could not deliver. The two kinds are handled differently by the operator:
/// see [`Sink`].
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The output is away for now (a connection lost, a broker that did not answer in
    /// time). The sink has kept everything it was given, and a later
    /// [`Sink::advance`] may succeed.
    #[error(transparent)]
    Temporary(BoxError),
    /// Retrying cannot help (a topic that cannot exist, a schema the database refuses,
    /// messages the broker rejected): the sink is done, and the job stops.
    #[error(transparent)]
    Permanent(BoxError),
}

impl SinkError {
    /// A temporary failure caused by `error`.
    pub fn temporary(error: impl Into<BoxError>) -> Self {
        SinkError::Temporary(error.into())
    }

    /// A permanent failure caused by `error`.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        SinkError::Permanent(error.into())
    }

    /// Whether retrying may help.
    pub fn is_temporary(&self) -> bool {
        matches!(self, SinkError::Temporary(_))
    }
}

impl From<std::io::Error> for SinkError {
    fn from(error: std::io::Error) -> Self {
        SinkError::Permanent(error.into())
    }
}

/// The receiving end of a result collection, one instance per worker.
///
/// The operator hands over the consolidated changes of each closed time with
/// [`Sink::apply`], then says with [`Sink::advance`] that everything before the new
/// frontier has been handed over. A sink may write in either call (buffering in `apply`
/// and writing in `advance` is usual). On [`SinkError::Temporary`] from either, it must
/// keep what it was given; the operator goes on handing over later changes and calls
/// `advance` again after a backoff (50 ms doubling to 2 s, without blocking the worker),
/// and gives up after [`TEMPORARY_LIMIT`]. On [`SinkError::Permanent`] the operator stops
/// calling the sink, records the error in its [`SinkReport`] and logs it; the job then
/// stops (see [`crate::pipelines::election::job`]).
pub trait Sink<K, V> {
    /// The consolidated changes at `time`, one per changed key. Called once per time with
    /// changes, in increasing time order.
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError>;
    /// Everything before `frontier` has been handed over; `None` when the input is complete.
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError>;
}

impl<K, V> Sink<K, V> for Box<dyn Sink<K, V>> {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        (**self).apply(time, changes)
    }
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        (**self).advance(frontier)
    }
}

/// How long a sink may keep failing temporarily before the operator gives up on it.
pub const TEMPORARY_LIMIT: Duration = Duration::from_secs(300);

/// A sink with the name its logs, reports and errors go by, and the worker that delivers
/// each key.
pub struct Output<K, V> {
    /// The name, e.g. `"result topics"`.
    pub name: String,
    /// Which worker delivers which keys.
    pub routing: Routing,
    /// The sink.
    pub sink: Box<dyn Sink<K, V>>,
}

impl<K, V> Output<K, V> {
    /// `sink` named `name`, with keys spread over the workers by hash.
    pub fn new(name: impl Into<String>, sink: impl Sink<K, V> + 'static) -> Self {
        Output { name: name.into(), routing: Routing::ByKey, sink: Box::new(sink) }
    }

    /// With another [`Routing`].
    pub fn routed(self, routing: Routing) -> Self {
        Output { routing, ..self }
    }
}

/// What a sink operator did, shared with whoever wants to watch it.
#[derive(Clone, Debug, Default)]
pub struct SinkReport {
    name: Arc<str>,
    stats: Arc<Mutex<SinkStats>>,
}

/// Counters behind a [`SinkReport`].
#[derive(Clone, Debug, Default)]
pub struct SinkStats {
    /// Changes delivered.
    pub changes: u64,
    /// Distinct times delivered.
    pub times: u64,
    /// The latest frontier delivered (`None` once complete).
    pub frontier: Option<u64>,
    /// Temporary failures retried.
    pub retries: u64,
    /// The error that stopped the sink, if any.
    pub error: Option<Arc<SinkError>>,
}

impl SinkReport {
    fn new(name: &str) -> Self {
        let stats = SinkStats { frontier: Some(0), ..SinkStats::default() };
        SinkReport { name: name.into(), stats: Arc::new(Mutex::new(stats)) }
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SinkStats {
        self.lock().clone()
    }

    /// The error that stopped the sink, if any.
    pub fn error(&self) -> Option<Arc<SinkError>> {
        self.lock().error.clone()
    }

    /// Whether the sink has nothing more to do: it delivered its complete input, or failed.
    pub fn done(&self) -> bool {
        let stats = self.lock();
        stats.frontier.is_none() || stats.error.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SinkStats> {
        self.stats.lock().expect("sink report poisoned")
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
    /// As [`SinkExt::sink_into_routed`], for an [`Output`].
    fn sink_output(self, output: Output<K, V>) -> SinkReport
    where
        Self: Sized,
        K: 'static,
        V: 'static,
    {
        self.sink_into_routed(&output.name, output.routing, output.sink)
    }
}

impl<'scope, K, V> SinkExt<K, V> for VecCollection<'scope, u64, (K, V)>
where
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    fn sink_into<S: Sink<K, V> + 'static>(self, name: &str, sink: S) -> SinkReport {
        self.sink_into_routed(name, Routing::ByKey, sink)
    }

    fn sink_into_routed<S: Sink<K, V> + 'static>(self, name: &str, routing: Routing, sink: S) -> SinkReport {
        let report = SinkReport::new(name);
        let exchange = Exchange::new(move |((key, _), _, _): &((K, V), u64, isize)| match routing {
            Routing::ByKey => key.hashed().into(),
            Routing::Worker(index) => index as u64,
        });
        let scope = self.inner.scope();
        let mut builder = OperatorBuilder::new(name.to_string(), scope);
        let activator = scope.activator_for(builder.operator_info().address);
        let mut input = builder.new_input(self.inner, exchange);
        let mut delivery = Delivery::new(sink, report.clone());
        builder.build_reschedule(move |_capabilities| {
            move |frontiers| {
                input.for_each(|_cap, data| delivery.pending.append(data));
                let upper = frontiers[0].frontier().first().copied();
                let retry_in = delivery.step(upper);
                if let Some(wait) = retry_in {
                    activator.activate_after(wait);
                }
                retry_in.is_some()
            }
        });
        report
    }
}

/// One sink operator's state: what it has handed over, and its retries.
struct Delivery<K, V, S> {
    sink: S,
    report: SinkReport,
    pending: Vec<((K, V), u64, isize)>,
    /// The frontier up to which changes were handed over with `apply`.
    applied: Option<u64>,
    /// The frontier the sink last advanced to.
    delivered: Option<u64>,
    /// Since when the sink fails temporarily, the next try, and the backoff after it.
    retry: Option<(Instant, Instant, Duration)>,
    failed: bool,
}

impl<K, V, S> Delivery<K, V, S>
where
    K: Ord + Clone + std::fmt::Debug,
    V: Ord + std::fmt::Debug,
    S: Sink<K, V>,
{
    fn new(sink: S, report: SinkReport) -> Self {
        Delivery { sink, report, pending: Vec::new(), applied: Some(0), delivered: Some(0), retry: None, failed: false }
    }

    /// Hands over what `upper` closed and advances the sink; returns when to try again if
    /// it failed temporarily.
    fn step(&mut self, upper: Option<u64>) -> Option<Duration> {
        if self.failed {
            self.pending.clear();
            return None;
        }
        let now = Instant::now();
        if let Some((_, next, _)) = self.retry {
            if now < next {
                return Some(next - now);
            }
        }
        if upper != self.applied {
            match deliver(&mut self.sink, &mut self.pending, upper) {
                Ok((times, changes)) => {
                    let mut stats = self.report.lock();
                    stats.times += times;
                    stats.changes += changes;
                }
                Err(error) => return self.failure(error),
            }
            self.applied = upper;
        }
        if self.delivered == self.applied && self.retry.is_none() {
            return None;
        }
        match self.sink.advance(upper) {
            Ok(()) => {
                if let Some((since, _, _)) = self.retry.take() {
                    tracing::info!(sink = %self.report.name, after_s = since.elapsed().as_secs_f64(), "sink recovered");
                }
                self.delivered = upper;
                self.report.lock().frontier = upper;
                None
            }
            Err(error) => self.failure(error),
        }
    }

    /// Schedules a retry of a temporary failure (until [`TEMPORARY_LIMIT`]), or stops the
    /// sink for good.
    fn failure(&mut self, error: SinkError) -> Option<Duration> {
        let now = Instant::now();
        let error = match (error, self.retry) {
            (SinkError::Temporary(e), Some((since, _, _))) if now - since >= TEMPORARY_LIMIT => {
                SinkError::Permanent(format!("still failing after {} s: {e}", TEMPORARY_LIMIT.as_secs()).into())
            }
            (SinkError::Temporary(e), retry) => {
                let (since, backoff) = match retry {
                    Some((since, _, backoff)) => (since, (backoff * 2).min(Duration::from_secs(2))),
                    None => {
                        tracing::warn!(sink = %self.report.name, error = %e, "sink temporarily unavailable; retrying with backoff");
                        (now, Duration::from_millis(50))
                    }
                };
                self.report.lock().retries += 1;
                self.retry = Some((since, now + backoff, backoff));
                return Some(backoff);
            }
            (permanent, _) => permanent,
        };
        tracing::error!(sink = %self.report.name, %error, "sink failed; the job stops");
        self.report.lock().error = Some(Arc::new(error));
        self.failed = true;
        self.pending.clear();
        None
    }
}

/// Hands every pending update before `upper` to the sink, time by time (without advancing it).
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
            match sink.apply(time, changes) {
                // Kept by the sink: `advance` retries it.
                Ok(()) | Err(SinkError::Temporary(_)) => {}
                Err(permanent) => return Err(permanent),
            }
        }
    }
    Ok((times, total))
}

fn to_change<K, V>((key, row): (K, Option<V>)) -> Change<K, V> {
    match row {
        Some(row) => Change::Upsert(key, row),
        None => Change::Delete(key),
    }
}

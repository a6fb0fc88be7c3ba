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
//! A sink operator may also take the stream of the readers' positions
//! ([`SinkExt::sink_output_with`]): it then hands its sink, before each new frontier, what it
//! knows of how far the sources have been read ([`Sink::positions`]), in whichever process
//! they are read. Sinks that store positions to be exactly once across restarts (PostgreSQL)
//! need it; the others ignore it.
//!
//! Failures are typed ([`SinkError`]): a temporary one is retried by the operator without
//! blocking the worker, a permanent one stops that sink alone and is recorded in its
//! [`SinkReport`]. A job with several outputs of one collection attaches them together
//! ([`Output`], [`SinkExt::sink_outputs`]): they share the exchange and the consolidation,
//! and each has its own feed, so one output's failure never holds back or discards
//! another's.
//!
//! Implementations: [`memory::MemorySink`] (tests, live progress), [`json`] (a results file),
//! [`crate::connectors::kafka::KafkaSink`] (result topics) and
//! [`crate::connectors::postgres::PgSink`].

mod background;
pub mod json;
pub mod memory;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::StreamVec;

use crate::connectors::progress::{ReadPosition, SourcePositions};

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
    /// How far the sources have been read, as of the next [`Sink::advance`] (only for an
    /// operator given the positions stream, and only when they changed): the changes before
    /// its frontier reflect no input past [`SourcePositions::read`]. Ignored by default.
    fn positions(&mut self, _positions: &SourcePositions) {}
}

impl<K, V> Sink<K, V> for Box<dyn Sink<K, V>> {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        (**self).apply(time, changes)
    }
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        (**self).advance(frontier)
    }
    fn positions(&mut self, positions: &SourcePositions) {
        (**self).positions(positions)
    }
}

impl<K, V> Sink<K, V> for Box<dyn Sink<K, V> + Send> {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        (**self).apply(time, changes)
    }
    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        (**self).advance(frontier)
    }
    fn positions(&mut self, positions: &SourcePositions) {
        (**self).positions(positions)
    }
}

/// How long a sink may keep failing temporarily before the operator gives up on it, unless
/// its [`Output`] says otherwise.
pub const TEMPORARY_LIMIT: Duration = Duration::from_secs(300);

/// A sink with the name its logs, reports and errors go by, the worker that delivers each
/// key, and the thread it writes on.
pub struct Output<K, V> {
    /// The name, e.g. `"result topics"`.
    pub name: String,
    /// Which worker delivers which keys.
    pub routing: Routing,
    /// How long temporary failures are retried before the sink gives up.
    pub retry_limit: Duration,
    /// A background sink's queue: the most changes it holds before the worker waits.
    pub queue_limit: usize,
    sink: Mode<K, V>,
}

/// Where a sink runs.
enum Mode<K, V> {
    /// On the worker thread, in the operator.
    Inline(Box<dyn Sink<K, V>>),
    /// On its own thread, fed by a bounded queue (see [`background`]).
    Background(Box<dyn Sink<K, V> + Send>),
}

impl<K, V> Output<K, V> {
    /// `sink` named `name`, called on the worker thread, with keys spread over the workers
    /// by hash. For sinks that do not wait (memory, a dashboard).
    pub fn new(name: impl Into<String>, sink: impl Sink<K, V> + 'static) -> Self {
        Output { name: name.into(), routing: Routing::ByKey, retry_limit: TEMPORARY_LIMIT, queue_limit: background::QUEUED_CHANGES, sink: Mode::Inline(Box::new(sink)) }
    }

    /// `sink` named `name`, writing on its own thread (see [`background`]): for sinks that
    /// wait on a network or a disk, so that they never hold the worker and an outage stalls
    /// only them.
    pub fn background(name: impl Into<String>, sink: impl Sink<K, V> + Send + 'static) -> Self {
        Output { name: name.into(), routing: Routing::ByKey, retry_limit: TEMPORARY_LIMIT, queue_limit: background::QUEUED_CHANGES, sink: Mode::Background(Box::new(sink)) }
    }

    /// With another [`Routing`].
    pub fn routed(self, routing: Routing) -> Self {
        Output { routing, ..self }
    }

    /// Retrying temporary failures for `limit` before giving up.
    pub fn retry_for(self, limit: Duration) -> Self {
        Output { retry_limit: limit, ..self }
    }

    /// A background sink whose queue holds at most `changes` changes (65,536 by default)
    /// before the worker waits for it.
    pub fn queue_limit(self, changes: usize) -> Self {
        Output { queue_limit: changes, ..self }
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
    /// How long the workers waited for a background sink's queue (backpressure).
    pub blocked: Duration,
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
pub trait SinkExt<'scope, K, V> {
    /// Delivers the collection's changes to `sink` on this worker (see the module docs),
    /// with keys spread over the workers.
    fn sink_into<S: Sink<K, V> + 'static>(self, name: &str, sink: S) -> SinkReport
    where
        Self: Sized,
    {
        self.sink_output(Output::new(name, sink))
    }
    /// As [`SinkExt::sink_into`], with a choice of [`Routing`].
    fn sink_into_routed<S: Sink<K, V> + 'static>(self, name: &str, routing: Routing, sink: S) -> SinkReport
    where
        Self: Sized,
    {
        self.sink_output(Output::new(name, sink).routed(routing))
    }
    /// Delivers the collection's changes to an [`Output`]: on the worker thread, or on the
    /// output's own thread.
    fn sink_output(self, output: Output<K, V>) -> SinkReport
    where
        Self: Sized,
    {
        self.sink_output_core(output, None)
    }
    /// As [`SinkExt::sink_output`], also handing the sink the readers' positions (see the
    /// module docs): every worker's [`ReadPosition`]s, as
    /// [`crate::connectors::progress::PositionInput`] makes them.
    fn sink_output_with(self, output: Output<K, V>, positions: StreamVec<'scope, u64, ReadPosition>) -> SinkReport
    where
        Self: Sized,
    {
        self.sink_output_core(output, Some(positions))
    }
    /// One output, with the positions stream if given: [`SinkExt::sink_outputs`] of one.
    fn sink_output_core(self, output: Output<K, V>, positions: Option<StreamVec<'scope, u64, ReadPosition>>) -> SinkReport
    where
        Self: Sized,
    {
        self.sink_outputs(vec![output], positions).pop().expect("one report per output")
    }
    /// The operators behind the others: delivers the collection's changes to every one of
    /// `outputs` (handing them the positions stream if given), in their order. Outputs with
    /// the same [`Routing`] share one operator: the updates are exchanged and consolidated
    /// once and every output is handed the same closed changes. Each still has its own
    /// report, thread (if background), retries and failure.
    fn sink_outputs(self, outputs: Vec<Output<K, V>>, positions: Option<StreamVec<'scope, u64, ReadPosition>>) -> Vec<SinkReport>;
}

impl<'scope, K, V> SinkExt<'scope, K, V> for VecCollection<'scope, u64, (K, V)>
where
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    fn sink_outputs(self, outputs: Vec<Output<K, V>>, positions: Option<StreamVec<'scope, u64, ReadPosition>>) -> Vec<SinkReport> {
        let mut outputs: Vec<Attached<K, V>> = outputs.into_iter().map(|output| (SinkReport::new(&output.name), output)).collect();
        let reports = outputs.iter().map(|(report, _)| report.clone()).collect();
        while let Some(routing) = outputs.first().map(|(_, output)| output.routing) {
            let (group, rest) = outputs.into_iter().partition(|(_, output)| output.routing == routing);
            sink_operator(self.clone(), routing, group, positions.clone());
            outputs = rest;
        }
        reports
    }
}

/// An output's report, and the output.
type Attached<K, V> = (SinkReport, Output<K, V>);

/// One operator delivering `collection` to every output of `group`, all routed by `routing`.
fn sink_operator<'scope, K, V>(
    collection: VecCollection<'scope, u64, (K, V)>,
    routing: Routing,
    group: Vec<Attached<K, V>>,
    positions: Option<StreamVec<'scope, u64, ReadPosition>>,
) where
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    let name = group.iter().map(|(_, output)| output.name.as_str()).collect::<Vec<_>>().join(" + ");
    let exchange = Exchange::new(move |((key, _), _, _): &((K, V), u64, isize)| match routing {
        Routing::ByKey => key.hashed().into(),
        Routing::Worker(index) => index as u64,
    });
    let scope = collection.inner.scope();
    let mut builder = OperatorBuilder::new(name, scope);
    let activator = scope.activator_for(builder.operator_info().address);
    let mut input = builder.new_input(collection.inner, exchange);
    let mut positions = positions.map(|stream| builder.new_input(stream, Pipeline));
    let mut known = SourcePositions::default();
    let mut news = false;
    let mut feeds: Vec<(Feed<K, V>, SinkReport)> = group
        .into_iter()
        .map(|(report, Output { name, retry_limit, queue_limit, sink, .. })| {
            let feed = match sink {
                Mode::Inline(sink) => Feed::Inline(Driver::new(sink, report.clone(), retry_limit)),
                Mode::Background(sink) => Feed::Background(background::spawn(&name, Driver::new(sink, report.clone(), retry_limit), queue_limit)),
            };
            (feed, report)
        })
        .collect();
    let mut pending = Vec::new();
    let mut applied = Some(0);
    builder.build_reschedule(move |_capabilities| {
        move |frontiers| {
            input.for_each(|_cap, data| pending.append(data));
            if let Some(positions) = &mut positions {
                positions.for_each(|_cap, data| {
                    news = true;
                    data.drain(..).for_each(|position| known.observe(position));
                });
            }
            // With positions, the frontier of both inputs: every position of input
            // admitted before it has arrived.
            let upper = least_frontier(frontiers.iter().map(|f| f.frontier().first().copied()));
            if upper != applied {
                let mut closed = closed_changes(&mut pending, upper);
                let (times, changes) = (closed.len() as u64, closed.iter().map(|(_, changes)| changes.len() as u64).sum::<u64>());
                let positions = std::mem::take(&mut news).then(|| known.clone());
                let mut live = feeds.iter_mut().filter(|(feed, _)| !feed.failed()).peekable();
                while let Some((feed, report)) = live.next() {
                    let mut counts = report.lock();
                    counts.times += times;
                    counts.changes += changes;
                    drop(counts);
                    // The last output takes the changes, the others a copy.
                    let handed = if live.peek().is_none() { std::mem::take(&mut closed) } else { closed.clone() };
                    feed.hand_over(handed, upper, positions.clone());
                }
                applied = upper;
            }
            if feeds.iter().all(|(feed, _)| feed.failed()) {
                pending.clear();
            }
            let retry_in = feeds.iter_mut().filter_map(|(feed, _)| feed.retry()).min();
            if let Some(wait) = retry_in {
                activator.activate_after(wait);
            }
            retry_in.is_some()
        }
    });
}

/// How the operator hands changes to its sink.
enum Feed<K, V> {
    /// It calls the sink itself.
    Inline(Driver<K, V, Box<dyn Sink<K, V>>>),
    /// Through the queue of the sink's thread.
    Background(background::Queue<K, V>),
}

impl<K, V> Feed<K, V> {
    /// Hands over the changes of closed times, the positions if they changed, and the new
    /// frontier.
    fn hand_over(&mut self, closed: Vec<(u64, Vec<Change<K, V>>)>, upper: Option<u64>, positions: Option<SourcePositions>) {
        match self {
            Feed::Inline(driver) => {
                for (time, changes) in closed {
                    driver.apply(time, changes);
                }
                if positions.is_some() {
                    driver.positions = positions;
                }
                driver.target = upper;
            }
            Feed::Background(queue) => queue.hand_over(closed, upper, positions),
        }
    }

    /// Advances an inline sink; when to try again if it failed temporarily.
    fn retry(&mut self) -> Option<Duration> {
        match self {
            Feed::Inline(driver) => driver.advance(),
            Feed::Background(_) => None,
        }
    }

    fn failed(&self) -> bool {
        match self {
            Feed::Inline(driver) => driver.failed,
            Feed::Background(queue) => queue.closed(),
        }
    }
}

/// One sink's delivery state: what it has been handed, how far it advanced, its retries.
/// Runs in the operator (inline) or on the sink's thread (background).
struct Driver<K, V, S> {
    sink: S,
    report: SinkReport,
    limit: Duration,
    /// The frontier up to which changes were handed over with `apply`.
    target: Option<u64>,
    /// The frontier the sink last advanced to.
    delivered: Option<u64>,
    /// Since when the sink fails temporarily, the next try, and the backoff after it.
    retry: Option<(Instant, Instant, Duration)>,
    /// Positions not given to the sink yet.
    positions: Option<SourcePositions>,
    /// Changes handed over since the sink last advanced.
    backlog: usize,
    failed: bool,
    kind: std::marker::PhantomData<fn(K, V)>,
}

impl<K, V, S: Sink<K, V>> Driver<K, V, S> {
    fn new(sink: S, report: SinkReport, limit: Duration) -> Self {
        Driver { sink, report, limit, target: Some(0), delivered: Some(0), retry: None, positions: None, backlog: 0, failed: false, kind: std::marker::PhantomData }
    }

    /// Hands over the changes of one closed time.
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) {
        if self.failed {
            return;
        }
        self.backlog += changes.len();
        match self.sink.apply(time, changes) {
            // Kept by the sink: `advance` retries it.
            Ok(()) | Err(SinkError::Temporary(_)) => {}
            Err(permanent) => {
                self.failure(permanent);
            }
        }
    }

    /// Advances the sink to the target frontier, if it is not there yet and no retry is
    /// waiting; returns when to try again if it failed temporarily.
    fn advance(&mut self) -> Option<Duration> {
        if self.failed {
            return None;
        }
        let now = Instant::now();
        if let Some((_, next, _)) = self.retry {
            if now < next {
                return Some(next - now);
            }
        }
        if self.delivered == self.target && self.retry.is_none() {
            return None;
        }
        if let Some(positions) = self.positions.take() {
            self.sink.positions(&positions);
        }
        match self.sink.advance(self.target) {
            Ok(()) => {
                if let Some((since, _, _)) = self.retry.take() {
                    tracing::info!(sink = %self.report.name, after_s = since.elapsed().as_secs_f64(), "sink recovered");
                }
                self.delivered = self.target;
                self.backlog = 0;
                self.report.lock().frontier = self.target;
                None
            }
            Err(error) => self.failure(error),
        }
    }

    /// Whether the sink has nothing more to do: it delivered its complete input, or failed.
    fn finished(&self) -> bool {
        self.failed || (self.delivered.is_none() && self.target.is_none())
    }

    /// Schedules a retry of a temporary failure (until the limit), or stops the sink for good.
    fn failure(&mut self, error: SinkError) -> Option<Duration> {
        let now = Instant::now();
        let error = match (error, self.retry) {
            (SinkError::Temporary(e), Some((since, _, _))) if now - since >= self.limit => {
                SinkError::Permanent(format!("still failing after {} s: {e}", self.limit.as_secs()).into())
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
        None
    }
}

/// Takes every pending update before `upper` and consolidates it, time by time, into one
/// change per changed key.
fn closed_changes<K: Ord + Clone + std::fmt::Debug, V: Ord + std::fmt::Debug>(pending: &mut Vec<((K, V), u64, isize)>, upper: Option<u64>) -> Vec<(u64, Vec<Change<K, V>>)> {
    let closed = |t: &u64| upper.is_none_or(|u| *t < u);
    // Usually every pending update is closed: taken whole, not moved one by one.
    let mut ready: Vec<_> = match pending.iter().all(|u| closed(&u.1)) {
        true => std::mem::take(pending),
        false => pending.extract_if(.., |u| closed(&u.1)).collect(),
    };
    ready.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let mut out = Vec::new();
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
            out.push((time, changes));
        }
    }
    out
}

fn to_change<K, V>((key, row): (K, Option<V>)) -> Change<K, V> {
    match row {
        Some(row) => Change::Upsert(key, row),
        None => Change::Delete(key),
    }
}

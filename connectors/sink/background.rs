//! A sink on its own thread, fed by a bounded queue.
//!
//! In: the consolidated changes of each closed time and each new frontier, from the sink
//! operator on a worker. The thread calls the sink's `apply` and `advance`, retries
//! temporary failures with backoff, and records the delivered frontier in the
//! [`SinkReport`] (which is what the job waits for). So the worker never waits for the
//! output, except when the queue is full: a sink slower than the dataflow slows the workers
//! down (backpressure) and memory stays bounded. While the sink is failing temporarily, the
//! thread keeps taking changes (the sink merges them per key) up to [`BACKLOG`] changes, so
//! an outage stalls only this output for as long as that lasts.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use super::{Change, Driver, Sink};
use crate::connectors::progress::SourcePositions;

/// Messages the queue holds: closed times (one message each) and frontiers.
pub(super) const QUEUE: usize = 16;

/// How many changes a failing sink takes before it stops taking more (and the queue fills).
pub(super) const BACKLOG: usize = 1_000_000;

enum Message<K, V> {
    Changes(u64, Vec<Change<K, V>>),
    Positions(SourcePositions),
    Advance(Option<u64>),
}

/// The worker's end: the operator hands over through it.
pub(super) struct Queue<K, V> {
    sender: Option<SyncSender<Message<K, V>>>,
    report: super::SinkReport,
}

/// Starts the thread of `driver`'s sink.
pub(super) fn spawn<K, V, S>(name: &str, driver: Driver<K, V, S>) -> Queue<K, V>
where
    K: Send + 'static,
    V: Send + 'static,
    S: Sink<K, V> + Send + 'static,
{
    let (sender, receiver) = sync_channel(QUEUE);
    let report = driver.report.clone();
    std::thread::Builder::new().name(format!("sink {name}")).spawn(move || run(receiver, driver)).expect("a sink thread starts");
    Queue { sender: Some(sender), report }
}

impl<K, V> Queue<K, V> {
    /// Hands over the changes of closed times, the positions if they changed, then the
    /// frontier; waits while the queue is full. Once the sink has stopped (failed), drops
    /// everything.
    pub(super) fn hand_over(&mut self, closed: Vec<(u64, Vec<Change<K, V>>)>, upper: Option<u64>, positions: Option<SourcePositions>) {
        let changes = closed.into_iter().map(|(time, changes)| Message::Changes(time, changes));
        let messages = changes.chain(positions.map(Message::Positions)).chain([Message::Advance(upper)]);
        for message in messages {
            let Some(sender) = &self.sender else { return };
            let sent = match sender.try_send(message) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(message)) => {
                    let start = Instant::now();
                    let sent = sender.send(message).map_err(|_| ());
                    self.report.lock().blocked += start.elapsed();
                    sent
                }
                Err(TrySendError::Disconnected(_)) => Err(()),
            };
            if sent.is_err() {
                self.sender = None;
            }
        }
    }

    /// Whether the sink's thread has stopped taking changes (it failed, or finished).
    pub(super) fn closed(&self) -> bool {
        self.sender.is_none()
    }
}

fn run<K, V, S: Sink<K, V>>(receiver: Receiver<Message<K, V>>, mut driver: Driver<K, V, S>) {
    let take = |driver: &mut Driver<K, V, S>, message| match message {
        Message::Changes(time, changes) => driver.apply(time, changes),
        Message::Positions(positions) => driver.positions = Some(positions),
        Message::Advance(frontier) => driver.target = frontier,
    };
    let mut retry_in: Option<Duration> = None;
    // Whether the operator may still send. Once it has handed over its complete input it
    // may be dropped while the sink still retries the last advance.
    let mut open = true;
    while !driver.finished() {
        match retry_in {
            Some(wait) if !open || driver.backlog >= BACKLOG => std::thread::sleep(wait),
            _ if !open => {}
            _ => {
                let received = match retry_in {
                    None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(wait) => receiver.recv_timeout(wait),
                };
                match received {
                    Ok(message) => {
                        take(&mut driver, message);
                        // Whatever else is queued goes into the same advance.
                        while driver.backlog < BACKLOG {
                            match receiver.try_recv() {
                                Ok(message) => take(&mut driver, message),
                                Err(TryRecvError::Empty) => break,
                                Err(TryRecvError::Disconnected) => {
                                    open = false;
                                    break;
                                }
                            }
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => open = false,
                }
            }
        }
        if !open && driver.target.is_some() {
            // The operator is gone before the end of its input: the job was stopped.
            return;
        }
        retry_in = driver.advance();
    }
}

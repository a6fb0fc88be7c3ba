//! A sink on its own thread, fed by a bounded queue.
//!
//! In: the consolidated changes of each closed time and each new frontier, from the sink
//! operator on a worker. The thread calls the sink's `apply` and `advance`, retries
//! temporary failures with backoff, and records the delivered frontier in the
//! [`SinkReport`] (which is what the job waits for). So the worker never waits for the
//! output, except when the queue is full of changes: a sink slower than the dataflow slows
//! the workers down (backpressure) and memory stays bounded. The queue is bounded by the
//! changes it holds ([`QUEUED_CHANGES`]), not by hand-overs: a live source hands over a few
//! changes every few milliseconds, and a sink in a commit of a few hundred milliseconds
//! must not hold the workers for that; it takes them all into its next commit. While the
//! sink is failing temporarily, the thread keeps taking changes (the sink merges them per
//! key) up to [`BACKLOG`] changes, so an outage stalls only this output for as long as that
//! lasts.
//!
//! Only changes take room in the queue. A frontier (with the read positions) handed over
//! without changes goes into a slot that the newest one overwrites, so a sink busy with a
//! long commit (the registries' rows, say) never holds the workers up while nothing new is
//! for it. The slot says how many change messages were sent before it, and the thread
//! takes its frontier only once it has applied exactly those: never ahead of changes still
//! queued, and never behind a later message, which carries its own frontier.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Change, Driver, Sink};
use crate::connectors::progress::SourcePositions;

/// Changes the queue holds before a worker waits (a hand-over larger than that still goes
/// into an empty queue).
pub(super) const QUEUED_CHANGES: usize = 65_536;

/// Messages the queue holds (each the closed times of one hand-over), however few changes.
const QUEUE: usize = 1_024;

/// How many changes a failing sink takes before it stops taking more (and the queue fills).
pub(super) const BACKLOG: usize = 1_000_000;

/// What one hand-over leaves for the thread: its frontier and the read positions known then.
struct Handed {
    upper: Option<u64>,
    positions: Option<SourcePositions>,
}

enum Message<K, V> {
    /// The changes of closed times, handed over at once with the frontier after them.
    Changes(Vec<(u64, Vec<Change<K, V>>)>, Handed),
    /// The slot holds a newer frontier.
    Wake,
}

/// The newest frontier handed over without changes, and how many change messages were sent
/// before it.
#[derive(Default)]
struct Slot {
    handed: Option<Handed>,
    after: u64,
    /// Whether a [`Message::Wake`] may be queued still (so that at most one is).
    woken: bool,
}

/// How many changes are queued, and a signal when the thread takes some.
#[derive(Default)]
struct Room {
    queued: Mutex<usize>,
    taken: Condvar,
}

impl Room {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.queued.lock().expect("sink queue poisoned")
    }

    /// The thread took `n` changes (or stopped: `usize::MAX`, everything).
    fn release(&self, n: usize) {
        let mut queued = self.lock();
        *queued = queued.saturating_sub(n);
        drop(queued);
        self.taken.notify_all();
    }
}

/// The worker's end: the operator hands over through it.
pub(super) struct Queue<K, V> {
    sender: Option<SyncSender<Message<K, V>>>,
    slot: Arc<Mutex<Slot>>,
    room: Arc<Room>,
    /// The most changes queued before the worker waits.
    limit: usize,
    /// Change messages sent.
    sent: u64,
    /// The read positions last handed over.
    positions: Option<SourcePositions>,
    report: super::SinkReport,
}

/// Starts the thread of `driver`'s sink, whose queue holds up to `limit` changes.
pub(super) fn spawn<K, V, S>(name: &str, driver: Driver<K, V, S>, limit: usize) -> Queue<K, V>
where
    K: Send + 'static,
    V: Send + 'static,
    S: Sink<K, V> + Send + 'static,
{
    let (sender, receiver) = sync_channel(QUEUE);
    let report = driver.report.clone();
    let slot = Arc::new(Mutex::new(Slot::default()));
    let room = Arc::new(Room::default());
    let (thread_slot, thread_room) = (slot.clone(), room.clone());
    std::thread::Builder::new()
        .name(format!("sink {name}"))
        .spawn(move || {
            run(receiver, thread_slot, &thread_room, driver);
            // Whatever is still queued will never be taken: no worker waits for it.
            thread_room.release(usize::MAX);
        })
        .expect("a sink thread starts");
    Queue { sender: Some(sender), slot, room, limit: limit.max(1), sent: 0, positions: None, report }
}

impl<K, V> Queue<K, V> {
    /// Hands over the changes of closed times, the positions if they changed, then the
    /// frontier. Changes wait while the queue is full; a frontier alone never waits. Once
    /// the sink has stopped (failed), drops everything.
    pub(super) fn hand_over(&mut self, closed: Vec<(u64, Vec<Change<K, V>>)>, upper: Option<u64>, positions: Option<SourcePositions>) {
        let Some(sender) = &self.sender else { return };
        if positions.is_some() {
            self.positions = positions;
        }
        let handed = Handed { upper, positions: self.positions.clone() };
        let sent = if closed.is_empty() {
            let mut slot = self.slot.lock().expect("sink slot poisoned");
            let wake = !slot.woken;
            *slot = Slot { handed: Some(handed), after: self.sent, woken: true };
            drop(slot);
            // A full queue wakes the thread anyway.
            !wake || !matches!(sender.try_send(Message::Wake), Err(TrySendError::Disconnected(_)))
        } else {
            self.sent += 1;
            self.make_room(closed.iter().map(|(_, changes)| changes.len()).sum());
            match sender.try_send(Message::Changes(closed, handed)) {
                Ok(()) => true,
                Err(TrySendError::Full(message)) => {
                    let start = Instant::now();
                    let sent = sender.send(message).is_ok();
                    self.report.lock().blocked += start.elapsed();
                    sent
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        };
        if !sent {
            self.sender = None;
        }
    }

    /// Waits until `n` more changes fit in the queue (or it is empty), then counts them in.
    fn make_room(&self, n: usize) {
        let mut queued = self.room.lock();
        if *queued > 0 && *queued + n > self.limit {
            let start = Instant::now();
            while *queued > 0 && *queued + n > self.limit {
                queued = self.room.taken.wait(queued).expect("sink queue poisoned");
            }
            self.report.lock().blocked += start.elapsed();
        }
        *queued += n;
    }

    /// Whether the sink's thread has stopped taking changes (it failed, or finished).
    pub(super) fn closed(&self) -> bool {
        self.sender.is_none()
    }
}

fn run<K, V, S: Sink<K, V>>(receiver: Receiver<Message<K, V>>, slot: Arc<Mutex<Slot>>, room: &Room, mut driver: Driver<K, V, S>) {
    // Change messages applied.
    let mut taken = 0u64;
    let take = |driver: &mut Driver<K, V, S>, taken: &mut u64, message| {
        if let Message::Changes(closed, handed) = message {
            let n = closed.iter().map(|(_, changes)| changes.len()).sum();
            for (time, changes) in closed {
                driver.apply(time, changes);
            }
            room.release(n);
            hand(driver, handed);
            *taken += 1;
        }
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
                        take(&mut driver, &mut taken, message);
                        // Whatever else is queued goes into the same advance.
                        while driver.backlog < BACKLOG {
                            match receiver.try_recv() {
                                Ok(message) => take(&mut driver, &mut taken, message),
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
        // The slot's frontier, if it came after exactly the changes applied (see the module
        // docs); one from before a message taken since is stale.
        let mut newest = slot.lock().expect("sink slot poisoned");
        newest.woken = false;
        if newest.after <= taken {
            if let Some(handed) = newest.handed.take() {
                if newest.after == taken {
                    hand(&mut driver, handed);
                }
            }
        }
        drop(newest);
        if !open && driver.target.is_some() {
            // The operator is gone before the end of its input: the job was stopped.
            return;
        }
        retry_in = driver.advance();
    }
}

/// Gives the driver what one hand-over left: the read positions, then the frontier.
fn hand<K, V, S: Sink<K, V>>(driver: &mut Driver<K, V, S>, handed: Handed) {
    if handed.positions.is_some() {
        driver.positions = handed.positions;
    }
    driver.target = handed.upper;
}

//! An in-memory sink: the current rows of every key, shared by all workers of a process.
//!
//! Useful for tests (with a [`Commit`] log, to check the state at every closed time),
//! for live progress displays, and for writing a results file at the end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{least_frontier, Change, Sink, SinkError};

/// One delivered time of one worker.
#[derive(Clone, Debug)]
pub struct Commit<K, V> {
    /// The worker that delivered it.
    pub worker: usize,
    /// The timely time of the changes.
    pub time: u64,
    /// The changes.
    pub changes: Vec<Change<K, V>>,
}

/// The shared state behind [`MemorySink`]s.
#[derive(Debug)]
pub struct MemoryState<K, V> {
    /// The current row of every key.
    pub rows: BTreeMap<K, V>,
    /// Every commit in delivery order, if logging was asked for.
    pub log: Option<Vec<Commit<K, V>>>,
    /// Per worker, the latest frontier delivered (`None` once complete).
    pub frontiers: BTreeMap<usize, Option<u64>>,
}

/// A handle to the shared state; [`MemorySink::for_worker`] makes each worker's sink.
#[derive(Debug)]
pub struct MemorySink<K, V> {
    state: Arc<Mutex<MemoryState<K, V>>>,
    worker: usize,
}

impl<K, V> Clone for MemorySink<K, V> {
    fn clone(&self) -> Self {
        MemorySink { state: self.state.clone(), worker: self.worker }
    }
}

impl<K: Ord + Clone, V: Clone> MemorySink<K, V> {
    /// An empty table; with `log`, every commit is kept too.
    pub fn new(log: bool) -> Self {
        let state = MemoryState { rows: BTreeMap::new(), log: log.then(Vec::new), frontiers: BTreeMap::new() };
        MemorySink { state: Arc::new(Mutex::new(state)), worker: 0 }
    }

    /// The sink instance of worker `index`, writing to the same table.
    pub fn for_worker(&self, index: usize) -> Self {
        self.state.lock().expect("memory sink poisoned").frontiers.insert(index, Some(0));
        MemorySink { state: self.state.clone(), worker: index }
    }

    /// Locks and returns the shared state.
    pub fn state(&self) -> MutexGuard<'_, MemoryState<K, V>> {
        self.state.lock().expect("memory sink poisoned")
    }

    /// A copy of the current rows.
    pub fn rows(&self) -> BTreeMap<K, V> {
        self.state().rows.clone()
    }

    /// The smallest frontier over all workers' sinks: every time before it is in `rows`.
    pub fn frontier(&self) -> Option<u64> {
        let state = self.state();
        if state.frontiers.is_empty() {
            return Some(0);
        }
        least_frontier(state.frontiers.values().copied())
    }

    /// Applies `changes` to a table.
    pub fn apply_to(rows: &mut BTreeMap<K, V>, changes: &[Change<K, V>]) {
        for change in changes {
            match change {
                Change::Upsert(key, row) => {
                    rows.insert(key.clone(), row.clone());
                }
                Change::Delete(key) => {
                    rows.remove(key);
                }
            }
        }
    }
}

impl<K: Ord + Clone, V: Clone> Sink<K, V> for MemorySink<K, V> {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        let worker = self.worker;
        let mut guard = self.state();
        let state = &mut *guard;
        match state.log.as_mut() {
            Some(log) => {
                Self::apply_to(&mut state.rows, &changes);
                log.push(Commit { worker, time, changes });
            }
            // Without a log, the rows move into the table rather than being copied.
            None => {
                for change in changes {
                    match change {
                        Change::Upsert(key, row) => state.rows.insert(key, row),
                        Change::Delete(key) => state.rows.remove(&key),
                    };
                }
            }
        }
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        let worker = self.worker;
        self.state().frontiers.insert(worker, frontier);
        Ok(())
    }
}

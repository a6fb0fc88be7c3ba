//! [`Board`]: the page's consolidated state, advanced one closed frontier at a time, and
//! the [`Frame`]s that carry each advance to the browsers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::connectors::sink::{least_frontier, Change, Sink, SinkError};
use crate::connectors::table::{TableKey, TableRow};

/// How many frames a board keeps for browsers that reconnect; one further behind gets a
/// snapshot instead.
pub const KEPT_FRAMES: usize = 1024;

/// How many retracted rows of streamed tables a board keeps to show.
pub const KEPT_RETRACTED: usize = 200;

/// Which rows the browsers receive, and what the board counts for them.
#[derive(Clone, Copy, Debug)]
pub struct Views {
    /// Whether a row of a table goes to the browsers (`false`: kept on the server, to be
    /// read a page at a time with [`Board::rows`]).
    pub streamed: fn(table: &str, row: &Value) -> bool,
    /// `(table, column)`: the board counts the table's rows per value of the column, and
    /// sends the counts with every frame that changes them.
    pub counted: &'static [(&'static str, &'static str)],
}

/// One advance of the board, as sent to browsers (serialised once for all of them).
#[derive(Debug)]
pub struct Frame {
    /// Frames are numbered from 1 in the order they were made.
    pub id: u64,
    /// `{"id", "frontier", "changes": [{"table", "key", "row"}], "counts", "sizes"}`: the
    /// consolidated changes of the streamed tables before `frontier` (`null`: complete),
    /// `row` `null` for a deleted row; the counts of [`Views::counted`] that changed; the
    /// number of rows of every table.
    pub json: String,
}

/// What [`Board::frames_after`] has for a browser.
pub enum Catchup {
    /// The frames after the one it has, oldest first (perhaps none).
    Frames(Vec<Arc<Frame>>),
    /// It is too far behind (or new): it needs a [`Board::snapshot`].
    Snapshot,
}

/// The consolidated state behind a dashboard (see the module docs of
/// [`crate::connectors::dashboard`]).
pub struct Board {
    state: Mutex<State>,
    advanced: Condvar,
}

struct State {
    views: Views,
    /// Every table's rows by key (the key's JSON text).
    tables: BTreeMap<String, BTreeMap<String, Row>>,
    /// Per `"table.column"` of [`Views::counted`], rows per value.
    counts: BTreeMap<String, BTreeMap<String, i64>>,
    /// Rows of streamed tables that were deleted, newest last.
    retracted: VecDeque<Value>,
    /// Changes of times not yet closed, by time: table, key, row (`None`: deleted).
    pending: BTreeMap<u64, Vec<(String, Value, Option<Value>)>>,
    /// Per sink (worker), the frontier it has delivered (`None`: complete).
    frontiers: BTreeMap<usize, Option<u64>>,
    /// The frontier of the latest frame (`None`: complete).
    frontier: Option<u64>,
    frames: VecDeque<Arc<Frame>>,
    last_id: u64,
}

#[derive(Clone)]
struct Row {
    key: Value,
    row: Value,
    streamed: bool,
}

impl Board {
    /// An empty board showing `views`.
    pub fn new(views: Views) -> Arc<Self> {
        let state = State {
            views,
            tables: BTreeMap::new(),
            counts: BTreeMap::new(),
            retracted: VecDeque::new(),
            pending: BTreeMap::new(),
            frontiers: BTreeMap::new(),
            frontier: Some(0),
            frames: VecDeque::new(),
            last_id: 0,
        };
        Arc::new(Board { state: Mutex::new(state), advanced: Condvar::new() })
    }

    /// The sink of worker `worker` (every worker of the process that delivers results
    /// needs one: the board advances to the least of their frontiers).
    pub fn sink(self: &Arc<Self>, worker: usize) -> BoardSink {
        self.lock().frontiers.insert(worker, Some(0));
        BoardSink { board: self.clone(), worker }
    }

    /// The id of the latest frame (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.lock().last_id
    }

    /// The frontier of the latest frame: every time before it is on the board (`None`
    /// once the input is complete).
    pub fn frontier(&self) -> Option<u64> {
        self.lock().frontier
    }

    /// The frames after frame `after`, waiting up to `wait` for one if there is none yet.
    pub fn frames_after(&self, after: u64, wait: Duration) -> Catchup {
        let mut state = self.lock();
        if state.last_id == after {
            state = self.advanced.wait_timeout(state, wait).expect("dashboard board poisoned").0;
        }
        let oldest = state.frames.front().map_or(state.last_id + 1, |f| f.id);
        if after > state.last_id || after + 1 < oldest {
            return Catchup::Snapshot;
        }
        Catchup::Frames(state.frames.iter().filter(|f| f.id > after).cloned().collect())
    }

    /// The whole streamed state as of the latest frame: `{"id", "frontier", "tables":
    /// {table: [{"key", "row"}]}, "counts", "sizes", "retracted": [{"table", "row"}]}`.
    pub fn snapshot(&self) -> Value {
        let state = self.lock();
        let tables: Map<String, Value> =
            state.tables.iter().map(|(table, rows)| (table.clone(), rows.values().filter(|r| r.streamed).map(|r| json!({ "key": r.key, "row": r.row })).collect())).collect();
        json!({
            "id": state.last_id,
            "frontier": state.frontier,
            "tables": tables,
            "counts": state.counts,
            "sizes": state.sizes(),
            "retracted": state.retracted,
        })
    }

    /// A page of a table's rows as of the latest frame: those with a text column that
    /// contains `search` (ignoring case), largest `sort` column first (key order if
    /// `None`), `limit` from `offset`. `{"id", "table", "total", "rows"}`.
    pub fn rows(&self, table: &str, search: &str, sort: Option<&str>, offset: usize, limit: usize) -> Value {
        let state = self.lock();
        let search = search.to_lowercase();
        let matches = |row: &Value| search.is_empty() || row.as_object().is_some_and(|o| o.values().any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(&search))));
        let mut rows: Vec<&Value> = state.tables.get(table).into_iter().flat_map(|t| t.values()).map(|r| &r.row).filter(|r| matches(r)).collect();
        if let Some(column) = sort {
            let number = |row: &Value| row.get(column).and_then(Value::as_f64).unwrap_or(f64::NEG_INFINITY);
            rows.sort_by(|a, b| number(b).total_cmp(&number(a)));
        }
        let total = rows.len();
        let page: Vec<&Value> = rows.into_iter().skip(offset).take(limit).collect();
        json!({ "id": state.last_id, "table": table, "total": total, "rows": page })
    }

    /// Per value of `column`, how many rows of `table` have it (only for
    /// [`Views::counted`] pairs).
    pub fn counts(&self, table: &str, column: &str) -> BTreeMap<String, i64> {
        self.lock().counts.get(&format!("{table}.{column}")).cloned().unwrap_or_default()
    }

    /// Every row of `table`, in key order.
    pub fn table(&self, table: &str) -> Vec<Value> {
        self.lock().tables.get(table).map(|rows| rows.values().map(|r| r.row.clone()).collect()).unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("dashboard board poisoned")
    }

    fn apply(&self, time: u64, changes: Vec<(String, Value, Option<Value>)>) {
        self.lock().pending.entry(time).or_default().extend(changes);
    }

    fn advance(&self, worker: usize, frontier: Option<u64>) {
        let mut state = self.lock();
        state.frontiers.insert(worker, frontier);
        let least = least_frontier(state.frontiers.values().copied());
        let passed = match (state.frontier, least) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(current), Some(least)) => least > current,
        };
        if passed {
            state.close(least);
            drop(state);
            self.advanced.notify_all();
        }
    }
}

impl State {
    /// Applies every pending time before `frontier` and makes a frame of it.
    fn close(&mut self, frontier: Option<u64>) {
        let later = match frontier {
            Some(f) => self.pending.split_off(&f),
            None => BTreeMap::new(),
        };
        let closed = std::mem::replace(&mut self.pending, later);
        // The streamed rows changed, each once (its latest state), and the counts changed.
        let mut changed: BTreeMap<(String, String), Value> = BTreeMap::new();
        let mut counts_changed: Vec<String> = Vec::new();
        for (table, key_json, row) in closed.into_values().flatten() {
            let key = key_json.to_string();
            let old = self.tables.entry(table.clone()).or_default().remove(&key);
            let new = row.map(|row| Row { streamed: (self.views.streamed)(&table, &row), key: key_json.clone(), row });
            if let Some(old) = &old {
                self.count(&table, &old.row, -1, &mut counts_changed);
            }
            if let Some(new) = &new {
                self.count(&table, &new.row, 1, &mut counts_changed);
                self.tables.get_mut(&table).expect("entered above").insert(key.clone(), new.clone());
            }
            match (old.filter(|o| o.streamed), new.filter(|n| n.streamed)) {
                (_, Some(new)) => {
                    changed.insert((table.clone(), key), json!({ "table": table, "key": key_json, "row": new.row }));
                }
                (Some(old), None) => {
                    if self.retracted.len() == KEPT_RETRACTED {
                        self.retracted.pop_front();
                    }
                    self.retracted.push_back(json!({ "table": table, "row": old.row }));
                    changed.insert((table.clone(), key), json!({ "table": table, "key": key_json, "row": Value::Null }));
                }
                (None, None) => {}
            }
        }
        let changes: Vec<Value> = changed.into_values().collect();
        counts_changed.sort();
        counts_changed.dedup();
        let counts: Map<String, Value> = counts_changed.into_iter().map(|c| (c.clone(), json!(self.counts.get(&c)))).collect();
        self.frontier = frontier;
        self.last_id += 1;
        let frame = json!({ "id": self.last_id, "frontier": frontier, "changes": changes, "counts": counts, "sizes": self.sizes() });
        if self.frames.len() == KEPT_FRAMES {
            self.frames.pop_front();
        }
        self.frames.push_back(Arc::new(Frame { id: self.last_id, json: frame.to_string() }));
    }

    fn count(&mut self, table: &str, row: &Value, diff: i64, changed: &mut Vec<String>) {
        for (counted_table, column) in self.views.counted {
            if *counted_table != table {
                continue;
            }
            let value = match row.get(*column) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => continue,
            };
            let name = format!("{table}.{column}");
            let counts = self.counts.entry(name.clone()).or_default();
            let n = counts.entry(value.clone()).or_default();
            *n += diff;
            if *n == 0 {
                counts.remove(&value);
            }
            changed.push(name);
        }
    }

    fn sizes(&self) -> BTreeMap<&str, usize> {
        self.tables.iter().map(|(table, rows)| (table.as_str(), rows.len())).collect()
    }
}

/// A worker's [`Sink`] into a [`Board`] (see [`Board::sink`]).
pub struct BoardSink {
    board: Arc<Board>,
    worker: usize,
}

impl<K: TableKey, V: TableRow> Sink<K, V> for BoardSink {
    fn apply(&mut self, time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        let changes = changes
            .into_iter()
            .map(|change| match change {
                Change::Upsert(key, row) => (key.table().name.to_string(), key.key_json(), Some(row.to_json())),
                Change::Delete(key) => (key.table().name.to_string(), key.key_json(), None),
            })
            .collect();
        self.board.apply(time, changes);
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        self.board.advance(self.worker, frontier);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views() -> Views {
        Views { streamed: |table, row| table != "held" && row["kind"] != "quiet", counted: &[("anomalies", "kind")] }
    }

    fn change(table: &str, key: i64, row: Option<Value>) -> (String, Value, Option<Value>) {
        (table.to_string(), json!({ "k": key }), row)
    }

    #[test]
    fn frames_hold_closed_times_only_and_end_at_the_least_frontier() {
        let board = Board::new(views());
        let (_a, _b) = (board.sink(0), board.sink(1));
        board.apply(5, vec![change("t", 1, Some(json!({ "k": 1, "v": 1 })))]);
        board.apply(7, vec![change("t", 1, Some(json!({ "k": 1, "v": 2 }))), change("held", 2, Some(json!({ "k": 2 })))]);
        board.advance(0, Some(8));
        assert_eq!(board.last_id(), 0, "worker 1 has not passed time 5");
        board.advance(1, Some(6));
        assert_eq!((board.last_id(), board.frontier()), (1, Some(6)));
        let Catchup::Frames(frames) = board.frames_after(0, Duration::ZERO) else { panic!("frame 1 is kept") };
        let frame: Value = serde_json::from_str(&frames[0].json).unwrap();
        assert_eq!(frame["changes"], json!([{ "table": "t", "key": { "k": 1 }, "row": { "k": 1, "v": 1 } }]));
        board.advance(1, None);
        assert_eq!(board.frontier(), Some(8), "worker 0 holds time 8 back");
        board.advance(0, None);
        let snapshot = board.snapshot();
        assert_eq!(snapshot["tables"]["t"], json!([{ "key": { "k": 1 }, "row": { "k": 1, "v": 2 } }]));
        assert_eq!(snapshot["tables"]["held"], json!([]), "held rows stay on the server");
        assert_eq!(snapshot["sizes"]["held"], 1);
        assert_eq!(board.rows("held", "", None, 0, 10)["total"], 1);
        assert_eq!(board.frontier(), None);
        assert!(matches!(board.frames_after(0, Duration::ZERO), Catchup::Frames(f) if f.len() == 3));
        assert!(matches!(board.frames_after(3, Duration::ZERO), Catchup::Frames(f) if f.is_empty()));
        assert!(matches!(board.frames_after(4, Duration::ZERO), Catchup::Snapshot), "a frame the board never made");
    }

    #[test]
    fn a_browser_behind_the_kept_frames_gets_a_snapshot() {
        let board = Board::new(views());
        let _sink = board.sink(0);
        for t in 1..=(KEPT_FRAMES as u64 + 5) {
            board.apply(t - 1, vec![change("t", 1, Some(json!({ "v": t })))]);
            board.advance(0, Some(t));
        }
        assert!(matches!(board.frames_after(4, Duration::ZERO), Catchup::Snapshot));
        assert!(matches!(board.frames_after(5, Duration::ZERO), Catchup::Frames(f) if f.len() == KEPT_FRAMES));
    }

    #[test]
    fn deleted_streamed_rows_are_retracted_and_counts_follow_rows() {
        let board = Board::new(views());
        let _sink = board.sink(0);
        board.apply(1, vec![change("anomalies", 1, Some(json!({ "kind": "spike" }))), change("anomalies", 2, Some(json!({ "kind": "quiet" })))]);
        board.advance(0, Some(2));
        assert_eq!(board.counts("anomalies", "kind"), BTreeMap::from([("quiet".to_string(), 1), ("spike".to_string(), 1)]));
        board.apply(2, vec![change("anomalies", 1, None), change("anomalies", 2, None)]);
        board.advance(0, Some(3));
        assert!(board.counts("anomalies", "kind").is_empty());
        let snapshot = board.snapshot();
        assert_eq!(snapshot["retracted"], json!([{ "table": "anomalies", "row": { "kind": "spike" } }]), "only streamed rows are shown retracted");
        let Catchup::Frames(frames) = board.frames_after(1, Duration::ZERO) else { panic!() };
        let frame: Value = serde_json::from_str(&frames[0].json).unwrap();
        assert_eq!(frame["changes"], json!([{ "table": "anomalies", "key": { "k": 1 }, "row": null }]));
        assert_eq!(frame["counts"]["anomalies.kind"], json!({}));
    }
}

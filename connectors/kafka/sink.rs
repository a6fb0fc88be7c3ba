//! [`KafkaSink`]: result rows as upserts keyed by their primary key.

use std::marker::PhantomData;
use std::sync::Arc;

use super::{KafkaError, Publisher};
use crate::connectors::sink::{Change, Sink, SinkError};
use crate::connectors::table::{TableKey, TableRow};

/// Publishes each result change to its table's topic ([`Table::topic`](crate::connectors::table::Table::topic)): the key is the row's primary key as
/// a JSON object, the value the row as a JSON object, and a delete is a tombstone. A
/// compacted topic therefore holds exactly the current result table, which is what a
/// dashboard consuming it needs.
pub struct KafkaSink<K, V> {
    publisher: Arc<Publisher>,
    _rows: PhantomData<fn(K, V)>,
}

impl<K, V> KafkaSink<K, V> {
    /// A sink sending through `publisher` (one may serve every worker of a process).
    pub fn new(publisher: Arc<Publisher>) -> Self {
        KafkaSink { publisher, _rows: PhantomData }
    }
}

/// Messages the broker would not take are lost for good; a flush that times out leaves them
/// queued, to be flushed again.
fn sink_error(error: KafkaError) -> SinkError {
    match error {
        KafkaError::Client { .. } => SinkError::temporary(error),
        _ => SinkError::permanent(error),
    }
}

impl<K: TableKey, V: TableRow> Sink<K, V> for KafkaSink<K, V> {
    fn apply(&mut self, _time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        if let Some(failure) = self.publisher.failure() {
            return Err(SinkError::permanent(failure));
        }
        for change in changes {
            let (key, row) = match &change {
                Change::Upsert(key, row) => (key, Some(row.to_json().to_string())),
                Change::Delete(key) => (key, None),
            };
            let topic = key.table().topic;
            let key = key.key_json().to_string();
            self.publisher.send(topic, Some(key.as_bytes()), row.as_deref().map(str::as_bytes)).map_err(SinkError::permanent)?;
        }
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        match frontier {
            None => self.publisher.flush().map_err(sink_error),
            Some(_) => self.publisher.failure().map_or(Ok(()), |failure| Err(SinkError::permanent(failure))),
        }
    }
}

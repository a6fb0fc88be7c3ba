//! [`publish_dataset`]: a data set into the election's topics.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{KafkaError, Publisher, Topics};
use crate::connectors::dataset::{parse_millis, DatasetBytes, CANDIDATES, POLLING_STATIONS, VOTES};

/// How fast votes are published.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the producer goes.
    Unlimited,
    /// This many votes per second on average, following the votes' own event-time curve:
    /// busy hours of the election day are busy on the topic too.
    Rate(f64),
}

/// Counters of a running [`publish_dataset`], for progress lines.
#[derive(Debug, Default)]
pub struct PublishProgress {
    /// Registry records sent.
    pub registry: AtomicU64,
    /// Votes sent.
    pub votes: AtomicU64,
    /// Votes in the data set.
    pub votes_total: AtomicU64,
}

/// The fields a message key comes from (borrowed unless they hold escapes).
#[derive(Deserialize)]
struct Keys<'a> {
    #[serde(borrow, default)]
    candidate_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    polling_station_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    voter_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    voting_time: Option<Cow<'a, str>>,
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|b| *b == b'\n').filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

/// Publishes `data`: each registry to its topic keyed by its id, flushed, then the votes
/// keyed by `voter_id`, paced by `pace`; returns when every message is delivered.
///
/// Lines are published byte for byte, bad ones too (without a key): they become the
/// reader's dead letters, which is how a data set with injected bad records travels.
pub fn publish_dataset(publisher: &Publisher, topics: &Topics, data: &DatasetBytes, pace: Pace, progress: &PublishProgress) -> Result<(), KafkaError> {
    for (topic, file) in topics.registries() {
        for line in lines(data.file(file)) {
            let keys: Option<Keys<'_>> = serde_json::from_slice(line).ok();
            // Each registry by its own id (a voter record also names a station), so that
            // all versions of a record share a partition and their offsets order them.
            let key = keys.and_then(|k| match file {
                CANDIDATES => k.candidate_id,
                POLLING_STATIONS => k.polling_station_id,
                _ => k.voter_id,
            });
            publisher.send(topic, key.as_deref().map(str::as_bytes), Some(line))?;
            progress.registry.fetch_add(1, Ordering::Relaxed);
        }
    }
    publisher.flush()?;

    let votes: Vec<(&[u8], Option<Keys<'_>>)> = lines(data.file(VOTES)).map(|line| (line, serde_json::from_slice(line).ok())).collect();
    progress.votes_total.store(votes.len() as u64, Ordering::Relaxed);
    let schedule = schedule(votes.iter().map(|(_, k)| k.as_ref().and_then(|k| k.voting_time.as_deref()).and_then(|t| parse_millis(t).ok())), votes.len(), pace);
    let start = Instant::now();
    for (i, (line, keys)) in votes.iter().enumerate() {
        if let Some(at) = schedule.as_ref().map(|s| s[i]) {
            let due = start + at;
            let now = Instant::now();
            if due > now + Duration::from_millis(1) {
                std::thread::sleep(due - now);
            }
        }
        publisher.send(&topics.votes, keys.as_ref().and_then(|k| k.voter_id.as_deref()).map(str::as_bytes), Some(line))?;
        progress.votes.fetch_add(1, Ordering::Relaxed);
    }
    publisher.flush()
}

/// When each vote goes out (from the start), or `None` for no pacing: the wall time of vote
/// `i` is proportional to how far event time has progressed by then, scaled so that the
/// whole set takes `n / rate` seconds.
fn schedule(times: impl Iterator<Item = Option<i64>>, n: usize, pace: Pace) -> Option<Vec<Duration>> {
    let Pace::Rate(rate) = pace else { return None };
    let total = n as f64 / rate.max(1e-9);
    let mut progressed = Vec::with_capacity(n);
    let mut max = None::<i64>;
    for t in times {
        max = max.max(t);
        progressed.push(max);
    }
    let first = progressed.iter().flatten().next().copied();
    let span = match (first, max) {
        (Some(first), Some(last)) if last > first => (last - first) as f64,
        // No usable event times: evenly spaced.
        _ => return Some((0..n).map(|i| Duration::from_secs_f64(i as f64 / rate.max(1e-9))).collect()),
    };
    let first = first.unwrap_or_default();
    Some(progressed.into_iter().map(|t| Duration::from_secs_f64((t.unwrap_or(first) - first) as f64 / span * total)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_votes_follow_event_time_and_take_n_over_rate() {
        // Event times: a quiet first half hour (1 vote), a busy second one (3 votes, one out of order).
        let times = [Some(0), Some(1_800_000), Some(1_700_000), Some(3_600_000)];
        let s = schedule(times.into_iter(), 4, Pace::Rate(2.0)).unwrap();
        assert_eq!(s, [0.0, 1.0, 1.0, 2.0].map(Duration::from_secs_f64).to_vec());
        assert!(schedule(times.into_iter(), 4, Pace::Unlimited).is_none());
        assert_eq!(schedule([None, None].into_iter(), 2, Pace::Rate(4.0)).unwrap()[1], Duration::from_millis(250));
    }
}

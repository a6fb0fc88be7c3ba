//! Data sets from files, memory or the generator: each worker reads its [`Share`] of lines.

use std::cell::RefCell;
use std::io::BufRead;
use std::ops::ControlFlow;

use timely::worker::Worker;

use super::{JobError, Run, Source};
use crate::connectors::dataset::{self, read_jsonl_from, DeadLetter, Share};
use crate::pipelines::election::model::Text;
use crate::pipelines::election::records::SourcePosition;

/// Reads this worker's share of `source` into the job.
pub(super) fn run<'a>(worker: &mut Worker, run: Run<'a>, source: &Source) -> Result<Run<'a>, JobError> {
    let share = Share::of(worker.index(), worker.peers());
    // Both the record and the dead-letter callbacks of a reader use the run.
    let run = RefCell::new(run);
    let reject = |letter: DeadLetter| run.borrow_mut().dead_letter(letter);

    // Registries, at time 0.
    match source {
        Source::Generated(election) => {
            let mut run = run.borrow_mut();
            for (seq, c) in election.candidates.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                run.feed.candidate(seq as u64, c.clone());
            }
            for (seq, s) in election.stations.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                if let Err(reason) = run.feed.station(seq as u64, s.clone()) {
                    run.dead_letter(DeadLetter::new(dataset::POLLING_STATIONS, seq as u64, reason, s.polling_station_id.as_bytes()));
                }
            }
            for (seq, v) in election.voters.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                run.feed.voter(seq as u64, v.clone());
            }
        }
        _ => {
            read(source, dataset::CANDIDATES, share, |seq, c| {
                run.borrow_mut().feed.candidate(seq, c);
                ControlFlow::Continue(())
            }, reject)?;
            read(source, dataset::POLLING_STATIONS, share, |seq, s: dataset::PollingStation| {
                let payload = serde_json::to_vec(&s).unwrap_or_default();
                let mut run = run.borrow_mut();
                if let Err(reason) = run.feed.station(seq, s) {
                    run.dead_letter(DeadLetter::new(dataset::POLLING_STATIONS, seq, reason, &payload));
                }
                ControlFlow::Continue(())
            }, reject)?;
            read(source, dataset::VOTERS, share, |seq, v| {
                run.borrow_mut().feed.voter(seq, v);
                ControlFlow::Continue(())
            }, reject)?;
        }
    }
    run.borrow_mut().registries_loaded(worker);

    // Votes, in delivery order, with backpressure, until the input ends or the job stops.
    // The ledger position is the line (or index) in the one votes file; the read position
    // is per share.
    let file: Text = dataset::VOTES.into();
    let mut vote = |seq: u64, vote| {
        let mut run = run.borrow_mut();
        let position = SourcePosition { topic: file.clone(), partition: 0, offset: seq as i64 };
        run.vote(0, vote, position);
        run.read(dataset::VOTES, share.index as i32, seq as i64 + 1, None);
        run.admitted(worker, 1);
        if run.stopping() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    match source {
        Source::Generated(election) => {
            for (seq, v) in election.votes.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                if vote(seq as u64, v.clone()).is_break() {
                    break;
                }
            }
        }
        _ => {
            read(source, dataset::VOTES, share, vote, reject)?;
        }
    }
    Ok(run.into_inner())
}

fn read<T, R, D>(source: &Source, file: &str, share: Share, on_record: R, on_dead_letter: D) -> std::io::Result<u64>
where
    T: serde::de::DeserializeOwned,
    R: FnMut(u64, T) -> ControlFlow<()>,
    D: FnMut(DeadLetter),
{
    let reader: Box<dyn BufRead + '_> = match source {
        Source::Directory(dir) => {
            let path = dir.join(file);
            let f = std::fs::File::open(&path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, f))
        }
        Source::Bytes(bytes) => Box::new(bytes.file(file)),
        Source::Generated(_) | Source::Kafka(_) => unreachable!("only data-set files are read line by line"),
    };
    read_jsonl_from(reader, file, share, on_record, on_dead_letter)
}

//! Data sets from files, memory or the generator: each worker reads its [`Share`]: its
//! chunks of each file (see [`crate::connectors::dataset::lines`]), or its blocks of a
//! generated election's records.
//!
//! Votes, and voters unless their full records are wanted, are parsed as borrowed views
//! ([`crate::connectors::dataset::fast`]) straight into the pipeline's compact records.

use std::ops::ControlFlow;

use timely::worker::Worker;

use super::{JobError, Run, Source};
use crate::connectors::dataset::fast::{parse_view, VoteRef, VoterRef};
use crate::connectors::dataset::lines::{for_each_line, Line};
use crate::connectors::dataset::{self, parse_line, without_bom, Candidate, DeadLetter, DeadLetterReason, PollingStation, Share, SourcePosition, Vote, Voter};
use crate::pipelines::election::model::{age_band, Ballot, Text, VoterInfo, VoterVersion};

/// Reads this worker's share of `source` into the job.
pub(super) fn run<'a>(worker: &mut Worker, mut run: Run<'a>, source: &Source) -> Result<Run<'a>, JobError> {
    let share = Share::of(worker.index(), worker.peers());

    // Registries, at time 0.
    if let Source::Generated(election) = source {
        run.small_registries(share, &election.candidates, &election.stations, dataset::POLLING_STATIONS);
        for (seq, v) in election.voters.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
            run.feed.voter(seq as u64, v.clone());
        }
    } else {
        records(source, dataset::CANDIDATES, share, &mut run, parse_line::<Candidate>, |run, at, c| {
            run.feed.candidate(at, c);
        })?;
        records(source, dataset::POLLING_STATIONS, share, &mut run, parse_line::<PollingStation>, |run, at, s| {
            let payload = serde_json::to_vec(&s).unwrap_or_default();
            if let Err(reason) = run.feed.station(at, s) {
                run.dead_letter(DeadLetter::new(dataset::POLLING_STATIONS, at, reason, &payload));
            }
        })?;
        if run.feed.records_voters() {
            records(source, dataset::VOTERS, share, &mut run, parse_line::<Voter>, |run, at, v| {
                run.feed.voter(at, v);
            })?;
        } else {
            lines(source, dataset::VOTERS, share, &mut run, |run, at, line| {
                match parse_view::<VoterRef, Voter>(line) {
                    Ok(Some(v)) => {
                        run.feed.voter_version(version(at, &v));
                    }
                    Ok(None) => {}
                    Err(reason) => run.dead_letter(DeadLetter::new(dataset::VOTERS, at, reason, line)),
                }
                ControlFlow::Continue(())
            })?;
        }
    }
    run.registries_loaded(worker);

    // Votes, in delivery order, with backpressure, until the input ends or the job stops.
    // The ledger position is the line's offset (or the index) in the one votes file; the
    // read position is per share.
    let file: Text = dataset::VOTES.into();
    let mut vote = |run: &mut Run<'_>, at: u64, ballot: Ballot| {
        let position = SourcePosition { topic: file.clone(), partition: 0, offset: at as i64 };
        run.vote(0, ballot, position);
        run.read(dataset::VOTES, share.index as i32, at as i64 + 1);
        run.arrived(None);
        run.admitted(worker, 1);
        if run.stopping() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    match source {
        Source::Generated(election) => {
            for (seq, v) in election.votes.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                if vote(&mut run, seq as u64, Ballot::from(v.clone())).is_break() {
                    break;
                }
            }
        }
        _ => lines(source, dataset::VOTES, share, &mut run, |run, at, line| match parse_view::<VoteRef, Vote>(line) {
            Ok(Some(v)) => vote(run, at, ballot(&v)),
            Ok(None) => ControlFlow::Continue(()),
            Err(reason) => {
                run.dead_letter(DeadLetter::new(dataset::VOTES, at, reason, line));
                ControlFlow::Continue(())
            }
        })?,
    }
    Ok(run)
}

/// The pipeline's ballot of a parsed vote line.
fn ballot(v: &VoteRef<'_>) -> Ballot {
    Ballot {
        voting_time: v.voting_time,
        vote_id: v.vote_id.as_ref().into(),
        voter_id: v.voter_id.as_ref().into(),
        candidate_id: v.candidate_id.as_ref().into(),
        polling_station_id: v.polling_station_id.as_ref().into(),
        voting_method: v.voting_method,
    }
}

/// The pipeline's version of a parsed voter line at offset `at`.
fn version(at: u64, v: &VoterRef<'_>) -> VoterVersion {
    let info = VoterInfo {
        station_id: v.polling_station_id.as_ref().into(),
        region: v.address.state.as_ref().into(),
        city: v.address.city.as_ref().into(),
        age_group: age_band(v.registered_age),
        gender: v.gender.as_ref().into(),
        education: v.education_level.as_ref().into(),
    };
    VoterVersion { voter_id: v.voter_id.as_ref().into(), seq: at, info: Some(info) }
}

/// Parses every line of this worker's share of `file` with `parse` and hands the records to
/// `on_record`; bad lines become dead letters.
fn records<'r, T>(
    source: &Source,
    file: &str,
    share: Share,
    run: &mut Run<'r>,
    parse: impl Fn(&[u8]) -> Result<Option<T>, DeadLetterReason>,
    mut on_record: impl FnMut(&mut Run<'r>, u64, T),
) -> std::io::Result<()> {
    lines(source, file, share, run, |run, at, line| {
        match parse(line) {
            Ok(Some(record)) => on_record(run, at, record),
            Ok(None) => {}
            Err(reason) => run.dead_letter(DeadLetter::new(file, at, reason, line)),
        }
        ControlFlow::Continue(())
    })
}

/// Hands every line of this worker's share of `file` (without a leading byte-order mark)
/// to `on_line` until it breaks; oversized lines become dead letters.
fn lines<'r>(source: &Source, file: &str, share: Share, run: &mut Run<'r>, mut on_line: impl FnMut(&mut Run<'r>, u64, &[u8]) -> ControlFlow<()>) -> std::io::Result<()> {
    let mut each = |at: u64, line: Line<'_>| match line {
        Line::Text(text) => on_line(run, at, without_bom(at, text)),
        Line::Oversized(n, head) => {
            run.dead_letter(DeadLetter::new(file, at, DeadLetterReason::Oversized(n), head));
            ControlFlow::Continue(())
        }
    };
    match source {
        Source::Directory(dir) => {
            let path = dir.join(file);
            let opened = std::fs::File::open(&path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            for_each_line(&opened, share, &mut each)
        }
        Source::Bytes(bytes) => for_each_line(bytes.file(file), share, &mut each),
        Source::Generated(_) | Source::Streamed(_) | Source::Kafka(_) => unreachable!("only data-set files are read line by line"),
    }
}

//! [`ElectionFeed`]: the input sessions of one worker's election dataflow, driven by an
//! [`EventClock`] so that the timely frontier is the source's watermark.
//!
//! Votes pass the clock's [`EventGate`]: while the clock establishes its event-time center
//! from the first votes (see [`crate::connectors::clock`]) they are held, then admitted or
//! refused in arrival order. Refused votes come back through [`ElectionFeed::refused`].

use std::time::Instant;

use differential_dataflow::input::{Input, InputSession};
use timely::dataflow::Scope;

use super::model::{Ballot, Hours, Id, VoterInfo, VoterVersion};
use super::quality::Measure;
use super::ElectionInputs;
use crate::connectors::clock::{Admission, ClockConfig, EventClock, EventGate};
use crate::connectors::dataset::{Candidate, DeadLetter, DeadLetterReason, PollingStation, SourcePosition, Vote, Voter};

/// A vote the feed refused, and why.
#[derive(Debug)]
pub struct RejectedVote {
    /// Why.
    pub reason: DeadLetterReason,
    /// The vote, as it came.
    pub ballot: Ballot,
    /// Where it was read, if the source said.
    pub position: Option<SourcePosition>,
}

type VersionSession<R> = InputSession<u64, (String, (u64, Option<R>)), isize>;

/// One worker's inputs to the election pipeline.
///
/// Registry records are applied at the current frontier; votes at their event-time tick, or
/// at the frontier if they are late (see [`crate::connectors::clock`]). Nothing is visible
/// downstream until [`ElectionFeed::flush`], which also moves every input to the watermark.
/// Dropping the feed closes the inputs.
pub struct ElectionFeed {
    gate: EventGate<(Ballot, Option<SourcePosition>)>,
    ballots: Ballots,
    candidates: VersionSession<Candidate>,
    stations: VersionSession<PollingStation>,
    voters: InputSession<u64, VoterVersion, isize>,
    voter_records: Option<VersionSession<Voter>>,
    dead_letters: InputSession<u64, DeadLetter, isize>,
    /// Registry records applied.
    registry_records: u64,
}

/// Where judged votes go, and the count of records read per time.
struct Ballots {
    votes: InputSession<u64, Ballot, isize>,
    sources: InputSession<u64, (Ballot, SourcePosition), isize>,
    record_sources: bool,
    admitted: u64,
    refused: Vec<RejectedVote>,
    reads: InputSession<u64, Measure, isize>,
    /// Records read since the last flush, per time (mostly one or two times).
    read: Vec<(u64, isize)>,
}

impl Ballots {
    /// Applies the clock's verdict on a vote; returns its admission.
    fn judged(&mut self, (ballot, position): (Ballot, Option<SourcePosition>), verdict: Result<Admission, String>) -> Option<Admission> {
        match verdict {
            Ok(admission) => {
                if let Some(position) = position.filter(|_| self.record_sources) {
                    self.sources.update_at((ballot.clone(), position), admission.time, 1);
                }
                self.votes.update_at(ballot, admission.time, 1);
                self.admitted += 1;
                self.read_at(admission.time);
                Some(admission)
            }
            Err(reason) => {
                self.refused.push(RejectedVote { reason: DeadLetterReason::AbsurdTimestamp(reason), ballot, position });
                None
            }
        }
    }

    /// Sends the counts of records read.
    fn count_reads(&mut self) {
        for (time, n) in self.read.drain(..) {
            self.reads.update_at(Measure::Read, time, n);
        }
    }

    /// Counts a record read at `time`.
    fn read_at(&mut self, time: u64) {
        match self.read.last_mut() {
            Some((t, n)) if *t == time => *n += 1,
            _ => match self.read.iter_mut().find(|(t, _)| *t == time) {
                Some((_, n)) => *n += 1,
                None => self.read.push((time, 1)),
            },
        }
    }
}

impl Drop for Ballots {
    fn drop(&mut self) {
        self.count_reads();
    }
}

impl ElectionFeed {
    /// Creates the inputs in `scope`, for a source of one partition; returns the feed and
    /// the collections to build on.
    pub fn new<'scope>(scope: Scope<'scope, u64>, clock: ClockConfig) -> (Self, ElectionInputs<'scope>) {
        Self::with_clock(scope, EventClock::new(clock, 0))
    }

    /// As [`ElectionFeed::new`], with a clock of the source's own partitions.
    pub fn with_clock<'scope>(scope: Scope<'scope, u64>, clock: EventClock) -> (Self, ElectionInputs<'scope>) {
        let (votes, vote_collection) = scope.new_collection();
        let (candidates, candidate_collection) = scope.new_collection();
        let (stations, station_collection) = scope.new_collection();
        let (voters, voter_collection) = scope.new_collection();
        let (voter_records, voter_record_collection) = scope.new_collection();
        let (sources, source_collection) = scope.new_collection();
        let (dead_letters, dead_letter_collection) = scope.new_collection();
        let (reads, read_collection) = scope.new_collection();
        let ballots = Ballots { votes, sources, record_sources: false, admitted: 0, refused: Vec::new(), reads, read: Vec::new() };
        let feed = ElectionFeed { gate: EventGate::new(clock), ballots, candidates, stations, voters, voter_records: Some(voter_records), dead_letters, registry_records: 0 };
        let inputs = ElectionInputs {
            votes: vote_collection,
            candidates: candidate_collection,
            stations: station_collection,
            voters: voter_collection,
            reads: read_collection,
            voter_records: voter_record_collection,
            sources: source_collection,
            dead_letters: dead_letter_collection,
            statuses: false,
            expected_voters: 0,
        };
        (feed, inputs)
    }

    /// Whether votes given with [`ElectionFeed::vote_at`] are also recorded with their
    /// position in [`ElectionInputs::sources`] (for the vote ledger; off by default).
    pub fn record_sources(&mut self, on: bool) {
        self.ballots.record_sources = on;
    }

    /// Whether voters given with [`ElectionFeed::voter`] are also recorded in full in
    /// [`ElectionInputs::voter_records`] (for the registry tables; on by default).
    pub fn record_voters(&mut self, on: bool) {
        if !on {
            self.voter_records = None;
        }
    }

    /// Whether full voter records are wanted (see [`ElectionFeed::record_voters`]).
    pub fn records_voters(&self) -> bool {
        self.voter_records.is_some()
    }

    /// The time registry changes are applied at now.
    fn now(&self) -> u64 {
        *self.ballots.votes.time()
    }

    /// Counts a registry record read now.
    fn registry_read(&mut self) -> u64 {
        self.registry_records += 1;
        let t = self.now();
        self.ballots.read_at(t);
        t
    }

    /// Registry records applied so far (versions and deletions).
    pub fn registry_records(&self) -> u64 {
        self.registry_records
    }

    /// A candidate version with sequence number `seq`; returns the time it is applied at.
    pub fn candidate(&mut self, seq: u64, candidate: Candidate) -> u64 {
        let t = self.registry_read();
        self.candidates.update_at((candidate.candidate_id.clone(), (seq, Some(candidate))), t, 1);
        t
    }

    /// A polling-station version, or why it was rejected (unreadable opening hours).
    pub fn station(&mut self, seq: u64, station: PollingStation) -> Result<u64, DeadLetterReason> {
        Hours::of(&station).map_err(DeadLetterReason::InvalidValue)?;
        let t = self.registry_read();
        self.stations.update_at((station.polling_station_id.clone(), (seq, Some(station))), t, 1);
        Ok(t)
    }

    /// A voter version.
    pub fn voter(&mut self, seq: u64, voter: Voter) -> u64 {
        let version = VoterVersion { voter_id: voter.voter_id.as_str().into(), seq, info: Some(VoterInfo::of(&voter)) };
        let t = self.voter_version(version);
        if let Some(records) = &mut self.voter_records {
            records.update_at((voter.voter_id.clone(), (seq, Some(voter))), t, 1);
        }
        t
    }

    /// A voter version as the pipeline needs it (without the full record: see
    /// [`ElectionFeed::record_voters`]).
    pub fn voter_version(&mut self, version: VoterVersion) -> u64 {
        let t = self.registry_read();
        self.voters.update_at(version, t, 1);
        t
    }

    /// Deletes a candidate (a tombstone with sequence number `seq`).
    pub fn delete_candidate(&mut self, seq: u64, id: String) -> u64 {
        let t = self.registry_read();
        self.candidates.update_at((id, (seq, None)), t, 1);
        t
    }

    /// Deletes a polling station.
    pub fn delete_station(&mut self, seq: u64, id: String) -> u64 {
        let t = self.registry_read();
        self.stations.update_at((id, (seq, None)), t, 1);
        t
    }

    /// Deletes a voter.
    pub fn delete_voter(&mut self, seq: u64, id: String) -> u64 {
        let t = self.voter_version(VoterVersion { voter_id: Id::from(id.as_str()), seq, info: None });
        if let Some(records) = &mut self.voter_records {
            records.update_at((id, (seq, None)), t, 1);
        }
        t
    }

    /// A vote; returns where it was admitted (see [`ElectionFeed::vote_at`]).
    pub fn vote(&mut self, vote: Vote) -> Option<Admission> {
        self.vote_at(0, vote, None)
    }

    /// A vote delivered by the source's `partition` at `position` (see
    /// [`ElectionFeed::ballot_at`]).
    pub fn vote_at(&mut self, partition: u32, vote: Vote, position: Option<SourcePosition>) -> Option<Admission> {
        self.ballot_at(partition, Ballot::from(vote), position)
    }

    /// A vote delivered by the source's `partition` at `position` (recorded if the feed
    /// records sources). Returns where it was admitted if it was admitted now; a vote held
    /// while the clock establishes its center is admitted later, and a refused one comes
    /// back through [`ElectionFeed::refused`].
    pub fn ballot_at(&mut self, partition: u32, ballot: Ballot, position: Option<SourcePosition>) -> Option<Admission> {
        let (ballots, mut last) = (&mut self.ballots, None);
        let time = ballot.voting_time;
        self.gate.offer(partition, time, (ballot, position), |item, verdict| last = Some(ballots.judged(item, verdict)));
        last.flatten()
    }

    /// Lets the clock establish its center if it is ready (see [`EventClock::settle`]:
    /// `ended` when the input is over, `adoptable` another worker's center), and judges the
    /// votes it held.
    pub fn settle(&mut self, now: Instant, ended: bool, adoptable: Option<i64>) {
        let ballots = &mut self.ballots;
        self.gate.settle(now, ended, adoptable, |item, verdict| {
            ballots.judged(item, verdict);
        });
    }

    /// Votes refused since the last call, with the reason their time is absurd.
    pub fn refused(&mut self) -> std::vec::Drain<'_, RejectedVote> {
        self.ballots.refused.drain(..)
    }

    /// How many votes are held while the clock establishes its center.
    pub fn holding(&self) -> usize {
        self.gate.holding()
    }

    /// A record the source rejected (into [`ElectionInputs::dead_letters`]).
    pub fn dead_letter(&mut self, letter: DeadLetter) {
        let t = self.now();
        self.dead_letters.update_at(letter, t, 1);
    }

    /// Moves the watermark to at least `time`, e.g. when the source is idle.
    pub fn advance_to(&mut self, time: u64) {
        self.gate.clock_mut().advance_to(time);
    }

    /// The source's clock.
    pub fn clock(&self) -> &EventClock {
        self.gate.clock()
    }

    /// The source's clock: tell it the wall time, finished partitions and so on.
    pub fn clock_mut(&mut self) -> &mut EventClock {
        self.gate.clock_mut()
    }

    /// Moves every input to the watermark and sends what was buffered.
    pub fn flush(&mut self) {
        self.ballots.count_reads();
        let frontier = self.frontier();
        if frontier > self.now() {
            self.ballots.votes.advance_to(frontier);
            self.ballots.sources.advance_to(frontier);
            self.ballots.reads.advance_to(frontier);
            self.candidates.advance_to(frontier);
            self.stations.advance_to(frontier);
            self.voters.advance_to(frontier);
            if let Some(records) = &mut self.voter_records {
                records.advance_to(frontier);
            }
            self.dead_letters.advance_to(frontier);
        }
        self.ballots.votes.flush();
        self.ballots.sources.flush();
        self.ballots.reads.flush();
        self.candidates.flush();
        self.stations.flush();
        self.voters.flush();
        if let Some(records) = &mut self.voter_records {
            records.flush();
        }
        self.dead_letters.flush();
    }

    /// The time before which everything admitted so far is admitted: past the frontier and
    /// the tick of the largest event time. (Votes still held are not admitted yet.)
    pub fn reflected_by(&self) -> u64 {
        let clock = self.clock();
        let latest = clock.max_seen().map_or(0, |ms| clock.tick(ms as i64));
        self.frontier().max(latest) + 1
    }

    /// The watermark: every later vote is admitted at or after it.
    pub fn frontier(&self) -> u64 {
        self.clock().frontier()
    }

    /// The largest event time admitted.
    pub fn max_event_time(&self) -> Option<u64> {
        self.clock().max_seen()
    }

    /// Votes admitted so far.
    pub fn votes(&self) -> u64 {
        self.ballots.admitted
    }

    /// Late votes admitted so far.
    pub fn late(&self) -> u64 {
        self.clock().late()
    }
}

//! [`verdicts`]: every vote's verdict, judged per voter in one frontier-aware operator, and
//! what the verdicts add up to.
//!
//! In: the ballots and the voter registry's versions, both exchanged by voter, and the small
//! registries (candidates, station opening hours), copied to every worker. Out:
//!
//! * **facts**, a collection whose multiplicities are counts: per counted vote its
//!   [`Tally`]s (candidate, party, region, …), per registered voter its region
//!   ([`Fact::Registered`]). A worker adds up each time's facts before they leave it, so a
//!   closed minute of votes becomes a few hundred updates, not ten per vote;
//! * **measures**: the [`Measure`]s of the data-quality rules, added up in the same way;
//! * **anomalies**: a row per rejected vote;
//! * **statuses** (only if asked for, for the vote ledger): every distinct vote with its
//!   verdict.
//!
//! The verdicts are those of [`super`]'s tally semantics: a vote's first failing check in
//! order, and among a voter's votes that pass every check the earliest by `(voting_time,
//! vote_id, …)` is counted and the others are duplicates.
//!
//! **Why an operator of its own.** Timely time here is totally ordered, the voter registry
//! and the votes only grow (versions and messages are never retracted) and the per-voter
//! judgement needs only the voter's current record and votes. So the state is a hash map
//! from voter to record and votes, updated in place time by time, with nothing like an
//! arrangement's history to merge; and a voter's outputs are corrected by comparing what
//! they were with what they are after the time's updates, as differential's own
//! `count_total` does for counts. Registry versions follow `latest_by_key`: the highest
//! sequence number wins, whatever time it arrives at. Id is interned per worker (ids to
//! small integers), so the state holds four bytes where a record holds a string, and text is
//! rendered only for what leaves the operator. A change to a candidate or a station
//! re-judges every voter with votes (rare: registries are mostly loaded before the votes).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::{AsCollection, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::vec::Broadcast;

use super::model::{AnomalyKind, Ballot, CandidateInfo, Hours, Id, VoteStatus, VoterInfo, VoterVersion};
use super::quality::Measure;
use super::records::Statuses;
use super::results::{Anomaly, ResultKey, ResultRow};
use crate::connectors::dataset::VotingMethod;
use crate::operators::batches::TimeBatches;
use crate::operators::window::window_start;

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Width of the turnout-by-hour windows.
pub const HOUR_MS: i64 = 3_600_000;

/// One count a counted vote contributes to, per result table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tally {
    /// `results_votes_per_candidate`
    Candidate(Id),
    /// `results_votes_per_party`
    Party(Id),
    /// `results_turnout_by_region`
    Region(Id),
    /// `results_turnout_by_city`
    City(Id, Id),
    /// `results_turnout_by_age_group`, an index into [`super::model::AGE_GROUPS`]
    AgeGroup(u8),
    /// `results_turnout_by_gender`
    Gender(Id),
    /// `results_votes_by_education_party`: education level, party
    EducationParty(Id, Id),
    /// `results_turnout_by_hour`: the hour's start
    Hour(i64),
    /// A polling station (top stations, over-turnout)
    Station(Id),
    /// A station's rate window (only with the rate-spike detector)
    Window(Id, i64),
    /// A station, age band and candidate (only for the projection): counted votes of the
    /// station's voters of that band for that candidate
    Cell(Id, u8, Id),
}

/// What the verdicts add up to; a fact's multiplicity is its count.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fact {
    /// A counted vote's contribution to a result.
    Tally(Tally),
    /// A registered voter of this region (`address.state`).
    Registered(Id),
    /// A registered voter of this station and age band (only for the projection).
    Roll(Id, u8),
}

/// What [`verdicts`] produces.
pub struct Verdicts<'scope> {
    /// Counts as multiplicities (see the module docs).
    pub facts: VecCollection<'scope, u64, Fact>,
    /// Data-quality measures as multiplicities: votes, counted votes, unknown references,
    /// registered voters.
    pub measures: VecCollection<'scope, u64, Measure>,
    /// A row per rejected vote.
    pub anomalies: VecCollection<'scope, u64, (ResultKey, ResultRow)>,
    /// Every distinct vote with its verdict; empty unless asked for.
    pub statuses: Statuses<'scope>,
}

/// How [`verdicts`] runs.
#[derive(Clone, Copy, Debug)]
pub struct VerdictConfig {
    /// With a rate-spike detector: the width of its windows (each counted vote then also
    /// tallies its station's window).
    pub window_ms: Option<i64>,
    /// Whether to produce [`Verdicts::statuses`].
    pub statuses: bool,
    /// About how many voters there are in all (0: unknown); each worker reserves room for
    /// its share.
    pub expected_voters: u64,
    /// Whether to produce the projection's facts: [`Tally::Cell`] and [`Fact::Roll`].
    pub projection: bool,
}

/// Judges every ballot (see the module docs).
pub fn verdicts<'scope>(
    ballots: VecCollection<'scope, u64, Ballot>,
    voters: VecCollection<'scope, u64, VoterVersion>,
    candidates: VecCollection<'scope, u64, (Id, CandidateInfo)>,
    hours: VecCollection<'scope, u64, (Id, Hours)>,
    config: VerdictConfig,
) -> Verdicts<'scope> {
    let scope = ballots.scope();
    let scope_peers = scope.peers();
    let mut builder = OperatorBuilder::new("Verdicts".to_string(), scope);
    let by_voter = |b: &(Ballot, u64, isize)| b.0.voter_id.hashed();
    let mut ballots_in = builder.new_input(ballots.inner, Exchange::new(by_voter));
    let mut voters_in = builder.new_input(voters.inner, Exchange::new(|v: &(VoterVersion, u64, isize)| v.0.voter_id.hashed()));
    let mut candidates_in = builder.new_input(candidates.inner.broadcast(), Pipeline);
    let mut hours_in = builder.new_input(hours.inner.broadcast(), Pipeline);
    let (facts_out, facts) = builder.new_output::<Vec<(Fact, u64, isize)>>();
    let (anomalies_out, anomalies) = builder.new_output::<Vec<((ResultKey, ResultRow), u64, isize)>>();
    let (statuses_out, statuses) = builder.new_output::<Vec<((Ballot, VoteStatus), u64, isize)>>();
    let (measures_out, measures) = builder.new_output::<Vec<(Measure, u64, isize)>>();
    let (mut facts_out, mut anomalies_out, mut statuses_out) = (OutputBuilder::from(facts_out), OutputBuilder::from(anomalies_out), OutputBuilder::from(statuses_out));
    let mut measures_out = OutputBuilder::from(measures_out);

    builder.build(move |_capabilities| {
        let mut batches: TimeBatches<u64, Batch> = TimeBatches::new(4);
        let mut state = State::new(config, scope_peers);
        move |frontiers| {
            ballots_in.for_each(|cap, data| {
                batches.hold(&cap);
                for (ballot, time, diff) in data.drain(..) {
                    batches.at(time).ballots.push((ballot, diff));
                }
            });
            // No input can deliver anything before this.
            let earliest = frontiers.iter().filter_map(|f| f.frontier().iter().min().copied()).min();
            voters_in.for_each(|cap, data| {
                batches.hold(&cap);
                // Read in place: a version is copied only if it waits for its time.
                for (version, time, diff) in data.iter() {
                    // A new voter at the earliest possible time, before any pending time: its
                    // record is the state before every later update, so it is applied now
                    // (loading a registry does not wait for it to be complete).
                    let first = Some(*time) == earliest && batches.earliest().is_none_or(|t| t >= time);
                    let batch = batches.at(*time);
                    if !(first && *diff > 0 && state.new_voter(version, &mut batch.facts)) {
                        batch.versions.push((version.clone(), *diff));
                    }
                }
                data.clear();
            });
            candidates_in.for_each(|cap, data| {
                batches.hold(&cap);
                for (candidate, time, diff) in data.drain(..) {
                    batches.at(time).candidates.push((candidate, diff));
                }
            });
            hours_in.for_each(|cap, data| {
                batches.hold(&cap);
                for (station, time, diff) in data.drain(..) {
                    batches.at(time).hours.push((station, diff));
                }
            });
            let mut out = Out::default();
            let (mut facts, mut measures) = (Vec::new(), Vec::new());
            while let Some((time, mut batch)) = batches.next_complete(frontiers) {
                out.facts = std::mem::take(&mut batch.facts);
                state.judge(batch, &mut out);
                state.tables.render_facts(&mut out.facts, &mut facts, &mut measures);
                facts_out.activate().session(batches.caps(0)).give_iterator(facts.drain(..).map(|(fact, diff)| (fact, time, diff)));
                if !measures.is_empty() {
                    measures_out.activate().session(batches.caps(3)).give_iterator(measures.drain(..).map(|(measure, diff)| (measure, time, diff)));
                }
                if !out.anomalies.is_empty() {
                    anomalies_out.activate().session(batches.caps(1)).give_iterator(out.anomalies.drain(..).map(|(row, diff)| (row, time, diff)));
                }
                if !out.statuses.is_empty() {
                    statuses_out.activate().session(batches.caps(2)).give_iterator(out.statuses.drain(..).map(|(status, diff)| (status, time, diff)));
                }
            }
            batches.downgrade();
        }
    });
    Verdicts { facts: facts.as_collection(), measures: measures.as_collection(), anomalies: anomalies.as_collection(), statuses: statuses.as_collection() }
}

/// The updates of one time, and the facts of those already applied.
#[derive(Default)]
struct Batch {
    ballots: Vec<(Ballot, isize)>,
    versions: Vec<(VoterVersion, isize)>,
    candidates: Vec<((Id, CandidateInfo), isize)>,
    hours: Vec<((Id, Hours), isize)>,
    facts: Sums,
}

/// What one time produced, before rendering.
#[derive(Default)]
struct Out {
    facts: Sums,
    anomalies: Vec<((ResultKey, ResultRow), isize)>,
    statuses: Vec<((Ballot, VoteStatus), isize)>,
}

/// Id interned per worker: an index per distinct text, and the text back.
#[derive(Default)]
pub(crate) struct Interner {
    index: Map<Id, u32>,
    texts: Vec<Id>,
}

impl Interner {
    pub(crate) fn new() -> Self {
        Interner::default()
    }

    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        if let Some(index) = self.index.get(text) {
            return *index;
        }
        let index = self.texts.len() as u32;
        self.texts.push(text.into());
        self.index.insert(text.into(), index);
        index
    }

    pub(crate) fn text(&self, index: u32) -> &Id {
        &self.texts[index as usize]
    }

    /// The index of `text`, if it is interned.
    pub(crate) fn get(&self, text: &str) -> Option<u32> {
        self.index.get(text).copied()
    }

    /// How many texts are interned.
    pub(crate) fn count(&self) -> usize {
        self.texts.len()
    }
}

/// A voter's facts as indexes into the worker's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Profile {
    region: u32,
    city: u32,
    gender: u32,
    education: u32,
    age_group: u8,
}

/// A voter's current record: assigned station and profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    station: u32,
    profile: u32,
}

/// A distinct ballot of a voter, with how many copies are live and the verdict last given.
#[derive(Clone, Debug)]
struct Stored {
    time: i64,
    vote_id: Id,
    candidate: u32,
    station: u32,
    method: VotingMethod,
    copies: i32,
    status: Option<VoteStatus>,
}

/// A voter's state.
#[derive(Default)]
struct Voter {
    /// The highest-numbered version: its sequence number and record (`None`: deleted).
    version: Option<(u64, Option<Record>)>,
    /// Distinct ballots in ballot order.
    ballots: SmallVec<[Stored; 1]>,
}

impl Voter {
    fn record(&self) -> Option<Record> {
        self.version.and_then(|(_, record)| record)
    }
}

/// What a counted vote tallies, as indexes (see [`Tally::of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Basis {
    candidate: u32,
    party: u32,
    profile: u32,
    station: u32,
    time: i64,
}

/// A fact as indexes into the worker's tables; rendered once per time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Coded {
    Candidate(u32),
    Party(u32),
    Region(u32),
    City(u32, u32),
    AgeGroup(u8),
    Gender(u32),
    EducationParty(u32, u32),
    Hour(i64),
    Station(u32),
    Window(u32, i64),
    Cell(u32, u8, u32),
    Registered(u32),
    Roll(u32, u8),
    Measure(CodedMeasure),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum CodedMeasure {
    Vote,
    Counted,
    UnknownReference,
    RegisteredVoter,
}

impl CodedMeasure {
    const ALL: [CodedMeasure; 4] = [CodedMeasure::Vote, CodedMeasure::Counted, CodedMeasure::UnknownReference, CodedMeasure::RegisteredVoter];
}

/// A time's facts added up. Most of a counted vote's facts are keyed by one small index
/// (candidate, party, region, gender, age group, station, measure): those are counters in
/// vectors, the rest (pairs and times) a map. A hash-map update per fact was a fifth of
/// the operator's time.
#[derive(Default)]
struct Sums {
    /// Counters by kind (see [`Sums::slot`]) and index.
    dense: [Vec<isize>; 8],
    other: Map<Coded, isize>,
}

impl Sums {
    /// The dense counter of a fact, if it has one.
    fn slot(code: Coded) -> Option<(usize, usize)> {
        Some(match code {
            Coded::Candidate(i) => (0, i as usize),
            Coded::Party(i) => (1, i as usize),
            Coded::Region(i) => (2, i as usize),
            Coded::Gender(i) => (3, i as usize),
            Coded::AgeGroup(i) => (4, i as usize),
            Coded::Station(i) => (5, i as usize),
            Coded::Registered(i) => (6, i as usize),
            Coded::Measure(m) => (7, m as usize),
            Coded::City(..) | Coded::EducationParty(..) | Coded::Hour(_) | Coded::Window(..) | Coded::Cell(..) | Coded::Roll(..) => return None,
        })
    }

    /// The fact of a dense counter.
    fn code(kind: usize, i: usize) -> Coded {
        let index = i as u32;
        match kind {
            0 => Coded::Candidate(index),
            1 => Coded::Party(index),
            2 => Coded::Region(index),
            3 => Coded::Gender(index),
            4 => Coded::AgeGroup(i as u8),
            5 => Coded::Station(index),
            6 => Coded::Registered(index),
            _ => Coded::Measure(CodedMeasure::ALL[i]),
        }
    }

    fn add(&mut self, code: Coded, diff: isize) {
        match Self::slot(code) {
            Some((kind, i)) => {
                let counters = &mut self.dense[kind];
                if i >= counters.len() {
                    counters.resize(i + 1, 0);
                }
                counters[i] += diff;
            }
            None => *self.other.entry(code).or_default() += diff,
        }
    }

    /// Hands out every fact whose sum is not zero, and empties the sums.
    fn drain(&mut self, mut each: impl FnMut(Coded, isize)) {
        for (kind, counters) in self.dense.iter_mut().enumerate() {
            for (i, diff) in counters.iter_mut().enumerate().filter(|(_, diff)| **diff != 0) {
                each(Self::code(kind, i), std::mem::take(diff));
            }
        }
        for (code, diff) in self.other.drain().filter(|(_, diff)| *diff != 0) {
            each(code, diff);
        }
    }
}

/// A voter's outputs that are compared before and after a time's updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Snapshot {
    region: Option<u32>,
    /// Station and age band, for the projection's rolls.
    roll: Option<(u32, u8)>,
    counted: Option<Basis>,
}

/// One worker's state (see the module docs).
struct State {
    voters: Map<Id, Voter>,
    tables: Tables,
}

/// Everything but the voters: the interned text and the small registries.
struct Tables {
    config: VerdictConfig,
    /// Candidate ids; `candidate_info[i]` is candidate `i`'s record and party, if registered.
    candidates: Interner,
    candidate_info: Vec<Option<(CandidateInfo, u32)>>,
    /// Station ids; `station_hours[i]` is station `i`'s hours, if registered.
    stations: Interner,
    station_hours: Vec<Option<Hours>>,
    /// Regions, cities, genders, education levels and parties.
    words: Interner,
    profiles: Map<Profile, u32>,
    profile_list: Vec<Profile>,
}

impl State {
    fn new(config: VerdictConfig, peers: usize) -> Self {
        // Hashing spreads voters over workers a little unevenly: room for 1/16 more.
        let share = config.expected_voters as usize / peers.max(1);
        let tables = Tables {
            config,
            candidates: Interner::new(),
            candidate_info: Vec::new(),
            stations: Interner::new(),
            station_hours: Vec::new(),
            words: Interner::new(),
            profiles: Map::default(),
            profile_list: Vec::new(),
        };
        State { voters: Map::with_capacity_and_hasher(share + share / 16, Default::default()), tables }
    }

    /// Adds a voter not seen before, recording its facts; false if the voter is known.
    fn new_voter(&mut self, version: &VoterVersion, facts: &mut Sums) -> bool {
        if self.voters.contains_key(&version.voter_id) {
            return false;
        }
        let record = version.info.as_ref().map(|info| self.tables.record(info));
        if let Some(record) = record {
            let region = self.tables.profile_list[record.profile as usize].region;
            facts.add(Coded::Registered(region), 1);
            facts.add(Coded::Measure(CodedMeasure::RegisteredVoter), 1);
            if let Some((station, band)) = self.tables.roll(record) {
                facts.add(Coded::Roll(station, band), 1);
            }
        }
        self.voters.insert(version.voter_id.clone(), Voter { version: Some((version.seq, record)), ballots: SmallVec::new() });
        true
    }

    /// Applies the updates of a time and records the changes of every output in `out`.
    fn judge(&mut self, mut batch: Batch, out: &mut Out) {
        let State { voters, tables } = self;
        // A changed candidate or station can change any verdict: take every voter's
        // outputs under the old registries first.
        let mut before: Map<Id, Snapshot> = Map::default();
        if !batch.candidates.is_empty() || !batch.hours.is_empty() {
            for (id, voter) in voters.iter().filter(|(_, v)| !v.ballots.is_empty()) {
                before.insert(id.clone(), tables.snapshot(voter));
            }
            tables.registries(&mut batch.candidates, &mut batch.hours);
        }

        // Each touched voter once: its updates grouped by sorting them on (hash, id), which
        // compares integers where sorting on the text compared strings.
        let hasher = voters.hasher().clone();
        let (ballots, versions) = (&batch.ballots, &batch.versions);
        let (ballot_id, version_id) = (|i: u32| &ballots[i as usize].0.voter_id, |i: u32| &versions[i as usize].0.voter_id);
        let ballot_order = by_voter(&hasher, ballots.len(), ballot_id);
        // The voters' entries are fetched first, all at once: lookups that do nothing else
        // overlap their cache misses (the map is far larger than the caches), where judging
        // one voter after another would wait for each miss in turn.
        let known = ballot_order.iter().filter(|&&(_, i)| voters.contains_key(ballot_id(i))).count();
        std::hint::black_box(known);
        let mut ballot_order = ballot_order.into_iter().peekable();
        let mut version_order = by_voter(&hasher, versions.len(), version_id).into_iter().peekable();
        loop {
            let next_ballot = ballot_order.peek().map(|&(hash, i)| (hash, ballot_id(i)));
            let next_version = version_order.peek().map(|&(hash, i)| (hash, version_id(i)));
            let (hash, key) = match (next_ballot, next_version) {
                (Some(b), Some(v)) => std::cmp::min(b, v),
                (Some(b), None) => b,
                (None, Some(v)) => v,
                (None, None) => break,
            };
            let key = key.clone();
            let old = if before.is_empty() { None } else { before.remove(&key) };
            let voter = voters.entry(key.clone()).or_default();
            let old = old.unwrap_or_else(|| tables.snapshot(voter));
            while let Some((_, i)) = version_order.next_if(|&(h, i)| h == hash && *version_id(i) == key) {
                let (version, diff) = &versions[i as usize];
                assert!(*diff > 0, "voter versions are only added; {version:?} changed by {diff}");
                let record = version.info.as_ref().map(|info| tables.record(info));
                match voter.version {
                    Some((seq, current)) if seq == version.seq => {
                        assert!(current == record, "two versions of voter {key:?} share sequence number {seq}")
                    }
                    Some((seq, _)) if seq > version.seq => {}
                    _ => voter.version = Some((version.seq, record)),
                }
            }
            while let Some((_, i)) = ballot_order.next_if(|&(h, i)| h == hash && *ballot_id(i) == key) {
                let (ballot, diff) = &ballots[i as usize];
                tables.add_ballot(voter, ballot, *diff);
            }
            tables.settle(&key, voter, old, out);
            if voter.version.is_none() && voter.ballots.is_empty() {
                voters.remove(&key);
            }
        }
        // Voters re-judged only because a candidate or a station changed.
        for (key, old) in before {
            let voter = voters.get_mut(&key).expect("snapshots are of existing voters");
            tables.settle(&key, voter, old, out);
        }
    }
}

/// The indexes `0..len` of a time's updates with the hash of their voter's id, ordered by
/// that hash and then the id.
fn by_voter<'a>(hasher: &impl BuildHasher, len: usize, id: impl Fn(u32) -> &'a Id) -> Vec<(u64, u32)> {
    let mut order: Vec<(u64, u32)> = (0..len as u32).map(|i| (hasher.hash_one(id(i)), i)).collect();
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id(a.1).cmp(id(b.1))));
    order
}

impl Tables {
    fn candidate(&mut self, id: &str) -> u32 {
        let index = self.candidates.intern(id);
        if index as usize == self.candidate_info.len() {
            self.candidate_info.push(None);
        }
        index
    }

    fn station(&mut self, id: &str) -> u32 {
        let index = self.stations.intern(id);
        if index as usize == self.station_hours.len() {
            self.station_hours.push(None);
        }
        index
    }

    /// A voter's record as indexes.
    fn record(&mut self, info: &VoterInfo) -> Record {
        let profile = Profile {
            region: self.words.intern(&info.region),
            city: self.words.intern(&info.city),
            gender: self.words.intern(&info.gender),
            education: self.words.intern(&info.education),
            age_group: info.age_group,
        };
        let next = self.profile_list.len() as u32;
        let index = *self.profiles.entry(profile).or_insert(next);
        if index == next {
            self.profile_list.push(profile);
        }
        Record { station: self.station(&info.station_id), profile: index }
    }

    /// Applies a time's changes to the candidates and the stations' hours.
    fn registries(&mut self, candidates: &mut Vec<((Id, CandidateInfo), isize)>, hours: &mut Vec<((Id, Hours), isize)>) {
        consolidate(candidates);
        consolidate(hours);
        // Retractions first: a replaced record is a retraction and an insertion.
        candidates.sort_by_key(|(_, diff)| *diff > 0);
        hours.sort_by_key(|(_, diff)| *diff > 0);
        for ((id, info), diff) in candidates.iter() {
            let index = self.candidate(id) as usize;
            self.candidate_info[index] = (*diff > 0).then(|| (info.clone(), self.words.intern(&info.party)));
        }
        for ((id, hours), diff) in hours.iter() {
            let index = self.station(id) as usize;
            self.station_hours[index] = (*diff > 0).then_some(*hours);
        }
    }

    /// Adds `diff` copies of `ballot` to the voter's ballots, in ballot order.
    fn add_ballot(&mut self, voter: &mut Voter, ballot: &Ballot, diff: isize) {
        let (candidate, station) = (self.candidate(&ballot.candidate_id), self.station(&ballot.polling_station_id));
        let same = |s: &Stored| s.time == ballot.voting_time && s.vote_id == ballot.vote_id && s.candidate == candidate && s.station == station && s.method == ballot.voting_method;
        if let Some(stored) = voter.ballots.iter_mut().find(|s| same(s)) {
            stored.copies += diff as i32;
            return;
        }
        // Ballot order: time, vote id, then (the voter being the same) candidate, station
        // and method by their text.
        let at = voter.ballots.partition_point(|s| {
            let order = (s.time, &s.vote_id).cmp(&(ballot.voting_time, &ballot.vote_id)).then_with(|| {
                let (c, st) = (self.candidates.text(s.candidate), self.stations.text(s.station));
                (c, st, s.method).cmp(&(&ballot.candidate_id, &ballot.polling_station_id, ballot.voting_method))
            });
            order == std::cmp::Ordering::Less
        });
        let stored = Stored { time: ballot.voting_time, vote_id: ballot.vote_id.clone(), candidate, station, method: ballot.voting_method, copies: diff as i32, status: None };
        voter.ballots.insert(at, stored);
    }

    /// The station and age band of a voter's record, when the projection wants rolls.
    fn roll(&self, record: Record) -> Option<(u32, u8)> {
        self.config.projection.then(|| (record.station, self.profile_list[record.profile as usize].age_group))
    }

    /// The voter's region and counted vote, as its outputs stand.
    fn snapshot(&self, voter: &Voter) -> Snapshot {
        let record = voter.record();
        let counted = voter.ballots.iter().find(|s| s.status == Some(VoteStatus::Counted)).and_then(|s| {
            let (_, party) = self.candidate_info[s.candidate as usize].as_ref()?;
            Some(Basis { candidate: s.candidate, party: *party, profile: record?.profile, station: s.station, time: s.time })
        });
        Snapshot { region: record.map(|r| self.profile_list[r.profile as usize].region), roll: record.and_then(|r| self.roll(r)), counted }
    }

    /// The first check a ballot fails, before de-duplication.
    fn first_failure(&self, record: Option<Record>, s: &Stored) -> Option<AnomalyKind> {
        let Some(record) = record else { return Some(AnomalyKind::UnregisteredVoter) };
        if self.candidate_info[s.candidate as usize].is_none() {
            return Some(AnomalyKind::UnknownCandidate);
        }
        let Some(hours) = self.station_hours[s.station as usize].filter(|_| record.station == s.station) else {
            return Some(AnomalyKind::StationMismatch);
        };
        if !hours.contains(s.time) {
            return Some(AnomalyKind::OutsideHours);
        }
        None
    }

    /// Judges the voter's ballots again and records every output that changed since `old`.
    fn settle(&self, key: &Id, voter: &mut Voter, old: Snapshot, out: &mut Out) {
        let record = voter.record();
        let mut counted = false;
        for stored in voter.ballots.iter_mut() {
            let status = (stored.copies > 0).then(|| match self.first_failure(record, stored) {
                Some(kind) => VoteStatus::Rejected(kind),
                None if !counted => {
                    counted = true;
                    VoteStatus::Counted
                }
                None => VoteStatus::Rejected(AnomalyKind::DuplicateVote),
            });
            if status != stored.status {
                for (status, diff) in [(stored.status, -1), (status, 1)] {
                    if let Some(status) = status {
                        self.status_changed(key, stored, status, diff, out);
                    }
                }
                stored.status = status;
            }
        }
        voter.ballots.retain(|s| s.copies > 0);
        let new = self.snapshot(voter);
        if new.region != old.region {
            for (region, diff) in [(old.region, -1), (new.region, 1)] {
                if let Some(region) = region {
                    out.facts.add(Coded::Registered(region), diff);
                    out.facts.add(Coded::Measure(CodedMeasure::RegisteredVoter), diff);
                }
            }
        }
        if new.roll != old.roll {
            for (roll, diff) in [(old.roll, -1), (new.roll, 1)] {
                if let Some((station, band)) = roll {
                    out.facts.add(Coded::Roll(station, band), diff);
                }
            }
        }
        if new.counted != old.counted {
            for (basis, diff) in [(old.counted, -1), (new.counted, 1)] {
                if let Some(basis) = basis {
                    self.tally(basis, diff, out);
                }
            }
        }
    }

    /// Records a ballot's verdict coming (`diff` 1) or going (-1): its measures, its
    /// anomaly row and its status.
    fn status_changed(&self, key: &Id, stored: &Stored, status: VoteStatus, diff: isize, out: &mut Out) {
        let mut measure = |m: CodedMeasure| out.facts.add(Coded::Measure(m), diff);
        measure(CodedMeasure::Vote);
        match status {
            VoteStatus::Counted => measure(CodedMeasure::Counted),
            VoteStatus::Rejected(AnomalyKind::UnregisteredVoter | AnomalyKind::UnknownCandidate) => measure(CodedMeasure::UnknownReference),
            VoteStatus::Rejected(_) => {}
        }
        let rejected = match status {
            VoteStatus::Rejected(kind) => Some(kind),
            VoteStatus::Counted => None,
        };
        if rejected.is_none() && !self.config.statuses {
            return;
        }
        let ballot = Ballot {
            voting_time: stored.time,
            vote_id: stored.vote_id.clone(),
            voter_id: key.clone(),
            candidate_id: self.candidates.text(stored.candidate).clone(),
            polling_station_id: self.stations.text(stored.station).clone(),
            voting_method: stored.method,
        };
        if let Some(kind) = rejected {
            out.anomalies.push((anomaly(&ballot, kind).keyed(), diff));
        }
        if self.config.statuses {
            out.statuses.push(((ballot, status), diff));
        }
    }

    /// Records the tallies of a counted vote coming or going.
    fn tally(&self, b: Basis, diff: isize, out: &mut Out) {
        let p = self.profile_list[b.profile as usize];
        let window = self.config.window_ms.map(|width| Coded::Window(b.station, window_start(b.time, width)));
        let codes = [
            Coded::Candidate(b.candidate),
            Coded::Party(b.party),
            Coded::Region(p.region),
            Coded::City(p.region, p.city),
            Coded::AgeGroup(p.age_group),
            Coded::Gender(p.gender),
            Coded::EducationParty(p.education, b.party),
            Coded::Hour(window_start(b.time, HOUR_MS)),
            Coded::Station(b.station),
        ];
        let cell = self.config.projection.then_some(Coded::Cell(b.station, p.age_group, b.candidate));
        for code in codes.into_iter().chain(window).chain(cell) {
            out.facts.add(code, diff);
        }
    }

    /// The facts of a time with their text, and its measures, without those that cancelled out.
    fn render_facts(&self, coded: &mut Sums, facts: &mut Vec<(Fact, isize)>, measures: &mut Vec<(Measure, isize)>) {
        let word = |i: u32| self.words.text(i).clone();
        coded.drain(|code, diff| {
            let fact = match code {
                Coded::Candidate(c) => Fact::Tally(Tally::Candidate(self.candidates.text(c).clone())),
                Coded::Party(p) => Fact::Tally(Tally::Party(word(p))),
                Coded::Region(r) => Fact::Tally(Tally::Region(word(r))),
                Coded::City(r, c) => Fact::Tally(Tally::City(word(r), word(c))),
                Coded::AgeGroup(a) => Fact::Tally(Tally::AgeGroup(a)),
                Coded::Gender(g) => Fact::Tally(Tally::Gender(word(g))),
                Coded::EducationParty(e, p) => Fact::Tally(Tally::EducationParty(word(e), word(p))),
                Coded::Hour(h) => Fact::Tally(Tally::Hour(h)),
                Coded::Station(s) => Fact::Tally(Tally::Station(self.stations.text(s).clone())),
                Coded::Window(s, w) => Fact::Tally(Tally::Window(self.stations.text(s).clone(), w)),
                Coded::Cell(s, band, c) => Fact::Tally(Tally::Cell(self.stations.text(s).clone(), band, self.candidates.text(c).clone())),
                Coded::Registered(r) => Fact::Registered(word(r)),
                Coded::Roll(s, band) => Fact::Roll(self.stations.text(s).clone(), band),
                Coded::Measure(m) => {
                    let measure = match m {
                        CodedMeasure::Vote => Measure::Vote,
                        CodedMeasure::Counted => Measure::Counted,
                        CodedMeasure::UnknownReference => Measure::UnknownReference,
                        CodedMeasure::RegisteredVoter => Measure::RegisteredVoter,
                    };
                    measures.push((measure, diff));
                    return;
                }
            };
            facts.push((fact, diff));
        });
    }
}

/// The anomaly row of a rejected ballot.
pub fn anomaly(b: &Ballot, kind: AnomalyKind) -> ResultRow {
    ResultRow::Anomaly(Anomaly {
        vote_id: Some(b.vote_id.to_string()),
        voter_id: Some(b.voter_id.to_string()),
        polling_station_id: Some(b.polling_station_id.to_string()),
        voting_time: Some(b.voting_time),
        candidate_id: Some(b.candidate_id.to_string()),
        ..Anomaly::of(kind)
    })
}

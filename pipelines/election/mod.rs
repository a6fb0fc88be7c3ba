//! The election pipeline: votes and registries in, live results and anomalies out.
//!
//! In ([`ElectionInputs`]): every vote message, and the versions of every candidate,
//! polling station and voter record (`(id, (seq, Option<record>))`, latest `seq` wins).
//! Out ([`ElectionOutputs`]): the result tables as one keyed collection
//! `(ResultKey, ResultRow)` for a [`Sink`](crate::connectors::sink::Sink), and every distinct
//! vote with its verdict (the vote ledger). Besides the per-vote verdicts, the `anomalies`
//! hold the [`Detectors`]' findings about stations and regions ([`detect`]: `rate_spike`,
//! `over_turnout`), and `data_quality` one row per data-quality rule ([`quality`]).
//!
//! ## Tally semantics
//! A vote is **counted** iff its voter is registered, its candidate is registered, its
//! `polling_station_id` is the voter's assigned station and that station is registered, its
//! `voting_time` lies in the station's opening hours `[opens_at, closes_at)` (UTC), and it
//! is that voter's earliest such vote by `(voting_time, vote_id)`. Every other vote gets
//! exactly one [`AnomalyKind`], the first that applies in the order
//! `unregistered_voter`, `unknown_candidate`, `station_mismatch`, `outside_hours`,
//! `duplicate_vote`. Re-delivered copies of an identical vote message count once.
//! Region and city of a vote are the voter's address (`address.state`, `address.city`).
//!
//! ## Dataflow
//! ```text
//! candidates ─ latest_by_key ─┐
//! stations ─── latest_by_key ─┴ enrich ─ per (candidate, station) pair named by ballots ─┐
//! votes ─ ballots ─────────────────────────────────────────── join_replicated (lookups) ─┴─┐
//! voters ───── latest_by_key ───────────────── group_with(voter: checks + first vote wins) ─┘
//!                  ├─ counted ─ tallies ─ count_by ─┬─ enrich(registries) ─ candidate, party, region
//!                  │                                ├─ city, age group, gender, education × party, hour
//!                  │                                ├─ top_k ─ top polling stations
//!                  │                                ├─ per (station, 5 min) ─ rate_spikes(stations) ─ anomalies
//!                  │                                └─ per station ─ over_capacity(rolls) ─ anomalies
//!                  └─ rejected ─ anomalies
//! reads, dead letters, verdicts, voters, results ─ check_totals ─ data_quality
//! ```
//! Every counted vote is turned into its tally keys (one per result table) in a single pass
//! and counted once; the counts are small, so splitting them per table afterwards is cheap.
//! A late vote earlier than a voter's counted vote flips it: the old one is retracted from
//! every count and becomes a `duplicate_vote`, and the late one is counted.

pub mod detect;
pub mod evaluate;
mod feed;
pub mod job;
pub mod model;
pub mod quality;
pub mod records;
pub mod results;

pub use feed::{ElectionFeed, RejectedVote};

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use crate::connectors::dataset::{Candidate, PollingStation, Vote, Voter};
use crate::operators::prelude::*;
use crate::operators::rate::RateModel;
use crate::operators::window::window_start;
use detect::StationProfile;
use model::{AnomalyKind, Ballot, CandidateInfo, Hours, Text, VoteStatus, VoterInfo, AGE_GROUPS};
use quality::{Measure, QualityRules};
use results::*;

/// A registry as versions: `(id, (seq, Some(record) | None for a deletion))`.
pub type Versions<'scope, R> = VecCollection<'scope, u64, (String, (u64, Option<R>))>;

/// The pipeline's inputs.
pub struct ElectionInputs<'scope> {
    /// Every vote message.
    pub votes: VecCollection<'scope, u64, Vote>,
    /// Candidate registry versions.
    pub candidates: Versions<'scope, Candidate>,
    /// Polling-station registry versions.
    pub stations: Versions<'scope, PollingStation>,
    /// Voter registry versions.
    pub voters: Versions<'scope, Voter>,
    /// Every vote message with where it was read, if the feed records them (for the vote
    /// ledger, [`records`]); the pipeline's results do not use it.
    pub sources: records::Sources<'scope>,
    /// Every dead letter of the job's readers (for [`records`]).
    pub dead_letters: VecCollection<'scope, u64, crate::connectors::dataset::DeadLetter>,
}

/// The pipeline's outputs.
pub struct ElectionOutputs<'scope> {
    /// Every result table, keyed by primary key.
    pub results: VecCollection<'scope, u64, (ResultKey, ResultRow)>,
    /// Every distinct vote with its current verdict.
    pub statuses: records::Statuses<'scope>,
}

/// A vote with what the checks learned about it (the voter only if it was counted).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct Checked {
    ballot: Ballot,
    candidate: Option<CandidateInfo>,
    voter: Option<VoterInfo>,
}

/// One count a counted vote contributes to, per result table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Tally {
    Candidate(Text),
    Party(Text),
    Region(Text),
    City(Text, Text),
    AgeGroup(u8),
    Gender(Text),
    EducationParty(Text, Text),
    Hour(i64),
    Station(Text),
    /// A station's rate window (only with the rate-spike detector).
    Window(Text, i64),
}

/// What the pipeline finds beyond the per-vote checks ([`detect`], [`quality`]); everything
/// is on by default, and [`Detectors::NONE`] turns it all off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detectors {
    /// The `rate_spike` model, or `None` for no rate-spike detection.
    pub rate_spike: Option<RateModel>,
    /// Whether to report stations and regions with more counted votes than registered voters.
    pub over_turnout: bool,
    /// The `data_quality` rules, or `None` for no `data_quality` table.
    pub data_quality: Option<QualityRules>,
}

impl Detectors {
    /// No detector beyond the per-vote checks.
    pub const NONE: Detectors = Detectors { rate_spike: None, over_turnout: false, data_quality: None };
}

impl Default for Detectors {
    fn default() -> Self {
        Detectors { rate_spike: Some(RateModel::default()), over_turnout: true, data_quality: Some(QualityRules::default()) }
    }
}

/// Width of the turnout-by-hour windows.
const HOUR_MS: i64 = 3_600_000;

impl Tally {
    /// The tallies of a counted vote; with `window_ms`, its station's rate window too.
    fn of(c: Checked, window_ms: Option<i64>) -> impl Iterator<Item = Tally> {
        let (Some(candidate), Some(voter)) = (c.candidate, c.voter) else { unreachable!("counted votes passed every check") };
        let b = c.ballot;
        [
            Tally::Candidate(b.candidate_id),
            Tally::Party(candidate.party.clone()),
            Tally::Region(voter.region.clone()),
            Tally::City(voter.region, voter.city),
            Tally::AgeGroup(voter.age_group),
            Tally::Gender(voter.gender),
            Tally::EducationParty(voter.education, candidate.party),
            Tally::Hour(window_start(b.voting_time, HOUR_MS)),
            Tally::Station(b.polling_station_id.clone()),
        ]
        .into_iter()
        .chain(window_ms.map(|width| Tally::Window(b.polling_station_id, window_start(b.voting_time, width))))
    }
}

/// The per-vote checks before de-duplication, in order. `hours` are those of the ballot's
/// station, if it is registered.
fn first_failure(ballot: &Ballot, candidate: Option<&CandidateInfo>, hours: Option<Hours>, voter: Option<&VoterInfo>) -> Option<AnomalyKind> {
    let Some(voter) = voter else { return Some(AnomalyKind::UnregisteredVoter) };
    if candidate.is_none() {
        return Some(AnomalyKind::UnknownCandidate);
    }
    let Some(hours) = hours.filter(|_| voter.station_id == ballot.polling_station_id) else {
        return Some(AnomalyKind::StationMismatch);
    };
    if !hours.contains(ballot.voting_time) {
        return Some(AnomalyKind::OutsideHours);
    }
    None
}

fn anomaly(b: &Ballot, kind: AnomalyKind) -> ResultRow {
    ResultRow::Anomaly(Anomaly {
        vote_id: Some(b.vote_id.to_string()),
        voter_id: Some(b.voter_id.to_string()),
        polling_station_id: Some(b.polling_station_id.to_string()),
        voting_time: Some(b.voting_time),
        candidate_id: Some(b.candidate_id.to_string()),
        ..Anomaly::of(kind)
    })
}

/// Builds the election dataflow with every detector, in the inputs' scope.
pub fn build<'scope>(inputs: ElectionInputs<'scope>) -> ElectionOutputs<'scope> {
    build_with(inputs, Detectors::default())
}

/// Builds the election dataflow with the given detectors, in the inputs' scope.
pub fn build_with<'scope>(inputs: ElectionInputs<'scope>, detectors: Detectors) -> ElectionOutputs<'scope> {
    // Every record read and every dead letter, for the data-quality rules.
    let reads = detectors.data_quality.map(|_| {
        differential_dataflow::collection::concatenate(
            inputs.votes.scope(),
            [
                inputs.votes.clone().map(|_| Measure::Read),
                inputs.candidates.clone().map(|_| Measure::Read),
                inputs.stations.clone().map(|_| Measure::Read),
                inputs.voters.clone().map(|_| Measure::Read),
                inputs.dead_letters.clone().map(|_| Measure::DeadLetter),
            ],
        )
    });
    let candidates = inputs
        .candidates
        .latest_by_key_named("Candidates")
        .map(|(id, c)| (Text::from(id), CandidateInfo { name: c.candidate_name.into(), party: c.party_affiliation.into() }));
    // The feed rejects stations with unreadable hours, so every station here has a profile.
    let profiles = inputs.stations.latest_by_key_named("Stations").flat_map(|(id, s)| StationProfile::of(&s).map(|p| (Text::from(id), p)));
    let station_hours = profiles.clone().map(|(id, p)| (id, p.hours));
    // Only what the checks and results need of a voter travels on.
    let voters = inputs
        .voters
        .map(|(id, (seq, voter))| (Text::from(id), (seq, voter.map(VoterInfo::of))))
        .latest_by_key_named("Voters");

    // What a ballot needs from the small registries, per distinct (candidate, station) pair
    // the ballots name: a few thousand rows at most, copied to every worker, so ballots are
    // looked up where they are read and never exchanged by candidate or station.
    let ballots = inputs.votes.map(Ballot::from);
    let lookups = ballots
        .clone()
        .map(|b| (b.candidate_id.clone(), b.polling_station_id.clone()))
        .consolidate_stream()
        .distinct()
        .enrich(candidates.clone())
        .map(|(c, (s, candidate))| (s, (c, candidate)))
        .enrich(station_hours)
        .map(|(s, ((c, candidate), hours))| ((c, s), (candidate, hours)));

    // Per voter, in one arrangement: the voter's record, the checks, and first-vote-wins
    // (ballots order by (voting_time, vote_id, ..), so the first valid one is the earliest).
    let verdicts = ballots
        .map(|b| ((b.candidate_id.clone(), b.polling_station_id.clone()), b))
        .join_replicated(lookups)
        .map(|(_, (b, (candidate, hours)))| (b.voter_id.clone(), (b, candidate, hours)))
        .group_with("Verdicts", voters.clone(), |_voter, info, ballots, output| {
            let mut counted = false;
            for ((ballot, candidate, hours), _) in ballots {
                let status = match first_failure(ballot, candidate.as_ref(), *hours, info) {
                    Some(kind) => VoteStatus::Rejected(kind),
                    None if !counted => {
                        counted = true;
                        VoteStatus::Counted
                    }
                    None => VoteStatus::Rejected(AnomalyKind::DuplicateVote),
                };
                let voter = info.filter(|_| status == VoteStatus::Counted).cloned();
                let checked = Checked { ballot: ballot.clone(), candidate: candidate.clone(), voter };
                output.push(((checked, status), 1));
            }
        })
        .map(|(_, verdict)| verdict);
    let statuses = verdicts.clone().map(|(c, status)| (c.ballot, status));
    let (counted, rejected) = verdicts.classify(|(_, status)| match status {
        VoteStatus::Counted => None,
        VoteStatus::Rejected(kind) => Some(*kind),
    });
    let anomalies = rejected.map(|((c, _), kind)| anomaly(&c.ballot, kind).keyed());

    let window_ms = detectors.rate_spike.map(|model| model.width_ms);
    let tallies = counted.flat_map(move |(c, _)| Tally::of(c, window_ms)).count_by(Tally::clone);
    let mut results = results(tallies.clone(), candidates, voters.clone()).concat(anomalies);
    if let Some(model) = detectors.rate_spike {
        let window_counts = tallies.clone().flat_map(|(t, n)| match t {
            Tally::Window(station, start) => Some(((start, station), n)),
            _ => None,
        });
        results = results.concat(detect::rate_spikes(window_counts, profiles.clone(), model).map(ResultRow::keyed));
    }
    if detectors.over_turnout {
        let station_counts = tallies.flat_map(|(t, n)| match t {
            Tally::Station(station) => Some((station, n)),
            _ => None,
        });
        results = results.concat(detect::over_turnout(station_counts, profiles).map(ResultRow::keyed));
    }
    if let (Some(rules), Some(reads)) = (detectors.data_quality, reads) {
        let measures = differential_dataflow::collection::concatenate(
            reads.scope(),
            [
                reads,
                statuses.clone().flat_map(|(_, status)| Measure::of_status(&status)),
                voters.map(|_| Measure::RegisteredVoter),
                results.clone().explode(|(_, row)| Measure::of_result(&row)),
            ],
        );
        results = results.concat(quality::checks(measures, rules));
    }
    ElectionOutputs { results, statuses }
}

fn votes_or_zero(count: Option<isize>) -> i64 {
    count.unwrap_or(0) as i64
}

fn text(t: Text) -> String {
    t.to_string()
}

/// The result tables, from the counts of every tally.
fn results<'scope>(
    tallies: VecCollection<'scope, u64, (Tally, isize)>,
    candidates: VecCollection<'scope, u64, (Text, CandidateInfo)>,
    voters: VecCollection<'scope, u64, (Text, VoterInfo)>,
) -> VecCollection<'scope, u64, (ResultKey, ResultRow)> {
    let per_candidate = candidates
        .clone()
        .enrich(tallies.clone().flat_map(|(t, n)| match t {
            Tally::Candidate(id) => Some((id, n)),
            _ => None,
        }))
        .map(|(id, (c, n))| {
            ResultRow::VotesPerCandidate(VotesPerCandidate {
                candidate_id: text(id),
                candidate_name: text(c.name),
                party_affiliation: text(c.party),
                votes: votes_or_zero(n),
            })
        });
    let per_party = candidates
        .map(|(_, c)| c.party)
        .distinct()
        .map(|party| (party, ()))
        .enrich(tallies.clone().flat_map(|(t, n)| match t {
            Tally::Party(party) => Some((party, n)),
            _ => None,
        }))
        .map(|(party, ((), n))| ResultRow::VotesPerParty(VotesPerParty { party_affiliation: text(party), votes: votes_or_zero(n) }));
    let per_region = voters
        .count_by(|(_, v)| v.region.clone())
        .enrich(tallies.clone().flat_map(|(t, n)| match t {
            Tally::Region(region) => Some((region, n)),
            _ => None,
        }))
        .map(|(region, (registered, n))| ResultRow::TurnoutByRegion(TurnoutByRegion::new(text(region), votes_or_zero(n), registered as i64)));
    let top_stations = tallies
        .clone()
        .flat_map(|(t, n)| match t {
            Tally::Station(id) => Some((id, n)),
            _ => None,
        })
        .top_k(10)
        .map(|(rank, (id, n))| ResultRow::TopPollingStation(TopPollingStation { rank, polling_station_id: text(id), votes: n as i64 }));
    let plain = tallies.flat_map(|(t, n)| {
        let votes = n as i64;
        match t {
            Tally::City(region, city) => Some(ResultRow::TurnoutByCity(TurnoutByCity { region: text(region), city: text(city), votes })),
            Tally::AgeGroup(band) => Some(ResultRow::TurnoutByAgeGroup(TurnoutByAgeGroup { age_group: AGE_GROUPS[band as usize].to_string(), votes })),
            Tally::Gender(gender) => Some(ResultRow::TurnoutByGender(TurnoutByGender { gender: text(gender), votes })),
            Tally::EducationParty(education, party) => Some(ResultRow::VotesByEducationParty(VotesByEducationParty {
                education_level: text(education),
                party_affiliation: text(party),
                votes,
            })),
            Tally::Hour(hour_start) => Some(ResultRow::TurnoutByHour(TurnoutByHour { hour_start, votes })),
            _ => None,
        }
    });

    differential_dataflow::collection::concatenate(per_candidate.scope(), [per_candidate, per_party, per_region, top_stations, plain])
        .map(ResultRow::keyed)
}

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
//! candidates ─ latest_by_key ─┐ (copied to every worker)
//! stations ─── latest_by_key ─┤
//! votes ──────────────────────┤
//! voters ─────────────────────┴ verdicts (per voter: checks + first vote wins) ─┬─ rejected ─ anomalies
//!     ┌──────────────────────────────────────────────────── facts, per time ────┤
//!     ├ per station ─┬─ most_frequent ─ top polling stations                    │
//!     │              └─ over_capacity_grouped(rolls, regions) ─ anomalies       │
//!     ├ per (station, 5 min) ─ rate_spikes(stations) ─ anomalies                │
//!     └ count_keys ─── counts ─ split ── candidate, party, region, city, age group, gender, education × party, hour
//! reads, dead letters, measures, results ─ check_totals ─ data_quality ──── measures ────┘
//! ```
//! The [`verdicts`] operator keeps each voter's record and distinct ballots in a hash map
//! (totally ordered time needs no arrangement), judges a voter's ballots again when they or
//! the voter change, and turns every counted vote into its tally keys (one per result table)
//! in a single pass, pre-aggregated per time before the exchange; the counts are small, so
//! splitting them per table afterwards is cheap. The station detectors and the top stations
//! take the facts per station and per window as they are (a station's votes of a time as
//! one update) and count them themselves: those counts change at nearly every time, and a
//! changed count would be two updates after `count_keys`.
//! A late vote earlier than a voter's counted vote flips it: the old one is retracted from
//! every count and becomes a `duplicate_vote`, and the late one is counted.

pub mod dashboard;
pub mod detect;
pub mod evaluate;
mod feed;
pub mod job;
pub mod model;
pub mod projection;
pub mod quality;
pub mod records;
pub mod results;
pub mod verdicts;

pub use feed::{ElectionFeed, RejectedVote};

/// Every table the election writes: the records ([`records::RecordRow`]), then the results
/// ([`results::ResultRow`]).
pub fn tables() -> Vec<&'static Table> {
    records::RecordRow::tables().iter().chain(ResultRow::tables()).copied().collect()
}

use differential_dataflow::VecCollection;

use crate::connectors::dataset::{Candidate, DeadLetter, PollingStation, Voter};
use crate::connectors::table::{Table, TableRow};
use crate::operators::prelude::*;
use crate::operators::rate::RateModel;
use detect::StationProfile;
use model::{Ballot, CandidateInfo, Id, VoterVersion, AGE_GROUPS};
use projection::ProjectionConfig;
use quality::{Measure, QualityRules};
use results::*;
use verdicts::{Fact, Tally, VerdictConfig};

/// A registry as versions: `(id, (seq, Option<record>))`, latest `seq` wins.
pub type Versions<'scope, R> = VecCollection<'scope, u64, (String, (u64, Option<R>))>;

/// The pipeline's inputs.
pub struct ElectionInputs<'scope> {
    /// Every vote message.
    pub votes: VecCollection<'scope, u64, Ballot>,
    /// Candidate registry versions.
    pub candidates: Versions<'scope, Candidate>,
    /// Polling-station registry versions.
    pub stations: Versions<'scope, PollingStation>,
    /// Voter registry versions, as the pipeline needs them. Only ever added to.
    pub voters: VecCollection<'scope, u64, VoterVersion>,
    /// Records read (votes admitted, registry versions) and dead letters, as
    /// [`Measure::Read`] and [`Measure::DeadLetter`] with their counts as multiplicities.
    pub reads: VecCollection<'scope, u64, Measure>,
    /// The voter registry's versions in full, if the feed records them (for [`records`]).
    pub voter_records: Versions<'scope, Voter>,
    /// Every vote message with where it was read, if the feed records them (for the vote
    /// ledger, [`records`]); the pipeline's results do not use it.
    pub sources: records::Sources<'scope>,
    /// Every dead letter of the job's readers (for [`records`]).
    pub dead_letters: VecCollection<'scope, u64, DeadLetter>,
    /// Whether [`ElectionOutputs::statuses`] is wanted (for the vote ledger).
    pub statuses: bool,
    /// About how many voter records the registry holds, if the source can tell (0 if not):
    /// operators size their state for it rather than growing it record by record.
    pub expected_voters: u64,
}

/// The pipeline's outputs.
pub struct ElectionOutputs<'scope> {
    /// Every result table, keyed by primary key.
    pub results: VecCollection<'scope, u64, (ResultKey, ResultRow)>,
    /// Every distinct vote with its current verdict, if [`ElectionInputs::statuses`] asked
    /// for it (empty otherwise).
    pub statuses: records::Statuses<'scope>,
}

/// What the pipeline finds beyond the per-vote checks ([`detect`], [`quality`]); everything
/// is on by default, and [`Detectors::NONE`] turns it all off.
#[derive(Clone, Debug, PartialEq)]
pub struct Detectors {
    /// The `rate_spike` model, or `None` for no rate-spike detection.
    pub rate_spike: Option<RateModel>,
    /// Whether to report stations and regions with more counted votes than registered voters.
    pub over_turnout: bool,
    /// The `data_quality` rules, or `None` for no `data_quality` table.
    pub data_quality: Option<QualityRules>,
    /// The live race call ([`projection`]), or `None` for no `projection` table.
    pub projection: Option<ProjectionConfig>,
}

impl Detectors {
    /// No detector beyond the per-vote checks.
    pub const NONE: Detectors = Detectors { rate_spike: None, over_turnout: false, data_quality: None, projection: None };
}

impl Default for Detectors {
    fn default() -> Self {
        Detectors { rate_spike: Some(RateModel::default()), over_turnout: true, data_quality: Some(QualityRules::default()), projection: Some(ProjectionConfig::default()) }
    }
}

/// Builds the election dataflow with every detector, in the inputs' scope.
pub fn build<'scope>(inputs: ElectionInputs<'scope>) -> ElectionOutputs<'scope> {
    build_with(inputs, Detectors::default())
}

/// Builds the election dataflow with the given detectors, in the inputs' scope.
pub fn build_with<'scope>(inputs: ElectionInputs<'scope>, detectors: Detectors) -> ElectionOutputs<'scope> {
    let candidates =
        inputs.candidates.latest_by_key_named("Candidates").map(|(id, c)| (Id::from(id), CandidateInfo { name: c.candidate_name.into(), party: c.party_affiliation.into() }));
    // The feed rejects stations with unreadable hours, so every station here has a profile.
    let profiles = inputs.stations.latest_by_key_named("Stations").flat_map(|(id, s)| StationProfile::of(&s).map(|p| (Id::from(id), p)));
    let station_hours = profiles.clone().map(|(id, p)| (id, p.hours));

    let config = VerdictConfig {
        window_ms: detectors.rate_spike.map(|model| model.width_ms),
        statuses: inputs.statuses,
        expected_voters: inputs.expected_voters,
        projection: detectors.projection.is_some(),
    };
    let verdicts = verdicts::verdicts(inputs.votes, inputs.voters, candidates.clone(), station_hours, config);
    let parts = Parts::of(verdicts.facts);
    let (tables, table_measures) = results(&parts, candidates.clone());
    let mut results = tables.concat(verdicts.anomalies);
    if let Some(model) = detectors.rate_spike {
        results = results.concat(detect::rate_spikes(parts.windows, profiles.clone(), model).map(ResultRow::keyed));
    }
    if let Some(config) = detectors.projection {
        results = results.concat(projection::projection(parts.projection, profiles.clone(), candidates, config).map(ResultRow::keyed));
    }
    if detectors.over_turnout {
        results = results.concat(detect::over_turnout(parts.stations, profiles).map(ResultRow::keyed));
    }
    if let Some(rules) = detectors.data_quality {
        let measures = differential_dataflow::collection::concatenate(
            inputs.reads.scope(),
            [inputs.reads, inputs.dead_letters.map(|_| Measure::DeadLetter), verdicts.measures, table_measures],
        );
        results = results.concat(quality::checks(measures, rules));
    }
    ElectionOutputs { results, statuses: verdicts.statuses }
}

fn votes_or_zero(count: Option<isize>) -> i64 {
    count.unwrap_or(0) as i64
}

/// The facts, split by what consumes them: each part goes to one table or detector, so no
/// consumer sees (or clones) the others'. The tallies of the tables are counted
/// (`count_keys`); the station and window facts stay events, one update per station (or
/// station and window) and time, for operators that count them themselves.
struct Parts<'scope> {
    candidates: VecCollection<'scope, u64, (Fact, isize)>,
    parties: VecCollection<'scope, u64, (Fact, isize)>,
    regions: VecCollection<'scope, u64, (Fact, isize)>,
    registered: VecCollection<'scope, u64, (Fact, isize)>,
    /// The tables that need nothing else: cities, age groups, genders, education × party, hours.
    plain: VecCollection<'scope, u64, (Fact, isize)>,
    /// The station of every counted vote.
    stations: VecCollection<'scope, u64, Id>,
    /// The `(window_start, station)` of every counted vote.
    windows: VecCollection<'scope, u64, (i64, Id)>,
    /// The projection's cells and rolls.
    projection: VecCollection<'scope, u64, Fact>,
}

impl<'scope> Parts<'scope> {
    fn of(facts: VecCollection<'scope, u64, Fact>) -> Self {
        let [tallies, stations, windows, projection] = facts.split(|fact| match fact {
            Fact::Tally(Tally::Station(_)) => 1,
            Fact::Tally(Tally::Window(..)) => 2,
            Fact::Tally(Tally::Cell(..)) | Fact::Roll(..) => 3,
            _ => 0,
        });
        let [candidates, parties, regions, registered, plain] = tallies.count_keys_named("Counts").split(|(fact, _)| match fact {
            Fact::Tally(Tally::Candidate(_)) => 0,
            Fact::Tally(Tally::Party(_)) => 1,
            Fact::Tally(Tally::Region(_)) => 2,
            Fact::Registered(_) => 3,
            _ => 4,
        });
        let stations = stations.flat_map(|fact| match fact {
            Fact::Tally(Tally::Station(station)) => Some(station),
            _ => None,
        });
        let windows = windows.flat_map(|fact| match fact {
            Fact::Tally(Tally::Window(station, start)) => Some((start, station)),
            _ => None,
        });
        Parts { candidates, parties, regions, registered, plain, stations, windows, projection }
    }
}

/// The result tables, from the counts of every tally, the registered voters per region and
/// the station of every counted vote,
/// and the data-quality measures of their rows (taken here, from the two tables measured,
/// rather than from a copy of every result row).
fn results<'scope>(
    parts: &Parts<'scope>,
    candidates: VecCollection<'scope, u64, (Id, CandidateInfo)>,
) -> (VecCollection<'scope, u64, (ResultKey, ResultRow)>, VecCollection<'scope, u64, Measure>) {
    let per_candidate = candidates
        .clone()
        .enrich(parts.candidates.clone().flat_map(|(fact, n)| match fact {
            Fact::Tally(Tally::Candidate(id)) => Some((id, n)),
            _ => None,
        }))
        .map(|(id, (c, n))| ResultRow::VotesPerCandidate(VotesPerCandidate { candidate_id: id, candidate_name: c.name, party_affiliation: c.party, votes: votes_or_zero(n) }));
    let per_party = candidates
        .map(|(_, c)| c.party)
        .distinct()
        .map(|party| (party, ()))
        .enrich(parts.parties.clone().flat_map(|(fact, n)| match fact {
            Fact::Tally(Tally::Party(party)) => Some((party, n)),
            _ => None,
        }))
        .map(|(party, ((), n))| ResultRow::VotesPerParty(VotesPerParty { party_affiliation: party, votes: votes_or_zero(n) }));
    let registered = parts.registered.clone().flat_map(|(fact, n)| match fact {
        Fact::Registered(region) => Some((region, n)),
        _ => None,
    });
    let per_region = registered
        .enrich(parts.regions.clone().flat_map(|(fact, n)| match fact {
            Fact::Tally(Tally::Region(region)) => Some((region, n)),
            _ => None,
        }))
        .map(|(region, (registered, n))| ResultRow::TurnoutByRegion(TurnoutByRegion::new(region, votes_or_zero(n), registered as i64)));
    let top_stations = parts
        .stations
        .clone()
        .most_frequent_named("TopStations", 10)
        .map(|(rank, (id, n))| ResultRow::TopPollingStation(TopPollingStation { rank, polling_station_id: id, votes: n as i64 }));
    let plain = parts.plain.clone().flat_map(|(fact, n)| {
        let votes = n as i64;
        match fact {
            Fact::Tally(Tally::City(region, city)) => Some(ResultRow::TurnoutByCity(TurnoutByCity { region, city, votes })),
            Fact::Tally(Tally::AgeGroup(band)) => Some(ResultRow::TurnoutByAgeGroup(TurnoutByAgeGroup { age_group: AGE_GROUPS[band as usize].into(), votes })),
            Fact::Tally(Tally::Gender(gender)) => Some(ResultRow::TurnoutByGender(TurnoutByGender { gender, votes })),
            Fact::Tally(Tally::EducationParty(education, party)) => {
                Some(ResultRow::VotesByEducationParty(VotesByEducationParty { education_level: education, party_affiliation: party, votes }))
            }
            Fact::Tally(Tally::Hour(hour_start)) => Some(ResultRow::TurnoutByHour(TurnoutByHour { hour_start, votes })),
            _ => None,
        }
    });

    let measures = per_candidate.clone().concat(per_region.clone()).explode(|row| Measure::of_result(&row));
    let tables = differential_dataflow::collection::concatenate(per_candidate.scope(), [per_candidate, per_party, per_region, top_stations, plain]).map(ResultRow::keyed);
    (tables, measures)
}

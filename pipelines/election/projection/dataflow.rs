//! [`projection`]: the projection as a dataflow, recomputed at each watermark.
//!
//! In: the counted votes per station, age band and candidate ([`Tally::Cell`]) and the
//! registered voters per station and age band ([`Fact::Roll`]), as multiplicities; the
//! stations (region and hours) and the candidates. Out: one [`Projection`] row per race and
//! candidate.
//!
//! The inputs are small aggregates (a few per station), so one worker holds them all and,
//! each time the watermark moves (at most once per [`ProjectionConfig::every_ms`] of event
//! time), rebuilds the [`Tallies`], projects every race and updates its [`RaceCall`]. A late
//! vote is counted at the watermark it arrives at, like in every other result. Once the
//! watermark is past every station's close and the allowed lateness, nothing is left to
//! project and the rows equal the count, with zero-width intervals.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use differential_dataflow::VecCollection;
use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

use super::calls::{CallRules, RaceCall};
use super::estimate::{project, StationTally, Tallies};
use super::model::ProjectionModel;
use super::BANDS;
use crate::operators::prelude::*;
use crate::operators::watermark::Watermark;
use crate::pipelines::election::detect::StationProfile;
use crate::pipelines::election::model::{CandidateInfo, Id};
use crate::pipelines::election::results::{Projection, ResultRow};
use crate::pipelines::election::verdicts::{Fact, Interner, Tally};

const DAY_MS: i64 = 86_400_000;

/// The race of the whole electorate in [`Projection::race`].
pub const NATIONAL: &str = "national";

/// Settings of the projection.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionConfig {
    /// What the projection has learned from calibration elections.
    pub model: Arc<ProjectionModel>,
    /// When races are called.
    pub rules: CallRules,
    /// How long after a station closes its votes may still arrive: until then its unvoted
    /// electors count as possible votes, and no race is certain while they could change it.
    /// Votes later than the source's allowed out-of-orderness are still counted (as late
    /// votes), so this is 15 minutes by default, or the out-of-orderness if longer (the
    /// job sees to that).
    pub lateness_ms: i64,
    /// Event time between projections (they are made when the watermark crosses a multiple
    /// of it, and at the end).
    pub every_ms: u64,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        ProjectionConfig { model: Arc::new(ProjectionModel::embedded()), rules: CallRules::default(), lateness_ms: 15 * 60_000, every_ms: 60_000 }
    }
}

/// What the projection reads, as one collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Input {
    /// A [`Tally::Cell`] or a [`Fact::Roll`].
    Fact(Fact),
    Station(Id, StationProfile),
    Candidate(Id, CandidateInfo),
}

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The projection's state: the current aggregates and every race's call.
#[derive(Default)]
struct State {
    /// Counted votes per (station, band, candidate), and registered voters per (station,
    /// band), by interned station and candidate.
    cells: Map<(u32, u8, u32), i64>,
    rolls: Map<(u32, u8), i64>,
    station_ids: Interner,
    candidate_ids: Interner,
    stations: BTreeMap<(Id, StationProfile), isize>,
    candidates: BTreeMap<(Id, CandidateInfo), isize>,
    /// The tallies of the aggregates, kept up to date while no station or candidate changes.
    cache: Option<Cache>,
    calls: Calls,
    /// Midnight of election day: of the watermark's day when the first votes are counted.
    day: Option<i64>,
    /// The watermark of the last projection and its rows.
    last: Option<(u64, Vec<Projection>)>,
}

/// The keys of `map` with a positive count.
fn live<K: Ord + Clone>(map: &BTreeMap<K, isize>) -> Vec<K> {
    map.iter().filter(|(_, &n)| n > 0).map(|(k, _)| k.clone()).collect()
}

fn add<K: Ord>(map: &mut BTreeMap<K, isize>, key: K, diff: isize) {
    let count = map.entry(key).or_default();
    *count += diff;
}

impl State {
    fn update(&mut self, input: Input, diff: isize) {
        let diff = diff as i64;
        match input {
            Input::Fact(Fact::Tally(Tally::Cell(station, band, candidate))) => {
                let (s, c) = (self.station_ids.intern(&station), self.candidate_ids.intern(&candidate));
                *self.cells.entry((s, band, c)).or_default() += diff;
                if let Some(cache) = self.cache.as_mut() {
                    cache.add_cell(s, band, c, diff);
                }
            }
            Input::Fact(Fact::Roll(station, band)) => {
                let s = self.station_ids.intern(&station);
                *self.rolls.entry((s, band)).or_default() += diff;
                if let Some(cache) = self.cache.as_mut() {
                    cache.add_roll(s, band, diff);
                }
            }
            Input::Fact(_) => {}
            Input::Station(id, profile) => {
                self.station_ids.intern(&id);
                add(&mut self.stations, (id, profile), diff as isize);
                self.cache = None;
            }
            Input::Candidate(id, info) => {
                self.candidate_ids.intern(&id);
                add(&mut self.candidates, (id, info), diff as isize);
                self.cache = None;
            }
        }
    }

    /// The rows as of `watermark`.
    fn view(&mut self, watermark: Watermark, config: &ProjectionConfig) -> Vec<Projection> {
        let (as_of, minute) = match watermark {
            Watermark::At(w) => {
                let w = w as i64;
                if let Some((last, rows)) = &self.last {
                    if (*last / config.every_ms) == (w as u64 / config.every_ms) {
                        return rows.clone();
                    }
                }
                if self.day.is_none() && self.cells.values().any(|&n| n > 0) {
                    self.day = Some((w - 1).div_euclid(DAY_MS) * DAY_MS);
                }
                let Some(day) = self.day else { return Vec::new() };
                (w, (w - day) as f64 / 60_000.0)
            }
            Watermark::End(latest) => (latest as i64, f64::INFINITY),
        };
        let cache = self.cache.get_or_insert_with(|| Cache::of(&self.stations, &self.candidates, &self.station_ids, &self.candidate_ids, &self.cells, &self.rolls));
        let rows = rows(config, &cache.tallies, &cache.parties, as_of, minute, &mut self.calls);
        if let Watermark::At(w) = watermark {
            self.last = Some((w, rows.clone()));
        }
        rows
    }
}

/// Every race's call: by race and whether it is between parties.
pub type Calls = BTreeMap<(Id, bool), RaceCall>;

/// The rows of a projection as of `as_of` (`minute` of election day) of `tallies` (whose
/// choices are candidates of `parties`), with every race's call carried in `calls`: a row
/// per race and candidate, and, when a party has more than one candidate, per race and
/// party.
pub fn rows(config: &ProjectionConfig, tallies: &Tallies, parties: &[Id], as_of: i64, minute: f64, calls: &mut Calls) -> Vec<Projection> {
    let mut rows = Vec::new();
    if tallies.choices.is_empty() || tallies.stations.is_empty() {
        return rows;
    }
    let by_party = tallies.by_party(parties);
    let contests = std::iter::once((tallies, false)).chain(by_party.as_ref().map(|t| (t, true)));
    for (tallies, between_parties) in contests {
        for race in project(&config.model, tallies, minute, config.lateness_ms as f64 / 60_000.0) {
            let name = race.region.map_or_else(|| Id::from(NATIONAL), |r| tallies.regions[r].clone());
            let call = calls.entry((name.clone(), between_parties)).or_default();
            let status = call.update(&race, &tallies.choices, as_of, &config.rules);
            for (c, p) in race.choices.iter().enumerate() {
                let (party_affiliation, candidate_id) = match between_parties {
                    true => (tallies.choices[c].clone(), Id::default()),
                    false => (parties[c].clone(), tallies.choices[c].clone()),
                };
                rows.push(Projection {
                    race: name.clone(),
                    party_affiliation,
                    candidate_id,
                    as_of,
                    counted_votes: p.counted as i64,
                    projected_votes: OrderedFloat(p.votes),
                    votes_lo90: OrderedFloat(p.votes_lo),
                    votes_hi90: OrderedFloat(p.votes_hi),
                    projected_share: OrderedFloat(100.0 * p.share),
                    share_lo90: OrderedFloat(100.0 * p.share_lo),
                    share_hi90: OrderedFloat(100.0 * p.share_hi),
                    win_probability: OrderedFloat(p.win_probability),
                    status: status.as_str().into(),
                    called_for: call.called_for.as_ref().map(Id::to_string),
                    called_at: call.called_at,
                });
            }
        }
    }
    rows
}

/// The tallies of the aggregates, with where each (interned) station and candidate is in
/// them.
struct Cache {
    tallies: Tallies,
    /// Each choice's party.
    parties: Vec<Id>,
    station_of: Vec<Option<usize>>,
    choice_of: Vec<Option<usize>>,
}

impl Cache {
    /// The tallies of the live stations and candidates, and of every cell and roll of theirs.
    fn of(
        stations: &BTreeMap<(Id, StationProfile), isize>,
        candidates: &BTreeMap<(Id, CandidateInfo), isize>,
        station_ids: &Interner,
        candidate_ids: &Interner,
        cells: &Map<(u32, u8, u32), i64>,
        rolls: &Map<(u32, u8), i64>,
    ) -> Self {
        let stations: Vec<(Id, StationProfile)> = live(stations);
        let candidates: Vec<(Id, CandidateInfo)> = live(candidates);
        let regions: Vec<Id> = stations.iter().map(|(_, p)| p.region.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut tallies = Tallies::new(regions, candidates.iter().map(|(id, _)| id.clone()).collect());
        let region_of: HashMap<&Id, usize> = tallies.regions.iter().enumerate().map(|(i, r)| (r, i)).collect();
        let mut choice_of = vec![None; candidate_ids.count()];
        for (i, c) in tallies.choices.iter().enumerate() {
            choice_of[candidate_ids.get(c).expect("candidates are interned") as usize] = Some(i);
        }
        let mut station_of = vec![None; station_ids.count()];
        for (id, profile) in &stations {
            let (opens, mut closes) = (profile.hours.opens, profile.hours.closes);
            if closes <= opens {
                closes += 24 * 60;
            }
            station_of[station_ids.get(id).expect("stations are interned") as usize] = Some(tallies.stations.len());
            tallies.stations.push(StationTally { region: region_of[&profile.region], opens, closes, registered: [0; BANDS], counted: [0; BANDS] });
        }
        let parties = candidates.into_iter().map(|(_, info)| info.party).collect();
        let mut cache = Cache { tallies, parties, station_of, choice_of };
        for (&(station, band), &n) in rolls {
            cache.add_roll(station, band, n);
        }
        for (&(station, band, candidate), &n) in cells {
            cache.add_cell(station, band, candidate, n);
        }
        cache
    }

    fn add_roll(&mut self, station: u32, band: u8, n: i64) {
        if let (Some(&Some(s)), true) = (self.station_of.get(station as usize), (band as usize) < BANDS) {
            let registered = &mut self.tallies.stations[s].registered[band as usize];
            *registered = (i64::from(*registered) + n).max(0) as u32;
        }
    }

    fn add_cell(&mut self, station: u32, band: u8, candidate: u32, n: i64) {
        let (Some(&Some(s)), Some(&Some(c)), true) = (self.station_of.get(station as usize), self.choice_of.get(candidate as usize), (band as usize) < BANDS) else { return };
        let counted = &mut self.tallies.stations[s].counted[band as usize];
        *counted = (i64::from(*counted) + n).max(0) as u32;
        let cell = self.tallies.cell(self.tallies.stations[s].region, band as usize, c);
        self.tallies.votes[cell] = (self.tallies.votes[cell] as i64 + n).max(0) as u64;
    }
}

/// The projection rows of every race; see the [module documentation](self).
pub fn projection<'scope>(
    facts: VecCollection<'scope, u64, Fact>,
    stations: VecCollection<'scope, u64, (Id, StationProfile)>,
    candidates: VecCollection<'scope, u64, (Id, CandidateInfo)>,
    config: ProjectionConfig,
) -> VecCollection<'scope, u64, ResultRow> {
    let inputs = facts.map(Input::Fact).concat(stations.map(|(id, p)| Input::Station(id, p))).concat(candidates.map(|(id, c)| Input::Candidate(id, c)));
    inputs
        .view_at_watermark_named("Projection", State::default(), |state, input, diff| state.update(input, diff), move |state, watermark| state.view(watermark, &config))
        .map(ResultRow::Projection)
}

//! [`Replay`]: a finished election as the projection would have seen it, watermark by
//! watermark: the registry, and the counted votes in event-time order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::estimate::{StationTally, Tallies};
use super::BANDS;
use crate::connectors::generator::Election;
use crate::pipelines::election::model::{age_band, Hours, Id};

const DAY_MS: i64 = 86_400_000;

/// A finished election, ready to be replayed.
#[derive(Clone, Debug)]
pub struct Replay {
    /// Every station registered, nothing counted.
    empty: Tallies,
    /// Counted votes in time order: (minute of the day, station, band, choice).
    votes: Vec<(f64, u32, u8, u32)>,
}

impl Replay {
    /// The election's registry and its counted votes (the pipeline's tally semantics: a
    /// registered voter's earliest vote, for a known candidate, at their own station, inside
    /// its hours), with the candidates as choices.
    pub fn of(election: &Election) -> Self {
        let regions: Vec<Id> = election.stations.iter().map(|s| Id::from(s.region.as_str())).collect::<BTreeSet<_>>().into_iter().collect();
        let choices: Vec<Id> = election.candidates.iter().map(|c| Id::from(c.candidate_id.as_str())).collect();
        let mut tallies = Tallies::new(regions.clone(), choices);
        let region_of: HashMap<&str, usize> = regions.iter().enumerate().map(|(i, r)| (r.as_str(), i)).collect();
        let mut station_of = HashMap::new();
        for s in &election.stations {
            let Ok(hours) = Hours::of(s) else { continue };
            station_of.insert(s.polling_station_id.as_str(), tallies.stations.len() as u32);
            tallies.stations.push(StationTally { region: region_of[s.region.as_str()], opens: hours.opens, closes: hours.closes, registered: [0; BANDS], counted: [0; BANDS] });
        }
        let mut voters: HashMap<&str, (u32, u8)> = HashMap::new();
        for v in &election.voters {
            if let Some(&station) = station_of.get(v.polling_station_id.as_str()) {
                voters.insert(v.voter_id.as_str(), (station, age_band(v.registered_age)));
            }
        }
        for &(station, band) in voters.values() {
            tallies.stations[station as usize].registered[band as usize] += 1;
        }
        let candidate_of: HashMap<&str, u32> = election.candidates.iter().enumerate().map(|(i, c)| (c.candidate_id.as_str(), i as u32)).collect();
        let mut first: BTreeMap<&str, (i64, &str, u32, u8, u32)> = BTreeMap::new();
        for v in &election.votes {
            let (Some(&(station, band)), Some(&choice)) = (voters.get(v.voter_id.as_str()), candidate_of.get(v.candidate_id.as_str())) else { continue };
            if station_of.get(v.polling_station_id.as_str()) != Some(&station) {
                continue;
            }
            let s = &tallies.stations[station as usize];
            let minute = v.voting_time.rem_euclid(DAY_MS) / 60_000;
            if minute < i64::from(s.opens) || minute >= i64::from(s.closes) {
                continue;
            }
            let key = (v.voting_time, v.vote_id.as_str(), station, band, choice);
            first.entry(v.voter_id.as_str()).and_modify(|k| *k = (*k).min(key)).or_insert(key);
        }
        let mut votes: Vec<(f64, u32, u8, u32)> = first.into_values().map(|(t, _, s, b, c)| (t.rem_euclid(DAY_MS) as f64 / 60_000.0, s, b, c)).collect();
        votes.sort_by(|a, b| a.0.total_cmp(&b.0));
        Replay { empty: tallies, votes }
    }

    /// The tallies as of `minute` of the day: every vote cast before it counted.
    pub fn tallies_at(&self, minute: f64) -> Tallies {
        let mut tallies = self.empty.clone();
        let mut cursor = 0;
        self.advance(&mut tallies, &mut cursor, minute);
        tallies
    }

    /// Counts into `tallies` the votes from `*cursor` on cast before `minute`.
    pub fn advance(&self, tallies: &mut Tallies, cursor: &mut usize, minute: f64) {
        while let Some(&(t, station, band, choice)) = self.votes.get(*cursor) {
            if t >= minute {
                break;
            }
            let s = &mut tallies.stations[station as usize];
            s.counted[band as usize] += 1;
            let region = s.region;
            let cell = tallies.cell(region, band as usize, choice as usize);
            tallies.votes[cell] += 1;
            *cursor += 1;
        }
    }

    /// The tallies with nothing counted.
    pub fn empty(&self) -> &Tallies {
        &self.empty
    }

    /// The counted votes: (minute of the day, station, band, choice), in time order.
    pub fn votes(&self) -> &[(f64, u32, u8, u32)] {
        &self.votes
    }

    /// The final votes per race (the nation, then each region) and choice.
    pub fn final_votes(&self) -> Vec<Vec<u64>> {
        let t = self.tallies_at(f64::INFINITY);
        let k = t.choices.len();
        let mut races = vec![vec![0u64; k]; t.regions.len() + 1];
        for r in 0..t.regions.len() {
            for b in 0..BANDS {
                for (c, &v) in t.votes[t.cell(r, b, 0)..t.cell(r, b, 0) + k].iter().enumerate() {
                    races[0][c] += v;
                    races[r + 1][c] += v;
                }
            }
        }
        races
    }
}

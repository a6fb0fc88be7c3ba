//! The hand-written baseline: the same tally semantics with plain `HashMap`s on one thread,
//! from the same JSON Lines bytes, read with the pipeline's own parser (borrowed views,
//! [`parse_view`]). It computes final results only (no incremental updates, no retractions,
//! no intermediate states), so it is the speed limit to measure against.

use std::collections::HashMap;

use ballotflow::connectors::dataset::fast::{parse_view, View, VoteRef, VoterRef};
use ballotflow::connectors::dataset::{parse_line, Candidate, DatasetBytes, PollingStation, Vote, Voter};
use ballotflow::pipelines::election::model::{age_band, Hours};

/// Final aggregates.
#[derive(Default, Debug)]
pub struct Tallies {
    pub per_candidate: HashMap<String, i64>,
    pub per_party: HashMap<String, i64>,
    pub per_region: HashMap<String, i64>,
    pub per_city: HashMap<(String, String), i64>,
    pub per_age: HashMap<u8, i64>,
    pub per_gender: HashMap<String, i64>,
    pub per_education_party: HashMap<(String, String), i64>,
    pub per_hour: HashMap<i64, i64>,
    pub per_station: HashMap<String, i64>,
    pub anomalies: usize,
}

fn lines<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> impl Iterator<Item = T> + '_ {
    bytes.split(|b| *b == b'\n').filter_map(|l| parse_line::<T>(l).ok().flatten())
}

fn views<'a, T: View<'a>, Full: serde::de::DeserializeOwned>(bytes: &'a [u8]) -> impl Iterator<Item = T> + 'a {
    bytes.split(|b| *b == b'\n').filter_map(|l| parse_view::<T, Full>(l).ok().flatten())
}

/// Tallies a data set.
pub fn tally(data: &DatasetBytes) -> Tallies {
    let candidates: HashMap<String, Candidate> = lines::<Candidate>(&data.candidates).map(|c| (c.candidate_id.clone(), c)).collect();
    let hours: HashMap<String, Hours> = lines::<PollingStation>(&data.stations).filter_map(|s| Hours::of(&s).ok().map(|h| (s.polling_station_id, h))).collect();
    let voters: HashMap<String, VoterRef> = views::<VoterRef, Voter>(&data.voters).map(|v| (v.voter_id.to_string(), v)).collect();

    let mut t = Tallies::default();
    let mut first: HashMap<String, VoteRef> = HashMap::new();
    for vote in views::<VoteRef, Vote>(&data.votes) {
        let valid = match (voters.get(vote.voter_id.as_ref()), candidates.contains_key(vote.candidate_id.as_ref())) {
            (Some(voter), true) => voter.polling_station_id == vote.polling_station_id && hours.get(vote.polling_station_id.as_ref()).is_some_and(|h| h.contains(vote.voting_time)),
            _ => false,
        };
        if !valid {
            t.anomalies += 1;
            continue;
        }
        match first.get_mut(vote.voter_id.as_ref()) {
            Some(kept) if (kept.voting_time, &kept.vote_id) <= (vote.voting_time, &vote.vote_id) => t.anomalies += 1,
            Some(kept) => {
                *kept = vote;
                t.anomalies += 1;
            }
            None => {
                first.insert(vote.voter_id.to_string(), vote);
            }
        }
    }
    for vote in first.into_values() {
        let c = &candidates[vote.candidate_id.as_ref()];
        let v = &voters[vote.voter_id.as_ref()];
        *t.per_candidate.entry(vote.candidate_id.to_string()).or_default() += 1;
        *t.per_party.entry(c.party_affiliation.clone()).or_default() += 1;
        *t.per_region.entry(v.address.state.to_string()).or_default() += 1;
        *t.per_city.entry((v.address.state.to_string(), v.address.city.to_string())).or_default() += 1;
        *t.per_age.entry(age_band(v.registered_age)).or_default() += 1;
        *t.per_gender.entry(v.gender.to_string()).or_default() += 1;
        *t.per_education_party.entry((v.education_level.to_string(), c.party_affiliation.clone())).or_default() += 1;
        *t.per_hour.entry(vote.voting_time.div_euclid(3_600_000)).or_default() += 1;
        *t.per_station.entry(vote.polling_station_id.to_string()).or_default() += 1;
    }
    t
}

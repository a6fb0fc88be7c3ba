//! The registry: candidates, polling stations, the electoral roll and its re-registrations.

use std::collections::BTreeSet;

use rand::seq::IndexedRandom;
use rand::Rng;

use super::people::{email, landline, person_name, VoterMaker};
use super::sampling::Weighted;
use super::stress::{self, Stress};
use super::{names, GeneratorConfig, MINUTE_MS};
use crate::connectors::dataset::{Candidate, PollingStation, Voter};

/// A town, flattened out of the region table.
pub(super) struct Place {
    pub(super) region: usize,
    pub(super) city: &'static names::City,
}

/// Every town of every region, in table order.
pub(super) fn places() -> Vec<Place> {
    names::REGIONS.iter().enumerate().flat_map(|(region, r)| r.cities.iter().map(move |city| Place { region, city })).collect()
}

/// What the vote phases need to know about a station beyond its record.
pub(super) struct StationInfo {
    pub(super) open_ms: i64,
    pub(super) close_ms: i64,
    pub(super) region: usize,
    pub(super) district: u32,
}

/// What the vote phases need to know about a voter beyond their record.
pub(super) struct VoterInfo {
    pub(super) station: u32,
    pub(super) age: u32,
}

/// The polling stations, with where each town's stations are.
pub(super) struct Stations {
    /// Station records, in id order.
    pub(super) records: Vec<PollingStation>,
    /// Per station: opening hours, region and postcode district.
    pub(super) infos: Vec<StationInfo>,
    /// Per place: index of its first station.
    first: Vec<u32>,
    /// Per place: number of its stations (0 for a town without voters).
    count: Vec<u32>,
}

impl Stations {
    /// The stations of place `p`: the first one's index and how many.
    pub(super) fn of_place(&self, p: usize) -> (u32, u32) {
        (self.first[p], self.count[p])
    }
}

fn hhmm(ms: i64) -> String {
    format!("{:02}:{:02}", ms / 3_600_000, (ms / MINUTE_MS) % 60)
}

/// `per_party` candidates for each of the first `parties` parties, in id order.
pub(super) fn make_candidates(rng: &mut impl Rng, parties: usize, per_party: usize, places: &[Place]) -> Vec<Candidate> {
    let mut out = Vec::with_capacity(parties * per_party);
    for party in &names::PARTIES[..parties] {
        for _ in 0..per_party {
            let id = format!("cand-{:04}", out.len() + 1);
            let gender = if rng.random_bool(0.5) { "female" } else { "male" };
            let (first, last) = person_name(rng, gender);
            let name = format!("{first} {last}");
            let place = places.choose(rng).expect("places");
            let pronoun = if gender == "female" { "She" } else { "He" };
            let biography = format!(
                "{name} grew up in {} and worked as {} before entering politics. {pronoun} has campaigned on {} for {} years.",
                place.city.name,
                names::PROFESSIONS.choose(rng).expect("professions"),
                names::CAUSES.choose(rng).expect("causes"),
                rng.random_range(2..25u32),
            );
            let campaign_platform = format!(
                "{} Locally: {}.",
                party.platform,
                match rng.random_range(0..3u32) {
                    0 => format!("standing up for {}", names::CAUSES.choose(rng).expect("causes")),
                    1 => format!("a fair deal for {}", names::REGIONS[place.region].name),
                    _ => format!("more investment in {}", names::CAUSES.choose(rng).expect("causes")),
                }
            );
            out.push(Candidate {
                photo_url: format!("https://img.example.org/candidates/{id}.jpg"),
                candidate_id: id,
                candidate_name: name,
                party_affiliation: party.name.to_string(),
                biography,
                campaign_platform,
            });
        }
    }
    out
}

/// How likely a voter is to live in each place: by population.
pub(super) fn place_weights(places: &[Place]) -> Weighted {
    Weighted::new(places.iter().map(|p| {
        let region = &names::REGIONS[p.region];
        let city_total: f64 = region.cities.iter().map(|c| c.weight).sum();
        region.weight * p.city.weight / city_total
    }))
}

/// Where each of `n_voters` voters lives: an index into `places`, weighted by population.
pub(super) fn place_voters(rng: &mut impl Rng, places: &[Place], n_voters: usize) -> Vec<u16> {
    let place_weights = place_weights(places);
    (0..n_voters).map(|_| place_weights.sample(rng) as u16).collect()
}

fn station_name(rng: &mut impl Rng, city: &str, used: &mut BTreeSet<String>) -> String {
    for attempt in 0..30 {
        let venue = if rng.random_bool(0.3) {
            format!("St {}'s Church Hall", names::SAINTS.choose(rng).expect("saints"))
        } else {
            format!("{} {}", names::STREET_STEMS.choose(rng).expect("stems"), names::VENUES.choose(rng).expect("venues"))
        };
        let name = if attempt < 29 { format!("{venue}, {city}") } else { format!("{venue} Annexe {}, {city}", used.len() + 1) };
        if used.insert(name.clone()) {
            return name;
        }
    }
    format!("Polling Station {}, {city}", used.len() + 1)
}

/// Voters per place, of voters placed by `place_of`.
pub(super) fn count_per_place(places: &[Place], place_of: &[u16]) -> Vec<usize> {
    let mut per_place = vec![0usize; places.len()];
    for &p in place_of {
        per_place[p as usize] += 1;
    }
    per_place
}

/// Polling stations: about one per 1,000 voters, at least one per town with voters
/// (`per_place[p]` voters live in place `p`).
pub(super) fn make_stations(rng: &mut impl Rng, places: &[Place], per_place: &[usize], stress: &Stress) -> Stations {
    let mut stations = Vec::new();
    let mut infos = Vec::new();
    let mut first_station = vec![0u32; places.len()];
    let mut station_count = vec![0u32; places.len()];
    for (p, place) in places.iter().enumerate() {
        if per_place[p] == 0 {
            continue;
        }
        let k = ((per_place[p] + 500) / 1000).max(1);
        first_station[p] = stations.len() as u32;
        station_count[p] = k as u32;
        let mut used = BTreeSet::new();
        for j in 0..k {
            let u = rng.random::<f64>();
            let (open_h, close_h) = if u < 0.90 {
                (6, 21)
            } else if u < 0.94 {
                (7, 21)
            } else if u < 0.98 {
                (6, 20)
            } else {
                (7, 20)
            };
            let shift = stress::hours_shift_ms(stress, place.region);
            let (open_ms, close_ms) = (open_h * 3_600_000 + shift, close_h * 3_600_000 + shift);
            let name = station_name(rng, place.city.name, &mut used);
            stations.push(PollingStation {
                polling_station_id: format!("ps-{:05}", stations.len() + 1),
                name,
                region: names::REGIONS[place.region].name.to_string(),
                city: place.city.name.to_string(),
                registered_voters: 0,
                opens_at: hhmm(open_ms),
                closes_at: hhmm(close_ms),
            });
            infos.push(StationInfo { open_ms, close_ms, region: place.region, district: place.city.first_district + (j % 30) as u32 });
        }
    }
    Stations { records: stations, infos, first: first_station, count: station_count }
}

/// The electoral roll: one voter per entry of `place_of`, each at a random station of their
/// town (counted in its `registered_voters`).
pub(super) fn register_voters(rng: &mut impl Rng, cfg: &GeneratorConfig, places: &[Place], place_of: &[u16], stations: &mut Stations) -> (Vec<Voter>, Vec<VoterInfo>) {
    let n_voters = place_of.len();
    let maker = VoterMaker::new(cfg.election_date);
    let mut voters = Vec::with_capacity(n_voters + (n_voters as f64 * cfg.registry_updates.clamp(0.0, 1.0)) as usize + 1);
    let mut vinfo = Vec::with_capacity(n_voters);
    for (v, &p) in place_of.iter().enumerate() {
        let station = stations.first[p as usize] + rng.random_range(0..stations.count[p as usize]);
        let record = &mut stations.records[station as usize];
        record.registered_voters += 1;
        let district = stations.infos[station as usize].district;
        let voter = maker.voter(rng, v, &places[p as usize], district, &record.polling_station_id);
        vinfo.push(VoterInfo { station, age: voter.registered_age });
        voters.push(voter);
    }
    (voters, vinfo)
}

/// Registry updates: appends later versions of a `share` of the voters, with a new phone
/// number and e-mail address only.
pub(super) fn add_registry_updates(rng: &mut impl Rng, share: f64, places: &[Place], voters: &mut Vec<Voter>) {
    let n_voters = voters.len();
    let n_updates = ((n_voters as f64) * share.clamp(0.0, 1.0)).round() as usize;
    for v in rand::seq::index::sample(rng, n_voters, n_updates.min(n_voters)) {
        let mut updated = voters[v].clone();
        let code = places.iter().find(|p| p.city.name == updated.address.city).map_or("01632", |p| p.city.dialling_code);
        while updated.phone_number == voters[v].phone_number {
            updated.phone_number = landline(rng, code);
        }
        while updated.email == voters[v].email {
            updated.email = email(rng, &updated.voter_name);
        }
        voters.push(updated);
    }
}

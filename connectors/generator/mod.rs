//! A deterministic generator of synthetic UK elections with labelled anomalies.
//!
//! [`generate`] turns a [`GeneratorConfig`] into an [`Election`]: the registry (candidates,
//! polling stations and voters, with a few later re-registrations of the same voters), the
//! vote messages of election day **in delivery order** (mostly by event time, a share of them
//! delivered late), and ground-truth [`AnomalyLabel`]s for every injected anomaly.
//! [`Election::write_dir`] writes it all as a JSON Lines data set (see [`dataset`]).
//!
//! What flows out:
//! - `candidates`: `parties × candidates_per_party` candidates of 3-6 fictional parties.
//! - `stations`: about one polling station per 1,000 voters, at least one per town that has
//!   voters, in the 12 UK nations and English regions; opening hours in UTC.
//! - `voters`: the electoral roll in file order; a `registry_updates` share of voters appear
//!   again at the end with a new phone number and e-mail address (the later record wins).
//! - `votes`: one vote per voter who turns out (turnout rises with age), at the voter's own
//!   station, inside its opening hours, with a two-peak daily curve and regional and age
//!   skew in party choice; plus the injected anomalies below.
//! - `labels`: one label per injected anomaly, sorted.
//!
//! Ids: `cand-0001`, `ps-00001`, `voter-0000001` (unregistered voters: `voter-x0000001`),
//! and `vote-00000001` onwards, numbered in event-time order. Times are UTC milliseconds on
//! `election_date`; delivery order is by `(voting_time + delay, vote_id)`, where a random
//! `out_of_order_share` of the votes get a delay of up to `max_delay_ms` and the rest none.
//!
//! Injected anomalies, by the kind a pipeline must classify them as (checked in this order):
//! `unregistered_voter` (voter id not in the registry), `unknown_candidate`,
//! `station_mismatch` (not the voter's station), `outside_hours` (UTC time of day outside
//! `[opens_at, closes_at)`), `duplicate_vote` (a valid vote that is not the voter's earliest
//! valid one by `(voting_time, vote_id)`); and `rate_spike`: a burst of valid votes cast by
//! a station's abstainers inside one 5-minute window (labelled by station and window start).
//! The labels agree exactly with that classification applied to the final registry.
//!
//! The output depends only on the configuration: the same seed gives byte-identical files.

mod names;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::connectors::dataset::{
    self, Address, AnomalyLabel, Candidate, PollingStation, Vote, Voter, VotingMethod,
};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Width of a rate-spike window.
const WINDOW_MS: i64 = 5 * MINUTE_MS;

const UNREGISTERED_VOTER: &str = "unregistered_voter";
const UNKNOWN_CANDIDATE: &str = "unknown_candidate";
const STATION_MISMATCH: &str = "station_mismatch";
const OUTSIDE_HOURS: &str = "outside_hours";
const DUPLICATE_VOTE: &str = "duplicate_vote";
const RATE_SPIKE: &str = "rate_spike";

/// Settings of [`generate`]. Start from [`GeneratorConfig::default`] and override fields.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Seed of all randomness: the same configuration always gives the same election.
    pub seed: u64,
    /// Number of registered voters (distinct voter ids). Default 100,000.
    pub voters: usize,
    /// Number of parties, clamped into `3..=6`. Default 5.
    pub parties: usize,
    /// Candidates per party (at least 1). Default 1.
    pub candidates_per_party: usize,
    /// Election day; all vote times fall on this UTC date. Default 2026-05-07.
    pub election_date: NaiveDate,
    /// Base share of registered voters who vote (older voters vote more). Default 0.65.
    pub turnout: f64,
    /// Share of votes delivered later than their event time. Default 0.05.
    pub out_of_order_share: f64,
    /// Largest delay of an out-of-order vote, in milliseconds. Default 5 minutes.
    pub max_delay_ms: i64,
    /// Injected per-vote anomalies of each kind, as a share of the normal votes; at least one
    /// of each kind when `voters >= 100` (and this share is positive). 0 disables them.
    /// Default 0.01.
    pub anomaly_share: f64,
    /// Number of `rate_spike` bursts, each at a distinct station; 0 disables them, and
    /// [`GeneratorConfig::AUTO_RATE_SPIKES`] (the default) means `max(1, stations / 50)`.
    /// A burst is 30-60 votes, and at least ten times the station's median 5-minute count,
    /// in one aligned 5-minute window between 10:00 and 15:00 UTC; there are fewer bursts
    /// when too few stations have enough abstainers to cast them.
    pub rate_spikes: usize,
    /// Share of voters registered a second time, later in the roll, with a new phone number
    /// and e-mail address. Default 0.005.
    pub registry_updates: f64,
}

impl GeneratorConfig {
    /// Value of [`GeneratorConfig::rate_spikes`] that scales the number of bursts with the
    /// number of polling stations: `max(1, stations / 50)`.
    pub const AUTO_RATE_SPIKES: usize = usize::MAX;
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            voters: 100_000,
            parties: 5,
            candidates_per_party: 1,
            election_date: NaiveDate::from_ymd_opt(2026, 5, 7).expect("valid date"),
            turnout: 0.65,
            out_of_order_share: 0.05,
            max_delay_ms: 5 * MINUTE_MS,
            anomaly_share: 0.01,
            rate_spikes: Self::AUTO_RATE_SPIKES,
            registry_updates: 0.005,
        }
    }
}

/// A generated election: registry, vote stream and ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// Candidates, in id order.
    pub candidates: Vec<Candidate>,
    /// Polling stations, in id order.
    pub stations: Vec<PollingStation>,
    /// The electoral roll in file order; may hold later versions of the same `voter_id`
    /// (the later record wins).
    pub voters: Vec<Voter>,
    /// Vote messages in delivery order (what a stream would see).
    pub votes: Vec<Vote>,
    /// Ground truth of the injected anomalies, sorted by (kind, vote, station, window).
    pub labels: Vec<AnomalyLabel>,
}

impl Election {
    /// Creates `dir` (and its parents) and writes the five JSON Lines files of the data set:
    /// [`dataset::CANDIDATES`], [`dataset::POLLING_STATIONS`], [`dataset::VOTERS`],
    /// [`dataset::VOTES`] and [`dataset::INJECTED_ANOMALIES`].
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        dataset::write_jsonl(&dir.join(dataset::CANDIDATES), &self.candidates)?;
        dataset::write_jsonl(&dir.join(dataset::POLLING_STATIONS), &self.stations)?;
        dataset::write_jsonl(&dir.join(dataset::VOTERS), &self.voters)?;
        dataset::write_jsonl(&dir.join(dataset::VOTES), &self.votes)?;
        dataset::write_jsonl(&dir.join(dataset::INJECTED_ANOMALIES), &self.labels)?;
        Ok(())
    }
}

/// An independent random stream per generation phase, so that phases do not shift each other.
fn rng_for(seed: u64, phase: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(phase);
    rng
}

/// Sampling from fixed non-negative weights by binary search on the cumulative sums.
struct Weighted {
    cum: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cum = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Weighted { cum }
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = *self.cum.last().expect("non-empty weights");
        let u = rng.random::<f64>() * total;
        self.cum
            .partition_point(|&c| c <= u)
            .min(self.cum.len() - 1)
    }
}

/// The daily shape of turnout: a morning peak around 08:00 UTC, a larger evening peak around
/// 18:30 UTC and a lower midday plateau. Stored as the cumulative mass per minute of the day.
struct DayCurve {
    /// `cdf[m]` = mass of the minutes before minute `m`; 1,441 entries.
    cdf: Vec<f64>,
}

impl DayCurve {
    fn new() -> Self {
        let gauss = |m: f64, mu: f64, sd: f64| {
            (-0.5 * ((m - mu) / sd).powi(2)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
        };
        let mut cdf = Vec::with_capacity(1441);
        let mut total = 0.0;
        cdf.push(0.0);
        for m in 0..1440 {
            let mf = m as f64 + 0.5;
            let base = if (360..1260).contains(&m) {
                0.25 / 900.0
            } else {
                0.05 / 900.0
            };
            total += base + 0.30 * gauss(mf, 480.0, 45.0) + 0.45 * gauss(mf, 1110.0, 70.0);
            cdf.push(total);
        }
        DayCurve { cdf }
    }

    /// A time of day in ms inside `[open_ms, close_ms)` (both whole minutes) following the curve.
    fn sample(&self, rng: &mut impl Rng, open_ms: i64, close_ms: i64) -> i64 {
        let open_min = (open_ms / MINUTE_MS) as usize;
        let close_min = (close_ms / MINUTE_MS) as usize;
        if close_min <= open_min {
            return open_ms;
        }
        let (lo, hi) = (self.cdf[open_min], self.cdf[close_min]);
        let u = lo + rng.random::<f64>() * (hi - lo);
        let m = self
            .cdf
            .partition_point(|&c| c <= u)
            .saturating_sub(1)
            .clamp(open_min, close_min - 1);
        m as i64 * MINUTE_MS + rng.random_range(0..MINUTE_MS)
    }
}

/// Age bands of the adult population: (first age, last age, share, relative turnout).
const AGE_BANDS: &[(u32, u32, f64, f64)] = &[
    (18, 24, 0.110, 0.72),
    (25, 34, 0.170, 0.82),
    (35, 44, 0.160, 0.92),
    (45, 54, 0.170, 1.00),
    (55, 64, 0.160, 1.10),
    (65, 74, 0.125, 1.20),
    (75, 84, 0.075, 1.18),
    (85, 95, 0.030, 1.00),
];
const MIN_AGE: u32 = 18;
const MAX_AGE: u32 = 95;

fn age_band(age: u32) -> usize {
    AGE_BANDS
        .iter()
        .position(|&(lo, hi, _, _)| (lo..=hi).contains(&age))
        .unwrap_or(AGE_BANDS.len() - 1)
}

const EDUCATION: [&str; 5] = ["none", "secondary", "further", "bachelor", "postgraduate"];
const INCOME: [&str; 3] = ["low", "middle", "high"];
const POSTCODE_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A town, flattened out of the region table.
struct Place {
    region: usize,
    city: &'static names::City,
}

/// What [`generate`] needs to know about a station beyond its record.
struct StationInfo {
    open_ms: i64,
    close_ms: i64,
    region: usize,
    district: u32,
}

/// What [`generate`] needs to know about a voter beyond their record.
struct VoterInfo {
    station: u32,
    age: u32,
}

#[derive(Clone, Copy)]
enum VoterRef {
    Registered(u32),
    Unregistered(u32),
}

#[derive(Clone, Copy)]
enum CandRef {
    Known(u32),
    Unknown(&'static str),
}

/// A vote before ids are assigned.
struct Draft {
    voter: VoterRef,
    candidate: CandRef,
    station: u32,
    time: i64,
    method: VotingMethod,
    kind: Option<&'static str>,
}

/// The id of the `v`-th voter (0-based), `voter-0000001` onwards.
fn voter_id(v: usize) -> String {
    format!("voter-{:07}", v + 1)
}

fn hhmm(ms: i64) -> String {
    format!("{:02}:{:02}", ms / 3_600_000, (ms / MINUTE_MS) % 60)
}

fn person_name(rng: &mut impl Rng, gender: &str) -> (&'static str, &'static str) {
    let firsts = match gender {
        "female" => names::FEMALE_FIRST,
        "male" => names::MALE_FIRST,
        _ => names::NEUTRAL_FIRST,
    };
    (
        firsts.choose(rng).expect("names"),
        names::SURNAMES.choose(rng).expect("names"),
    )
}

fn email(rng: &mut impl Rng, voter_name: &str) -> String {
    let mut out = String::with_capacity(voter_name.len() + 24);
    for c in voter_name.chars() {
        if c == ' ' {
            out.push('.');
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
    }
    if rng.random_bool(0.7) {
        let _ = write!(out, "{}", rng.random_range(1..100u32));
    }
    out.push('@');
    out.push_str(names::EMAIL_DOMAINS.choose(rng).expect("domains"));
    out
}

/// A UK landline number with the town's area code (11 digits in all).
fn landline(rng: &mut impl Rng, code: &str) -> String {
    let rest = 11usize.saturating_sub(code.len()).clamp(6, 8);
    let split = match rest {
        8 => 4,
        7 => 3,
        _ => rest,
    };
    let mut out = String::with_capacity(code.len() + rest + 2);
    out.push_str(code);
    out.push(' ');
    for i in 0..rest {
        if i == split {
            out.push(' ');
        }
        let digit = if i == 0 {
            rng.random_range(2..10u8)
        } else {
            rng.random_range(0..10u8)
        };
        out.push((b'0' + digit) as char);
    }
    out
}

fn mobile(rng: &mut impl Rng) -> String {
    format!(
        "07{}{:02} {:06}",
        rng.random_range(4..10u32),
        rng.random_range(0..100u32),
        rng.random_range(0..1_000_000u32)
    )
}

fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A date of birth such that the voter is exactly `age` on `election_date`.
fn date_of_birth(rng: &mut impl Rng, election_date: NaiveDate, age: u32) -> NaiveDate {
    let latest = election_date
        .checked_sub_months(Months::new(12 * age))
        .unwrap_or(election_date);
    let earliest = election_date
        .checked_sub_months(Months::new(12 * (age + 1)))
        .and_then(|d| d.succ_opt())
        .unwrap_or(latest);
    let days = (latest - earliest).num_days().max(0);
    earliest + chrono::Duration::days(rng.random_range(0..=days))
}

fn make_candidates(
    rng: &mut impl Rng,
    parties: usize,
    per_party: usize,
    places: &[Place],
) -> Vec<Candidate> {
    let mut out = Vec::with_capacity(parties * per_party);
    for party in &names::PARTIES[..parties] {
        for _ in 0..per_party {
            let id = format!("cand-{:04}", out.len() + 1);
            let gender = if rng.random_bool(0.5) {
                "female"
            } else {
                "male"
            };
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
                    0 => format!(
                        "standing up for {}",
                        names::CAUSES.choose(rng).expect("causes")
                    ),
                    1 => format!("a fair deal for {}", names::REGIONS[place.region].name),
                    _ => format!(
                        "more investment in {}",
                        names::CAUSES.choose(rng).expect("causes")
                    ),
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

fn station_name(rng: &mut impl Rng, city: &str, used: &mut BTreeSet<String>) -> String {
    for attempt in 0..30 {
        let venue = if rng.random_bool(0.3) {
            format!(
                "St {}'s Church Hall",
                names::SAINTS.choose(rng).expect("saints")
            )
        } else {
            format!(
                "{} {}",
                names::STREET_STEMS.choose(rng).expect("stems"),
                names::VENUES.choose(rng).expect("venues")
            )
        };
        let name = if attempt < 29 {
            format!("{venue}, {city}")
        } else {
            format!("{venue} Annexe {}, {city}", used.len() + 1)
        };
        if used.insert(name.clone()) {
            return name;
        }
    }
    format!("Polling Station {}, {city}", used.len() + 1)
}

/// Per-region, per-age cumulative weights over the candidates.
struct Preferences {
    per_party: usize,
    parties: usize,
    /// `[region][age - MIN_AGE]` → weights over parties.
    table: Vec<Weighted>,
}

impl Preferences {
    fn new(rng: &mut impl Rng, parties: usize, per_party: usize) -> Self {
        let leans: Vec<f64> = (0..parties).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut table = Vec::with_capacity(names::REGIONS.len() * (MAX_AGE - MIN_AGE + 1) as usize);
        for _ in names::REGIONS {
            // Gamma(2)-distributed regional factors: a Dirichlet-like tilt per region.
            let tilt: Vec<f64> = (0..parties)
                .map(|_| {
                    let a: f64 = 1.0 - rng.random::<f64>();
                    let b: f64 = 1.0 - rng.random::<f64>();
                    -(a.ln() + b.ln()) / 2.0
                })
                .collect();
            for age in MIN_AGE..=MAX_AGE {
                let x = (age as f64 - 50.0) / 30.0;
                table.push(Weighted::new((0..parties).map(|p| {
                    names::PARTIES[p].base_share * tilt[p] * (0.6 * leans[p] * x).exp()
                })));
            }
        }
        Preferences {
            per_party,
            parties,
            table,
        }
    }

    fn choose(&self, rng: &mut impl Rng, region: usize, age: u32) -> u32 {
        let row = region * (MAX_AGE - MIN_AGE + 1) as usize
            + (age.clamp(MIN_AGE, MAX_AGE) - MIN_AGE) as usize;
        let party = self.table[row].sample(rng);
        debug_assert!(party < self.parties);
        (party * self.per_party + rng.random_range(0..self.per_party)) as u32
    }
}

fn voting_method(rng: &mut impl Rng, age: u32) -> VotingMethod {
    let postal = if age >= 70 { 0.30 } else { 0.12 };
    let u = rng.random::<f64>();
    if u < postal {
        VotingMethod::Postal
    } else if u < postal + 0.04 {
        VotingMethod::Electronic
    } else {
        VotingMethod::InPerson
    }
}

/// Generates an election from `cfg`; see the [module documentation](self).
pub fn generate(cfg: &GeneratorConfig) -> Election {
    let parties = cfg.parties.clamp(3, 6);
    let per_party = cfg.candidates_per_party.max(1);
    let n_voters = cfg.voters;
    let day_start = cfg
        .election_date
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis();

    let places: Vec<Place> = names::REGIONS
        .iter()
        .enumerate()
        .flat_map(|(region, r)| r.cities.iter().map(move |city| Place { region, city }))
        .collect();

    // Candidates.
    let candidates = make_candidates(&mut rng_for(cfg.seed, 1), parties, per_party, &places);

    // Where each voter lives.
    let place_weights = Weighted::new(places.iter().map(|p| {
        let region = &names::REGIONS[p.region];
        let city_total: f64 = region.cities.iter().map(|c| c.weight).sum();
        region.weight * p.city.weight / city_total
    }));
    let mut rng = rng_for(cfg.seed, 2);
    let place_of: Vec<u16> = (0..n_voters)
        .map(|_| place_weights.sample(&mut rng) as u16)
        .collect();
    let mut per_place = vec![0usize; places.len()];
    for &p in &place_of {
        per_place[p as usize] += 1;
    }

    // Polling stations: about one per 1,000 voters, at least one per town with voters.
    let mut rng = rng_for(cfg.seed, 3);
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
            let (open_ms, close_ms) = (open_h * 3_600_000, close_h * 3_600_000);
            let name = station_name(&mut rng, place.city.name, &mut used);
            stations.push(PollingStation {
                polling_station_id: format!("ps-{:05}", stations.len() + 1),
                name,
                region: names::REGIONS[place.region].name.to_string(),
                city: place.city.name.to_string(),
                registered_voters: 0,
                opens_at: hhmm(open_ms),
                closes_at: hhmm(close_ms),
            });
            infos.push(StationInfo {
                open_ms,
                close_ms,
                region: place.region,
                district: place.city.first_district + (j % 30) as u32,
            });
        }
    }
    let n_stations = stations.len();

    // Voters.
    let mut rng = rng_for(cfg.seed, 4);
    let age_weights = Weighted::new(AGE_BANDS.iter().map(|b| b.2));
    let mut voters = Vec::with_capacity(
        n_voters + (n_voters as f64 * cfg.registry_updates.clamp(0.0, 1.0)) as usize + 1,
    );
    let mut vinfo = Vec::with_capacity(n_voters);
    for (v, &p) in place_of.iter().enumerate() {
        let place = &places[p as usize];
        let station = first_station[p as usize] + rng.random_range(0..station_count[p as usize]);
        stations[station as usize].registered_voters += 1;
        let band = AGE_BANDS[age_weights.sample(&mut rng)];
        let age = rng.random_range(band.0..=band.1);
        let g = rng.random::<f64>();
        let gender = if g < 0.51 {
            "female"
        } else if g < 0.99 {
            "male"
        } else {
            "non-binary"
        };
        let (first, last) = person_name(&mut rng, gender);
        let voter_name = format!("{first} {last}");
        let dob = date_of_birth(&mut rng, cfg.election_date, age);
        let edu_weights: [f64; 5] = if age < 30 {
            [0.06, 0.30, 0.22, 0.32, 0.10]
        } else if age < 65 {
            [0.12, 0.28, 0.20, 0.26, 0.14]
        } else {
            [0.30, 0.32, 0.18, 0.13, 0.07]
        };
        let edu = pick(&mut rng, &edu_weights);
        let income_weights: [f64; 3] = match edu {
            0 => [0.55, 0.40, 0.05],
            1 => [0.40, 0.50, 0.10],
            2 => [0.30, 0.55, 0.15],
            3 => [0.18, 0.55, 0.27],
            _ => [0.12, 0.50, 0.38],
        };
        let income = pick(&mut rng, &income_weights);
        let nationality = if rng.random_bool(0.93) {
            "British"
        } else {
            names::OTHER_NATIONALITIES
                .choose(&mut rng)
                .expect("nationalities")
        };
        let city = place.city;
        let street = format!(
            "{} {} {}",
            rng.random_range(1..200u32),
            names::STREET_STEMS.choose(&mut rng).expect("stems"),
            names::STREET_SUFFIXES.choose(&mut rng).expect("suffixes")
        );
        let mut postcode = String::with_capacity(8);
        let _ = write!(
            postcode,
            "{}{} {}",
            city.postcode_area,
            infos[station as usize].district,
            rng.random_range(1..10u32)
        );
        for _ in 0..2 {
            postcode.push(*POSTCODE_LETTERS.choose(&mut rng).expect("letters") as char);
        }
        let voter_id = voter_id(v);
        let email = email(&mut rng, &voter_name);
        let phone_number = landline(&mut rng, city.dialling_code);
        let cell_number = mobile(&mut rng);
        voters.push(Voter {
            picture: format!("https://img.example.org/voters/{voter_id}.jpg"),
            registration_number: format!("ER-{}-{:07}", city.postcode_area, v + 1),
            voter_id,
            voter_name,
            date_of_birth: format_date(dob),
            gender: gender.to_string(),
            nationality: nationality.to_string(),
            address: Address {
                street,
                city: city.name.to_string(),
                state: names::REGIONS[place.region].name.to_string(),
                country: "United Kingdom".to_string(),
                postcode,
            },
            email,
            phone_number,
            cell_number,
            registered_age: age,
            education_level: EDUCATION[edu].to_string(),
            income_category: INCOME[income].to_string(),
            polling_station_id: stations[station as usize].polling_station_id.clone(),
        });
        vinfo.push(VoterInfo { station, age });
    }
    drop(place_of);

    // Registry updates: later versions of some voters with new contact details only.
    let mut rng = rng_for(cfg.seed, 5);
    let n_updates = ((n_voters as f64) * cfg.registry_updates.clamp(0.0, 1.0)).round() as usize;
    for v in rand::seq::index::sample(&mut rng, n_voters, n_updates.min(n_voters)) {
        let mut updated = voters[v].clone();
        let code = places
            .iter()
            .find(|p| p.city.name == updated.address.city)
            .map_or("01632", |p| p.city.dialling_code);
        while updated.phone_number == voters[v].phone_number {
            updated.phone_number = landline(&mut rng, code);
        }
        while updated.email == voters[v].email {
            updated.email = email(&mut rng, &updated.voter_name);
        }
        voters.push(updated);
    }

    // Normal votes.
    let curve = DayCurve::new();
    let mut rng = rng_for(cfg.seed, 6);
    let prefs = Preferences::new(&mut rng, parties, per_party);
    let mean_factor: f64 = AGE_BANDS.iter().map(|b| b.2 * b.3).sum::<f64>()
        / AGE_BANDS.iter().map(|b| b.2).sum::<f64>();
    let mut drafts: Vec<Draft> =
        Vec::with_capacity((n_voters as f64 * cfg.turnout.clamp(0.0, 1.0) * 1.1) as usize + 16);
    let mut voted = vec![false; n_voters];
    for (v, info) in vinfo.iter().enumerate() {
        let p = (cfg.turnout * AGE_BANDS[age_band(info.age)].3 / mean_factor).clamp(0.0, 1.0);
        if !rng.random_bool(p) {
            continue;
        }
        voted[v] = true;
        let st = &infos[info.station as usize];
        drafts.push(Draft {
            voter: VoterRef::Registered(v as u32),
            candidate: CandRef::Known(prefs.choose(&mut rng, st.region, info.age)),
            station: info.station,
            time: day_start + curve.sample(&mut rng, st.open_ms, st.close_ms),
            method: voting_method(&mut rng, info.age),
            kind: None,
        });
    }
    let n_normal = drafts.len();
    let mut labels = Vec::new();

    // Rate spikes: ballot stuffing by a station's abstainers inside one quiet 5-minute window.
    let mut rng = rng_for(cfg.seed, 7);
    let n_spikes = if cfg.rate_spikes == GeneratorConfig::AUTO_RATE_SPIKES {
        (n_stations / 50).max(1)
    } else {
        cfg.rate_spikes
    }
    .min(n_stations);
    if n_spikes > 0 {
        let mut abstainers: Vec<Vec<u32>> = vec![Vec::new(); n_stations];
        for (v, info) in vinfo.iter().enumerate() {
            if !voted[v] {
                abstainers[info.station as usize].push(v as u32);
            }
        }
        let mut windows: Vec<Vec<u32>> = infos
            .iter()
            .map(|s| vec![0; ((s.close_ms - s.open_ms).max(0) / WINDOW_MS) as usize])
            .collect();
        for d in &drafts {
            let s = &infos[d.station as usize];
            let w = ((d.time - day_start - s.open_ms) / WINDOW_MS) as usize;
            if let Some(c) = windows[d.station as usize].get_mut(w) {
                *c += 1;
            }
        }
        // Per station: (wanted burst size, least size that is 10x the median window even
        // after the burst is added).
        let mut order: Vec<usize> = (0..n_stations).collect();
        rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
        let mut preferred = Vec::new();
        let mut fallback = Vec::new();
        for &s in &order {
            let mut counts = windows[s].clone();
            if counts.is_empty() {
                continue;
            }
            counts.sort_unstable();
            let upper = counts[(counts.len() / 2 + 1).min(counts.len() - 1)] as usize;
            let least = 10 * upper + 1;
            let wanted = rng.random_range(30..=60usize).max(least);
            let available = abstainers[s].len();
            if available >= wanted {
                preferred.push((s, wanted));
            } else if available >= least {
                fallback.push((s, available));
            }
        }
        fallback.sort_by_key(|&(s, available)| (std::cmp::Reverse(available), s));
        for (s, size) in preferred.into_iter().chain(fallback).take(n_spikes) {
            let st = &infos[s];
            let first = |t: i64| (t + WINDOW_MS - 1).div_euclid(WINDOW_MS) * WINDOW_MS;
            let (mut lo, mut hi) = (
                first(st.open_ms.max(10 * 3_600_000)),
                st.close_ms.min(15 * 3_600_000),
            );
            if lo + WINDOW_MS > hi {
                (lo, hi) = (first(st.open_ms), st.close_ms);
            }
            let slots = ((hi - lo) / WINDOW_MS).max(1);
            let window_start = day_start + lo + rng.random_range(0..slots) * WINDOW_MS;
            let candidate = CandRef::Known(rng.random_range(0..candidates.len() as u32));
            let pool = &abstainers[s];
            for i in rand::seq::index::sample(&mut rng, pool.len(), size) {
                let v = pool[i];
                voted[v as usize] = true;
                drafts.push(Draft {
                    voter: VoterRef::Registered(v),
                    candidate,
                    station: s as u32,
                    time: window_start + rng.random_range(0..WINDOW_MS),
                    method: VotingMethod::InPerson,
                    kind: None,
                });
            }
            labels.push(AnomalyLabel {
                kind: RATE_SPIKE.to_string(),
                vote_id: None,
                polling_station_id: Some(stations[s].polling_station_id.clone()),
                window_start: Some(window_start),
            });
        }
    }

    // Per-vote anomalies.
    let mut rng = rng_for(cfg.seed, 8);
    let per_kind = if cfg.anomaly_share > 0.0 && n_stations > 0 {
        let n = (cfg.anomaly_share * n_normal as f64).round() as usize;
        if n_voters >= 100 {
            n.max(1)
        } else {
            n
        }
    } else {
        0
    };
    let n_cands = candidates.len() as u32;
    for i in 0..per_kind {
        let s = rng.random_range(0..n_stations);
        let st = &infos[s];
        drafts.push(Draft {
            voter: VoterRef::Unregistered(i as u32),
            candidate: CandRef::Known(rng.random_range(0..n_cands)),
            station: s as u32,
            time: day_start + curve.sample(&mut rng, st.open_ms, st.close_ms),
            method: voting_method(&mut rng, 40),
            kind: Some(UNREGISTERED_VOTER),
        });
    }
    if n_voters > 0 {
        let unknown: &[&'static str] = if candidates.len() < 9999 {
            &["cand-9999", "cand-0000"]
        } else {
            &["cand-x9999"]
        };
        for _ in 0..per_kind {
            let v = rng.random_range(0..n_voters);
            let info = &vinfo[v];
            let st = &infos[info.station as usize];
            drafts.push(Draft {
                voter: VoterRef::Registered(v as u32),
                candidate: CandRef::Unknown(unknown.choose(&mut rng).expect("ids")),
                station: info.station,
                time: day_start + curve.sample(&mut rng, st.open_ms, st.close_ms),
                method: voting_method(&mut rng, info.age),
                kind: Some(UNKNOWN_CANDIDATE),
            });
        }
        if n_stations >= 2 {
            for _ in 0..per_kind {
                let v = rng.random_range(0..n_voters);
                let info = &vinfo[v];
                let mut s = rng.random_range(0..n_stations as u32 - 1);
                if s >= info.station {
                    s += 1;
                }
                let st = &infos[s as usize];
                drafts.push(Draft {
                    voter: VoterRef::Registered(v as u32),
                    candidate: CandRef::Known(rng.random_range(0..n_cands)),
                    station: s,
                    time: day_start + curve.sample(&mut rng, st.open_ms, st.close_ms),
                    method: voting_method(&mut rng, info.age),
                    kind: Some(STATION_MISMATCH),
                });
            }
        }
        for _ in 0..per_kind {
            let v = rng.random_range(0..n_voters);
            let info = &vinfo[v];
            let st = &infos[info.station as usize];
            let before = st.open_ms.min(90 * MINUTE_MS);
            let after = (DAY_MS - st.close_ms).min(90 * MINUTE_MS);
            let tod = if before > 0 && (after <= 0 || rng.random_bool(0.5)) {
                st.open_ms - rng.random_range(1..=before)
            } else if after > 0 {
                st.close_ms + rng.random_range(0..after)
            } else {
                continue; // open around the clock: nothing is outside its hours
            };
            drafts.push(Draft {
                voter: VoterRef::Registered(v as u32),
                candidate: CandRef::Known(rng.random_range(0..n_cands)),
                station: info.station,
                time: day_start + tod,
                method: voting_method(&mut rng, info.age),
                kind: Some(OUTSIDE_HOURS),
            });
        }
        // Duplicates: a second valid vote, strictly later, by a voter who voted normally.
        let eligible: Vec<usize> = (0..n_normal)
            .filter(|&i| {
                drafts[i].time < day_start + infos[drafts[i].station as usize].close_ms - 1
            })
            .collect();
        for i in rand::seq::index::sample(&mut rng, eligible.len(), per_kind.min(eligible.len())) {
            let d = &drafts[eligible[i]];
            let close = day_start + infos[d.station as usize].close_ms;
            let candidate = if rng.random_bool(0.5) {
                d.candidate
            } else {
                CandRef::Known(rng.random_range(0..n_cands))
            };
            let dup = Draft {
                voter: d.voter,
                candidate,
                station: d.station,
                time: rng.random_range(d.time + 1..close),
                method: d.method,
                kind: Some(DUPLICATE_VOTE),
            };
            drafts.push(dup);
        }
    }

    // Vote ids in event-time order, then delivery order.
    let mut by_time: Vec<u32> = (0..drafts.len() as u32).collect();
    by_time.sort_unstable_by_key(|&i| (drafts[i as usize].time, i));
    let mut rng = rng_for(cfg.seed, 9);
    let share = cfg.out_of_order_share.clamp(0.0, 1.0);
    let mut delivered: Vec<(i64, Vote)> = Vec::with_capacity(drafts.len());
    for (rank, &i) in by_time.iter().enumerate() {
        let d = &drafts[i as usize];
        let vote_id = format!("vote-{:08}", rank + 1);
        if let Some(kind) = d.kind {
            labels.push(AnomalyLabel {
                kind: kind.to_string(),
                vote_id: Some(vote_id.clone()),
                polling_station_id: None,
                window_start: None,
            });
        }
        let delay = if cfg.max_delay_ms > 0 && share > 0.0 && rng.random_bool(share) {
            rng.random_range(1..=cfg.max_delay_ms)
        } else {
            0
        };
        delivered.push((
            d.time + delay,
            Vote {
                vote_id,
                voter_id: match d.voter {
                    VoterRef::Registered(v) => voter_id(v as usize),
                    VoterRef::Unregistered(i) => format!("voter-x{:07}", i + 1),
                },
                candidate_id: match d.candidate {
                    CandRef::Known(c) => candidates[c as usize].candidate_id.clone(),
                    CandRef::Unknown(id) => id.to_string(),
                },
                polling_station_id: stations[d.station as usize].polling_station_id.clone(),
                voting_time: d.time,
                voting_method: d.method,
            },
        ));
    }
    drop(drafts);
    delivered.sort_unstable_by(|a, b| (a.0, &a.1.vote_id).cmp(&(b.0, &b.1.vote_id)));
    let votes: Vec<Vote> = delivered.into_iter().map(|(_, v)| v).collect();
    labels.sort();

    tracing::debug!(
        candidates = candidates.len(),
        stations = stations.len(),
        voters = voters.len(),
        votes = votes.len(),
        labels = labels.len(),
        "generated election"
    );
    Election {
        candidates,
        stations,
        voters,
        votes,
        labels,
    }
}

fn pick(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn small(seed: u64) -> GeneratorConfig {
        GeneratorConfig {
            seed,
            voters: 2_000,
            ..GeneratorConfig::default()
        }
    }

    fn tod_ms(hhmm: &str) -> i64 {
        let (h, m) = hhmm.split_once(':').expect("HH:MM");
        h.parse::<i64>().unwrap() * 3_600_000 + m.parse::<i64>().unwrap() * MINUTE_MS
    }

    /// An independent classifier: (per-vote anomaly kinds by vote id, counted vote ids).
    fn classify(e: &Election) -> (BTreeMap<String, &'static str>, BTreeSet<String>) {
        let mut registry = BTreeMap::new();
        for v in &e.voters {
            registry.insert(v.voter_id.as_str(), v.polling_station_id.as_str());
        }
        let cands: BTreeSet<&str> = e
            .candidates
            .iter()
            .map(|c| c.candidate_id.as_str())
            .collect();
        let hours: BTreeMap<&str, (i64, i64)> = e
            .stations
            .iter()
            .map(|s| {
                (
                    s.polling_station_id.as_str(),
                    (tod_ms(&s.opens_at), tod_ms(&s.closes_at)),
                )
            })
            .collect();
        let mut kinds = BTreeMap::new();
        let mut earliest: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
        let mut valid = Vec::new();
        for v in &e.votes {
            let kind = match registry.get(v.voter_id.as_str()) {
                None => Some(UNREGISTERED_VOTER),
                Some(_) if !cands.contains(v.candidate_id.as_str()) => Some(UNKNOWN_CANDIDATE),
                Some(&s) if s != v.polling_station_id => Some(STATION_MISMATCH),
                Some(&s) => {
                    let (open, close) = hours[s];
                    let t = v.voting_time.rem_euclid(DAY_MS);
                    if t < open || t >= close {
                        Some(OUTSIDE_HOURS)
                    } else {
                        None
                    }
                }
            };
            match kind {
                Some(k) => {
                    kinds.insert(v.vote_id.clone(), k);
                }
                None => {
                    valid.push(v);
                    let key = (v.voting_time, v.vote_id.as_str());
                    let e = earliest.entry(v.voter_id.as_str()).or_insert(key);
                    if key < *e {
                        *e = key;
                    }
                }
            }
        }
        let mut counted = BTreeSet::new();
        for v in valid {
            if earliest[v.voter_id.as_str()].1 == v.vote_id {
                counted.insert(v.vote_id.clone());
            } else {
                kinds.insert(v.vote_id.clone(), DUPLICATE_VOTE);
            }
        }
        (kinds, counted)
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = generate(&small(7));
        let b = generate(&small(7));
        assert_eq!(a, b);
        let c = generate(&small(8));
        assert_ne!(a.votes, c.votes);
        assert_ne!(a.voters, c.voters);
    }

    #[test]
    fn registry_is_consistent() {
        let cfg = small(1);
        let e = generate(&cfg);
        assert_eq!(e.candidates.len(), 5);
        let mut last = BTreeMap::new();
        for v in &e.voters {
            if let Some(prev) = last.insert(v.voter_id.clone(), v.clone()) {
                // A registry update changes contact details only.
                assert_eq!(prev.polling_station_id, v.polling_station_id);
                assert_eq!(prev.voter_name, v.voter_name);
                assert!(prev.phone_number != v.phone_number && prev.email != v.email);
            }
        }
        assert_eq!(last.len(), cfg.voters);
        assert_eq!(e.voters.len(), cfg.voters + 10);
        let mut per_station: BTreeMap<&str, u32> = BTreeMap::new();
        for v in last.values() {
            *per_station
                .entry(v.polling_station_id.as_str())
                .or_default() += 1;
        }
        let stations: BTreeMap<&str, &PollingStation> = e
            .stations
            .iter()
            .map(|s| (s.polling_station_id.as_str(), s))
            .collect();
        assert_eq!(stations.len(), e.stations.len(), "station ids are unique");
        for s in &e.stations {
            assert_eq!(
                s.registered_voters,
                per_station
                    .get(s.polling_station_id.as_str())
                    .copied()
                    .unwrap_or(0)
            );
            assert!(s.registered_voters > 0);
            assert!(tod_ms(&s.opens_at) < tod_ms(&s.closes_at));
        }
        let regions: BTreeSet<&str> = e.stations.iter().map(|s| s.region.as_str()).collect();
        assert_eq!(regions.len(), 12);
        for v in last.values() {
            let s = stations[v.polling_station_id.as_str()];
            assert_eq!(s.city, v.address.city);
            assert_eq!(s.region, v.address.state);
            assert!((18..=95).contains(&v.registered_age));
            let dob = NaiveDate::parse_from_str(&v.date_of_birth, "%Y-%m-%d").unwrap();
            assert_eq!(
                cfg.election_date.years_since(dob),
                Some(v.registered_age),
                "{v:?}"
            );
            assert!(EDUCATION.contains(&v.education_level.as_str()));
            assert!(INCOME.contains(&v.income_category.as_str()));
        }
    }

    #[test]
    fn labels_agree_with_an_independent_classifier() {
        for seed in [1, 2, 3] {
            let e = generate(&small(seed));
            let (kinds, counted) = classify(&e);
            let labelled: BTreeMap<String, &str> = e
                .labels
                .iter()
                .filter_map(|l| l.vote_id.clone().map(|id| (id, l.kind.as_str())))
                .collect();
            assert_eq!(
                labelled.len(),
                e.labels.iter().filter(|l| l.kind != RATE_SPIKE).count()
            );
            let kinds: BTreeMap<String, &str> = kinds.into_iter().collect();
            assert_eq!(labelled, kinds);
            for kind in [
                UNREGISTERED_VOTER,
                UNKNOWN_CANDIDATE,
                STATION_MISMATCH,
                OUTSIDE_HOURS,
                DUPLICATE_VOTE,
            ] {
                let n = labelled.values().filter(|&&k| k == kind).count();
                assert!((1..=30).contains(&n), "{kind}: {n}");
            }
            assert_eq!(counted.len() + labelled.len(), e.votes.len());
            let ids: BTreeSet<&str> = e.votes.iter().map(|v| v.vote_id.as_str()).collect();
            assert_eq!(ids.len(), e.votes.len(), "vote ids are unique");
            let mut sorted = e.labels.clone();
            sorted.sort();
            assert_eq!(sorted, e.labels);
            // Turnout is in the right range.
            let share = counted.len() as f64 / 2_000.0;
            assert!((0.55..0.80).contains(&share), "turnout {share}");
        }
    }

    #[test]
    fn edge_configurations_stay_consistent() {
        let base = small(21);
        let configs = [
            GeneratorConfig {
                voters: 0,
                ..base.clone()
            },
            GeneratorConfig {
                voters: 1,
                ..base.clone()
            },
            GeneratorConfig {
                voters: 99,
                ..base.clone()
            },
            GeneratorConfig {
                voters: 100,
                ..base.clone()
            },
            GeneratorConfig {
                voters: 500,
                turnout: 1.0,
                ..base.clone()
            },
            GeneratorConfig {
                voters: 500,
                turnout: 0.0,
                ..base.clone()
            },
            GeneratorConfig {
                parties: 1,
                candidates_per_party: 0,
                ..base.clone()
            },
            GeneratorConfig {
                parties: 9,
                candidates_per_party: 3,
                ..base.clone()
            },
            GeneratorConfig {
                anomaly_share: 0.0,
                rate_spikes: 0,
                registry_updates: 0.0,
                ..base.clone()
            },
            GeneratorConfig {
                anomaly_share: 0.2,
                max_delay_ms: 0,
                ..base.clone()
            },
        ];
        for cfg in configs {
            let e = generate(&cfg);
            assert_eq!(
                e.candidates.len(),
                cfg.parties.clamp(3, 6) * cfg.candidates_per_party.max(1)
            );
            let (kinds, counted) = classify(&e);
            let labelled: BTreeMap<String, &str> = e
                .labels
                .iter()
                .filter_map(|l| l.vote_id.clone().map(|id| (id, l.kind.as_str())))
                .collect();
            assert_eq!(labelled, kinds, "{cfg:?}");
            assert_eq!(counted.len() + labelled.len(), e.votes.len());
            if cfg.voters >= 100 && cfg.anomaly_share > 0.0 {
                for kind in [
                    UNREGISTERED_VOTER,
                    UNKNOWN_CANDIDATE,
                    STATION_MISMATCH,
                    OUTSIDE_HOURS,
                ] {
                    assert!(
                        labelled.values().any(|&k| k == kind),
                        "{kind} missing for {cfg:?}"
                    );
                }
                if cfg.turnout > 0.0 {
                    assert!(labelled.values().any(|&k| k == DUPLICATE_VOTE), "{cfg:?}");
                }
            }
            if cfg.anomaly_share == 0.0 && cfg.rate_spikes == 0 {
                assert!(e.labels.is_empty());
            }
        }
        for seed in 100..110 {
            let e = generate(&small(seed));
            let (kinds, _) = classify(&e);
            let labelled: BTreeMap<String, &str> = e
                .labels
                .iter()
                .filter_map(|l| l.vote_id.clone().map(|id| (id, l.kind.as_str())))
                .collect();
            assert_eq!(labelled, kinds, "seed {seed}");
        }
    }

    #[test]
    fn about_the_configured_share_is_out_of_order() {
        let cfg = GeneratorConfig {
            voters: 5_000,
            ..small(11)
        };
        let e = generate(&cfg);
        let mut max_seen = i64::MIN;
        let mut late = 0;
        for v in &e.votes {
            if v.voting_time < max_seen {
                late += 1;
            }
            max_seen = max_seen.max(v.voting_time);
        }
        let share = late as f64 / e.votes.len() as f64;
        assert!(
            (0.025..0.075).contains(&share),
            "out of order share {share}"
        );

        let e = generate(&GeneratorConfig {
            out_of_order_share: 0.0,
            ..cfg
        });
        assert!(e
            .votes
            .windows(2)
            .all(|w| (w[0].voting_time, &w[0].vote_id) <= (w[1].voting_time, &w[1].vote_id)));
    }

    #[test]
    fn rate_spikes_stand_out() {
        for cfg in [
            small(5),
            GeneratorConfig {
                voters: 20_000,
                rate_spikes: 3,
                ..small(6)
            },
        ] {
            let e = generate(&cfg);
            let (_, counted) = classify(&e);
            let spikes: Vec<&AnomalyLabel> =
                e.labels.iter().filter(|l| l.kind == RATE_SPIKE).collect();
            let expected = if cfg.rate_spikes == GeneratorConfig::AUTO_RATE_SPIKES {
                (e.stations.len() / 50).max(1)
            } else {
                cfg.rate_spikes
            };
            assert_eq!(spikes.len(), expected);
            let distinct: BTreeSet<_> = spikes
                .iter()
                .map(|l| l.polling_station_id.clone())
                .collect();
            assert_eq!(distinct.len(), spikes.len());
            for l in spikes {
                let sid = l.polling_station_id.as_deref().unwrap();
                let ws = l.window_start.unwrap();
                assert_eq!(ws % WINDOW_MS, 0);
                let s = e
                    .stations
                    .iter()
                    .find(|s| s.polling_station_id == sid)
                    .unwrap();
                let (open, close) = (tod_ms(&s.opens_at), tod_ms(&s.closes_at));
                let day = ws - ws.rem_euclid(DAY_MS);
                assert!(ws - day >= open && ws - day + WINDOW_MS <= close);
                let mut windows = vec![0usize; ((close - open) / WINDOW_MS) as usize];
                for v in e
                    .votes
                    .iter()
                    .filter(|v| v.polling_station_id == sid && counted.contains(&v.vote_id))
                {
                    windows[((v.voting_time - day - open) / WINDOW_MS) as usize] += 1;
                }
                let in_window = windows[((ws - day - open) / WINDOW_MS) as usize];
                let mut sorted = windows.clone();
                sorted.sort_unstable();
                let median = sorted[sorted.len() / 2];
                assert!(
                    in_window >= 10 * median && in_window >= 10,
                    "{sid}: {in_window} vs median {median}"
                );
                if cfg.voters >= 20_000 {
                    assert!(in_window >= 30, "{sid}: {in_window}");
                }
            }
        }
        let e = generate(&GeneratorConfig {
            rate_spikes: 0,
            ..small(5)
        });
        assert!(e.labels.iter().all(|l| l.kind != RATE_SPIKE));
    }

    #[test]
    fn write_dir_round_trips() {
        let e = generate(&GeneratorConfig {
            voters: 300,
            ..small(3)
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set");
        e.write_dir(&path).unwrap();
        fn read<T: serde::de::DeserializeOwned>(p: &Path) -> Vec<T> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
        assert_eq!(
            read::<Candidate>(&path.join(dataset::CANDIDATES)),
            e.candidates
        );
        assert_eq!(
            read::<PollingStation>(&path.join(dataset::POLLING_STATIONS)),
            e.stations
        );
        assert_eq!(read::<Voter>(&path.join(dataset::VOTERS)), e.voters);
        assert_eq!(read::<Vote>(&path.join(dataset::VOTES)), e.votes);
        assert_eq!(
            read::<AnomalyLabel>(&path.join(dataset::INJECTED_ANOMALIES)),
            e.labels
        );
        let before = std::fs::read(path.join(dataset::VOTES)).unwrap();
        generate(&GeneratorConfig {
            voters: 300,
            ..small(3)
        })
        .write_dir(&path)
        .unwrap();
        assert_eq!(
            std::fs::read(path.join(dataset::VOTES)).unwrap(),
            before,
            "byte-identical"
        );
    }

    #[test]
    #[ignore = "timing; run with --release -- --ignored"]
    fn one_million_voters_timing() {
        let start = std::time::Instant::now();
        let e = generate(&GeneratorConfig {
            voters: 1_000_000,
            ..GeneratorConfig::default()
        });
        eprintln!(
            "generated {} voters, {} stations, {} votes, {} labels in {:?}",
            e.voters.len(),
            e.stations.len(),
            e.votes.len(),
            e.labels.len(),
            start.elapsed()
        );
    }
}

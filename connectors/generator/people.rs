//! People: ages, names, e-mail addresses, phone numbers, dates of birth and voter records.

use std::fmt::Write as _;

use chrono::{Datelike, Months, NaiveDate};
use rand::seq::IndexedRandom;
use rand::Rng;

use super::names;
use super::registry::Place;
use super::sampling::{pick, Weighted};
use crate::connectors::dataset::{Address, Voter};

/// Age bands of the adult population: (first age, last age, share, relative turnout).
pub(super) const AGE_BANDS: &[(u32, u32, f64, f64)] = &[
    (18, 24, 0.110, 0.72),
    (25, 34, 0.170, 0.82),
    (35, 44, 0.160, 0.92),
    (45, 54, 0.170, 1.00),
    (55, 64, 0.160, 1.10),
    (65, 74, 0.125, 1.20),
    (75, 84, 0.075, 1.18),
    (85, 95, 0.030, 1.00),
];
pub(super) const MIN_AGE: u32 = 18;
pub(super) const MAX_AGE: u32 = 95;

pub(super) fn age_band(age: u32) -> usize {
    AGE_BANDS.iter().position(|&(lo, hi, _, _)| (lo..=hi).contains(&age)).unwrap_or(AGE_BANDS.len() - 1)
}

pub(super) const EDUCATION: [&str; 5] = ["none", "secondary", "further", "bachelor", "postgraduate"];
pub(super) const INCOME: [&str; 3] = ["low", "middle", "high"];
const POSTCODE_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// The id of the `v`-th voter (0-based), `voter-0000001` onwards.
pub(super) fn voter_id(v: usize) -> String {
    super::VoterKey::Registered(v as u64).to_string()
}

pub(super) fn person_name(rng: &mut impl Rng, gender: &str) -> (&'static str, &'static str) {
    let firsts = match gender {
        "female" => names::FEMALE_FIRST,
        "male" => names::MALE_FIRST,
        _ => names::NEUTRAL_FIRST,
    };
    (firsts.choose(rng).expect("names"), names::SURNAMES.choose(rng).expect("names"))
}

pub(super) fn email(rng: &mut impl Rng, voter_name: &str) -> String {
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
pub(super) fn landline(rng: &mut impl Rng, code: &str) -> String {
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
        let digit = if i == 0 { rng.random_range(2..10u8) } else { rng.random_range(0..10u8) };
        out.push((b'0' + digit) as char);
    }
    out
}

fn mobile(rng: &mut impl Rng) -> String {
    format!("07{}{:02} {:06}", rng.random_range(4..10u32), rng.random_range(0..100u32), rng.random_range(0..1_000_000u32))
}

fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A date of birth such that the voter is exactly `age` on `election_date`.
fn date_of_birth(rng: &mut impl Rng, election_date: NaiveDate, age: u32) -> NaiveDate {
    let latest = election_date.checked_sub_months(Months::new(12 * age)).unwrap_or(election_date);
    let earliest = election_date.checked_sub_months(Months::new(12 * (age + 1))).and_then(|d| d.succ_opt()).unwrap_or(latest);
    let days = (latest - earliest).num_days().max(0);
    earliest + chrono::Duration::days(rng.random_range(0..=days))
}

/// What a tally needs to know of a voter: age, gender and education level (an index into
/// [`EDUCATION`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Profile {
    pub(super) age: u32,
    pub(super) gender: &'static str,
    pub(super) education: usize,
}

/// An education level for a voter of `age`: an index into [`EDUCATION`].
pub(super) fn education(rng: &mut impl Rng, age: u32) -> usize {
    let weights: [f64; 5] = if age < 30 {
        [0.06, 0.30, 0.22, 0.32, 0.10]
    } else if age < 65 {
        [0.12, 0.28, 0.20, 0.26, 0.14]
    } else {
        [0.30, 0.32, 0.18, 0.13, 0.07]
    };
    pick(rng, &weights)
}

/// Draws the records of the electoral roll, one voter at a time.
pub(super) struct VoterMaker {
    age_weights: Weighted,
    election_date: NaiveDate,
}

impl VoterMaker {
    pub(super) fn new(election_date: NaiveDate) -> Self {
        VoterMaker { age_weights: Weighted::new(AGE_BANDS.iter().map(|b| b.2)), election_date }
    }

    /// The record of the `v`-th voter (0-based), who lives in `place` and is registered at
    /// the station `polling_station_id` in postcode district `district`.
    pub(super) fn voter(&self, rng: &mut impl Rng, v: usize, place: &Place, district: u32, polling_station_id: &str) -> Voter {
        let (age, gender) = self.age_gender(rng);
        let name_dob = self.name_dob(rng, age, gender);
        let edu = education(rng, age);
        let profile = Profile { age, gender, education: edu };
        self.record(rng, v, place, district, polling_station_id, profile, name_dob)
    }

    /// A voter's age and gender.
    pub(super) fn age_gender(&self, rng: &mut impl Rng) -> (u32, &'static str) {
        let band = AGE_BANDS[self.age_weights.sample(rng)];
        let age = rng.random_range(band.0..=band.1);
        let g = rng.random::<f64>();
        let gender = if g < 0.51 {
            "female"
        } else if g < 0.99 {
            "male"
        } else {
            "non-binary"
        };
        (age, gender)
    }

    /// A name for `gender` and a date of birth for `age`.
    pub(super) fn name_dob(&self, rng: &mut impl Rng, age: u32, gender: &str) -> (String, NaiveDate) {
        let (first, last) = person_name(rng, gender);
        (format!("{first} {last}"), date_of_birth(rng, self.election_date, age))
    }

    /// The rest of a voter's record, drawn after the profile, name and date of birth.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &self,
        rng: &mut impl Rng,
        v: usize,
        place: &Place,
        district: u32,
        polling_station_id: &str,
        profile: Profile,
        (voter_name, dob): (String, NaiveDate),
    ) -> Voter {
        let Profile { age, gender, education: edu } = profile;
        let income_weights: [f64; 3] = match edu {
            0 => [0.55, 0.40, 0.05],
            1 => [0.40, 0.50, 0.10],
            2 => [0.30, 0.55, 0.15],
            3 => [0.18, 0.55, 0.27],
            _ => [0.12, 0.50, 0.38],
        };
        let income = pick(rng, &income_weights);
        let nationality = if rng.random_bool(0.93) { "British" } else { names::OTHER_NATIONALITIES.choose(rng).expect("nationalities") };
        let city = place.city;
        let street = format!("{} {} {}", rng.random_range(1..200u32), names::STREET_STEMS.choose(rng).expect("stems"), names::STREET_SUFFIXES.choose(rng).expect("suffixes"));
        let mut postcode = String::with_capacity(8);
        let _ = write!(postcode, "{}{} {}", city.postcode_area, district, rng.random_range(1..10u32));
        for _ in 0..2 {
            postcode.push(*POSTCODE_LETTERS.choose(rng).expect("letters") as char);
        }
        let voter_id = voter_id(v);
        let email = email(rng, &voter_name);
        let phone_number = landline(rng, city.dialling_code);
        let cell_number = mobile(rng);
        Voter {
            picture: format!("https://img.example.org/voters/{voter_id}.jpg"),
            registration_number: format!("ER-{}-{:07}", city.postcode_area, v + 1),
            voter_id,
            voter_name,
            date_of_birth: format_date(dob),
            gender: gender.to_string(),
            nationality: nationality.to_string(),
            address: Address { street, city: city.name.to_string(), state: names::REGIONS[place.region].name.to_string(), country: "United Kingdom".to_string(), postcode },
            email,
            phone_number,
            cell_number,
            registered_age: age,
            education_level: EDUCATION[edu].to_string(),
            income_category: INCOME[income].to_string(),
            polling_station_id: polling_station_id.to_string(),
        }
    }
}

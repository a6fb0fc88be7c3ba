//! Parsing the records without allocating: views whose text fields borrow from the line
//! ([`VoteRef`], [`VoterRef`]), and a fixed-layout parser for the usual time format.
//!
//! A view declares exactly the fields of its record, with the same types and defaults, so a
//! line parses as a view exactly when it parses as the record; text is borrowed (copied only
//! if it has escapes), and fields the pipeline does not need are checked but not kept. A
//! line that does not parse is parsed again in full by [`parse_line`], so that its dead
//! letter gives the same reason as before.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::{parse_line, parse_millis, DeadLetterReason, VotingMethod, MAX_LINE_BYTES};

/// A vote line's fields ([`super::Vote`]), borrowed.
#[derive(Debug, Deserialize)]
pub struct VoteRef<'a> {
    /// Unique id of the message.
    #[serde(borrow)]
    pub vote_id: Cow<'a, str>,
    /// Who voted.
    #[serde(borrow)]
    pub voter_id: Cow<'a, str>,
    /// For whom.
    #[serde(borrow)]
    pub candidate_id: Cow<'a, str>,
    /// Where.
    #[serde(borrow)]
    pub polling_station_id: Cow<'a, str>,
    /// When, ms since the epoch.
    #[serde(deserialize_with = "millis")]
    pub voting_time: i64,
    /// How.
    pub voting_method: VotingMethod,
}

/// A voter's address ([`super::Address`]), borrowed.
#[derive(Debug, Deserialize)]
pub struct AddressRef<'a> {
    /// As in the record.
    #[serde(borrow, default)]
    pub street: Cow<'a, str>,
    /// City or town.
    #[serde(borrow)]
    pub city: Cow<'a, str>,
    /// Region.
    #[serde(borrow)]
    pub state: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub country: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub postcode: Cow<'a, str>,
}

/// A voter line's fields ([`super::Voter`]), borrowed.
#[derive(Debug, Deserialize)]
pub struct VoterRef<'a> {
    /// Unique id.
    #[serde(borrow)]
    pub voter_id: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub voter_name: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub date_of_birth: Cow<'a, str>,
    /// Gender.
    #[serde(borrow)]
    pub gender: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub nationality: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub registration_number: Cow<'a, str>,
    /// Address; `state` is the voter's region.
    #[serde(borrow)]
    pub address: AddressRef<'a>,
    /// As in the record.
    #[serde(borrow, default)]
    pub email: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub phone_number: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub cell_number: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub picture: Cow<'a, str>,
    /// Age in years at registration.
    pub registered_age: u32,
    /// Highest education level.
    #[serde(borrow)]
    pub education_level: Cow<'a, str>,
    /// As in the record.
    #[serde(borrow, default)]
    pub income_category: Cow<'a, str>,
    /// The polling station the voter may vote at.
    #[serde(borrow)]
    pub polling_station_id: Cow<'a, str>,
}

/// Parses a line as the view `T`; on failure, parses it in full as the record `Full` for the
/// reason (see the module docs). `Ok(None)` for a blank line.
pub fn parse_view<'a, T: Deserialize<'a>, Full: DeserializeOwned>(line: &'a [u8]) -> Result<Option<T>, DeadLetterReason> {
    // By construction the full parse fails too; if it did not, the view's reason stands.
    let reject = |view: serde_json::Error| parse_line::<Full>(line).err().unwrap_or_else(|| DeadLetterReason::MalformedJson(view.to_string()));
    if line.len() > MAX_LINE_BYTES {
        return Err(DeadLetterReason::Oversized(line.len()));
    }
    let text = std::str::from_utf8(line).map_err(|_| DeadLetterReason::NotUtf8)?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(reject)
}

/// Milliseconds since the epoch of an RFC 3339 time: `YYYY-MM-DDTHH:MM:SS.mmmZ` directly,
/// anything else through chrono.
pub fn millis_of(text: &str) -> Option<i64> {
    fixed_millis(text.as_bytes()).or_else(|| parse_millis(text).ok())
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = <Cow<'de, str>>::deserialize(d)?;
    match fixed_millis(text.as_bytes()) {
        Some(ms) => Ok(ms),
        None => parse_millis(&text).map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 time {text:?}: {e}"))),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (the format ballotflow writes), or `None` for anything else,
/// including times that format cannot hold exactly (a leap second).
fn fixed_millis(b: &[u8]) -> Option<i64> {
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since the epoch of a civil date (H. Hinnant's algorithm).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1_000 + milli)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dataset::{format_millis, Vote, Voter};

    #[test]
    fn the_fixed_layout_agrees_with_chrono() {
        let mut state = 1u64;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let ms = (state >> 20) as i64 % 8_000_000_000_000 - 1_000_000_000_000;
            let text = format_millis(ms);
            assert_eq!(fixed_millis(text.as_bytes()), Some(ms), "{text}");
        }
        for text in ["2026-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-05-07T24:00:00.000Z", "2026-05-07T07:00:60.000Z", "2026-05-07 07:00:00.000Z"] {
            assert_eq!(fixed_millis(text.as_bytes()), None, "{text}");
        }
        assert_eq!(millis_of("2026-05-07T09:00:00+02:00"), Some(1_778_137_200_000));
        assert_eq!(millis_of("2024-02-29T00:00:00.000Z"), parse_millis("2024-02-29T00:00:00.000Z").ok());
    }

    #[test]
    fn a_line_parses_as_a_view_exactly_when_it_parses_in_full() {
        let vote = r#"{"vote_id":"v\u00e91","voter_id":"a","candidate_id":"c","polling_station_id":"s","voting_time":"2026-05-07T07:00:00.000Z","voting_method":"postal","extra":[1,{"x":2}]}"#;
        let view = parse_view::<VoteRef, Vote>(vote.as_bytes()).unwrap().unwrap();
        let full: Vote = parse_line(vote.as_bytes()).unwrap().unwrap();
        assert_eq!((&*view.vote_id, view.voting_time, view.voting_method), (full.vote_id.as_str(), full.voting_time, full.voting_method));
        for bad in [
            &b"{not json"[..],
            br#"{"vote_id":"x2"}"#,
            br#"{"vote_id":"x","voter_id":"a","candidate_id":"c","polling_station_id":"s","voting_time":"yesterday","voting_method":"postal"}"#,
            br#"{"vote_id":7,"voter_id":"a","candidate_id":"c","polling_station_id":"s","voting_time":"2026-05-07T07:00:00.000Z","voting_method":"postal"}"#,
            b"\xff\xfe",
        ] {
            assert_eq!(parse_view::<VoteRef, Vote>(bad).unwrap_err(), parse_line::<Vote>(bad).unwrap_err());
        }
        let voter = r#"{"voter_id":"v1","gender":"female","address":{"city":"Leeds","state":"Yorkshire"},"registered_age":40,"education_level":"degree","polling_station_id":"s1"}"#;
        let view = parse_view::<VoterRef, Voter>(voter.as_bytes()).unwrap().unwrap();
        assert_eq!((&*view.address.state, view.registered_age), ("Yorkshire", 40));
        for bad in [voter.replace(r#""registered_age":40"#, r#""registered_age":"40""#), voter.replace(r#""gender":"female","#, r#""email":5,"gender":"female","#)] {
            assert_eq!(parse_view::<VoterRef, Voter>(bad.as_bytes()).unwrap_err(), parse_line::<Voter>(bad.as_bytes()).unwrap_err());
        }
    }
}

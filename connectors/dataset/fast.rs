//! Parsing the records without allocating: views whose text fields borrow from the line
//! ([`VoteRef`], [`VoterRef`]), and a fixed-layout parser for the usual time format.
//!
//! A view declares exactly the fields of its record, with the same types and defaults, so a
//! line parses as a view exactly when it parses as the record; text is borrowed (copied only
//! if it has escapes), and fields the pipeline does not need are checked but not kept. A
//! line that does not parse is parsed again in full by [`parse_line`], so that its dead
//! letter gives the same reason as before.
//!
//! Before serde, a view tries [`View::compact`]: a scanner for the compact JSON that
//! ballotflow and most producers write (no whitespace, no escapes, strings and unsigned
//! integers, one nested object). It accepts a line only if serde would accept it with the
//! same values, and hands anything else (whitespace, escapes, other value types, duplicate
//! or missing fields) to serde, so it changes speed, never results.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::{parse_line, parse_millis, DeadLetterReason, VotingMethod, MAX_LINE_BYTES};

/// A vote line's fields ([`super::Vote`]), borrowed.
#[derive(Debug, PartialEq, Deserialize)]
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
#[derive(Debug, PartialEq, Deserialize)]
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
#[derive(Debug, PartialEq, Deserialize)]
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

/// A borrowed view of a record, with a fast path for compact JSON (see the module docs).
pub trait View<'a>: Deserialize<'a> {
    /// The view of a compact line, or `None` if the line is not in the subset the scanner
    /// reads (serde then decides).
    fn compact(text: &'a str) -> Option<Self>;
}

impl<'a> View<'a> for VoteRef<'a> {
    fn compact(text: &'a str) -> Option<Self> {
        let (mut vote_id, mut voter_id, mut candidate_id, mut station, mut time, mut method) = (None, None, None, None, None, None);
        Compact::new(text).object(|c, key| {
            let slot = match key {
                "vote_id" => &mut vote_id,
                "voter_id" => &mut voter_id,
                "candidate_id" => &mut candidate_id,
                "polling_station_id" => &mut station,
                "voting_time" => &mut time,
                "voting_method" => &mut method,
                _ => return c.skip(),
            };
            once(slot, c.string()?)
        })?;
        let voting_method = match method? {
            "in_person" => VotingMethod::InPerson,
            "postal" => VotingMethod::Postal,
            "electronic" => VotingMethod::Electronic,
            _ => return None,
        };
        Some(VoteRef {
            vote_id: Cow::Borrowed(vote_id?),
            voter_id: Cow::Borrowed(voter_id?),
            candidate_id: Cow::Borrowed(candidate_id?),
            polling_station_id: Cow::Borrowed(station?),
            voting_time: fixed_millis(time?.as_bytes())?,
            voting_method,
        })
    }
}

impl<'a> View<'a> for VoterRef<'a> {
    fn compact(text: &'a str) -> Option<Self> {
        let mut s: [Option<&'a str>; 13] = [None; 13];
        let (mut address, mut age) = (None, None);
        Compact::new(text).object(|c, key| {
            let i = match key {
                "voter_id" => 0,
                "voter_name" => 1,
                "date_of_birth" => 2,
                "gender" => 3,
                "nationality" => 4,
                "registration_number" => 5,
                "email" => 6,
                "phone_number" => 7,
                "cell_number" => 8,
                "picture" => 9,
                "education_level" => 10,
                "income_category" => 11,
                "polling_station_id" => 12,
                "address" => return once(&mut address, c.address()?),
                "registered_age" => return once(&mut age, u32::try_from(c.uint()?).ok()?),
                _ => return c.skip(),
            };
            once(&mut s[i], c.string()?)
        })?;
        let optional = |text: Option<&'a str>| Cow::Borrowed(text.unwrap_or(""));
        Some(VoterRef {
            voter_id: Cow::Borrowed(s[0]?),
            voter_name: optional(s[1]),
            date_of_birth: optional(s[2]),
            gender: Cow::Borrowed(s[3]?),
            nationality: optional(s[4]),
            registration_number: optional(s[5]),
            address: address?,
            email: optional(s[6]),
            phone_number: optional(s[7]),
            cell_number: optional(s[8]),
            picture: optional(s[9]),
            registered_age: age?,
            education_level: Cow::Borrowed(s[10]?),
            income_category: optional(s[11]),
            polling_station_id: Cow::Borrowed(s[12]?),
        })
    }
}

/// Fills an empty slot; a second value for it (a duplicate field, which serde refuses) is
/// `None`.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}

/// A cursor over compact JSON (see the module docs); every method returns `None` where the
/// text leaves the subset it reads.
struct Compact<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Compact<'a> {
    fn new(text: &'a str) -> Self {
        Compact { text, at: 0 }
    }

    fn next(&mut self) -> Option<u8> {
        let byte = *self.text.as_bytes().get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// `{"key":value,…}` to the end of the text, calling `field` with the cursor on each
    /// value; `field` must consume it.
    fn object(mut self, field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.members(field)?;
        (self.at == self.text.len()).then_some(())
    }

    fn members(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.text.as_bytes().get(self.at) == Some(&b'}') {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.next()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let rest = &self.text.as_bytes()[self.at..];
        let end = string_end(rest)?;
        if rest[end] != b'"' {
            return None;
        }
        let text = &self.text[self.at..self.at + end];
        self.at += end + 1;
        Some(text)
    }

    /// An unsigned integer without leading zeros, sign, fraction or exponent.
    fn uint(&mut self) -> Option<u64> {
        let digits = self.text.as_bytes()[self.at..].iter().take_while(|c| c.is_ascii_digit()).count();
        let text = &self.text[self.at..self.at + digits];
        if digits == 0 || (digits > 1 && text.starts_with('0')) || matches!(self.text.as_bytes().get(self.at + digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.at += digits;
        text.parse().ok()
    }

    /// The value of a field the view does not declare (serde ignores it): a string or an
    /// unsigned integer.
    fn skip(&mut self) -> Option<()> {
        match self.text.as_bytes().get(self.at)? {
            b'"' => self.string().map(drop),
            _ => self.uint().map(drop),
        }
    }

    /// A voter's address object.
    fn address(&mut self) -> Option<AddressRef<'a>> {
        let mut s: [Option<&'a str>; 5] = [None; 5];
        self.members(|c, key| {
            let i = match key {
                "street" => 0,
                "city" => 1,
                "state" => 2,
                "country" => 3,
                "postcode" => 4,
                _ => return c.skip(),
            };
            once(&mut s[i], c.string()?)
        })?;
        let optional = |text: Option<&'a str>| Cow::Borrowed(text.unwrap_or(""));
        Some(AddressRef { street: optional(s[0]), city: Cow::Borrowed(s[1]?), state: Cow::Borrowed(s[2]?), country: optional(s[3]), postcode: optional(s[4]) })
    }
}

/// The index of the first `"`, `\\` or control character of `bytes`: sixteen bytes at a time
/// with SSE2 (part of every x86-64), the last few with [`string_end_swar`]. A string's rest
/// of the line is usually longer than sixteen bytes, so most strings take one load.
#[cfg(target_arch = "x86_64")]
fn string_end(bytes: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let mut at = 0;
    while at + 16 <= bytes.len() {
        // SAFETY: SSE2 is always available on x86-64, and the unaligned load reads the 16
        // bytes at `at`, which are inside `bytes`.
        let mask = unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().add(at).cast());
            let special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)), _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)));
            // A byte is at least 0x20 iff max(byte, 0x20) is the byte (unsigned).
            let printable = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x20)), v);
            _mm_movemask_epi8(special) as u32 | (!_mm_movemask_epi8(printable) as u32 & 0xffff)
        };
        if mask != 0 {
            return Some(at + mask.trailing_zeros() as usize);
        }
        at += 16;
    }
    string_end_swar(&bytes[at..]).map(|i| at + i)
}

#[cfg(not(target_arch = "x86_64"))]
fn string_end(bytes: &[u8]) -> Option<usize> {
    string_end_swar(bytes)
}

/// [`string_end`] eight bytes at a time (SWAR: a byte-wise "has zero" or "less than" on a
/// `u64`, whose lowest flagged byte is exact).
fn string_end_swar(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for (i, chunk) in chunks.by_ref().enumerate() {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let found = zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))) | (v.wrapping_sub(ONES * 0x20) & !v & HIGH);
        if found != 0 {
            return Some(i * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tail = bytes.len() - chunks.remainder().len();
    chunks.remainder().iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| tail + p)
}

/// Parses a line as the view `T`; on failure, parses it in full as the record `Full` for the
/// reason (see the module docs). `Ok(None)` for a blank line.
pub fn parse_view<'a, T: View<'a>, Full: DeserializeOwned>(line: &'a [u8]) -> Result<Option<T>, DeadLetterReason> {
    // By construction the full parse fails too; if it did not, the view's reason stands.
    let reject = |view: serde_json::Error| parse_line::<Full>(line).err().unwrap_or_else(|| DeadLetterReason::MalformedJson(view.to_string()));
    if line.len() > MAX_LINE_BYTES {
        return Err(DeadLetterReason::Oversized(line.len()));
    }
    let text = std::str::from_utf8(line).map_err(|_| DeadLetterReason::NotUtf8)?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(view) = T::compact(text) {
        return Ok(Some(view));
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
    let num = |range: std::ops::Range<usize>| -> Option<i64> { b[range].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))) };
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
        let voter =
            r#"{"voter_id":"v1","gender":"female","address":{"city":"Leeds","state":"Yorkshire"},"registered_age":40,"education_level":"degree","polling_station_id":"s1"}"#;
        let view = parse_view::<VoterRef, Voter>(voter.as_bytes()).unwrap().unwrap();
        assert_eq!((&*view.address.state, view.registered_age), ("Yorkshire", 40));
        for bad in [voter.replace(r#""registered_age":40"#, r#""registered_age":"40""#), voter.replace(r#""gender":"female","#, r#""email":5,"gender":"female","#)] {
            assert_eq!(parse_view::<VoterRef, Voter>(bad.as_bytes()).unwrap_err(), parse_line::<Voter>(bad.as_bytes()).unwrap_err());
        }
    }

    /// Variants of a compact line: each field removed, duplicated, or with its value
    /// replaced; whitespace and escapes inserted; unknown fields of every type added.
    fn variants(line: &str) -> Vec<String> {
        // Each top-level field as `start..end` (from its key's quote to before the next `,` or
        // the closing `}`).
        let bytes = line.as_bytes();
        let (mut depth, mut starts, mut in_string) = (0, Vec::new(), false);
        for (i, &c) in bytes.iter().enumerate() {
            if c == b'"' && !in_string && depth == 1 && matches!(bytes[i - 1], b'{' | b',') {
                starts.push(i);
            }
            match c {
                b'"' => in_string = !in_string,
                b'{' if !in_string => depth += 1,
                b'}' if !in_string => depth -= 1,
                _ => {}
            }
        }
        let fields: Vec<(usize, usize)> = starts.iter().enumerate().map(|(k, &start)| (start, starts.get(k + 1).map_or(line.len() - 1, |next| next - 1))).collect();
        let mut out = Vec::new();
        for &(start, end) in &fields {
            let field = &line[start..end];
            let key = &field[..field.find(':').unwrap()];
            let (before, after) = (&line[..start - 1], &line[end..]);
            out.push(format!("{before}{after}").replacen("{,", "{", 1));
            out.push(format!("{},{field}{after}", &line[..end]));
            for value in ["7", "07", "-7", "7.0", "1e2", "null", "true", "\"x\\\"y\"", "\"\\u0041\"", "{}", "[1]", "\"\"", "\"a\tb\"", "4294967296"] {
                out.push(format!("{}{key}:{value}{after}", &line[..start]));
            }
            out.push(format!("{}{key}: {}", &line[..start], &field[key.len() + 1..]) + after);
        }
        for extra in ["\"zz\":1", "\"zz\":\"a\"", "\"zz\":[1,{\"a\":2}]", "\"zz\":null", "\"zz\":-1"] {
            out.push(format!("{{{extra},{}", &line[1..]));
        }
        out.extend([format!("{line}x"), line.replace(':', " : "), line.replacen('e', "\\u0065", 1), line[..line.len() - 1].to_string()]);
        out
    }

    #[test]
    fn string_ends_are_found_at_every_offset() {
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        let alphabet = [b'a', b'"', b'\\', 0x1f, 0x00, 0x20, 0x21, 0x7f, 0x80, 0xff, b'[', b']'];
        for _ in 0..40_000 {
            let (len, rare) = (next() % 70, next() % 70 + 1);
            let bytes: Vec<u8> = (0..len).map(|_| if next() % rare == 0 { alphabet[(next() % 12) as usize] } else { b'a' + (next() % 26) as u8 }).collect();
            let expected = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            assert_eq!(string_end(&bytes), expected, "{bytes:?}");
            assert_eq!(string_end_swar(&bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn the_compact_scanner_accepts_only_what_serde_accepts_alike() {
        let voter = r#"{"voter_id":"voter-0000001","voter_name":"James Hunt","date_of_birth":"1993-08-03","gender":"male","nationality":"British","registration_number":"ER-S-0000001","address":{"street":"45 High Drive","city":"Sheffield","state":"Yorkshire and the Humber","country":"United Kingdom","postcode":"S1 1JY"},"email":"james.hunt@example.com","phone_number":"0114 996 3308","cell_number":"07841 936410","picture":"https://img.example.org/v.jpg","registered_age":32,"education_level":"bachelor","income_category":"high","polling_station_id":"ps-00247"}"#;
        let vote = r#"{"vote_id":"vote-00000001","voter_id":"voter-0662818","candidate_id":"cand-0004","polling_station_id":"ps-00451","voting_time":"2026-05-07T04:30:00.634Z","voting_method":"in_person"}"#;
        // The lines ballotflow writes take the fast path.
        assert_eq!(VoterRef::compact(voter), serde_json::from_str(voter).ok());
        assert!(VoterRef::compact(voter).is_some() && VoteRef::compact(vote).is_some());
        let address = &voter[voter.find("{\"street").unwrap()..voter.find("},").unwrap() + 1];
        let voters = variants(voter).into_iter().chain(variants(address).into_iter().map(|a| voter.replace(address, &a)));
        let (mut compact, mut total) = (0, 0);
        for line in voters {
            let view = VoterRef::compact(&line);
            compact += usize::from(view.is_some());
            total += 1;
            assert!(view.is_none() || view == serde_json::from_str(&line).ok(), "{line}");
        }
        for line in variants(vote) {
            let view = VoteRef::compact(&line);
            compact += usize::from(view.is_some());
            total += 1;
            assert!(view.is_none() || view == serde_json::from_str(&line).ok(), "{line}");
        }
        // Optional fields removed and unknown fields added stay on the fast path.
        assert!(compact > 20 && total > 400, "{compact} of {total}");
    }
}

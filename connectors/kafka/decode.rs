//! A Kafka message into a record, a tombstone or a dead-letter reason.

use serde::de::DeserializeOwned;

use crate::connectors::dataset::{parse_line, DeadLetterReason};

/// What a message holds.
#[derive(Debug, PartialEq)]
pub enum Decoded<T> {
    /// A record.
    Record(T),
    /// A null value: the key's record is deleted.
    Tombstone(String),
    /// Why the message cannot be used.
    Dead(DeadLetterReason),
}

/// Decodes a message's value as a JSON record (with the data-set reader's rules: UTF-8, at
/// most 1 MiB, well-formed). A null value is a tombstone of the key if `tombstones` is set,
/// otherwise a dead letter.
pub fn decode<T: DeserializeOwned>(key: Option<&[u8]>, value: Option<&[u8]>, tombstones: bool) -> Decoded<T> {
    let Some(value) = value else {
        return match (tombstones, key.map(std::str::from_utf8)) {
            (true, Some(Ok(key))) if !key.is_empty() => Decoded::Tombstone(key.to_string()),
            (true, _) => Decoded::Dead(DeadLetterReason::InvalidValue("a tombstone without a UTF-8 key".into())),
            (false, _) => Decoded::Dead(DeadLetterReason::InvalidValue("a message without a value".into())),
        };
    };
    match parse_line(value) {
        Ok(Some(record)) => Decoded::Record(record),
        Ok(None) => Decoded::Dead(DeadLetterReason::MalformedJson("an empty value".into())),
        Err(reason) => Decoded::Dead(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dataset::{Candidate, MAX_LINE_BYTES};

    #[test]
    fn values_tombstones_and_each_kind_of_bad_message() {
        let good = br#"{"candidate_id":"c1","candidate_name":"A","party_affiliation":"P","platform":"","photo_url":""}"#;
        assert!(matches!(decode::<Candidate>(Some(b"c1"), Some(good), true), Decoded::Record(c) if c.candidate_id == "c1"));
        assert_eq!(decode::<Candidate>(Some(b"c1"), None, true), Decoded::Tombstone("c1".into()));
        let kind = |d: Decoded<Candidate>| match d {
            Decoded::Dead(reason) => reason.kind(),
            other => panic!("expected a dead letter, got {other:?}"),
        };
        assert_eq!(kind(decode(None, None, true)), "invalid_value");
        assert_eq!(kind(decode(Some(b"c1"), None, false)), "invalid_value");
        assert_eq!(kind(decode(None, Some(b"{nope"), true)), "malformed_json");
        assert_eq!(kind(decode(None, Some(br#"{"candidate_id":1}"#), true)), "malformed_json");
        assert_eq!(kind(decode(None, Some(b""), true)), "malformed_json");
        assert_eq!(kind(decode(None, Some(b"\xff\xfe"), true)), "not_utf8");
        assert_eq!(kind(decode(None, Some(&vec![b' '; MAX_LINE_BYTES + 1]), true)), "oversized");
    }
}

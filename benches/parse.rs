//! Parsing alone: the voter and vote files of a generated election, in bytes per second, by
//! the pipeline's parser (borrowed views with the compact scanner, [`parse_view`]) and by a
//! full serde parse into owned records ([`parse_line`], the dead-letter path).
//!
//! ```text
//! cargo bench --bench parse
//! ```

use std::time::Duration;

use ballotflow::connectors::dataset::fast::{parse_view, View, VoteRef, VoterRef};
use ballotflow::connectors::dataset::{parse_line, Vote, Voter};
use ballotflow::connectors::generator::{generate, GeneratorConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::DeserializeOwned;

fn views<'a, T: View<'a>, Full: DeserializeOwned>(bytes: &'a [u8]) -> usize {
    bytes.split(|b| *b == b'\n').filter(|line| matches!(parse_view::<T, Full>(line), Ok(Some(_)))).count()
}

fn records<T: DeserializeOwned>(bytes: &[u8]) -> usize {
    bytes.split(|b| *b == b'\n').filter(|line| matches!(parse_line::<T>(line), Ok(Some(_)))).count()
}

fn bench(c: &mut Criterion) {
    let data = generate(&GeneratorConfig { voters: 50_000, ..GeneratorConfig::default() }).to_bytes();
    assert_eq!(views::<VoterRef, Voter>(&data.voters), records::<Voter>(&data.voters));
    assert_eq!(views::<VoteRef, Vote>(&data.votes), records::<Vote>(&data.votes));
    for (file, bytes) in [("voters", &data.voters), ("votes", &data.votes)] {
        let mut group = c.benchmark_group(format!("parse_{file}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64)).sample_size(20).measurement_time(Duration::from_secs(5));
        match file {
            "voters" => {
                group.bench_function("views", |b| b.iter(|| views::<VoterRef, Voter>(bytes)));
                group.bench_function("serde_records", |b| b.iter(|| records::<Voter>(bytes)));
            }
            _ => {
                group.bench_function("views", |b| b.iter(|| views::<VoteRef, Vote>(bytes)));
                group.bench_function("serde_records", |b| b.iter(|| records::<Vote>(bytes)));
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

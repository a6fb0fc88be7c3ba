//! Static partition assignment.

/// The worker (of `peers`, across all processes) that reads `partition` of `topic`.
///
/// Partitions go round-robin from a first worker chosen by a stable hash of the topic name
/// (FNV-1a, the same in every process and build), as Materialize does, so that several
/// topics' partition 0 do not all land on worker 0.
pub fn owner(topic: &str, partition: i32, peers: usize) -> usize {
    assert!(peers > 0, "a job has at least one worker");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in topic.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    ((hash % peers as u64 + partition.max(0) as u64) % peers as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_has_one_owner_and_owners_are_balanced() {
        for peers in 1..6 {
            let mut load = vec![0; peers];
            for p in 0..8 {
                let o = owner("votes_topic", p, peers);
                assert!(o < peers);
                load[o] += 1;
            }
            assert!(load.iter().max().unwrap() - load.iter().min().unwrap() <= 1, "{load:?}");
        }
        assert_eq!(owner("votes_topic", 3, 3), owner("votes_topic", 3, 3));
    }
}

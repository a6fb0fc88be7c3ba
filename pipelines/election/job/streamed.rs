//! An election drawn by the workers themselves ([`StreamedElection`]): each worker draws its
//! share of the voters, feeding their registry versions as it goes, keeps their votes as
//! compact drafts, and once the registries are loaded delivers the drafts in delivery order,
//! freeing them as it goes.
//! Nothing is read from files or Kafka, so the size of the election is bounded only by the
//! pipeline's state and the drafts (32 bytes a vote).

use compact_str::format_compact;
use timely::worker::Worker;

use super::{JobError, Run};
use crate::connectors::dataset::{Share, SourcePosition};
use crate::connectors::generator::{DrawnVoter, StreamedElection, VoteDraft};
use crate::pipelines::election::model::{age_band, Ballot, Text, VoterInfo, VoterVersion};

/// The name of the source in positions and dead letters.
pub const SOURCE: &str = "generator";

/// Registry versions drawn between two steps of the dataflow, so that they do not pile up
/// in its channels.
const REGISTRY_STEP: u64 = 1 << 16;

/// Draws this worker's share of `election` into the job.
pub(super) fn run<'a>(worker: &mut Worker, mut run: Run<'a>, election: &StreamedElection) -> Result<Run<'a>, JobError> {
    let share = Share::of(worker.index(), worker.peers());
    run.small_registries(share, election.candidates(), election.stations(), SOURCE);

    // The roll: versions `v`, then the re-registrations at `voters + v`.
    let voters = election.share(share.index, share.peers);
    let mut drafts: Vec<VoteDraft> = Vec::with_capacity((voters.end - voters.start) as usize * 3 / 4);
    let mut updated = Vec::new();
    for v in voters.clone() {
        let voter = election.voter(v);
        register(&mut run, election, &voter, v, false);
        if election.updated(&voter) {
            updated.push(v);
        }
        election.votes(&voter, &mut drafts);
        if (v - voters.start) % REGISTRY_STEP == REGISTRY_STEP - 1 {
            run.registry_step(worker);
        }
    }
    for v in updated {
        register(&mut run, election, &election.voter(v), election.voter_count() + v, true);
    }
    run.registries_loaded(worker);

    // The votes, in delivery order: taken from the end of the drafts sorted backwards, whose
    // memory is given back as they go.
    drafts.sort_unstable_by_key(|draft| std::cmp::Reverse(draft.delivery_order()));
    let source: Text = SOURCE.into();
    let mut read = 0;
    while let Some(draft) = drafts.pop() {
        if drafts.capacity() > 1 << 16 && drafts.len() < drafts.capacity() / 2 {
            drafts.shrink_to_fit();
        }
        read += 1;
        let vote = election.vote(&draft);
        let ballot = Ballot {
            voting_time: vote.voting_time,
            vote_id: format_compact!("{}", vote.vote_id),
            voter_id: format_compact!("{}", vote.voter_id),
            candidate_id: vote.candidate_id.into(),
            polling_station_id: vote.polling_station_id.into(),
            voting_method: vote.voting_method,
        };
        run.vote(0, ballot, SourcePosition { topic: source.clone(), partition: 0, offset: draft.number as i64 });
        run.read(SOURCE, share.index as i32, read);
        run.arrived(None);
        run.admitted(worker, 1);
        if run.stopping() {
            break;
        }
    }
    Ok(run)
}

/// Feeds a voter's registry version with sequence number `seq` (the re-registration's if
/// `updated`): the full record if the job keeps records, else only the facts.
fn register(run: &mut Run<'_>, election: &StreamedElection, voter: &DrawnVoter<'_>, seq: u64, updated: bool) {
    if run.feed.records_voters() {
        let record = election.record(voter);
        run.feed.voter(seq, if updated { election.updated_record(voter, &record) } else { record });
    } else {
        let info = VoterInfo {
            station_id: voter.station.polling_station_id.as_str().into(),
            region: voter.region.into(),
            city: voter.city.into(),
            age_group: age_band(voter.age),
            gender: voter.gender.into(),
            education: voter.education.into(),
        };
        run.feed.voter_version(VoterVersion { voter_id: format_compact!("{}", voter.voter_id()), seq, info: Some(info) });
    }
}

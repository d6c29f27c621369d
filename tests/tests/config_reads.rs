//! Config replication's shared reads (`orchestrator::config_repl::reads`), against the
//! simulated cluster:
//!
//! * a `config-sync` pass over a zone of many policies lists each cluster's shares once,
//!   not once per policy (the N² that made a 1000-policy failover take 20 s), and still
//!   copies every share;
//! * whatever the orchestrator writes (through a config job, which records its paths, or
//!   by any other step, which the client counts), a shared read answers exactly what a
//!   fresh read of the cluster answers at that moment (property test over random
//!   sequences of jobs, other writes and time).

mod counting;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use orchestrator::config_repl::{
    self, job, model, ConfigReads, JobSpec, Kinds, Source, Store, SyncRequest,
};
use orchestrator::papi::{ConfigCollection, PapiClient};
use proptest::prelude::*;
use scenarios::Scenario;
use sim_onefs::Sim;

/// The GET requests that list SMB shares (`…/protocols/smb/shares?…`, no item).
fn share_list(method: &http::Method, uri: &http::Uri) -> bool {
    method == http::Method::GET && uri.path().ends_with("/protocols/smb/shares")
}

fn clients(
    sim: &Sim,
) -> (
    BTreeMap<String, PapiClient>,
    BTreeMap<String, Arc<AtomicUsize>>,
) {
    counting::clients(sim, share_list)
}

fn bench_world(policies: usize) -> Scenario {
    let yaml =
        scenarios::bench::world_yaml(policies, 7, 4, false, scenarios::bench::Backlog::Throughput);
    Scenario::parse(&yaml, "<bench>").unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_pass_over_a_zone_of_many_policies_lists_each_cluster_once() {
    const POLICIES: usize = 40;
    let scn = bench_world(POLICIES);
    let sim = Sim::new(&scn.world, scn.seed).unwrap();
    let (clients, counts) = clients(&sim);
    let store = Store::private().unwrap();
    let sum = config_repl::sync_all(&store, &clients, &SyncRequest::default())
        .await
        .unwrap();
    assert_eq!(sum.jobs.len(), POLICIES);
    assert!(sum.ok(), "{sum:?}");
    for j in &sum.jobs {
        assert_eq!(j.counts["smb_share"].created, 1, "{j:?}");
    }
    // Every share arrived, and was read back one by one (not by listing the zone again).
    let denver = sim.config_json("denver").unwrap();
    assert_eq!(denver["smb_shares"].as_object().unwrap().len(), POLICIES);
    // Discovery lists each zone once more; the jobs add one listing per cluster.
    let (boston, denver) = (
        counts["boston"].load(Ordering::SeqCst),
        counts["denver"].load(Ordering::SeqCst),
    );
    assert!(
        boston <= 2 && denver <= 2,
        "share listings: boston {boston}, denver {denver} for {POLICIES} policies"
    );
}

/// One step of the property test.
#[derive(Debug, Clone)]
enum Op {
    /// Run policy `i`'s config job through the shared reads.
    Job(usize),
    /// Another step writes a share under policy `i`'s target path (untracked by the reads):
    /// create it, or delete it when it exists.
    OtherWrite(usize),
    /// Change the source: a new share under policy `i`'s source path.
    SourceWrite(usize),
    /// Let virtual time pass.
    Wait(u64),
    /// Compare the shared reads of policy `i`'s target and source trees with fresh reads.
    Check(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize).prop_map(Op::Job),
        1 => (0..4usize).prop_map(Op::OtherWrite),
        1 => (0..4usize).prop_map(Op::SourceWrite),
        1 => prop_oneof![Just(1_000u64), Just(70_000u64)].prop_map(Op::Wait),
        3 => (0..4usize).prop_map(Op::Check),
    ]
}

fn spec(i: usize) -> JobSpec {
    let name = format!("p{i:04}");
    let path = format!("/ifs/data/{name}");
    JobSpec {
        policy: name,
        source: "boston".into(),
        target: "denver".into(),
        source_path: path.clone(),
        target_path: path,
        zones: vec!["System".into(), "data".into()],
        target_zones: vec!["System".into(), "data".into()],
        dfs_prefix: None,
        inactive_prefix: Some("igls-dfs-".into()),
        kinds: Kinds::WITHOUT_QUOTAS,
        saved_permissions: Default::default(),
        trigger: "test".into(),
    }
}

async fn run_ops(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let scn = bench_world(4);
    let sim = Sim::new(&scn.world, scn.seed).unwrap();
    let (clients, _) = clients(&sim);
    let (src, tgt) = (&clients["boston"], &clients["denver"]);
    let store = Store::private().unwrap();
    let reads = ConfigReads::default();
    let extra = Mutex::new(0usize);
    for op in ops {
        match op {
            Op::Job(i) => {
                let _ = job::run(
                    &store,
                    Source::Live(src),
                    tgt,
                    &spec(i),
                    &reads,
                    &|_| Ok(()),
                )
                .await;
            }
            Op::OtherWrite(i) => {
                let name = format!("other{i}");
                let exists = tgt
                    .config_object(ConfigCollection::SmbShares, Some("data"), &name)
                    .await
                    .unwrap()
                    .is_some();
                if exists {
                    tgt.delete_config(ConfigCollection::SmbShares, Some("data"), &name)
                        .await
                        .unwrap();
                } else {
                    let body = serde_json::json!({
                        "name": name, "path": format!("/ifs/data/p{i:04}"), "permissions": []
                    });
                    tgt.create_config(ConfigCollection::SmbShares, Some("data"), &body)
                        .await
                        .unwrap();
                }
            }
            Op::SourceWrite(i) => {
                let n = {
                    let mut e = extra.lock().unwrap();
                    *e += 1;
                    *e
                };
                let body = serde_json::json!({
                    "name": format!("new{n}"), "path": format!("/ifs/data/p{i:04}"), "permissions": []
                });
                src.create_config(ConfigCollection::SmbShares, Some("data"), &body)
                    .await
                    .unwrap();
            }
            Op::Wait(ms) => tokio::time::advance(std::time::Duration::from_millis(ms)).await,
            Op::Check(i) => {
                let s = spec(i);
                for (cluster, client, zones, base) in [
                    ("denver", tgt, &s.target_zones, &s.target_path),
                    ("boston", src, &s.zones, &s.source_path),
                ] {
                    let shared = reads
                        .read(cluster, client, zones, base, s.kinds)
                        .await
                        .unwrap()
                        .set;
                    let fresh = model::read(client, zones, base, s.kinds).await.unwrap();
                    // Every write here went through the orchestrator's clients: none may
                    // be missing from a shared read.
                    prop_assert_eq!(&shared, &fresh, "{} tree of policy {}", cluster, i);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_shared_read_of_the_target_is_what_a_fresh_read_answers(
        ops in proptest::collection::vec(op(), 1..24)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(run_ops(ops))?;
    }
}

//! State-machine test of the simulated SyncIQ model (issue 6, item 2; records per issue 13)
//! against a small reference model of the documented transitions (DESIGN.md §3), on a pair
//! `src` → `tgt` with policy P and its mirror `P_mirror`:
//!
//! * `allow_write` (target): from `writes_disabled | writes_enabled | resync_policy_created`
//!   to `writes_enabled`;
//! * `allow_write_revert` (target): only from `writes_enabled`, back to `writes_disabled`;
//! * `resync_prep` (source): only when the target record is `writes_enabled`; the target's
//!   record for P → `resync_policy_created`, the source policy disabled, `P_mirror` created (or
//!   re-enabled) on the target, and the source's own record for `P_mirror` →
//!   `writes_disabled`;
//! * failback mirrors it: `allow_write` of `P_mirror` on the source, then `resync_prep` of
//!   `P_mirror` on the target: the source's record for `P_mirror` → `resync_policy_created`,
//!   the target's record for P back to `writes_disabled`, P re-enabled, `P_mirror` disabled;
//! * a policy run is refused while its target record is writable (`writes_enabled`,
//!   `resync_policy_created`) or the policy is disabled.
//!
//! Every transition is a real PAPI request to the simulated clusters' Routers under a paused
//! clock; after it, the simulator's visible state must equal the model's, and a path is
//! writable to clients exactly where its record says so.

use std::time::Duration;

use base64::Engine as _;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use sim_onefs::{Sim, WorldSpec};
use tower::ServiceExt;

const POLICIES: [&str; 2] = ["alpha", "beta"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tp {
    WritesDisabled,
    WritesEnabled,
    ResyncPolicyCreated,
}

impl Tp {
    fn name(self) -> &'static str {
        match self {
            Tp::WritesDisabled => "writes_disabled",
            Tp::WritesEnabled => "writes_enabled",
            Tp::ResyncPolicyCreated => "resync_policy_created",
        }
    }

    /// Clients may write the directory the record covers.
    fn writable(self) -> bool {
        self != Tp::WritesDisabled
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MirrorModel {
    /// `P_mirror` enabled on `tgt`.
    enabled: bool,
    /// `src`'s record for `P_mirror`.
    tp: Tp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PolicyModel {
    /// `tgt`'s record for P.
    tp: Tp,
    source_enabled: bool,
    mirror: Option<MirrorModel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    policies: Vec<PolicyModel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Run,
    AllowWrite,
    AllowWriteRevert,
    ResyncPrep,
    RunMirror,
    AllowWriteMirror,
    ResyncPrepMirror,
}

#[derive(Debug, Clone, Copy)]
struct Transition {
    policy: usize,
    action: Action,
}

impl Model {
    /// Whether the simulator must accept the request.
    fn accepts(&self, t: &Transition) -> bool {
        let p = &self.policies[t.policy];
        match t.action {
            Action::Run => p.source_enabled && !p.tp.writable(),
            Action::AllowWrite => true,
            Action::AllowWriteRevert => p.tp == Tp::WritesEnabled,
            Action::ResyncPrep => p.tp == Tp::WritesEnabled,
            Action::RunMirror => p.mirror.is_some_and(|m| m.enabled && !m.tp.writable()),
            Action::AllowWriteMirror => p.mirror.is_some(),
            Action::ResyncPrepMirror => p.mirror.is_some_and(|m| m.tp == Tp::WritesEnabled),
        }
    }
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            policies: vec![
                PolicyModel {
                    tp: Tp::WritesDisabled,
                    source_enabled: true,
                    mirror: None,
                };
                POLICIES.len()
            ],
        })
        .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Transition> {
        (
            0..POLICIES.len(),
            prop_oneof![
                2 => Just(Action::Run),
                3 => Just(Action::AllowWrite),
                2 => Just(Action::AllowWriteRevert),
                3 => Just(Action::ResyncPrep),
                2 => Just(Action::RunMirror),
                2 => Just(Action::AllowWriteMirror),
                2 => Just(Action::ResyncPrepMirror),
            ],
        )
            .prop_map(|(policy, action)| Transition { policy, action })
            .boxed()
    }

    fn apply(mut state: Model, t: &Transition) -> Model {
        if !state.accepts(t) {
            return state;
        }
        let p = &mut state.policies[t.policy];
        match t.action {
            Action::Run | Action::RunMirror => {}
            Action::AllowWrite => p.tp = Tp::WritesEnabled,
            Action::AllowWriteRevert => p.tp = Tp::WritesDisabled,
            Action::ResyncPrep => {
                p.tp = Tp::ResyncPolicyCreated;
                p.source_enabled = false;
                p.mirror = Some(MirrorModel {
                    enabled: true,
                    tp: Tp::WritesDisabled,
                });
            }
            Action::AllowWriteMirror => {
                if let Some(m) = p.mirror.as_mut() {
                    m.tp = Tp::WritesEnabled;
                }
            }
            Action::ResyncPrepMirror => {
                if let Some(m) = p.mirror.as_mut() {
                    m.tp = Tp::ResyncPolicyCreated;
                    m.enabled = false;
                }
                p.tp = Tp::WritesDisabled;
                p.source_enabled = true;
            }
        }
        state
    }
}

struct Sut {
    rt: tokio::runtime::Runtime,
    sim: Sim,
    /// Status of the last request.
    last_status: u16,
    /// The reference state before the transition being applied: proptest-state-machine hands
    /// `apply` the state *after* it, and acceptance depends on the state before.
    model: Model,
}

const WORLD: &str = r#"
clusters:
  - name: src
    files:
      - {root: /ifs/data/alpha, count: 20, size_bytes: 65536, unsynced_fraction: 0.5}
      - {root: /ifs/data/beta, count: 20, size_bytes: 65536, unsynced_fraction: 0.5}
  - name: tgt
policies:
  - {name: alpha, source: src, target: tgt, source_path: /ifs/data/alpha, target_path: /ifs/data/alpha}
  - {name: beta, source: src, target: tgt, source_path: /ifs/data/beta, target_path: /ifs/data/beta}
"#;

impl Sut {
    fn new(model: Model) -> Sut {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let spec: WorldSpec = yaml_serde::from_str(WORLD).unwrap();
        let sim = rt.block_on(async { Sim::new(&spec, 1).unwrap() });
        Sut {
            rt,
            sim,
            last_status: 0,
            model,
        }
    }

    fn post_job(&mut self, cluster: &str, id: &str, action: &str) {
        let sim = self.sim.clone();
        let (user, pw) = sim.admin_credentials(cluster).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        let body = serde_json::json!({"id": id, "action": action}).to_string();
        let cluster = cluster.to_string();
        self.last_status = self.rt.block_on(async move {
            let router = sim.router(&cluster).unwrap();
            let req = http::Request::post("/platform/14/sync/jobs")
                .header("authorization", format!("Basic {auth}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let status = router.oneshot(req).await.unwrap().status().as_u16();
            // Let every job end (virtual time).
            tokio::time::sleep(Duration::from_secs(4 * 3600)).await;
            status
        });
    }
}

struct SyncIqMachine;

impl StateMachineTest for SyncIqMachine {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(init: &Model) -> Sut {
        Sut::new(init.clone())
    }

    fn apply(mut sut: Sut, after: &Model, t: Transition) -> Sut {
        let before = std::mem::replace(&mut sut.model, after.clone());
        let name = POLICIES[t.policy];
        let mirror = format!("{name}_mirror");
        match t.action {
            Action::Run => sut.post_job("src", name, "run"),
            Action::AllowWrite => sut.post_job("tgt", name, "allow_write"),
            Action::AllowWriteRevert => sut.post_job("tgt", name, "allow_write_revert"),
            Action::ResyncPrep => sut.post_job("src", name, "resync_prep"),
            Action::RunMirror => sut.post_job("tgt", &mirror, "run"),
            Action::AllowWriteMirror => sut.post_job("src", &mirror, "allow_write"),
            Action::ResyncPrepMirror => sut.post_job("tgt", &mirror, "resync_prep"),
        }
        let accepted = (200..300).contains(&sut.last_status);
        assert_eq!(
            accepted,
            before.accepts(&t),
            "{t:?} from {before:?}: the simulator answered {}",
            sut.last_status
        );
        if !accepted {
            assert!(
                [404, 409].contains(&sut.last_status),
                "{t:?}: a refused transition is 404 or 409, got {}",
                sut.last_status
            );
        }
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        // Read the simulator inside its runtime: its lazy event loop advances to tokio's
        // (paused, virtual) clock, which outside the runtime is the wall clock.
        let _rt = sut.rt.enter();
        for (i, name) in POLICIES.iter().enumerate() {
            let m = &model.policies[i];
            let tp = sut.sim.target_policy_state("tgt", name).unwrap();
            assert_eq!(tp["failover_failback_state"], m.tp.name(), "{name}: {tp}");
            let sp = sut.sim.policy_state("src", name).unwrap();
            assert_eq!(sp["enabled"], m.source_enabled, "{name}: {sp}");
            let mname = format!("{name}_mirror");
            let mirror = sut.sim.policy_state("tgt", &mname);
            assert_eq!(mirror.is_some(), m.mirror.is_some(), "{mname}: {mirror:?}");
            let back = sut.sim.target_policy_state("src", &mname);
            assert_eq!(
                back.is_some(),
                m.mirror.is_some(),
                "{mname} on src: {back:?}"
            );
            if let (Some(mm), Some(mirror), Some(back)) = (m.mirror, mirror, back) {
                assert_eq!(mirror["enabled"], mm.enabled, "{mname}: {mirror}");
                assert_eq!(back["failover_failback_state"], mm.tp.name(), "{back}");
            }
            // A directory is writable to clients iff its record says so.
            let path = format!("/ifs/data/{name}/f000000");
            assert_eq!(
                sut.sim.is_writable("tgt", &path),
                m.tp.writable(),
                "tgt {path}"
            );
            let src_writable = m.mirror.is_none_or(|mm| mm.tp.writable());
            assert_eq!(
                sut.sim.is_writable("src", &path),
                src_writable,
                "src {path}"
            );
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn synciq_model_follows_documented_transitions(sequential 1..24 => SyncIqMachine);
}

//! Plan verification's round trip (DESIGN §11): a library world served by `drill serve`
//! (real HTTP and DNS on loopback) is discovered with `dr discover --dump`'s function using a
//! read-only user, imported with `drill import`'s function, and the imported world is
//! equivalent: the same objects (both worlds discovered again and compared), the same plan
//! (instances and edges) and the same simulated outcome (statuses, outcome, invariant
//! verdicts). Also: discovery changes nothing, no secret reaches the file, the file matches
//! its published schema, a wrong version is refused clearly, and the parser never panics.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use orchestrator::dns::{DnsClient, NetDns};
use orchestrator::dump::{self, DumpOptions, InventoryDump, PoolMappingDump, Quiet};
use orchestrator::papi::{ClientOptions, HttpTransport, PapiClient, TlsOptions};
use orchestrator::secret::Secret;
use proptest::prelude::*;
use scenarios::import::{import, import_text, ImportOptions};
use scenarios::serve::{serve, ServeOpts};
use scenarios::Scenario;
use serde_json::Value;
use sim_onefs::spec::{Role, UserSpec};
use tests::{load, run};

const TSIG_SECRET: &str = "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw==";

fn auditor_password(cluster: &str) -> String {
    format!("Aud1t-{cluster}-s3cr3t")
}

fn admin_password(cluster: &str) -> String {
    format!("Adm1n-{cluster}-s3cr3t")
}

/// The scenario with an admin and a read-only auditor on every cluster, a TSIG key on its
/// DNS, and no faults (discovery cannot see faults to come).
fn with_users(mut scn: Scenario) -> Scenario {
    for c in &mut scn.world.clusters {
        c.users = vec![
            UserSpec {
                name: "admin".into(),
                password: admin_password(&c.name),
                role: Role::Admin,
            },
            UserSpec {
                name: "auditor".into(),
                password: auditor_password(&c.name),
                role: Role::ReadOnly,
            },
        ];
    }
    let dns = scn.world.dns.get_or_insert_with(Default::default);
    dns.tsig = Some(
        serde_json::from_value(
            serde_json::json!({"name": "dr-update.", "secret_base64": TSIG_SECRET}),
        )
        .expect("tsig spec"),
    );
    scn.faults.clear();
    scn
}

/// Serve `scn` on loopback and dump it with `user` (password from `password`).
fn serve_and_dump(
    scn: &Scenario,
    user: &str,
    password: impl Fn(&str) -> Option<String>,
    mappings: Vec<PoolMappingDump>,
) -> (InventoryDump, usize, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let h = serve(scn, ServeOpts::default()).await.expect("drill serve");
        let mut clients = BTreeMap::new();
        for c in &h.clusters {
            let t = HttpTransport::new(&c.url, &TlsOptions::default(), 10_000).expect("transport");
            let pw = password(&c.name).unwrap_or_else(|| c.password.clone());
            clients.insert(
                c.name.clone(),
                PapiClient::new(
                    &c.name,
                    Arc::new(t),
                    user,
                    Secret::new(pw),
                    ClientOptions::default(),
                ),
            );
        }
        let server: SocketAddr = h.dns_addr.expect("dns served");
        let dns = DnsClient::new(
            Arc::new(NetDns {
                server,
                timeout_ms: 2_000,
            }),
            None,
        );
        let before = h.sim.audit_log().len();
        let opts = DumpOptions {
            report_limit: 50,
            now_unix_s: 1_767_225_600,
            dns_server: Some(server.to_string()),
            pool_mappings: mappings,
            ..DumpOptions::default()
        };
        let d = dump::discover_dump(&clients, Some(&dns), &opts, &Quiet)
            .await
            .expect("discovery");
        let after = h.sim.audit_log().len();
        h.shutdown().await;
        (d, before, after)
    })
}

/// What must be equal between two worlds' dumps: everything but identities the world
/// generates (GUIDs), times, the DNS server's port and report durations (the imported
/// costs are fitted to whole-second durations).
fn normalise(d: &InventoryDump) -> Value {
    let mut d = d.clone();
    d.discovered_at.clear();
    d.dns.server = None;
    d.pool_mappings.clear();
    for c in &mut d.clusters {
        c.identity.guid.clear();
        c.ads.iter_mut().for_each(|a| a.spns.sort());
        c.quotas.sort_by(|a, b| a.path.cmp(&b.path));
        c.nfs_exports.sort_by(|a, b| a.paths.cmp(&b.paths));
        c.synciq.policies.sort_by(|a, b| a.name.cmp(&b.name));
        c.synciq.target_policies.sort_by(|a, b| a.name.cmp(&b.name));
        for r in &mut c.synciq.reports {
            r.start_time = None;
            r.end_time = None;
            r.duration_s = None;
        }
        c.synciq
            .reports
            .sort_by(|a, b| (&a.policy_name, &a.action).cmp(&(&b.policy_name, &b.action)));
    }
    serde_json::to_value(d).expect("json")
}

/// Plan instances and edges (not expected durations) of `run` on `scn`'s world.
fn plan_shape(scn: &Scenario) -> Value {
    let world = scenarios::world::World::build(&scn.world, scn.seed).expect("world");
    let clients = scenarios::runner::in_process_clients(&world.sim).expect("clients");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let inv = rt
        .block_on(orchestrator::runner::discover(&clients))
        .expect("discover");
    let mut spec = scn.run.clone();
    if spec.pool_mappings.is_empty() {
        spec.pool_mappings = scenarios::runner::world_mappings(scn);
    }
    let plan = orchestrator::build_plan(&spec, &inv).expect("plan");
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            serde_json::json!([
                s.step.as_str(),
                s.policy,
                s.zone,
                s.deps,
                s.job_slot,
                s.not_applicable,
                format!("{:?}", s.actor)
            ])
        })
        .collect();
    let zones = serde_json::to_value(&plan.zones).expect("zones");
    serde_json::json!({"steps": steps, "zones": zones})
}

/// Statuses, outcome and invariant verdicts of a run (no timings).
fn outcome(scn: &Scenario) -> Value {
    let r = run(scn);
    let verdicts: BTreeMap<String, String> = r
        .invariants
        .iter()
        .map(|i| {
            let v = serde_json::to_value(&i.verdict).expect("verdict");
            (i.id.clone(), v["result"].to_string())
        })
        .collect();
    serde_json::json!({
        "outcome": r.report.outcome.as_str(),
        "steps": tests::statuses(&r),
        "invariants": verdicts,
    })
}

struct Trip {
    original: Scenario,
    imported: Scenario,
    dump: InventoryDump,
    dump_text: String,
}

fn round_trip(name: &str, give_mappings: bool) -> Trip {
    round_trip_of(load(name), give_mappings)
}

/// `round_trip` of a scenario (`give_mappings`: the admin records the world's pool mappings,
/// with their policy assignments, in the dump).
fn round_trip_of(scn: Scenario, give_mappings: bool) -> Trip {
    let name = scn.name.clone();
    let name = name.as_str();
    let original = with_users(scn);
    let mappings = if give_mappings {
        original
            .world
            .pool_mappings
            .iter()
            .map(|m| PoolMappingDump {
                source: m.source.clone(),
                target: m.target.clone(),
                policies: m.policies.clone(),
            })
            .collect()
    } else {
        vec![]
    };
    // Discovered with the read-only user: and nothing changed on the clusters.
    let (d, before, after) = serve_and_dump(
        &original,
        "auditor",
        |c| Some(auditor_password(c)),
        mappings,
    );
    assert_eq!(before, after, "{name}: discovery changed the clusters");
    assert!(d.clusters.iter().all(|c| c.reachable));
    let dump_text = serde_json::to_string_pretty(&d).expect("json");

    let opts = ImportOptions {
        seed: original.seed,
        mode: original.run.mode,
        from: Some(original.run.from.clone()),
        to: Some(original.run.to.clone()),
        zone: original.run.zone.clone(),
        pool: original.run.pool.clone(),
        ..ImportOptions::default()
    };
    let imported = import_text(&dump_text, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    Trip {
        original,
        imported,
        dump: d,
        dump_text,
    }
}

fn check_equivalent(name: &str, give_mappings: bool) {
    check_equivalent_trip(name, round_trip(name, give_mappings));
}

fn check_equivalent_trip(name: &str, t: Trip) {
    // Same objects: the imported world, served and discovered, dumps the same.
    let (again, _, _) = serve_and_dump(&t.imported, "admin", |_| None, vec![]);
    assert_eq!(
        normalise(&t.dump),
        normalise(&again),
        "{name}: the imported world differs from the original"
    );

    // Same plan for the same run spec.
    let mut same_run = t.imported.clone();
    same_run.run = t.original.run.clone();
    assert_eq!(
        plan_shape(&t.original),
        plan_shape(&same_run),
        "{name}: plans differ"
    );

    // Same simulated outcome, with the original's clients and operator.
    let mut a = t.original.clone();
    a.expect = Default::default();
    let mut b = same_run;
    b.clients = a.clients.clone();
    b.operator = a.operator.clone();
    let (oa, ob) = (outcome(&a), outcome(&b));
    assert_eq!(oa, ob, "{name}: simulated outcomes differ");
    assert_eq!(oa["outcome"], "succeeded", "{name}: {oa}");

    // The imported scenario as written (its own run and clients) runs and passes.
    let r = run(&t.imported);
    tests::assert_passed(&r);
}

/// ippool-happy with what the world format used to lack: share ACLs (a deny entry, a named
/// group, the default on another share), NFS aliases in two zones, and the pool's policy
/// assignment (only `eng-artifacts` fails over with pool `build`).
fn ippool_with_acls_and_aliases() -> Scenario {
    let mut scn = load("ippool-happy");
    let boston = scn
        .world
        .clusters
        .iter_mut()
        .find(|c| c.name == "boston")
        .expect("boston");
    boston.smb_shares[0].permissions = Some(
        serde_json::from_value(serde_json::json!([
            {"permission": "full", "trustee_id": "SID:S-1-5-21-1-2-3-1001",
             "trustee_name": "CORP\\build-admins", "trustee_type": "group"},
            {"permission": "change", "permission_type": "deny", "trustee_id": "SID:S-1-5-21-1-2-3-1002",
             "trustee_name": "CORP\\contractors", "trustee_type": "group"},
            {"permission": "read", "trustee_id": "SID:S-1-1-0"}
        ]))
        .expect("permissions"),
    );
    boston.nfs_aliases = serde_json::from_value(serde_json::json!([
        {"name": "/artifacts", "path": "/ifs/eng/artifacts", "zone": "eng"},
        {"name": "/code", "path": "/ifs/eng/code", "zone": "eng"},
        {"name": "/root-alias", "path": "/ifs/data"}
    ]))
    .expect("aliases");
    assert_eq!(scn.world.pool_mappings[0].policies, ["eng-artifacts"]);
    scn
}

#[test]
fn share_permissions_nfs_aliases_and_pool_assignments_round_trip() {
    let original = ippool_with_acls_and_aliases();
    let t = round_trip_of(original.clone(), true);
    // The dump saw them on the real PAPI routes…
    let dumped = t
        .dump
        .clusters
        .iter()
        .find(|c| c.name == "boston")
        .expect("boston");
    let artifacts = dumped
        .smb_shares
        .iter()
        .find(|s| s.name == "artifacts")
        .expect("share");
    assert_eq!(artifacts.permissions.len(), 3);
    assert!(artifacts
        .permissions
        .iter()
        .any(|p| p.permission_type == "deny" && p.permission == "change"));
    assert_eq!(dumped.nfs_aliases.len(), 3);
    assert_eq!(t.dump.pool_mappings[0].policies, ["eng-artifacts"]);
    // …and the imported world has them.
    let boston = |s: &Scenario| {
        s.world
            .clusters
            .iter()
            .find(|c| c.name == "boston")
            .cloned()
            .expect("boston")
    };
    let (a, b) = (boston(&original), boston(&t.imported));
    let acl = |c: &sim_onefs::ClusterSpec, share: &str| {
        c.smb_shares
            .iter()
            .find(|s| s.name == share)
            .and_then(|s| s.permissions.clone())
            .map(|ps| {
                ps.into_iter()
                    .map(|p| {
                        (
                            p.permission,
                            p.permission_type,
                            p.trustee_id,
                            p.trustee_name,
                        )
                    })
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(acl(&a, "artifacts"), acl(&b, "artifacts"));
    // The share without an ACL in the world file gets OneFS's default, imported explicitly.
    assert_eq!(acl(&b, "code").map(|v| v.len()), Some(1));
    let mut aliases = b.nfs_aliases.clone();
    aliases.sort_by(|x, y| (&x.zone, &x.name).cmp(&(&y.zone, &y.name)));
    let mut want = a.nfs_aliases.clone();
    want.sort_by(|x, y| (&x.zone, &x.name).cmp(&(&y.zone, &y.name)));
    assert_eq!(aliases, want);
    assert_eq!(
        t.imported.world.pool_mappings[0].policies,
        ["eng-artifacts"]
    );
    // Served again, discovered again, planned and run: equivalent.
    check_equivalent_trip("ippool-happy with ACLs and aliases", t);
}

#[test]
fn synciq_world_round_trips() {
    check_equivalent("synciq-happy-3", false);
}

#[test]
fn access_zone_dual_world_round_trips() {
    let t = round_trip("az-happy-dual", false);
    // The dual delegation and its pool mapping come from DNS, not from the world file.
    assert!(t.dump.dns.names.iter().any(|n| n.mode == "dual"));
    assert_eq!(
        t.imported.world.pool_mappings.len(),
        t.original.world.pool_mappings.len()
    );
    check_equivalent("az-happy-dual", false);
}

#[test]
fn access_zone_single_world_round_trips_with_the_given_mapping() {
    check_equivalent("az-happy-single", true);
}

#[test]
fn no_secret_in_the_dump() {
    let t = round_trip("az-happy-single", true);
    let mut secrets = vec![TSIG_SECRET.to_string(), "s3cr3t".to_string()];
    for c in &t.original.world.clusters {
        secrets.push(admin_password(&c.name));
        secrets.push(auditor_password(&c.name));
    }
    for s in secrets {
        assert!(!t.dump_text.contains(&s), "the dump contains a secret");
    }
    // Nor in the imported scenario.
    let yaml = scenarios::import::to_yaml(&t.imported).expect("yaml");
    assert!(!yaml.contains(TSIG_SECRET) && !yaml.contains("s3cr3t"));
}

#[test]
fn dump_validates_against_its_schema() {
    let t = round_trip("az-happy-dual", false);
    let schema = dump::schema();
    let doc: Value = serde_json::from_str(&t.dump_text).expect("json");
    let mut errors = Vec::new();
    validate(&schema, &schema, &doc, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    // And the check bites: a wrong type and an unknown key are reported.
    let mut bad = doc.clone();
    bad["version"] = Value::String("1".into());
    bad["colour"] = Value::Bool(true);
    let mut errors = Vec::new();
    validate(&schema, &schema, &bad, "$", &mut errors);
    assert!(errors.len() >= 2, "{errors:?}");
}

#[test]
fn import_refuses_another_version_clearly() {
    let t = round_trip("synciq-happy-3", false);
    let mut v: Value = serde_json::from_str(&t.dump_text).expect("json");
    v["version"] = Value::from(2);
    let err = import_text(&v.to_string(), &ImportOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("inventory version 2 is not supported")
            && err.contains("this build reads version 1"),
        "{err}"
    );
    v["version"] = Value::from(1);
    v["format"] = Value::from("something-else");
    let err = import_text(&v.to_string(), &ImportOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not a Failover Lab inventory"), "{err}");
    // One reachable cluster is not a failover world.
    let mut one = t.dump.clone();
    one.clusters.truncate(1);
    let err = import(&one, &ImportOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("needs two"), "{err}");
}

/// A small JSON Schema checker for what schemars emits: `$ref` into `$defs`, `type`
/// (one or a list), `properties`, `required`, `additionalProperties: false`, `items`,
/// `anyOf`/`oneOf`, `enum`, `const`.
fn validate(root: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        match root["$defs"].get(name) {
            Some(def) => validate(root, def, v, at, errs),
            None => errs.push(format!("{at}: unresolved {r}")),
        }
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let ok = alts.iter().any(|a| {
                let mut e = Vec::new();
                validate(root, a, v, at, &mut e);
                e.is_empty()
            });
            if !ok {
                errs.push(format!("{at}: matches no alternative of {key}"));
            }
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(x) => vec![x.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            _ => false,
        });
        if !ok {
            errs.push(format!("{at}: {v} is not {types:?}"));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{at}: {v} not in enum"));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = r.as_str() {
                if !o.contains_key(k) {
                    errs.push(format!("{at}: missing required {k}"));
                }
            }
        }
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, x, &format!("{at}.{k}"), errs),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{at}: unknown key {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), s.get("items")) {
        for (i, x) in a.iter().enumerate() {
            validate(root, items, x, &format!("{at}[{i}]"), errs);
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9_./-]{0,12}".prop_map(Value::String),
        Just(Value::from("failover-lab-inventory")),
        Just(Value::from(1)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("format".to_string()),
                    Just("version".to_string()),
                    Just("clusters".to_string()),
                    Just("name".to_string()),
                    Just("synciq".to_string()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary JSON (and arbitrary text) never panics the parser or the importer: it is
    /// an inventory or a clear error.
    #[test]
    fn import_parser_never_panics(v in arb_json(), text in ".{0,40}") {
        let _ = import_text(&v.to_string(), &ImportOptions::default());
        let mut doc = serde_json::json!({"format": "failover-lab-inventory", "version": 1,
                                          "discovered_at": "x", "clusters": []});
        doc["clusters"] = Value::Array(vec![v.clone(), v]);
        let _ = import_text(&doc.to_string(), &ImportOptions::default());
        let _ = import_text(&text, &ImportOptions::default());
    }
}

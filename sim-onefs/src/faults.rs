//! Fault injection: rule types (parsed from a scenario's `faults:`), matching and bookkeeping.
//!
//! A rule's `when` conditions are AND-ed. Rules fall into three families, decided by the
//! effect, because each is evaluated at a different point:
//! * request rules (`http`, `delay`, `drop_connection`, `lost_write`, and cluster/link effects
//!   that carry request conditions) are matched in the PAPI middleware before a handler runs;
//! * job rules (`syncjob_fail`, `allow_write_fail`, `resync_prep_fail`) are matched when a
//!   `POST sync/jobs` creates a job of the matching action;
//! * time rules (cluster/link effects with no request condition) fire during `advance` at `at`.
//!
//! `ad_unreachable` and `spn_collision` act on the world's AD domain like the cluster/link
//! effects (time rules, or request rules when they carry request conditions).
//! `orchestrator_crash` is not the world's business: it is stored and handed to the harness
//! (`Sim::pending_harness_faults`).
//!
//! Firing limits, so that a retrying client eventually gets through: `http` fires `count`
//! times (default 1), `delay`, `lost_write` and the job rules fire on every match (narrow
//! them with `nth`), everything else once.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::audit::ReqCtx;

/// One fault rule: conditions and an effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default)]
    pub when: FaultMatch,
    pub effect: FaultEffect,
}

/// Conditions of a rule; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultMatch {
    /// Orchestrator step id (header `x-dr-step`).
    #[serde(default)]
    pub step: Option<String>,
    /// Policy name (header `x-dr-policy`; for job rules also the job's policy name).
    #[serde(default)]
    pub policy: Option<String>,
    /// Access zone (header `x-dr-zone`).
    #[serde(default)]
    pub zone: Option<String>,
    /// Cluster that receives the request.
    #[serde(default)]
    pub cluster: Option<String>,
    /// HTTP method, case-insensitive.
    #[serde(default)]
    pub method: Option<String>,
    /// Path after `/platform/N/`; matches whole leading segments (`sync/policies` matches
    /// `sync/policies/eng`).
    #[serde(default)]
    pub route: Option<String>,
    /// Fire from the nth (1-based) match on.
    #[serde(default)]
    pub nth: Option<u64>,
    /// Virtual time since the world started; for time rules the firing time, otherwise a
    /// "not before" condition.
    #[serde(default)]
    pub at: Option<DurationSpec>,
    /// Chance (0–1) per match, drawn from the world's seeded RNG.
    #[serde(default)]
    pub probability: Option<f64>,
}

/// What a rule does when it fires. Deserialises from a bare snake_case name
/// (`drop_connection`) or a one-key map (`{http: {status: 500, count: 10}}`).
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultEffect {
    Http {
        status: u16,
        #[serde(default)]
        count: Option<u64>,
    },
    Delay {
        ms: u64,
    },
    DropConnection,
    /// The cluster acknowledges a configuration write (2xx) and does not keep it, as after a
    /// node panic before the change was committed or an admin undoing it at once: the
    /// cluster's configuration (shares, exports, quotas, zones, pools…) is put back as it was
    /// before the request. SyncIQ state is not affected. Fires on every matching write.
    /// Tests the read-backs that S1 and S4 rely on (DESIGN §2).
    LostWrite,
    SyncjobFail {
        at_progress: f64,
    },
    AllowWriteFail,
    ResyncPrepFail,
    ClusterDown {
        #[serde(default)]
        cluster: Option<String>,
    },
    ClusterUp {
        #[serde(default)]
        cluster: Option<String>,
    },
    LinkPartition,
    LinkHeal,
    AdUnreachable,
    SpnCollision {
        spn: String,
        account: String,
    },
    OrchestratorCrash,
}

const EFFECT_NAMES: &[&str] = &[
    "http",
    "delay",
    "drop_connection",
    "lost_write",
    "syncjob_fail",
    "allow_write_fail",
    "resync_prep_fail",
    "cluster_down",
    "cluster_up",
    "link_partition",
    "link_heal",
    "ad_unreachable",
    "spn_collision",
    "orchestrator_crash",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpParams {
    status: u16,
    #[serde(default)]
    count: Option<u64>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayParams {
    ms: u64,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressParams {
    at_progress: f64,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterParams {
    #[serde(default)]
    cluster: Option<String>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpnParams {
    spn: String,
    account: String,
}
/// Parameters of an effect that takes none: `{drop_connection: {}}` or `{drop_connection: null}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

fn unit_effect(name: &str) -> Option<FaultEffect> {
    Some(match name {
        "drop_connection" => FaultEffect::DropConnection,
        "lost_write" => FaultEffect::LostWrite,
        "allow_write_fail" => FaultEffect::AllowWriteFail,
        "resync_prep_fail" => FaultEffect::ResyncPrepFail,
        "cluster_down" => FaultEffect::ClusterDown { cluster: None },
        "cluster_up" => FaultEffect::ClusterUp { cluster: None },
        "link_partition" => FaultEffect::LinkPartition,
        "link_heal" => FaultEffect::LinkHeal,
        "ad_unreachable" => FaultEffect::AdUnreachable,
        "orchestrator_crash" => FaultEffect::OrchestratorCrash,
        _ => return None,
    })
}

struct EffectVisitor;

impl<'de> Visitor<'de> for EffectVisitor {
    type Value = FaultEffect;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a fault effect: a name like `drop_connection` or a one-key map like `{http: {status: 503}}`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FaultEffect, E> {
        if let Some(e) = unit_effect(v) {
            return Ok(e);
        }
        match v {
            "http" | "delay" | "syncjob_fail" | "spn_collision" => Err(E::custom(format!(
                "fault effect `{v}` needs parameters, e.g. `{{{v}: {{...}}}}`"
            ))),
            other => Err(E::unknown_variant(other, EFFECT_NAMES)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FaultEffect, A::Error> {
        let key: String = map
            .next_key()?
            .ok_or_else(|| de::Error::custom("empty fault effect map: expected one key"))?;
        let effect = match key.as_str() {
            "http" => {
                let p: HttpParams = map.next_value()?;
                FaultEffect::Http {
                    status: p.status,
                    count: p.count,
                }
            }
            "delay" => FaultEffect::Delay {
                ms: map.next_value::<DelayParams>()?.ms,
            },
            "syncjob_fail" => FaultEffect::SyncjobFail {
                at_progress: map.next_value::<ProgressParams>()?.at_progress,
            },
            "spn_collision" => {
                let p: SpnParams = map.next_value()?;
                FaultEffect::SpnCollision {
                    spn: p.spn,
                    account: p.account,
                }
            }
            "cluster_down" | "cluster_up" => {
                let cluster = map
                    .next_value::<Option<ClusterParams>>()?
                    .and_then(|p| p.cluster);
                if key == "cluster_down" {
                    FaultEffect::ClusterDown { cluster }
                } else {
                    FaultEffect::ClusterUp { cluster }
                }
            }
            other => match unit_effect(other) {
                Some(e) => {
                    map.next_value::<Option<NoParams>>()?;
                    e
                }
                None => return Err(de::Error::unknown_variant(other, EFFECT_NAMES)),
            },
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a fault effect map has exactly one key; found `{key}` and `{extra}`"
            )));
        }
        Ok(effect)
    }
}

impl<'de> Deserialize<'de> for FaultEffect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EffectVisitor)
    }
}

/// A duration in milliseconds. Deserialises from `"90s"`, `"5m"`, `"250ms"`, `"1h"`, `"1d"`,
/// compounds like `"1m30s"`, or a bare integer (milliseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DurationSpec(pub u64);

/// Parse a duration string (see [`DurationSpec`]) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let err = || {
        format!("invalid duration `{s}`: expected e.g. `90s`, `5m`, `250ms`, `1h` or an integer number of milliseconds")
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<u64>().map_err(|_| err());
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return Err(err()),
        };
        total += n * factor;
        rest = rest[unit_len..].trim_start();
    }
    if !total.is_finite() || total < 0.0 || total > u64::MAX as f64 {
        return Err(err());
    }
    Ok(total.round() as u64)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = DurationSpec;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a duration like `90s`, `5m`, `250ms`, `1h` or an integer number of milliseconds",
        )
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationSpec, E> {
        Ok(DurationSpec(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationSpec, E> {
        u64::try_from(v)
            .map(DurationSpec)
            .map_err(|_| E::custom(format!("duration must not be negative: {v}")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationSpec, E> {
        parse_duration_ms(v).map(DurationSpec).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

impl JsonSchema for DurationSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DurationSpec".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: `90s`, `5m`, `250ms`, `1h`, `1m30s`, or an integer number of milliseconds",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*([0-9]+(\\.[0-9]+)?\\s*(ms|s|m|min|h|d)\\s*)+$"}
            ]
        })
    }
}

impl FaultEffect {
    /// The snake_case name of the effect (as written in scenarios).
    pub fn name(&self) -> &'static str {
        match self {
            FaultEffect::Http { .. } => "http",
            FaultEffect::Delay { .. } => "delay",
            FaultEffect::DropConnection => "drop_connection",
            FaultEffect::LostWrite => "lost_write",
            FaultEffect::SyncjobFail { .. } => "syncjob_fail",
            FaultEffect::AllowWriteFail => "allow_write_fail",
            FaultEffect::ResyncPrepFail => "resync_prep_fail",
            FaultEffect::ClusterDown { .. } => "cluster_down",
            FaultEffect::ClusterUp { .. } => "cluster_up",
            FaultEffect::LinkPartition => "link_partition",
            FaultEffect::LinkHeal => "link_heal",
            FaultEffect::AdUnreachable => "ad_unreachable",
            FaultEffect::SpnCollision { .. } => "spn_collision",
            FaultEffect::OrchestratorCrash => "orchestrator_crash",
        }
    }
}

/// Which family a rule belongs to (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Request,
    Job,
    Time,
    Harness,
}

impl FaultRule {
    pub fn kind(&self) -> RuleKind {
        let w = &self.when;
        let has_request_cond = w.step.is_some()
            || w.policy.is_some()
            || w.zone.is_some()
            || w.method.is_some()
            || w.route.is_some()
            || w.nth.is_some();
        match &self.effect {
            FaultEffect::OrchestratorCrash => RuleKind::Harness,
            FaultEffect::SyncjobFail { .. }
            | FaultEffect::AllowWriteFail
            | FaultEffect::ResyncPrepFail => RuleKind::Job,
            FaultEffect::ClusterDown { .. }
            | FaultEffect::ClusterUp { .. }
            | FaultEffect::LinkPartition
            | FaultEffect::LinkHeal
            | FaultEffect::AdUnreachable
            | FaultEffect::SpnCollision { .. }
                if !has_request_cond =>
            {
                RuleKind::Time
            }
            _ => RuleKind::Request,
        }
    }

    /// How many times the rule may fire in total.
    pub fn fire_limit(&self) -> u64 {
        match &self.effect {
            FaultEffect::Http { count, .. } => count.unwrap_or(1),
            FaultEffect::Delay { .. }
            | FaultEffect::LostWrite
            | FaultEffect::SyncjobFail { .. }
            | FaultEffect::AllowWriteFail
            | FaultEffect::ResyncPrepFail => u64::MAX,
            _ => 1,
        }
    }

    /// Check parameter ranges; the message names the bad key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.when.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "fault `when.probability` must be within 0..=1, got {p}"
                ));
            }
        }
        if self.when.nth == Some(0) {
            return Err("fault `when.nth` is 1-based; 0 is not allowed".to_string());
        }
        match &self.effect {
            FaultEffect::SyncjobFail { at_progress } if !(0.0..=1.0).contains(at_progress) => Err(
                format!("fault `syncjob_fail.at_progress` must be within 0..=1, got {at_progress}"),
            ),
            FaultEffect::Http { status, .. } if !(100..=599).contains(status) => Err(format!(
                "fault `http.status` must be an HTTP status, got {status}"
            )),
            _ => Ok(()),
        }
    }
}

/// A rule plus its counters (part of the world state so replays are exact).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultState {
    pub index: usize,
    pub rule: FaultRule,
    /// Requests (or job creations) that matched the rule's conditions.
    pub matches: u64,
    pub fired: u64,
    /// Time rules: already processed.
    pub done: bool,
    pub added_ms: u64,
}

/// What a matched request looks like to the rules.
pub struct RequestInfo<'a> {
    pub cluster: &'a str,
    pub method: &'a str,
    /// Path after `/platform/N/`, without a query string.
    pub route: &'a str,
    pub ctx: &'a ReqCtx,
    pub now_ms: u64,
    /// For job rules: the policy of the job being created.
    pub job_policy: Option<&'a str>,
}

/// Segment-wise prefix match: `sync/policies` matches `sync/policies/eng`, not `sync/policiesx`.
pub fn route_matches(pattern: &str, route: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let r: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    p.len() <= r.len() && p.iter().zip(&r).all(|(a, b)| a == b)
}

/// The rule's conditions other than `nth` and `probability`.
pub fn conditions_match(m: &FaultMatch, req: &RequestInfo) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| match want {
        None => true,
        Some(w) => have.as_deref() == Some(w.as_str()),
    };
    if !eq(&m.step, &req.ctx.step) || !eq(&m.zone, &req.ctx.zone) {
        return false;
    }
    if let Some(p) = &m.policy {
        let by_header = req.ctx.policy.as_deref() == Some(p.as_str());
        let by_job = req.job_policy == Some(p.as_str());
        if !by_header && !by_job {
            return false;
        }
    }
    if m.cluster.as_deref().is_some_and(|c| c != req.cluster) {
        return false;
    }
    if m.method
        .as_deref()
        .is_some_and(|x| !x.eq_ignore_ascii_case(req.method))
    {
        return false;
    }
    if m.route
        .as_deref()
        .is_some_and(|r| !route_matches(r, req.route))
    {
        return false;
    }
    if m.at.is_some_and(|at| req.now_ms < at.0) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(y: &str) -> Result<FaultEffect, String> {
        yaml_serde::from_str::<FaultEffect>(y).map_err(|e| e.to_string())
    }

    #[test]
    fn durations_parse() {
        let d = |s: &str| {
            yaml_serde::from_str::<DurationSpec>(s)
                .map(|d| d.0)
                .map_err(|e| e.to_string())
        };
        assert_eq!(d("90s"), Ok(90_000));
        assert_eq!(d("5m"), Ok(300_000));
        assert_eq!(d("250ms"), Ok(250));
        assert_eq!(d("1h"), Ok(3_600_000));
        assert_eq!(d("1m30s"), Ok(90_000));
        assert_eq!(d("1500"), Ok(1500));
        assert_eq!(d("'1500'"), Ok(1500));
        assert!(d("abc").unwrap_err().contains("invalid duration"));
        assert!(d("5 parsecs").is_err());
        assert!(d("-5").is_err());
        assert_eq!(
            serde_json::from_str::<DurationSpec>("42").unwrap(),
            DurationSpec(42)
        );
    }

    #[test]
    fn effects_parse_from_name_or_map() {
        assert_eq!(effect("drop_connection"), Ok(FaultEffect::DropConnection));
        assert_eq!(effect("lost_write"), Ok(FaultEffect::LostWrite));
        assert_eq!(effect("{lost_write: {}}"), Ok(FaultEffect::LostWrite));
        assert_eq!(
            effect("{drop_connection: {}}"),
            Ok(FaultEffect::DropConnection)
        );
        assert_eq!(
            effect("cluster_down"),
            Ok(FaultEffect::ClusterDown { cluster: None })
        );
        assert_eq!(
            effect("{cluster_down: {cluster: dr}}"),
            Ok(FaultEffect::ClusterDown {
                cluster: Some("dr".into())
            })
        );
        assert_eq!(
            effect("{http: {status: 500, count: 10}}"),
            Ok(FaultEffect::Http {
                status: 500,
                count: Some(10)
            })
        );
        assert_eq!(
            effect("{http: {status: 503}}"),
            Ok(FaultEffect::Http {
                status: 503,
                count: None
            })
        );
        assert_eq!(
            effect("{syncjob_fail: {at_progress: 0.5}}"),
            Ok(FaultEffect::SyncjobFail { at_progress: 0.5 })
        );
        assert_eq!(
            effect("{spn_collision: {spn: HOST/x, account: dr}}"),
            Ok(FaultEffect::SpnCollision {
                spn: "HOST/x".into(),
                account: "dr".into()
            })
        );
        assert_eq!(
            effect("{delay: {ms: 100}}"),
            Ok(FaultEffect::Delay { ms: 100 })
        );
        assert!(effect("http").unwrap_err().contains("needs parameters"));
        assert!(effect("explode").is_err());
        assert!(effect("{http: {status: 500, cnt: 1}}").is_err());
        assert!(effect("{http: {status: 500}, delay: {ms: 1}}").is_err());
        // JSON round trip of the serialised form
        for e in [
            FaultEffect::LinkHeal,
            FaultEffect::Http {
                status: 500,
                count: Some(2),
            },
            FaultEffect::ClusterUp { cluster: None },
        ] {
            let s = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<FaultEffect>(&s).unwrap(), e);
        }
    }

    #[test]
    fn rules_parse_and_classify() {
        let rules: Vec<FaultRule> = yaml_serde::from_str(
            "- when: {step: sync_data, policy: finance-batch}\n  effect: {syncjob_fail: {at_progress: 0.5}}\n\
             - when: {cluster: denver, method: POST, route: sync/jobs, step: allow_write, policy: eng}\n  effect: {http: {status: 500, count: 10}}\n\
             - when: {at: 90s, cluster: dr}\n  effect: cluster_down\n\
             - when: {step: allow_write}\n  effect: orchestrator_crash\n",
        )
        .unwrap();
        let kinds: Vec<RuleKind> = rules.iter().map(|r| r.kind()).collect();
        assert_eq!(
            kinds,
            [
                RuleKind::Job,
                RuleKind::Request,
                RuleKind::Time,
                RuleKind::Harness
            ]
        );
        assert_eq!(rules[2].when.at, Some(DurationSpec(90_000)));
        assert!(yaml_serde::from_str::<FaultRule>("when: {stepp: x}\neffect: link_heal").is_err());
        assert!(route_matches("sync/policies", "sync/policies/eng"));
        assert!(route_matches("/sync/jobs/", "sync/jobs"));
        assert!(!route_matches("sync/policies", "sync/policiesx"));
        assert!(!route_matches("sync/jobs/eng", "sync/jobs"));
    }
}

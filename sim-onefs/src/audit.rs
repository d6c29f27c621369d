//! The audit log: every state change in the world, in order, with virtual time and the
//! request context (`x-dr-*` headers) that caused it. The invariant checker reads only this
//! (plus the final state), so entries must be complete and deterministic.

use serde::{Deserialize, Serialize};

/// Request context carried by the orchestrator's `x-dr-*` headers, plus the authenticated actor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqCtx {
    pub actor: String,
    pub run: Option<String>,
    pub step: Option<String>,
    pub policy: Option<String>,
    pub zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1-based position in the log.
    pub seq: u64,
    pub t_ms: u64,
    pub cluster: String,
    /// User name, `syncIQ`, `client:<name>` or `fault`.
    pub actor: String,
    pub run: Option<String>,
    pub step: Option<String>,
    pub policy: Option<String>,
    pub zone: Option<String>,
    pub action: String,
    pub object: String,
    /// `ok` or `error: …`
    pub result: String,
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// A new `ok` entry without context; `seq` is assigned when it is pushed.
    pub fn new(t_ms: u64, cluster: &str, actor: &str, action: &str, object: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            t_ms,
            cluster: cluster.to_string(),
            actor: actor.to_string(),
            run: None,
            step: None,
            policy: None,
            zone: None,
            action: action.to_string(),
            object: object.to_string(),
            result: "ok".to_string(),
            detail: serde_json::Value::Null,
        }
    }

    /// Copy run/step/policy/zone from a request context (the actor is set separately).
    pub fn ctx(mut self, ctx: &ReqCtx) -> AuditEntry {
        self.run = ctx.run.clone();
        self.step = ctx.step.clone();
        self.policy = ctx.policy.clone();
        self.zone = ctx.zone.clone();
        self
    }

    pub fn error(mut self, msg: &str) -> AuditEntry {
        self.result = format!("error: {msg}");
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> AuditEntry {
        self.detail = detail;
        self
    }
}

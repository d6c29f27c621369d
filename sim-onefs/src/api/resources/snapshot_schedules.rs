//! `snapshot/schedules[/{id|name}]`: snapshot schedules, keyed by their numeric id. Also the
//! bulk `DELETE snapshot/schedules`.

use serde_json::{json, Value};

use super::super::collection::{
    merge, stored_in, Created, Ctx, Op, Query, Req, Resource, Scope, Spec,
};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use crate::config::{ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct SnapshotSchedules;

fn find_schedule(c: &ConfigState, key: &str) -> Result<u64, ApiError> {
    if let Ok(n) = key.parse::<u64>() {
        if c.snapshot_schedules.contains_key(&n) {
            return Ok(n);
        }
    }
    c.snapshot_schedules
        .iter()
        .find(|(_, o)| str_field(o, "name") == Some(key))
        .map(|(n, _)| *n)
        .ok_or_else(|| ApiError::not_found(format!("Snapshot schedule {key} not found")))
}

fn exists(name: &str) -> ApiError {
    ApiError::conflict(format!("Snapshot schedule {name} already exists"))
}

impl Resource for SnapshotSchedules {
    const SPEC: Spec = Spec::new("snapshot_schedule", "schedules", "snapshot.schedule")
        .required(&["name", "path", "pattern", "schedule"])
        .read_only(&["id", "next_run", "next_snapshot"])
        .paths(&["path"])
        .bulk("/snapshot.schedules.delete_all", &[]);

    stored_in!(u64, snapshot_schedules);
    fn find(c: &ConfigState, _scope: &Scope, req: &Req) -> Result<u64, ApiError> {
        find_schedule(c, &req.id())
    }
    fn render(_cl: &Cluster, _scope: &Scope, key: &u64, o: &Obj) -> Value {
        render("snapshot_schedule", o, json!({"id": key}))
    }
    fn plain_parts(
        _cl: &Cluster,
        _scope: &Scope,
        key: &u64,
        _o: &Obj,
    ) -> Option<(&'static str, Value)> {
        Some(("snapshot_schedule", json!({"id": key})))
    }
    fn check_body(_op: Op, _req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        if let Some(s) = str_field(m, "schedule") {
            let l = s.to_ascii_lowercase();
            let ok = !s.trim().is_empty()
                && (l.starts_with("every") || l.starts_with("the ") || l.starts_with("yearly"));
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "Field: schedule: cannot parse `{s}` (e.g. `every 1 days at 10:00`)"
                )));
            }
        }
        if str_field(m, "name").is_some_and(str::is_empty) {
            return Err(ApiError::bad_request("Field: name must not be empty"));
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, m: Obj) -> Result<Created<u64>, ApiError> {
        let Ctx { c, .. } = cx;
        let name = str_field(&m, "name").unwrap_or_default();
        if find_schedule(c, name).is_ok() {
            return Err(exists(name));
        }
        let id = c.next_schedule_id;
        c.next_schedule_id += 1;
        Ok(Created::new(id, id, json!(id), m))
    }
    fn update(cx: Ctx<'_>, n: &u64, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, .. } = cx;
        if let Some(name) = str_field(&m, "name") {
            if find_schedule(c, name).is_ok_and(|o| o != *n) {
                return Err(exists(name));
            }
        }
        if let Some(o) = c.snapshot_schedules.get_mut(n) {
            merge(o, &m, &[]);
        }
        Ok(Value::Object(m))
    }
    /// `DELETE snapshot/schedules`: every snapshot schedule.
    fn delete_matching(cx: Ctx<'_>, _q: &Query) -> Result<(String, Value), ApiError> {
        let c = cx.c;
        let gone: Vec<Value> = std::mem::take(&mut c.snapshot_schedules)
            .into_iter()
            .map(|(id, o)| json!({"id": id, "name": o.get("name")}))
            .collect();
        Ok(("schedules".into(), json!({"deleted": gone})))
    }
}

//! One module per configuration resource. Most are a [`Resource`] (a type and its rules,
//! served by the generic collection of `api/collection.rs`); `settings` and `ads` are
//! singletons with their own handlers.
//!
//! [`Resource`]: super::collection::Resource

pub(super) mod ads;
pub(super) mod groupnets;
pub(super) mod nfs_aliases;
pub(super) mod nfs_exports;
pub(super) mod openfiles;
pub(super) mod pools;
pub(super) mod quotas;
pub(super) mod settings;
pub(super) mod smb_shares;
pub(super) mod snapshot_schedules;
pub(super) mod subnets;
pub(super) mod zones;

use super::ApiError;
use crate::config::ConfigState;
use crate::model::is_under;

/// A path of a zoned object must lie within the zone's base path.
pub(super) fn check_under_zone(
    c: &ConfigState,
    zone: &str,
    field: &str,
    path: &str,
) -> Result<(), ApiError> {
    let base = c.zone_base(zone).unwrap_or_else(|| "/ifs".into());
    if is_under(path, &base) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Field: {field}: `{path}` is not within the base path {base} of zone {zone}"
        )))
    }
}

/// A body's `path` (if any) must lie within the zone's base path.
pub(super) fn check_path_in_zone(
    c: &ConfigState,
    zone: &str,
    m: &crate::config::Obj,
) -> Result<(), ApiError> {
    match super::objects::str_field(m, "path") {
        Some(p) => check_under_zone(c, zone, "path", p),
        None => Ok(()),
    }
}

/// Move a body's `zone` into the request's query (a body zone addresses the object).
pub(super) fn body_zone(req: &mut super::collection::Req, zone: Option<serde_json::Value>) {
    if let Some(z) = zone.and_then(|z| z.as_str().map(str::to_string)) {
        req.query.insert("zone".into(), z);
    }
}

// ------------------------------------------------------------------------- network

/// Read-only fields of groupnets, subnets and pools.
pub(super) const NET_RO: &[&str] = &[
    "id",
    "groupnet",
    "subnet",
    "subnets",
    "pools",
    "addr_family_ro",
];

pub(super) fn check_net_name(m: &crate::config::Obj) -> Result<(), ApiError> {
    if let Some(n) = super::objects::str_field(m, "name") {
        if n.is_empty()
            || n.len() > 32
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ApiError::bad_request(format!(
                "Field: name: `{n}` must be 1-32 characters of [0-9a-zA-Z_-]"
            )));
        }
    }
    Ok(())
}

pub(super) fn check_description(m: &crate::config::Obj) -> Result<(), ApiError> {
    if super::objects::str_field(m, "description").is_some_and(|d| d.chars().count() > 128) {
        return Err(ApiError::bad_request(
            "Field: description must be at most 128 characters",
        ));
    }
    Ok(())
}

pub(super) fn need_groupnet(c: &ConfigState, g: &str) -> Result<(), ApiError> {
    if c.groupnets.contains_key(g) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("Groupnet {g} not found")))
    }
}

/// The key (`groupnet.subnet`) of an existing subnet.
pub(super) fn need_subnet(c: &ConfigState, g: &str, s: &str) -> Result<String, ApiError> {
    need_groupnet(c, g)?;
    let k = format!("{g}.{s}");
    if c.subnets.contains_key(&k) {
        Ok(k)
    } else {
        Err(ApiError::not_found(format!("Subnet {k} not found")))
    }
}

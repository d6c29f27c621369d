//! `protocols/smb/openfiles[/{id}]`: SMB open files (list; delete = close).

use serde_json::{json, Value};

use super::super::collection::{stored_in, Req, Resource, Scope, Spec};
use super::super::objects::render;
use super::super::ApiError;
use crate::config::{ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct OpenFiles;

impl Resource for OpenFiles {
    const SPEC: Spec = Spec::new("smb_openfile", "openfiles", "smb.openfile")
        .read_only(&["id"])
        .raw_id()
        .delete_action("close");

    stored_in!(u64, openfiles);
    fn find(c: &ConfigState, _scope: &Scope, req: &Req) -> Result<u64, ApiError> {
        let id = req.id();
        id.parse::<u64>()
            .ok()
            .filter(|n| c.openfiles.contains_key(n))
            .ok_or_else(|| ApiError::not_found(format!("Open file {id} not found")))
    }
    fn render(_cl: &Cluster, _scope: &Scope, key: &u64, o: &Obj) -> Value {
        render("smb_openfile", o, json!({"id": key}))
    }
}

//! `network/groupnets[/{g}]`: groupnets, keyed by name.

use serde_json::{json, Value};

use super::super::collection::{stored_in, Created, Ctx, Op, Req, Resource, Scope, Spec};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use super::{check_description, check_net_name, need_groupnet, NET_RO};
use crate::config::{ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct Groupnets;

impl Resource for Groupnets {
    const SPEC: Spec = Spec::new("groupnet", "groupnets", "network.groupnet")
        .required(&["name"])
        .read_only(NET_RO);

    stored_in!(String, groupnets);
    fn find(c: &ConfigState, _scope: &Scope, req: &Req) -> Result<String, ApiError> {
        let g = req.param("g");
        need_groupnet(c, &g)?;
        Ok(g)
    }
    fn render(cl: &Cluster, _scope: &Scope, name: &String, o: &Obj) -> Value {
        let subnets: Vec<&str> = cl
            .cfg
            .subnets
            .values()
            .filter(|s| str_field(s, "groupnet") == Some(name))
            .filter_map(|s| str_field(s, "name"))
            .collect();
        render(
            "groupnet",
            o,
            json!({"id": name, "name": name, "subnets": subnets}),
        )
    }
    /// Name, description, `dns_servers` (IP addresses); a PUT may not rename.
    fn check_body(op: Op, req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        check_net_name(m)?;
        check_description(m)?;
        if let Some(Value::Array(a)) = m.get("dns_servers") {
            for x in a {
                let ip = x.as_str().and_then(|s| s.parse::<std::net::IpAddr>().ok());
                if ip.is_none() {
                    return Err(ApiError::bad_request(format!(
                        "Field: dns_servers: {x} is not an IP address"
                    )));
                }
            }
        }
        let g = req.param("g");
        if op == Op::Update && m.contains_key("name") && str_field(m, "name") != Some(g.as_str()) {
            return Err(ApiError::bad_request(
                "Field: name: groupnets cannot be renamed here",
            ));
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, .. } = cx;
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        if c.groupnets.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "Groupnet {name} already exists"
            )));
        }
        Ok(Created::new(name.clone(), &name, json!(name), m))
    }
    fn delete(c: &mut ConfigState, _req: &Req, g: &String) -> Result<Value, ApiError> {
        if c.subnets
            .values()
            .any(|s| str_field(s, "groupnet") == Some(g.as_str()))
        {
            return Err(ApiError::conflict(format!("Groupnet {g} has subnets")));
        }
        if let Some(z) = c
            .zones
            .iter()
            .find(|(_, z)| str_field(z, "groupnet").unwrap_or("groupnet0") == g)
        {
            return Err(ApiError::conflict(format!(
                "Groupnet {g} is used by access zone {}",
                z.0
            )));
        }
        if c.ads
            .as_ref()
            .is_some_and(|a| str_field(a, "groupnet").unwrap_or("groupnet0") == g)
        {
            return Err(ApiError::conflict(format!(
                "Groupnet {g} is used by the Active Directory provider"
            )));
        }
        c.groupnets.remove(g);
        Ok(Value::Null)
    }
}

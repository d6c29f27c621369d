//! The readiness tree as text, for `dr readiness` and the harness: one line per node, one
//! per check (`✓` ok, `!` warning, `✗` error) with its fix indented below, and a summary
//! line first.

use std::fmt::Write;

use super::{CheckStatus, Node, Readiness};

/// The marker of a status.
pub fn marker(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Ok => "✓",
        CheckStatus::Warning => "!",
        CheckStatus::Error => "✗",
    }
}

/// The whole tree as indented text, ending with a newline.
pub fn text(r: &Readiness) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", r.summary());
    for n in &r.nodes {
        node(&mut out, n, 0);
    }
    out
}

fn node(out: &mut String, n: &Node, depth: usize) {
    let pad = "  ".repeat(depth);
    let note = n
        .note
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad}{} {} {}{note}",
        marker(n.status()),
        n.kind.as_str(),
        n.name
    );
    let width = n.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for c in &n.checks {
        let _ = writeln!(
            out,
            "{pad}  {} {:<width$}  {}",
            marker(c.status),
            c.id,
            c.message
        );
        if let Some(f) = &c.fix {
            let _ = writeln!(out, "{pad}    {:<width$}  fix: {f}", "");
        }
    }
    for ch in &n.children {
        node(out, ch, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Check, Node, NodeKind, Readiness};

    #[test]
    fn renders_an_indented_tree_with_markers_and_fixes() {
        let mut src = Node::new(NodeKind::Cluster, "prod").with_note("source");
        src.checks.push(Check::ok(
            "reachable",
            "source prod reachable and authenticated",
        ));
        src.checks.push(Check::ok(
            "synciq_service",
            "source prod: SyncIQ service is on",
        ));
        let mut zone = Node::new(NodeKind::Zone, "finance");
        zone.checks.push(Check::error(
            "target_zone",
            "dr has no access zone finance",
            "create access zone finance on dr",
        ));
        let mut pool = Node::new(NodeKind::Pool, "groupnet0.subnet0.finance")
            .with_note("→ dr/groupnet0.subnet0.finance-dr");
        pool.checks.push(Check::warning(
            "dns_delegation",
            "finance.corp.example: single delegation",
            "delegate the name to both clusters",
        ));
        zone.children.push(pool);
        let mut pol = Node::new(NodeKind::Policy, "finance-ledger");
        pol.checks
            .push(Check::ok("source_policy", "enabled on prod"));
        zone.children.push(pol);
        src.children.push(zone);
        let mut tgt = Node::new(NodeKind::Cluster, "dr").with_note("target");
        tgt.checks.push(Check::ok(
            "reachable",
            "target dr reachable and authenticated",
        ));
        let r = Readiness::new("prod", "dr", "access-zone", vec![src, tgt]);
        insta::assert_snapshot!(super::text(&r));
    }
}

//! The HTML report of real drill runs: its structure (one row per step instance with its
//! status, one timeline bar per executed instance, a guidance card per failed or skipped
//! step, the drill's invariants and clients) as an insta snapshot, plus the properties every
//! report must have (self-contained, escaped, no secret).

use tests::{load, run};

/// The value of `attr="…"` in `tag`.
fn attr<'a>(tag: &'a str, attr: &str) -> &'a str {
    let key = format!(" {attr}=\"");
    tag.find(&key)
        .map(|i| {
            let rest = &tag[i + key.len()..];
            &rest[..rest.find('"').unwrap_or(rest.len())]
        })
        .unwrap_or("")
}

/// Every opening tag starting with `prefix`.
fn tags<'a>(html: &'a str, prefix: &str) -> Vec<&'a str> {
    html.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &html[i..];
            &rest[..rest.find('>').unwrap_or(rest.len())]
        })
        .collect()
}

fn structure(html: &str) -> String {
    let mut s = String::new();
    for t in tags(html, "<tr class=\"inst\"") {
        s.push_str(&format!(
            "row {:>2} {:<34} {:<14} {}\n",
            attr(t, "data-idx"),
            attr(t, "data-step"),
            format!("{}{}", attr(t, "data-policy"), attr(t, "data-zone")),
            attr(t, "data-status")
        ));
    }
    for t in tags(html, "<rect ") {
        s.push_str(&format!(
            "bar {:>2} {} {}..{}\n",
            attr(t, "data-idx"),
            attr(t, "data-status"),
            attr(t, "data-start-ms"),
            attr(t, "data-end-ms")
        ));
    }
    for t in tags(html, "<div class=\"card ") {
        s.push_str(&format!(
            "card {} {}\n",
            attr(t, "data-step"),
            attr(t, "data-status")
        ));
    }
    for t in tags(html, "<tr data-invariant=") {
        s.push_str(&format!(
            "invariant {} {}\n",
            attr(t, "data-invariant"),
            attr(t, "data-verdict")
        ));
    }
    for t in tags(html, "<tr data-client=") {
        s.push_str(&format!(
            "client {} window_ms={} lost_writes={}\n",
            attr(t, "data-client"),
            attr(t, "data-window-ms"),
            attr(t, "data-lost-writes")
        ));
    }
    s
}

#[test]
fn zone_gate_report_structure() {
    let r = run(&load("az-zone-gate-clients"));
    let html = scenarios::html::render(&r);
    let st = structure(&html);
    // Every instance is a row with the report's status, every executed one a bar.
    assert_eq!(
        st.lines().filter(|l| l.starts_with("row ")).count(),
        r.report.steps.len()
    );
    let executed = r
        .report
        .steps
        .iter()
        .filter(|s| s.start_ms.is_some() && s.end_ms.is_some())
        .count();
    assert_eq!(
        st.lines().filter(|l| l.starts_with("bar ")).count(),
        executed
    );
    insta::assert_snapshot!(st);
}

#[test]
fn report_is_self_contained_and_has_no_secret() {
    let scn = load("synciq-happy-3");
    let r = run(&scn);
    let html = scenarios::html::render(&r);
    for banned in ["http://", "https://", "src=", "<script", "<link"] {
        assert!(!html.contains(banned), "found {banned}");
    }
    // The world's cluster passwords never reach the page.
    let yaml = serde_json::to_string(&scn).unwrap();
    for c in ["password", "Password"] {
        assert!(
            !html.contains(c),
            "{c} in the report ({} bytes of scenario)",
            yaml.len()
        );
    }
    assert!(html.contains("data-outcome=\"succeeded\""));
    assert!(html.contains("No step failed or was skipped."));
}

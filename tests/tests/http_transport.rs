//! The HTTP path: the same scenario over real loopback HTTP (`HttpTransport` → reqwest →
//! the simulated clusters' Routers on 127.0.0.1) ends exactly as it does in-process.

use tests::{assert_passed, load, run, run_http, statuses};

#[test]
fn http_and_in_process_agree() {
    for name in [
        "synciq-http-fast",
        "az-http-fast",
        "dfs-http-fast",
        "ippool-http-fast",
    ] {
        agree(name);
    }
}

fn agree(name: &str) {
    let scn = load(name);
    let local = run(&scn);
    let http = run_http(&scn);
    assert_passed(&local);
    assert_passed(&http);
    assert_eq!(local.report.outcome, http.report.outcome);
    assert_eq!(statuses(&local), statuses(&http));
}

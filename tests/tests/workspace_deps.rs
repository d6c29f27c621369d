//! The orchestrator must never depend on a simulator crate (DESIGN.md §1): it talks to
//! clusters only over PAPI. This reads `cargo metadata` and fails if that ever changes.

use std::process::Command;

#[test]
fn orchestrator_depends_on_no_sim_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(tests::repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let resolve = meta["resolve"]["nodes"].as_array().unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let id_of = |name: &str| {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let orch = id_of("orchestrator");
    // Walk the whole (normal + dev + build) dependency closure of the orchestrator.
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![orch.clone()];
    while let Some(id) = stack.pop() {
        let node = resolve.iter().find(|n| n["id"] == id.as_str()).unwrap();
        for d in node["deps"].as_array().unwrap() {
            let pkg = d["pkg"].as_str().unwrap().to_string();
            if seen.insert(pkg.clone()) {
                stack.push(pkg);
            }
        }
    }
    for forbidden in ["sim-onefs", "sim-ad-dns", "scenarios"] {
        let id = id_of(forbidden);
        assert!(
            !seen.contains(&id),
            "orchestrator depends (directly or not) on {forbidden}"
        );
    }
}

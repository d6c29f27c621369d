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

/// The orchestrator's layers (ARCHITECTURE.md): `naming` → `plan` → `ctx` → `steps` →
/// `exec`. No step reaches the executor (the import loop the step catalogue removed), the
/// core (`ctx`) imports neither, and `naming` nothing of the run. (`plan::StepId` reads the
/// catalogue's rows in `steps/catalogue.rs`: data, the one documented upward reference.)
#[test]
fn orchestrator_layers_import_only_downwards() {
    let src = tests::repo_root().join("orchestrator/src");
    let layers: [(&str, &[&str]); 5] = [
        (
            "naming.rs",
            &[
                "plan", "ctx", "steps", "exec", "runner", "journal", "server",
            ],
        ),
        ("plan", &["ctx", "exec", "runner", "journal", "server"]),
        ("ctx.rs", &["steps", "exec", "runner", "journal", "server"]),
        ("steps", &["exec", "runner", "journal", "server"]),
        // Readiness (step 3's checks) sits beside the steps: `validate` and the surfaces
        // call it; it reads through `ctx` and calls no step.
        (
            "readiness",
            &["steps", "exec", "runner", "journal", "server"],
        ),
    ];
    let mut files_read = 0;
    for (layer, above) in layers {
        let path = src.join(layer);
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "rs"))
                .collect()
        } else {
            vec![path]
        };
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            files_read += 1;
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for m in above {
                    for pat in [format!("crate::{m}::"), format!("crate::{m};")] {
                        assert!(
                            !code.contains(&pat),
                            "{}:{}: `{layer}` must not use `{m}` (a layer above it): {line}",
                            f.display(),
                            n + 1
                        );
                    }
                    assert!(
                        !code.contains(&format!("crate::{{{m}"))
                            && !code.contains(&format!(", {m}::")),
                        "{}:{}: `{layer}` must not use `{m}`: {line}",
                        f.display(),
                        n + 1
                    );
                }
            }
        }
    }
    assert!(files_read > 40, "read only {files_read} files: moved?");
}

//! Smoke test of `drill bench`: tiny sizes, a few campaign seeds, no request-rate
//! measurement; checks the JSON's shape and that every figure carries its target, never the
//! timings (benchmarks measure, tests check behaviour).

use std::process::Command;

#[test]
fn drill_bench_prints_every_figure_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_drill"))
        .args([
            "bench",
            "--sizes",
            "2,4",
            "--campaign-seeds",
            "2",
            "--jobs",
            "1",
            "--rps-secs",
            "0",
            "--json",
        ])
        .output()
        .expect("drill runs");
    assert!(
        out.status.success(),
        "drill bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let runs = v["runs"].as_array().expect("runs");
    // One failover per size, the smallest again with pre-sync, and the smallest with an
    // hourly backlog without and with pre-sync.
    assert_eq!(runs.len(), 5, "{v:#}");
    for r in runs {
        for k in [
            "policies",
            "wall_ms",
            "per_policy_ms",
            "outcome",
            "passed",
            "makespan_ms",
        ] {
            assert!(r.get(k).is_some(), "run lacks {k}: {r:#}");
        }
        assert_eq!(r["outcome"], "succeeded", "{r:#}");
        // The figure is the fastest of at least three runs (the first of a size pays the
        // kernel's first touch of fresh memory).
        assert!(r["runs"].as_u64() >= Some(3), "{r:#}");
        assert_eq!(r["passed"], true, "{r:#}");
    }
    assert_eq!(runs[2]["presync"], true);
    for (i, presync) in [(3, false), (4, true)] {
        assert_eq!(runs[i]["presync"], presync);
        assert_eq!(runs[i]["backlog"], "hourly");
    }
    assert!(runs[4]["presync_steps"].as_u64() > Some(0), "{v:#}");
    assert_eq!(v["campaign"]["seeds"], 2);
    assert!(v["rps"].is_null());
    let figures = v["figures"].as_array().expect("figures");
    let ids: Vec<&str> = figures.iter().filter_map(|f| f["id"].as_str()).collect();
    for id in [
        "failover_wall_s_2",
        "failover_wall_s_4",
        "per_policy_ms_4",
        "peak_rss_mib_4",
        "per_policy_ratio",
        "campaign_per_min",
        "campaign_cpu_ms_per_scenario",
        "makespan_over_lower_bound",
        "pipelined_over_barrier",
        "outage_without_presync_s",
        "outage_with_presync_s",
        "outage_presync_ratio",
        "outage_presync_ratio_throughput_world",
        "sim_rps_ratio",
    ] {
        assert!(ids.contains(&id), "no figure {id}: {ids:?}");
    }
    for f in figures {
        assert!(f["target"].is_string() && f["unit"].is_string(), "{f:#}");
        // A figure with a target and a value says whether it was met.
        if f["target"] != "" && !f["value"].is_null() {
            assert!(f["met"].is_boolean(), "{f:#}");
        }
    }
    // Not measured: said so, not a zero.
    let rps = figures.iter().find(|f| f["id"] == "sim_rps_ratio").unwrap();
    assert!(rps["value"].is_null() && rps["note"].is_string(), "{rps:#}");
}

#[test]
fn drill_bench_prints_its_world_for_drill_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_drill"))
        .args(["bench", "--print-world", "3"])
        .output()
        .expect("drill runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).expect("UTF-8");
    // The throughput world the failover figures run: three policies, no pre-sync.
    let scn = scenarios::Scenario::parse(&yaml, "<bench world>").expect("a valid scenario");
    assert_eq!(scn.world.policies.len(), 3);
    assert!(yaml.contains("presync: false"), "{yaml}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_drill"))
        .arg("run")
        .arg(&file)
        .output()
        .expect("drill runs");
    assert!(
        run.status.success(),
        "drill run of the printed world failed: {}",
        String::from_utf8_lossy(&run.stdout)
    );
}

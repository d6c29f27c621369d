//! `drill serve` serves the world's DNS as real DNS on loopback: a standard DNS client
//! resolves a SmartConnect name through the delegation to the cluster that carries it.

use std::sync::Arc;

use orchestrator::dns::{DnsClient, NetDns};

#[tokio::test(flavor = "current_thread")]
async fn smartconnect_names_resolve_over_loopback_dns() {
    let scn = tests::load("az-happy-dual");
    let h = scenarios::serve::serve(&scn, scenarios::serve::ServeOpts::default())
        .await
        .unwrap();
    let addr = h.dns_addr.expect("DNS is served");
    let dns = DnsClient::new(
        Arc::new(NetDns {
            server: addr,
            timeout_ms: 2_000,
        }),
        None,
    );
    // Dual delegation: both clusters' SmartConnect service IPs are listed, as host names
    // with glue.
    let mut ns = dns.ns_targets("finance.corp.example").await.unwrap();
    ns.sort_by(|a, b| a.host.cmp(&b.host));
    let ns: Vec<(String, Vec<std::net::Ipv4Addr>)> =
        ns.into_iter().map(|t| (t.host, t.addrs)).collect();
    assert_eq!(
        ns,
        vec![
            (
                "ssip-10-1-0-10.corp.example".to_string(),
                vec![std::net::Ipv4Addr::new(10, 1, 0, 10)]
            ),
            (
                "ssip-10-2-0-10.corp.example".to_string(),
                vec![std::net::Ipv4Addr::new(10, 2, 0, 10)]
            ),
        ]
    );
    // prod's pool answers (its addresses follow its service IP).
    let a = dns.resolve_a("fin.corp.example").await.unwrap();
    assert!(
        !a.is_empty() && a.iter().all(|ip| ip.octets()[..3] == [10, 1, 0]),
        "{a:?}"
    );
    h.shutdown().await;
}

/// A world with `dns.tsig` (library `az-single-tsig`): `drill serve`'s DNS refuses updates
/// that are unsigned or signed with another key, and applies those signed with the world's
/// key; `ServeOpts::tsig` (`drill serve --tsig-key`) replaces the world's key.
#[tokio::test(flavor = "current_thread")]
async fn served_dns_requires_the_world_key_or_the_override() {
    use orchestrator::dns::TsigKey;
    let scn = tests::load("az-single-tsig");
    let world = scn.world.dns.as_ref().and_then(|d| d.tsig.clone()).unwrap();
    let world_key = || TsigKey::new(world.name.clone(), world.secret_base64.0.clone());
    let other_key = || {
        TsigKey::new(
            "drill-override.",
            b"an-override-secret-for-the-test".to_vec(),
        )
    };
    let glue = |h: &str| vec![(h.to_string(), std::net::Ipv4Addr::new(10, 2, 0, 10))];
    let dr_host = "ssip-10-2-0-10.corp.example";

    for (opts_key, good, bad) in [
        (None, world_key(), other_key()),
        (
            Some(sim_ad_dns::wire::TsigKey::new(
                "drill-override.",
                b"an-override-secret-for-the-test".to_vec(),
            )),
            other_key(),
            world_key(),
        ),
    ] {
        let h = scenarios::serve::serve(
            &scn,
            scenarios::serve::ServeOpts {
                tsig: opts_key,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let addr = h.dns_addr.expect("DNS is served");
        assert_eq!(h.dns_tsig_key.as_deref(), Some(good.name.as_str()));
        let client = |key: Option<TsigKey>| {
            DnsClient::new(
                Arc::new(NetDns {
                    server: addr,
                    timeout_ms: 2_000,
                }),
                key,
            )
        };
        let ns = || async { client(None).ns("finance.corp.example").await.unwrap() };
        assert_eq!(ns().await, vec!["ssip-10-1-0-10.corp.example"]);
        for c in [client(None), client(Some(bad))] {
            c.replace_ns(
                "corp.example",
                "finance.corp.example",
                &[dr_host.to_string()],
                &glue(dr_host),
            )
            .await
            .unwrap_err();
            assert_eq!(ns().await, vec!["ssip-10-1-0-10.corp.example"]);
        }
        client(Some(good))
            .replace_ns(
                "corp.example",
                "finance.corp.example",
                &[dr_host.to_string()],
                &glue(dr_host),
            )
            .await
            .unwrap();
        assert_eq!(ns().await, vec![dr_host]);
        h.shutdown().await;
    }
}

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
    // Dual delegation: both clusters' SmartConnect service IPs are listed.
    let mut ns = dns.ns("finance.corp.example").await.unwrap();
    ns.sort();
    assert_eq!(ns, vec!["10.1.0.10", "10.2.0.10"]);
    // prod's pool answers (its addresses follow its service IP).
    let a = dns.resolve_a("fin.corp.example").await.unwrap();
    assert!(
        !a.is_empty() && a.iter().all(|ip| ip.octets()[..3] == [10, 1, 0]),
        "{a:?}"
    );
    h.shutdown().await;
}

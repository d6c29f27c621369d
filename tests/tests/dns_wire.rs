//! The orchestrator's DNS client against the simulated DNS served as real DNS on loopback:
//! queries over UDP, and an RFC 2136 NS update signed with TSIG (HMAC-SHA256) by the
//! orchestrator's own signer and verified by the server's independent implementation.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use orchestrator::dns::{DnsClient, NetDns, TsigKey};
use sim_ad_dns::dns::{Dns, SmartConnectTable};

const SECRET: &str = "dr-update-secret-0123456789";

async fn server(tsig: bool) -> (sim_ad_dns::server::DnsServerHandle, Arc<Mutex<Dns>>) {
    let mut dns = Dns::new();
    dns.add_zone("corp.example").unwrap();
    dns.delegate("finance.corp.example", &["10.1.0.10"])
        .unwrap();
    let dns = Arc::new(Mutex::new(dns));
    let mut sc = SmartConnectTable::new();
    sc.serve(
        "10.1.0.10",
        "finance.corp.example",
        vec![Ipv4Addr::new(10, 1, 0, 11)],
    );
    sc.serve(
        "10.2.0.10",
        "finance.corp.example",
        vec![Ipv4Addr::new(10, 2, 0, 11)],
    );
    let key =
        tsig.then(|| sim_ad_dns::wire::TsigKey::new("dr-update.", SECRET.as_bytes().to_vec()));
    let h = sim_ad_dns::server::serve(
        "127.0.0.1:0".parse().unwrap(),
        dns.clone(),
        Arc::new(sc),
        key,
    )
    .await
    .unwrap();
    (h, dns)
}

fn client(addr: std::net::SocketAddr, key: Option<&str>) -> DnsClient {
    DnsClient::new(
        Arc::new(NetDns {
            server: addr,
            timeout_ms: 2_000,
        }),
        key.map(|k| TsigKey::new("dr-update.", k.as_bytes())),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn query_and_signed_update_over_udp() {
    let (h, dns) = server(true).await;
    let c = client(h.local_addr(), Some(SECRET));
    assert_eq!(
        c.ns("finance.corp.example").await.unwrap(),
        vec!["10.1.0.10"]
    );
    assert_eq!(
        c.resolve_a("finance.corp.example").await.unwrap(),
        vec![Ipv4Addr::new(10, 1, 0, 11)]
    );
    c.replace_ns(
        "corp.example",
        "finance.corp.example",
        &["10.2.0.10".to_string()],
    )
    .await
    .unwrap();
    assert_eq!(
        dns.lock().unwrap().ns("finance.corp.example"),
        vec!["10.2.0.10"]
    );
    assert_eq!(
        c.resolve_a("finance.corp.example").await.unwrap(),
        vec![Ipv4Addr::new(10, 2, 0, 11)]
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_key_or_no_key_is_refused_and_changes_nothing() {
    let (h, dns) = server(true).await;
    for c in [
        client(h.local_addr(), Some("not-the-secret")),
        client(h.local_addr(), None),
    ] {
        let err = c
            .replace_ns(
                "corp.example",
                "finance.corp.example",
                &["10.2.0.10".to_string()],
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Not authorized"), "{err}");
        assert_eq!(
            dns.lock().unwrap().ns("finance.corp.example"),
            vec!["10.1.0.10"]
        );
    }
    h.shutdown().await;
}

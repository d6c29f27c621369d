//! The orchestrator's DNS client against the simulated DNS served as real DNS on loopback:
//! queries over UDP (NS host names mapped back to SmartConnect service IPs through the
//! referral's glue), and an RFC 2136 update that repoints a delegation to host names and
//! adds their glue, signed with TSIG (HMAC-SHA256) by the orchestrator's own signer and
//! verified by the server's independent implementation. Unsigned or wrongly signed updates
//! are refused and change nothing.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use orchestrator::dns::{ssip_host, DnsClient, NetDns, NsTarget, TsigKey};
use sim_ad_dns::dns::{Dns, SmartConnectTable};

const SECRET: &str = "dr-update-secret-0123456789";
const PROD_HOST: &str = "ssip-10-1-0-10.corp.example";
const DR_HOST: &str = "ssip-10-2-0-10.corp.example";

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
    // The orchestrator and the simulator name service IPs alike.
    assert_eq!(
        ssip_host(Ipv4Addr::new(10, 2, 0, 10), "corp.example."),
        sim_ad_dns::dns::ssip_host(Ipv4Addr::new(10, 2, 0, 10), "corp.example")
    );
    assert_eq!(c.ns("finance.corp.example").await.unwrap(), vec![PROD_HOST]);
    assert_eq!(
        c.ns_targets("finance.corp.example").await.unwrap(),
        vec![NsTarget {
            host: PROD_HOST.into(),
            addrs: vec![Ipv4Addr::new(10, 1, 0, 10)]
        }]
    );
    assert_eq!(
        c.resolve_a("finance.corp.example").await.unwrap(),
        vec![Ipv4Addr::new(10, 1, 0, 11)]
    );
    // dr's host has no glue yet: NXDOMAIN reads as no addresses.
    assert!(c.a_records(DR_HOST).await.unwrap().is_empty());
    c.replace_ns(
        "corp.example",
        "finance.corp.example",
        &[DR_HOST.to_string()],
        &[(DR_HOST.to_string(), Ipv4Addr::new(10, 2, 0, 10))],
    )
    .await
    .unwrap();
    assert_eq!(
        dns.lock().unwrap().ns("finance.corp.example"),
        vec![DR_HOST]
    );
    assert_eq!(
        c.a_records(DR_HOST).await.unwrap(),
        vec![Ipv4Addr::new(10, 2, 0, 10)]
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
    let before = dns.lock().unwrap().clone();
    for (c, rcode) in [
        (
            client(h.local_addr(), Some("not-the-secret")),
            "Not Authorized",
        ),
        (client(h.local_addr(), None), "Refused"),
    ] {
        let err = c
            .replace_ns(
                "corp.example",
                "finance.corp.example",
                &[DR_HOST.to_string()],
                &[(DR_HOST.to_string(), Ipv4Addr::new(10, 2, 0, 10))],
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .to_ascii_lowercase()
                .contains(&rcode.to_ascii_lowercase()),
            "{err}"
        );
        assert!(!err.to_string().contains(SECRET));
        assert_eq!(*dns.lock().unwrap(), before);
    }
    h.shutdown().await;
}

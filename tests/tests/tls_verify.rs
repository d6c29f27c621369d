//! TLS: the orchestrator's `HttpTransport` verifies certificates by default. A simulated
//! cluster is served over TLS with a certificate signed by a freshly generated CA; the client
//! connects when it trusts that CA (`--ca-cert`), fails with a clear TLS error when it does
//! not, and connects with the explicit `insecure` switch.

use std::sync::Arc;

use orchestrator::papi::{
    ClientOptions, HttpTransport, PapiClient, PapiError, TlsOptions, TransportError,
};
use orchestrator::secret::Secret;
use sim_onefs::Sim;
use tokio_rustls::rustls;

struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "failover-lab test CA");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "boston.sim");
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_der: leaf_cert.der().to_vec(),
        key_der: leaf_key.serialize_der(),
    }
}

/// A TLS listener for `axum::serve`: handshakes that fail are dropped, the loop goes on.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn serve_tls(router: axum::Router, pki: &Pki) -> std::net::SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(
                pki.cert_der.clone(),
            )],
            rustls::pki_types::PrivateKeyDer::Pkcs8(pki.key_der.clone().into()),
        )
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

fn client(url: &str, tls: &TlsOptions, sim: &Sim) -> PapiClient {
    let (user, password) = sim.admin_credentials("boston").unwrap();
    let transport = HttpTransport::new(url, tls, 5_000).unwrap();
    PapiClient::new(
        "boston",
        Arc::new(transport),
        user,
        Secret::new(password),
        ClientOptions {
            timeout_ms: 5_000,
            retry: orchestrator::papi::RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            },
            ..ClientOptions::default()
        },
    )
}

#[tokio::test]
async fn certificates_are_verified_with_the_ca_and_rejected_without_it() {
    let scn = tests::load("synciq-happy-3");
    let sim = Sim::new(&scn.world, scn.seed).unwrap();
    let pki = pki();
    let addr = serve_tls(sim.router("boston").unwrap(), &pki).await;
    let url = format!("https://localhost:{}", addr.port());

    // Trusting the CA (what --ca-cert FILE does): verification passes.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let with_ca = client(&url, &TlsOptions::with_ca_file(&ca_file).unwrap(), &sim);
    let cfg = with_ca
        .cluster_config()
        .await
        .expect("verified TLS connection");
    assert_eq!(cfg.name, "boston");

    // Default options: the system roots do not know our CA, the handshake is refused.
    let without = client(&url, &TlsOptions::default(), &sim);
    let err = without.cluster_config().await.unwrap_err();
    match &err {
        PapiError::Transport(TransportError::Tls { detail, .. }) => {
            assert!(detail.to_lowercase().contains("certificate"), "{detail}")
        }
        other => panic!("expected a TLS verification error, got {other}"),
    }
    assert!(
        err.to_string().contains("--ca-cert"),
        "the error tells what to do: {err}"
    );

    // The certificate's IP address SAN works too.
    let by_ip = client(
        &format!("https://127.0.0.1:{}", addr.port()),
        &TlsOptions::with_ca_file(&ca_file).unwrap(),
        &sim,
    );
    by_ip.cluster_config().await.expect("IP SAN matches");

    // --insecure must be explicit, and then it connects.
    let insecure = client(
        &url,
        &TlsOptions {
            ca_cert_pem: None,
            insecure: true,
        },
        &sim,
    );
    insecure
        .cluster_config()
        .await
        .expect("insecure skips verification");
}

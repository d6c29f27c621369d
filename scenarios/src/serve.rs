//! `drill serve`: a scenario's world as real PAPI servers on loopback, one port per cluster
//! (plain HTTP or TLS with a generated CA), plus a small admin API per cluster for faults:
//! `GET /drill/faults` (the world's fault rules) and `POST /drill/faults` (add one rule, a
//! scenario `faults:` entry as JSON). Both need an admin user of that cluster (Basic auth).
//!
//! The world runs in real time (tokio's clock is not paused here). Scenario faults are
//! installed at start, so `at:` rules fire that long after the servers came up.
//!
//! The site DNS is served on a UDP+TCP port ([`ServeHandle::dns_addr`]) as a delegating
//! parent zone answers (referrals with glue, recursion for RD=1 A queries, SOA on negative
//! answers; see `sim_ad_dns::wire`). With a TSIG key — [`ServeOpts::tsig`] (`drill serve
//! --tsig-key NAME:BASE64`), else the world's `dns.tsig` — RFC 2136 updates must be signed
//! with it. The key's name may be printed, its secret never.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sim_onefs::{FaultRule, Role, Sim, WorldSpec};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Scenario;

/// Options of [`serve`].
#[derive(Clone, Debug, Default)]
pub struct ServeOpts {
    /// Serve HTTPS with a generated certificate.
    pub tls: bool,
    /// Where to write the CA certificate (PEM) clients should trust (with `tls`).
    pub ca_out: Option<PathBuf>,
    /// First port; cluster i gets `port + i`. None: 8080 for the first cluster when free,
    /// otherwise ports the OS chooses.
    pub port: Option<u16>,
    /// Address to bind (default 127.0.0.1).
    pub host: Option<IpAddr>,
    /// Seed of the world (default: the scenario's).
    pub seed: Option<u64>,
    /// TSIG key DNS updates must be signed with; overrides the world's `dns.tsig`.
    pub tsig: Option<sim_ad_dns::wire::TsigKey>,
}

/// One served cluster.
#[derive(Clone, Debug)]
pub struct ServedCluster {
    pub name: String,
    pub url: String,
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
}

impl ServedCluster {
    /// `<cluster> <url> user=<name> password=<password>` (DESIGN.md §9).
    pub fn line(&self) -> String {
        format!(
            "{} {} user={} password={}",
            self.name, self.url, self.user, self.password
        )
    }
}

/// Running servers; drop or [`ServeHandle::shutdown`] to stop them.
pub struct ServeHandle {
    pub sim: Sim,
    pub clusters: Vec<ServedCluster>,
    /// The CA certificate (PEM) when serving TLS.
    pub ca_pem: Option<String>,
    /// The site DNS (SmartConnect delegations) served on loopback, UDP and TCP.
    pub dns_addr: Option<SocketAddr>,
    /// Name of the TSIG key the DNS requires on updates, if any (never the secret).
    pub dns_tsig_key: Option<String>,
    dns: Option<sim_ad_dns::server::DnsServerHandle>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ServeHandle {
    /// Stop accepting, and wait for the server tasks to end.
    pub async fn shutdown(self) {
        if let Some(d) = self.dns {
            d.shutdown().await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// A TLS server identity: certificate chain and private key (PEM), plus the CA (PEM).
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

/// Generate a CA and a server certificate signed by it for `names` (DNS names or IPs).
pub fn generate_identity(names: &[String]) -> anyhow::Result<TlsIdentity> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Failover Lab drill serve CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name
        .push(DnType::CommonName, "Failover Lab simulated cluster");
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key)?;
    Ok(TlsIdentity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        ca_pem: ca_cert.pem(),
    })
}

/// Serve `router` over TLS on `listener` until `stop` turns true, within the same limits as
/// `dr serve` (connection cap, header-read and idle timeouts). Requests carry
/// `x-forwarded-proto: https` so the router knows it is behind TLS.
pub async fn serve_tls(
    router: Router,
    listener: TcpListener,
    identity: &TlsIdentity,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let tls = orchestrator::server::listen::tls_config(
        identity.cert_pem.as_bytes(),
        identity.key_pem.as_bytes(),
    )
    .map_err(anyhow::Error::msg)?;
    Ok(spawn_listener(router, listener, Some(tls), stop))
}

/// The accept loop of one simulated cluster (see `orchestrator::server::listen`).
fn spawn_listener(
    router: Router,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = orchestrator::server::listen::serve(
            listener,
            router,
            tls,
            orchestrator::server::listen::Limits::default(),
            async move {
                let _ = stop.changed().await;
            },
        )
        .await;
    })
}

#[derive(Clone)]
struct AdminState {
    sim: Sim,
    cluster: String,
}

fn admin_ok(st: &AdminState, h: &HeaderMap) -> bool {
    use base64::Engine;
    let Some(v) = h.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(b64) = v.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let s = String::from_utf8_lossy(&raw);
    let Some((u, p)) = s.split_once(':') else {
        return false;
    };
    st.sim
        .users(&st.cluster)
        .iter()
        .any(|x| x.name == u && x.password == p && x.role == Role::Admin)
}

fn admin_error(status: StatusCode, msg: String) -> Response {
    let code = if status == StatusCode::UNAUTHORIZED {
        "AEC_UNAUTHORIZED"
    } else {
        "AEC_BAD_REQUEST"
    };
    (
        status,
        Json(serde_json::json!({"errors": [{"code": code, "message": msg}]})),
    )
        .into_response()
}

async fn faults_get(State(st): State<AdminState>, h: HeaderMap) -> Response {
    if !admin_ok(&st, &h) {
        return admin_error(
            StatusCode::UNAUTHORIZED,
            "admin credentials required".into(),
        );
    }
    let v = st.sim.state_json();
    Json(serde_json::json!({"faults": v["faults"]})).into_response()
}

async fn faults_post(State(st): State<AdminState>, h: HeaderMap, body: Bytes) -> Response {
    if !admin_ok(&st, &h) {
        return admin_error(
            StatusCode::UNAUTHORIZED,
            "admin credentials required".into(),
        );
    }
    let rule: FaultRule = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("invalid fault rule: {e}")),
    };
    match st.sim.try_add_fault(rule) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// The router `drill serve` puts on a cluster's port: the PAPI router plus `/drill/faults`.
pub fn cluster_router(sim: &Sim, cluster: &str) -> Option<Router> {
    let papi = sim.router(cluster)?;
    let admin = Router::new()
        .route("/drill/faults", get(faults_get).post(faults_post))
        .with_state(AdminState {
            sim: sim.clone(),
            cluster: cluster.to_string(),
        });
    Some(admin.merge(papi))
}

async fn bind(host: IpAddr, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(host, port)).await
}

/// Serve a scenario's world (its faults installed): one PAPI server per cluster, and the
/// site DNS on a loopback port so `dig @127.0.0.1 -p PORT finance.corp.example` resolves
/// SmartConnect names through the clusters' pools.
pub async fn serve(scn: &Scenario, opts: ServeOpts) -> anyhow::Result<ServeHandle> {
    let world = crate::world::World::build(&scn.world, opts.seed.unwrap_or(scn.seed))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for f in &scn.faults {
        world
            .sim
            .try_add_fault(f.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let host = opts.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let tsig = opts.tsig.clone().or_else(|| world.tsig.clone());
    let mut h = serve_sim(world.sim.clone(), opts).await?;
    h.dns_tsig_key = tsig.as_ref().map(|k| k.name.clone());
    let dns = sim_ad_dns::server::serve(
        SocketAddr::new(host, 0),
        world.dns.clone(),
        Arc::new(crate::world::SimAnswerer(world.sim.clone())),
        tsig,
    )
    .await
    .context("serving DNS")?;
    h.dns_addr = Some(dns.local_addr());
    h.dns = Some(dns);
    Ok(h)
}

/// Serve a bare world spec (no faults).
pub async fn serve_world(
    world: &WorldSpec,
    seed: u64,
    opts: ServeOpts,
) -> anyhow::Result<ServeHandle> {
    let sim = Sim::new(world, seed).map_err(|e| anyhow::anyhow!("{e}"))?;
    serve_sim(sim, opts).await
}

/// Serve an existing world.
pub async fn serve_sim(sim: Sim, opts: ServeOpts) -> anyhow::Result<ServeHandle> {
    let host = opts.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let identity = if opts.tls {
        let mut names = vec!["localhost".to_string(), host.to_string()];
        if host.to_string() != "127.0.0.1" {
            names.push("127.0.0.1".into());
        }
        let id = generate_identity(&names)?;
        if let Some(p) = &opts.ca_out {
            std::fs::write(p, &id.ca_pem).with_context(|| format!("writing {}", p.display()))?;
        }
        Some(id)
    } else {
        None
    };
    let (stop, stop_rx) = watch::channel(false);
    let mut clusters = Vec::new();
    let mut tasks = Vec::new();
    for (i, name) in sim.cluster_names().into_iter().enumerate() {
        let listener = match opts.port {
            Some(p) => {
                let port = p
                    .checked_add(u16::try_from(i).unwrap_or(u16::MAX))
                    .context("port out of range")?;
                bind(host, port)
                    .await
                    .with_context(|| format!("binding {host}:{port}"))?
            }
            None => {
                let first = if i == 0 {
                    bind(host, 8080).await.ok()
                } else {
                    None
                };
                match first {
                    Some(l) => l,
                    None => bind(host, 0).await.context("binding a port")?,
                }
            }
        };
        let addr = listener.local_addr()?;
        let router = cluster_router(&sim, &name).context("cluster router")?;
        let scheme = if identity.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let task = match &identity {
            Some(id) => serve_tls(router, listener, id, stop_rx.clone()).await?,
            None => spawn_listener(router, listener, None, stop_rx.clone()),
        };
        tasks.push(task);
        let (user, password) = sim.admin_credentials(&name).unwrap_or_default();
        clusters.push(ServedCluster {
            name,
            url,
            addr,
            user,
            password,
        });
    }
    Ok(ServeHandle {
        dns_addr: None,
        dns_tsig_key: None,
        dns: None,
        sim,
        clusters,
        ca_pem: identity.map(|i| i.ca_pem),
        stop,
        tasks,
    })
}

//! In-process PAPI clients to a simulated world that count the requests a test cares
//! about (share listings, job polls, …), per cluster.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use orchestrator::papi::transport::{Sent, ServiceTransport, Transport};
use orchestrator::papi::{ClientOptions, PapiClient};
use orchestrator::secret::Secret;
use sim_onefs::Sim;

/// Which requests count: method and URI (path and query).
pub type Counted = fn(&http::Method, &http::Uri) -> bool;

/// A transport that counts the requests `counted` picks, then sends them on.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Transport>,
    counted: Counted,
    count: Arc<AtomicUsize>,
}

impl Transport for Counting {
    fn send(&self, req: http::Request<bytes::Bytes>) -> Sent<'_> {
        if (self.counted)(req.method(), req.uri()) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.send(req)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Clients of every cluster of `sim`, and each cluster's count of the requests `counted`
/// picks.
pub fn clients(
    sim: &Sim,
    counted: Counted,
) -> (
    BTreeMap<String, PapiClient>,
    BTreeMap<String, Arc<AtomicUsize>>,
) {
    let mut out = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for name in sim.cluster_names() {
        let (user, password) = sim.admin_credentials(&name).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let transport = Arc::new(Counting {
            inner: Arc::new(ServiceTransport::new(
                name.clone(),
                sim.service(&name).unwrap(),
            )),
            counted,
            count: count.clone(),
        });
        out.insert(
            name.clone(),
            PapiClient::new(
                &name,
                transport,
                user,
                Secret::new(password),
                ClientOptions::default(),
            ),
        );
        counts.insert(name, count);
    }
    (out, counts)
}

/// Run `scn`'s failover (its faults added) on a fresh world with clients that count the
/// requests `counted` picks; the report and the count over every cluster.
#[allow(dead_code)] // Not every test that counts runs a whole scenario.
pub async fn run(scn: &scenarios::Scenario, counted: Counted) -> (orchestrator::Report, usize) {
    let sim = Sim::new(&scn.world, scn.seed).unwrap();
    for f in &scn.faults {
        sim.add_fault(f.clone());
    }
    let (clients, counts) = clients(&sim, counted);
    let (_, report) = orchestrator::runner::run(
        &scn.name,
        clients,
        &scn.run,
        Arc::new(orchestrator::AbsentOperator),
        None,
    )
    .await
    .unwrap();
    let n = counts.values().map(|c| c.load(Ordering::SeqCst)).sum();
    (report, n)
}

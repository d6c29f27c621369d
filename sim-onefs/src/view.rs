//! Read-only views of a cluster's configuration for the harness: simulated SMB/NFS/DFS
//! clients look up shares, exports and pools here (as a real client's SMB/NFS server would
//! answer them), and the invariant checker compares configurations. Nothing here goes
//! through the PAPI router, so client traffic never trips a fault rule meant for the
//! orchestrator's API calls.

use crate::Sim;

impl Sim {
    /// Read one cluster's configuration in place (`None` for an unknown cluster). Cheaper than
    /// [`Sim::config_json`], which copies all of it: simulated clients look things up here on
    /// every write.
    pub fn with_config<R>(
        &self,
        cluster: &str,
        f: impl FnOnce(&crate::config::ConfigState) -> R,
    ) -> Option<R> {
        self.with_world_read(|w| w.cluster(cluster).map(|c| f(&c.cfg)))
    }

    /// The first cluster, in name order, whose configuration `f` gives an answer for, read
    /// in place under one lock (what [`Sim::with_config`] on each cluster in turn gives,
    /// without locking the world and reading the clock once per cluster).
    pub fn find_config<R>(
        &self,
        mut f: impl FnMut(&str, &crate::config::ConfigState) -> Option<R>,
    ) -> Option<R> {
        self.with_world_read(|w| w.clusters.iter().find_map(|(name, c)| f(name, &c.cfg)))
    }

    /// The cluster's configuration objects as JSON (`zones`, `smb_shares`, `nfs_exports`,
    /// `nfs_aliases`, `quotas`, `pools`, `subnets`, `ads`, …; the layout of
    /// `config::ConfigState`), or `None` for an unknown cluster.
    pub fn config_json(&self, cluster: &str) -> Option<serde_json::Value> {
        self.with_world_read(|w| {
            w.cluster(cluster)
                .and_then(|c| serde_json::to_value(&c.cfg).ok())
        })
    }
}

//! The `dr` configuration file: which clusters exist, how to reach them, and where their
//! credentials come from. Passwords are never written inline: they are read from an
//! environment variable or a file named here, so the file itself can be shared and logged.
//!
//! ```yaml
//! clusters:
//!   - name: prod
//!     url: https://prod.example.com:8080
//!     user: dr-operator
//!     password_env: PROD_PASSWORD      # or password_file: /run/secrets/prod
//!     ca_cert: /etc/dr/prod-ca.pem     # optional; verification is always on unless insecure
//!     hosts: [10.1.0.5, prod.example.com]   # names policies may use in target_host
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dns::{DnsClient, NetDns, TsigKey};
use crate::papi::{ClientOptions, HttpTransport, PapiClient, TlsOptions, TransportError};
use crate::secret::Secret;

/// One cluster entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterEntry {
    pub name: String,
    pub url: String,
    pub user: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    60_000
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub clusters: Vec<ClusterEntry>,
    /// `dr serve` settings (API tokens by reference, limits).
    #[serde(default)]
    pub api: ApiConfig,
    /// The DNS server `repoint_dns` updates (RFC 2136, TSIG-signed). Without it the DNS
    /// steps fail with a message saying so.
    #[serde(default)]
    pub dns: Option<DnsConfig>,
    /// What `dr plan --estimate` assumes where the clusters' report history says nothing.
    #[serde(default)]
    pub estimate: crate::estimate::CostDefaults,
}

/// Where and how to send DNS updates.
///
/// ```yaml
/// dns:
///   server: 10.0.0.53:53          # the primary for the delegating zone
///   timeout_ms: 2000
///   tsig: {name: dr-update., secret_env: DR_TSIG_SECRET}   # base64, as tsig-keygen prints it
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// `ip:port` of the DNS server.
    pub server: String,
    #[serde(default = "default_dns_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub tsig: Option<TsigEntry>,
}

fn default_dns_timeout_ms() -> u64 {
    2_000
}

/// A TSIG key by reference: the base64 secret comes from an environment variable or a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsigEntry {
    pub name: String,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

impl DnsConfig {
    /// The DNS client, with its TSIG key read from where the entry points.
    pub fn client(&self) -> Result<DnsClient, ConfigError> {
        let err = |message: String| ConfigError::Cluster {
            cluster: "dns".into(),
            message,
        };
        let server: std::net::SocketAddr = self.server.parse().map_err(|_| {
            err(format!(
                "server {:?} is not an ip:port address (e.g. 10.0.0.53:53)",
                self.server
            ))
        })?;
        let tsig = match &self.tsig {
            None => None,
            Some(t) => {
                let text = match (&t.secret_env, &t.secret_file) {
                    (Some(var), None) => std::env::var(var).map_err(|_| {
                        err(format!(
                            "environment variable {var} (tsig.secret_env) is not set"
                        ))
                    })?,
                    (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                        err(format!(
                            "cannot read tsig.secret_file {}: {e}",
                            path.display()
                        ))
                    })?,
                    _ => {
                        return Err(err(
                            "tsig: set exactly one of secret_env or secret_file".into()
                        ))
                    }
                };
                Some(TsigKey::from_base64(&t.name, &text).map_err(err)?)
            }
        };
        Ok(DnsClient::new(
            Arc::new(NetDns {
                server,
                timeout_ms: self.timeout_ms,
            }),
            tsig,
        ))
    }
}

/// A role of a `dr serve` API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    /// May read everything and start, resume and confirm runs.
    Operator,
    /// May only read.
    Viewer,
}

/// One API token; the token itself comes from an environment variable or a file.
///
/// ```yaml
/// api:
///   tokens:
///     - {name: ops, role: operator, token_env: DR_OPERATOR_TOKEN}
///     - {name: dash, role: viewer, token_file: /run/secrets/dr-viewer}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenEntry {
    pub name: String,
    pub role: ApiRole,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// `dr serve` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub tokens: Vec<ApiTokenEntry>,
    /// Runs executing at once in the server (more are refused with 429).
    pub max_concurrent_runs: usize,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            tokens: vec![],
            max_concurrent_runs: 4,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// A resolved API token.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub name: String,
    pub role: ApiRole,
    pub token: Secret,
}

impl ApiConfig {
    /// Read every token from its environment variable or file.
    pub fn resolve_tokens(&self) -> Result<Vec<ApiToken>, ConfigError> {
        let mut out = Vec::new();
        for t in &self.tokens {
            let err = |message: String| ConfigError::Cluster {
                cluster: format!("api token {}", t.name),
                message,
            };
            let token = match (&t.token_env, &t.token_file) {
                (Some(var), None) => std::env::var(var).map_err(|_| {
                    err(format!("environment variable {var} (token_env) is not set"))
                })?,
                (None, Some(path)) => std::fs::read_to_string(path)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| err(format!("cannot read token_file {}: {e}", path.display())))?,
                (Some(_), Some(_)) => {
                    return Err(err("set token_env or token_file, not both".into()))
                }
                (None, None) => return Err(err("set token_env or token_file".into())),
            };
            if token.len() < 16 {
                return Err(err("the token must be at least 16 characters".into()));
            }
            out.push(ApiToken {
                name: t.name.clone(),
                role: t.role,
                token: Secret::new(token),
            });
        }
        Ok(out)
    }
}

/// The configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("cluster {cluster}: {message}")]
    Cluster { cluster: String, message: String },
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A bad command-line value or a file it names.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Load and check a YAML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let cfg: Config = yaml_serde::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &cfg.clusters {
            if !seen.insert(c.name.clone()) {
                return Err(ConfigError::Cluster {
                    cluster: c.name.clone(),
                    message: "listed twice".into(),
                });
            }
        }
        Ok(cfg)
    }

    /// The DNS client of the `dns:` section, if there is one.
    pub fn dns_client(&self) -> Result<Option<DnsClient>, ConfigError> {
        self.dns.as_ref().map(DnsConfig::client).transpose()
    }

    /// Build one HTTP client per cluster. `ca_override`/`insecure` come from the command line
    /// and apply to every cluster.
    pub fn clients(
        &self,
        ca_override: Option<&Path>,
        insecure: bool,
    ) -> Result<BTreeMap<String, PapiClient>, ConfigError> {
        let mut out = BTreeMap::new();
        for c in &self.clusters {
            let password = resolve_password(c)?;
            let tls = match (ca_override, &c.ca_cert) {
                (Some(p), _) => TlsOptions::with_ca_file(p)?,
                (None, Some(p)) => TlsOptions::with_ca_file(p)?,
                (None, None) => TlsOptions::default(),
            };
            let tls = TlsOptions {
                insecure: insecure || c.insecure,
                ..tls
            };
            let transport = HttpTransport::new(&c.url, &tls, c.timeout_ms)?;
            let opts = ClientOptions {
                timeout_ms: c.timeout_ms,
                ..ClientOptions::default()
            };
            out.insert(
                c.name.clone(),
                PapiClient::new(&c.name, Arc::new(transport), &c.user, password, opts),
            );
        }
        Ok(out)
    }
}

fn resolve_password(c: &ClusterEntry) -> Result<Secret, ConfigError> {
    let err = |message: String| ConfigError::Cluster {
        cluster: c.name.clone(),
        message,
    };
    match (&c.password_env, &c.password_file) {
        (Some(var), None) => std::env::var(var).map(Secret::new).map_err(|_| {
            err(format!(
                "environment variable {var} (password_env) is not set"
            ))
        }),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| Secret::new(s.trim_end_matches(['\n', '\r'])))
            .map_err(|e| err(format!("cannot read password_file {}: {e}", path.display()))),
        (Some(_), Some(_)) => Err(err("set password_env or password_file, not both".into())),
        (None, None) => Err(err(
            "no credentials: set password_env (an environment variable) or password_file".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_section_reads_the_tsig_secret_by_reference_and_never_prints_it() {
        std::env::set_var("DR_TEST_TSIG_B64", "c2VjcmV0LWtleS1ieXRlcw==");
        let cfg: Config = yaml_serde::from_str(
            "clusters: []\ndns:\n  server: 127.0.0.1:5353\n  tsig: {name: dr-update., secret_env: DR_TEST_TSIG_B64}\n",
        )
        .unwrap();
        let c = cfg.dns_client().unwrap().expect("configured");
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
        assert!(!format!("{c:?}").contains("secret-key-bytes"));
        let bad: Config =
            yaml_serde::from_str("clusters: []\ndns:\n  server: not-an-address\n").unwrap();
        let e = bad.dns_client().unwrap_err().to_string();
        assert!(e.contains("not an ip:port"), "{e}");
        std::env::set_var("DR_TEST_TSIG_BAD", "!!!not base64 hunter2");
        let bad: Config = yaml_serde::from_str(
            "clusters: []\ndns:\n  server: 127.0.0.1:53\n  tsig: {name: k., secret_env: DR_TEST_TSIG_BAD}\n",
        )
        .unwrap();
        let e = bad.dns_client().unwrap_err().to_string();
        assert!(
            e.contains("not valid base64") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn missing_password_source_is_explained() {
        let c = ClusterEntry {
            name: "prod".into(),
            url: "https://x:8080".into(),
            user: "admin".into(),
            password_env: None,
            password_file: None,
            ca_cert: None,
            insecure: false,
            hosts: vec![],
            timeout_ms: 1000,
        };
        let e = resolve_password(&c).unwrap_err().to_string();
        assert!(e.contains("prod") && e.contains("password_env"), "{e}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = yaml_serde::from_str::<Config>("clusters: []\npasword: x\n").unwrap_err();
        assert!(err.to_string().contains("pasword"), "{err}");
    }
}

//! `TLS_TRUST_STORE`: which roots the AWS SDK's TLS client trusts.

use super::{ConfigError, Env};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrustStore {
    /// `aws` (default): only the Amazon Trust Services roots, compiled in; no file is read.
    #[default]
    Aws,
    /// `system`: the platform's store (`SSL_CERT_FILE` / `SSL_CERT_DIR` apply), read at the
    /// first SDK client. For TLS-inspecting proxies or endpoints under other CAs.
    System,
}

impl TrustStore {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(&Env::new(&|name| std::env::var(name).ok()))
    }

    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        env.choice(
            "TLS_TRUST_STORE",
            &[("aws", TrustStore::Aws), ("system", TrustStore::System)],
        )
    }
}

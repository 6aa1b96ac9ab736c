//! Sessions: the refresh token's lifetimes, the grace window, how many per user.

use super::{ConfigError, Env};

const YEAR: u64 = 365 * 86_400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sessions {
    /// `REFRESH_TOKEN_TTL`: refresh-token inactivity lifetime, seconds; every rotation slides it.
    pub refresh_ttl: u64,
    /// `REUSE_GRACE_SECS`: how long a just-rotated refresh token may be presented again
    /// (concurrent tabs, retries); `0` = no grace at all.
    pub reuse_grace_secs: u64,
    /// `SESSION_MAX_AGE`: absolute session lifetime, seconds; rotation never extends it.
    pub max_age: u64,
    /// `MAX_SESSIONS_PER_USER`: a login beyond it evicts the oldest session.
    pub max_per_user: u32,
}

impl Sessions {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Sessions {
            refresh_ttl: env.number("REFRESH_TOKEN_TTL", 1_209_600, 60..=YEAR)?,
            reuse_grace_secs: env.number("REUSE_GRACE_SECS", 10, 0..=10)?,
            max_age: env.number("SESSION_MAX_AGE", 2_592_000, 60..=YEAR)?,
            max_per_user: env.number("MAX_SESSIONS_PER_USER", 20, 1..=1000)? as u32,
        })
    }
}

//! Login throttling: `LOGIN_MAX_FAILURES` failures within `LOGIN_FAILURE_WINDOW` seconds lock
//! a username (or a known device) for `LOGIN_LOCKOUT_BASE` seconds, doubling per further
//! failure up to `LOGIN_LOCKOUT_MAX`.

use super::{ConfigError, Env};
use crate::domain::LockoutPolicy;

const DAY: u64 = 86_400;

pub fn parse(env: &Env) -> Result<LockoutPolicy, ConfigError> {
    Ok(LockoutPolicy {
        max_failures: env.number("LOGIN_MAX_FAILURES", 5, 1..=1000)? as u32,
        window: env.number("LOGIN_FAILURE_WINDOW", 900, 1..=DAY)?,
        base: env.number("LOGIN_LOCKOUT_BASE", 30, 1..=DAY)?,
        cap: env.number("LOGIN_LOCKOUT_MAX", 900, 1..=DAY)?,
    })
}

//! Configuration from the contract's environment variables, read once at cold start: one
//! struct and one parser per concern ([`tokens`], [`sessions`], [`lockout`], [`cookies`],
//! [`cors`], [`signing`], …), composed here. A bad value stops the function at start-up with a
//! message naming the variable.

mod authorizer;
mod cookies;
mod cors;
mod email;
mod env;
mod lockout;
mod mfa;
mod oauth;
mod passkeys;
mod services;
mod sessions;
mod signing;
mod signup;
mod tables;
mod tokens;
mod trust_store;
mod url;

pub use authorizer::{AuthorizerRevocation, AuthorizerSettings, RevocationFailMode};
pub use cookies::{CookiePolicy, CookieSameSite};
pub use cors::Cors;
pub use email::{EmailSettings, FORGOT_FLOOR_MS};
pub use env::Env;
pub use mfa::Mfa;
pub use oauth::{Oauth, OidcProvider};
pub use passkeys::Passkeys;
pub use sessions::Sessions;
pub use signing::Signing;
pub use signup::Signup;
pub use tables::Tables;
pub use tokens::Tokens;
pub use trust_store::TrustStore;
pub use url::{is_loopback, trusted_base_url};

pub use crate::domain::SigningAlg;

/// A bad configuration value: the function refuses to start and says which variable is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {name} must be {expected} (got {value:?})")]
pub struct ConfigError {
    pub name: &'static str,
    pub expected: String,
    pub value: String,
}

impl ConfigError {
    pub fn new(name: &'static str, expected: &str, value: impl Into<String>) -> Self {
        ConfigError {
            name,
            expected: expected.to_string(),
            value: value.into(),
        }
    }
}

/// Everything the functions and `authctl` read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `USERS_TABLE`, `SESSIONS_TABLE`.
    pub tables: Tables,
    /// `SIGNING_SECRET_ID`, `SIGNING_ALG`, `PUBLIC_KEYS_SECRET_ID`, `SECRET_CACHE_TTL`.
    pub signing: Signing,
    /// `TOKEN_ISSUER`, `TOKEN_AUDIENCE`, `ACCESS_TOKEN_TTL`.
    pub tokens: Tokens,
    /// `REFRESH_TOKEN_TTL`, `REUSE_GRACE_SECS`, `SESSION_MAX_AGE`, `MAX_SESSIONS_PER_USER`.
    pub sessions: Sessions,
    /// `LOGIN_MAX_FAILURES`, `LOGIN_FAILURE_WINDOW`, `LOGIN_LOCKOUT_BASE`, `LOGIN_LOCKOUT_MAX`.
    pub lockout: crate::domain::LockoutPolicy,
    /// `SIGNUP_ENABLED`, `SIGNUP_DEFAULT_ROLES`.
    pub signup: Signup,
    /// `EMAIL_FROM`, `APP_URL`, `EMAIL_TOKEN_TTL`, `EMAIL_MAX_PER_HOUR`, `SIGNUP_REQUIRE_EMAIL`.
    pub email: EmailSettings,
    /// `MFA_KEY_SECRET_ID`.
    pub mfa: Mfa,
    /// `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME` (and the origins of `APP_URL`, `CORS_ALLOW_ORIGIN`).
    pub passkeys: Passkeys,
    /// `OIDC_PROVIDERS`, `OAUTH_REDIRECT_ALLOWLIST` (default: `APP_URL`'s origin).
    pub oauth: Oauth,
    /// `COOKIE_SAMESITE`, `COOKIE_DOMAIN`.
    pub cookies: CookiePolicy,
    /// `CORS_ALLOW_ORIGIN`.
    pub cors: Cors,
    /// `AUTHORIZER_REVOCATION`, `AUTHORIZER_REVOCATION_ON_ERROR`.
    pub authorizer: AuthorizerSettings,
    /// `TLS_TRUST_STORE`.
    pub trust_store: TrustStore,
    /// `PWNED_PASSWORDS_URL`: the Pwned Passwords range API every new password is checked
    /// against (`None`: no breach check).
    pub pwned_passwords_url: Option<String>,
    /// `SECURITY_EVENT_BUS`: the EventBridge bus security events go to (the forwarder's, and
    /// `authctl`'s when set).
    pub security_event_bus: Option<String>,
}

impl Config {
    /// The lockout settings as one value.
    pub fn lockout_policy(&self) -> crate::domain::LockoutPolicy {
        self.lockout
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&get);
        let cors = Cors::parse(&env)?;
        let email = EmailSettings::parse(&env)?;
        let tokens = Tokens::parse(&env)?;
        let passkeys = Passkeys::parse(
            &env,
            email.app_url.as_deref(),
            &cors.allow_origins,
            &tokens.issuer,
        )?;
        let oauth = Oauth::parse(&env, email.app_url.as_deref())?;
        let cfg = Config {
            tables: Tables::parse(&env)?,
            signing: Signing::parse(&env)?,
            tokens,
            sessions: Sessions::parse(&env)?,
            lockout: lockout::parse(&env)?,
            signup: Signup::parse(&env)?,
            email,
            mfa: Mfa::parse(&env)?,
            passkeys,
            oauth,
            cookies: CookiePolicy::parse(&env, &cors)?,
            cors,
            authorizer: AuthorizerSettings::parse(&env)?,
            trust_store: TrustStore::parse(&env)?,
            pwned_passwords_url: services::pwned_passwords_url(&env)?,
            security_event_bus: env.get("SECURITY_EVENT_BUS").filter(|v| !v.is_empty()),
        };
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests;

//! Mail: who sends it, where its links lead, how long a mailed token lives and how many mails
//! one address gets an hour.

use super::{trusted_base_url, ConfigError, Env};
use crate::domain::Email;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSettings {
    /// `EMAIL_FROM`: the sender (an SES-verified identity). `None`: the email routes answer 503.
    pub from: Option<String>,
    /// `APP_URL`: the web app whose `/verify-email` and `/reset-password` pages receive the
    /// links (required with `EMAIL_FROM`: a mail without a link helps no one).
    pub app_url: Option<String>,
    /// `EMAIL_TOKEN_TTL`: seconds a mailed token stays good.
    pub token_ttl: u64,
    /// `EMAIL_MAX_PER_HOUR`: mails one address gets per hour, whatever asks for them.
    pub max_per_hour: u32,
    /// `SIGNUP_REQUIRE_EMAIL`: whether sign-up insists on an address.
    pub required_on_signup: bool,
    /// How long `POST /auth/password/forgot` takes at least, known address or not, so its time
    /// says nothing about which addresses exist (not a variable: docs/security.md).
    pub forgot_floor_ms: u64,
}

/// The response-time floor of `forgot`: above the p99 of a known address's path (two DynamoDB
/// round trips, a transaction and one SES call).
pub const FORGOT_FLOOR_MS: u64 = 400;

impl EmailSettings {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        let from = match env.get("EMAIL_FROM").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                Email::parse(&v)
                    .map(|e| e.as_str().to_string())
                    .map_err(|_| ConfigError::new("EMAIL_FROM", "an email address", v))?,
            ),
        };
        let app_url = match env.get("APP_URL").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(trusted_base_url(&v).map(str::to_string).ok_or_else(|| {
                ConfigError::new(
                    "APP_URL",
                    "an https:// URL (http:// on loopback) without query or fragment",
                    v.clone(),
                )
            })?),
        };
        if from.is_some() && app_url.is_none() {
            return Err(ConfigError::new(
                "APP_URL",
                "set when EMAIL_FROM is (the links in the mails lead there)",
                "",
            ));
        }
        Ok(EmailSettings {
            from,
            app_url,
            token_ttl: env.number("EMAIL_TOKEN_TTL", 3600, 60..=604_800)?,
            max_per_hour: env.number("EMAIL_MAX_PER_HOUR", 5, 1..=1000)? as u32,
            required_on_signup: env
                .choice("SIGNUP_REQUIRE_EMAIL", &[("false", false), ("true", true)])?,
            forgot_floor_ms: FORGOT_FLOOR_MS,
        })
    }

    /// Whether mail can go out at all (`EMAIL_FROM` set, and with it `APP_URL`).
    pub fn enabled(&self) -> bool {
        self.from.is_some()
    }

    /// The link a mail carries: the token in the fragment, which no server ever receives.
    pub fn link(&self, kind: crate::domain::EmailTokenKind, token: &str) -> String {
        let base = self.app_url.as_deref().unwrap_or_default();
        format!("{base}/{}#token={token}", kind.link_path())
    }
}

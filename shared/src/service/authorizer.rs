//! The API Gateway Lambda authorizer: verifies `Authorization: Bearer <jwt>` offline and hands
//! the caller's identity to the backend. Handles HTTP API payload 2.0 (simple responses) and
//! REST API TOKEN and REQUEST events (IAM policy). Never logs the token. With
//! `AUTHORIZER_REVOCATION=session` it also reads the token's session and user (one round trip)
//! and refuses a token whose session was revoked ([`crate::domain::revocation`]).

use std::sync::Arc;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, RevocationFailMode};
use crate::crypto::keyring::KeyRing;
use crate::crypto::tokens::{AccessTokenVerifier, TokenSettings, VerifyError};
use crate::domain::{revocation, Claims, Username};
use crate::error::Chain;
use crate::ports::{Clock, RevocationStore};

/// The error API Gateway's REST authorizers turn into a 401: the message must be exactly this.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Unauthorized")]
pub struct Unauthorized;

impl From<Unauthorized> for lambda_http::lambda_runtime::Diagnostic {
    fn from(_: Unauthorized) -> Self {
        lambda_http::lambda_runtime::Diagnostic {
            error_type: "Unauthorized".into(),
            error_message: "Unauthorized".into(),
        }
    }
}

/// The fields of an authorizer event the authorizer reads, from any of the three flavours.
/// Everything else is skipped while parsing, without building a JSON tree.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerRequest {
    /// `"2.0"` for HTTP API payload format 2.0.
    #[serde(default)]
    pub version: Option<String>,
    /// `"TOKEN"` or `"REQUEST"` (REST), `"REQUEST"` (HTTP API).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// REST only.
    #[serde(default)]
    pub method_arn: Option<String>,
    /// REST TOKEN: the whole `Authorization` header value.
    #[serde(default)]
    pub authorization_token: Option<String>,
    /// The `Authorization` header (any case) of HTTP API and REST REQUEST events.
    #[serde(default, rename = "headers", deserialize_with = "authorization_header")]
    pub authorization_header: Option<String>,
}

/// Reads a header map keeping only `Authorization` (case-insensitive).
fn authorization_header<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of headers")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key.eq_ignore_ascii_case("authorization") {
                    found = map.next_value::<Option<String>>()?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    d.deserialize_any(V)
}

/// Which kind of event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// HTTP API, payload format 2.0, simple responses.
    HttpV2,
    /// REST API TOKEN or REQUEST authorizer: an IAM policy, or `Unauthorized`.
    Rest,
}

impl AuthorizerRequest {
    fn flavour(&self) -> Option<(Flavour, Option<&str>)> {
        if self.version.as_deref() == Some("2.0") {
            return Some((Flavour::HttpV2, self.authorization_header.as_deref()));
        }
        self.method_arn.as_ref()?;
        match self.kind.as_deref() {
            Some("TOKEN") => Some((Flavour::Rest, self.authorization_token.as_deref())),
            Some("REQUEST") => Some((Flavour::Rest, self.authorization_header.as_deref())),
            _ => None,
        }
    }
}

/// The context handed to the backend: strings only, as REST authorizers require.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityContext {
    pub sub: String,
    pub username: String,
    /// Comma-separated.
    pub roles: String,
    pub session_id: String,
}

impl IdentityContext {
    /// The context as the name/value pairs API Gateway hands the backend (the names its JSON
    /// form has; a test keeps the two the same).
    pub fn into_pairs(self) -> [(&'static str, String); 4] {
        [
            ("sub", self.sub),
            ("username", self.username),
            ("roles", self.roles),
            ("session_id", self.session_id),
        ]
    }
}

impl From<Claims> for IdentityContext {
    fn from(c: Claims) -> Self {
        IdentityContext {
            roles: c.roles.join(","),
            sub: c.sub,
            username: c.username,
            session_id: c.sid,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyStatement {
    pub action: &'static str,
    pub effect: &'static str,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<PolicyStatement>,
}

/// What API Gateway gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    /// HTTP API simple response.
    Simple {
        #[serde(rename = "isAuthorized")]
        is_authorized: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<IdentityContext>,
    },
    /// REST API policy response.
    Policy {
        #[serde(rename = "principalId")]
        principal_id: String,
        #[serde(rename = "policyDocument")]
        policy_document: PolicyDocument,
        context: IdentityContext,
    },
}

/// The token of a `Bearer` header value: scheme case-insensitive, one token, nothing else.
pub fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start();
    if token.is_empty() || has_space_or_control(token) {
        return None;
    }
    Some(token)
}

/// Whether `token` has whitespace or a control character (`char::is_whitespace`,
/// `char::is_control`). The usual all-ASCII token is tested eight bytes at a time: a
/// char-by-char test over a ~400-byte token was a quarter of the dev server's time in the
/// authorizer.
fn has_space_or_control(token: &str) -> bool {
    if !token.is_ascii() {
        return token.chars().any(|c| c.is_whitespace() || c.is_control());
    }
    // ASCII whitespace and controls are the bytes up to 0x20, and 0x7f.
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    // "Has a byte below n" for bytes below 0x80 (Bit Twiddling Hacks, `hasless`): exact as to
    // whether there is one.
    const fn has_byte_below(x: u64, n: u8) -> bool {
        x.wrapping_sub(splat(n)) & !x & splat(0x80) != 0
    }
    let mut chunks = token.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        if has_byte_below(x, 0x21) || has_byte_below(x ^ splat(0x7f), 1) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b <= b' ' || b == 0x7f)
}

/// `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/*/*` from a method ARN, so one cached
/// policy serves every route of the stage.
pub fn stage_wide_resource(method_arn: &str) -> Option<String> {
    let (prefix, path) = method_arn.split_once('/')?;
    let stage = path.split('/').next().filter(|s| !s.is_empty())?;
    let parts: Vec<&str> = prefix.split(':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
        return None;
    }
    Some(format!("{prefix}/{stage}/*/*"))
}

pub struct Authorizer {
    verifier: AccessTokenVerifier,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    /// `AUTHORIZER_REVOCATION=session`: the store to check sessions in, and what to do when it
    /// cannot be read.
    revocation: Option<(Arc<dyn RevocationStore>, RevocationFailMode)>,
}

/// Why the authorizer refused (logged as the denial's reason class).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Denied {
    #[error(transparent)]
    Token(#[from] VerifyError),
    #[error(transparent)]
    Revoked(#[from] revocation::Revoked),
    #[error("the session store is unavailable (AUTHORIZER_REVOCATION_ON_ERROR=deny)")]
    StoreUnavailable,
}

impl Denied {
    /// The `Reason` dimension of the denial metric.
    pub fn class(&self) -> &'static str {
        match self {
            Denied::Token(_) => "token",
            Denied::Revoked(_) => "revoked",
            Denied::StoreUnavailable => "store_unavailable",
        }
    }
}

impl Authorizer {
    pub fn new(cfg: &Config, keys: Arc<KeyRing>, clock: Arc<dyn Clock>) -> Self {
        Authorizer {
            verifier: AccessTokenVerifier::new(&TokenSettings::from(cfg), clock.clone()),
            keys,
            clock,
            revocation: None,
        }
    }

    /// Also checks every token's session in `store` (`AUTHORIZER_REVOCATION=session`).
    pub fn checking_sessions(
        mut self,
        store: Arc<dyn RevocationStore>,
        on_error: RevocationFailMode,
    ) -> Self {
        self.revocation = Some((store, on_error));
        self
    }

    /// Verifies a raw `Authorization` header value (offline checks only).
    pub async fn verify_header(&self, header: Option<&str>) -> Result<Claims, VerifyError> {
        let token = header
            .and_then(bearer_token)
            .ok_or(VerifyError::Malformed)?;
        self.verifier.verify(token, &self.keys).await
    }

    /// [`Self::verify_header`], then, when sessions are checked, the session.
    pub async fn authorize(&self, header: Option<&str>) -> Result<Claims, Denied> {
        let claims = self.verify_header(header).await?;
        let Some((store, on_error)) = &self.revocation else {
            return Ok(claims);
        };
        // A verified token's username is ours; one that does not parse has no session.
        let username =
            Username::parse(&claims.username).map_err(|_| revocation::Revoked::SessionGone)?;
        match store.live_status(&username, &claims.sid).await {
            Ok((session, user)) => {
                revocation::check(
                    &claims.sub,
                    &claims.sid,
                    session.as_ref(),
                    user.as_ref(),
                    self.clock.now(),
                )?;
                Ok(claims)
            }
            Err(e) => {
                crate::telemetry::count(crate::telemetry::Metric::BackingStoreUnavailable);
                tracing::error!(event = "backing_store_unavailable", error = %Chain(&e), on_error = ?on_error, "session check failed");
                match on_error {
                    RevocationFailMode::Deny => Err(Denied::StoreUnavailable),
                    RevocationFailMode::Allow => Ok(claims),
                }
            }
        }
    }

    /// Handles one authorizer event and returns what API Gateway expects, or
    /// [`Unauthorized`] (a 401 for REST APIs).
    pub async fn handle(
        &self,
        event: &AuthorizerRequest,
    ) -> Result<AuthorizerResponse, Unauthorized> {
        let Some((flavour, header)) = event.flavour() else {
            crate::telemetry::count(crate::telemetry::Metric::AuthorizerDenied("event"));
            tracing::warn!(event = "authorizer_denied", reason = "unrecognised event");
            return Err(Unauthorized);
        };
        let claims = match self.authorize(header).await {
            Ok(claims) => claims,
            Err(reason) => {
                crate::telemetry::count(crate::telemetry::Metric::AuthorizerDenied(reason.class()));
                tracing::info!(event = "authorizer_denied", reason = %reason);
                return match flavour {
                    Flavour::HttpV2 => Ok(AuthorizerResponse::Simple {
                        is_authorized: false,
                        context: None,
                    }),
                    Flavour::Rest => Err(Unauthorized),
                };
            }
        };
        // Debug, not info: this runs on every call of every protected API, and a log line per
        // call is CloudWatch volume and CPU on the hot path (it was most of the dev server's
        // guard cost). Per-request audit belongs in API Gateway access logs
        // ($context.authorizer.user_id); denials stay at info.
        crate::telemetry::count(crate::telemetry::Metric::AuthorizerAllowed);
        tracing::debug!(event = "authorizer_allowed", user_id = %claims.sub, session_id = %claims.sid);
        match flavour {
            Flavour::HttpV2 => Ok(AuthorizerResponse::Simple {
                is_authorized: true,
                context: Some(claims.into()),
            }),
            Flavour::Rest => {
                let resource = event
                    .method_arn
                    .as_deref()
                    .and_then(stage_wide_resource)
                    .ok_or_else(|| {
                        crate::telemetry::count(crate::telemetry::Metric::AuthorizerDenied(
                            "event",
                        ));
                        tracing::warn!(event = "authorizer_denied", reason = "malformed methodArn");
                        Unauthorized
                    })?;
                Ok(AuthorizerResponse::Policy {
                    principal_id: claims.sub.clone(),
                    policy_document: PolicyDocument {
                        version: "2012-10-17",
                        statement: vec![PolicyStatement {
                            action: "execute-api:Invoke",
                            effect: "Allow",
                            resource,
                        }],
                    },
                    context: claims.into(),
                })
            }
        }
    }

    /// [`Self::handle`] on a JSON event, answering JSON (the dev server and tests use it).
    pub async fn handle_json(&self, event: &Value) -> Result<Value, Unauthorized> {
        let request = AuthorizerRequest::deserialize(event).map_err(|_| Unauthorized)?;
        let response = self.handle(&request).await?;
        serde_json::to_value(response).map_err(|_| Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc"), Some("abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearerabc",
            "Bearer a b",
            "Bearer a\tb",
            "Bearer a\nb",
            "Bearer a\x0cb",
            "Bearer a\x0bb",
            "Bearer a\x01b",
            "Bearer abcdefghijklmnopqrstuvwxyz\x7f",
            "Bearer a\u{3000}b",
            "Bearer \u{e9}\u{a0}b",
            "abc",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn finds_whitespace_and_controls_anywhere_in_a_token() {
        let naive = |t: &str| t.chars().any(|c| c.is_whitespace() || c.is_control());
        for len in 1..40 {
            for fill in ['a', '!', '~', '.', '-', '_'] {
                let clean: String = std::iter::repeat_n(fill, len).collect();
                assert!(!has_space_or_control(&clean), "{clean:?}");
                for pos in 0..len {
                    for bad in [
                        '\0', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1f}', ' ', '\u{7f}',
                    ] {
                        let mut t: Vec<char> = clean.chars().collect();
                        t[pos] = bad;
                        let t: String = t.into_iter().collect();
                        assert!(has_space_or_control(&t), "{t:?}");
                        assert_eq!(has_space_or_control(&t), naive(&t));
                    }
                }
            }
        }
        for t in [
            "caf\u{e9}",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\u{85}b",
            "\u{2028}",
        ] {
            assert_eq!(has_space_or_control(t), naive(t), "{t:?}");
        }
    }

    #[test]
    fn the_context_pairs_are_its_json_fields() {
        let context = IdentityContext {
            sub: "u-1".into(),
            username: "alice".into(),
            roles: "admin,reader".into(),
            session_id: "s-1".into(),
        };
        let json = serde_json::to_value(&context).unwrap();
        let pairs: serde_json::Map<String, Value> = context
            .into_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        assert_eq!(Value::Object(pairs), json);
    }

    #[test]
    fn the_policy_resource_covers_the_whole_stage() {
        assert_eq!(
            stage_wide_resource(
                "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/hello/x"
            ),
            Some("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*".into())
        );
        for bad in [
            "",
            "arn:aws:s3:::bucket/x",
            "arn:aws:execute-api:r:a:api",
            "nonsense/x",
        ] {
            assert_eq!(stage_wide_resource(bad), None, "{bad:?}");
        }
    }
}

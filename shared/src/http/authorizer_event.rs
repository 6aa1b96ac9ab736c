//! The API Gateway side of the Lambda authorizer: the HTTP API payload 2.0 (simple responses)
//! and REST API TOKEN and REQUEST events, read without building a JSON tree, and what API
//! Gateway expects back (a simple response, an IAM policy, or `Unauthorized`). The decision
//! itself is [`Authorizer::authorize`].

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Claims;
use crate::service::authorizer::Authorizer;

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
    /// The token's `amr`, comma-separated (an API requires a second factor by looking for `mfa`).
    pub amr: String,
}

impl IdentityContext {
    /// The context as the name/value pairs API Gateway hands the backend (the names its JSON
    /// form has; a test keeps the two the same).
    pub fn into_pairs(self) -> [(&'static str, String); 5] {
        [
            ("sub", self.sub),
            ("username", self.username),
            ("roles", self.roles),
            ("session_id", self.session_id),
            ("amr", self.amr),
        ]
    }
}

impl From<Claims> for IdentityContext {
    fn from(c: Claims) -> Self {
        IdentityContext {
            roles: c.roles.join(","),
            amr: c.amr.join(","),
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

impl Authorizer {
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
    fn the_context_pairs_are_its_json_fields() {
        let context = IdentityContext {
            sub: "u-1".into(),
            username: "alice".into(),
            roles: "admin,reader".into(),
            session_id: "s-1".into(),
            amr: "pwd".into(),
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

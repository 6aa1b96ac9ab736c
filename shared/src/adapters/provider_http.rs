//! [`ProviderHttp`] over hyper and rustls (already linked by the AWS SDK's client): the calls
//! a relying party makes to an OpenID provider, each within [`TIMEOUT`], JSON answers of at
//! most 256 KB. The system's roots are trusted (providers are not under the Amazon roots the
//! SDK trusts); plain http only reaches what the configuration allowed (loopback issuers).

use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::Full;
use hyper::body::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};

use super::https::CallError;
use crate::ports::{ProviderCallError, ProviderHttp};

/// One call's budget: a provider that does not answer turns into
/// `#error=temporarily_unavailable` within seconds, not at API Gateway's 30 s.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// Discovery documents and key sets are a few KB; a token answer less.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// `application/x-www-form-urlencoded` escaping (and RFC 6749 §2.3.1's for Basic credentials).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Default)]
pub struct HyperProviderHttp {
    client: super::https::LazyClient<Full<Bytes>>,
}

impl HyperProviderHttp {
    pub fn new() -> Self {
        Self::default()
    }

    async fn call(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<serde_json::Value, ProviderCallError> {
        let (status, body) = self
            .client
            .send(request, MAX_BODY_BYTES, TIMEOUT)
            .await
            .map_err(|e| ProviderCallError::Unreachable(Box::new(e)))?;
        let json = serde_json::from_slice(&body).map_err(|_| ProviderCallError::NotJson);
        match status {
            200..=299 => json,
            _ => Err(ProviderCallError::Status {
                status,
                body: json.unwrap_or(serde_json::Value::Null),
            }),
        }
    }
}

/// The form body, `k=v&...`, escaped.
fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, FORM),
                utf8_percent_encode(v, FORM)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(id: &str, secret: &SecretString) -> String {
    let pair = format!(
        "{}:{}",
        utf8_percent_encode(id, FORM),
        utf8_percent_encode(secret.expose_secret(), FORM)
    );
    format!("Basic {}", STANDARD.encode(pair))
}

#[async_trait]
impl ProviderHttp for HyperProviderHttp {
    async fn get_json(&self, url: &str) -> Result<serde_json::Value, ProviderCallError> {
        let request = http::Request::get(url)
            .header("accept", "application/json")
            .header("user-agent", "lambda-jwt-auth")
            .body(Full::new(Bytes::new()))
            .map_err(|e| ProviderCallError::Unreachable(Box::new(CallError::Url(e))))?;
        self.call(request).await
    }

    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &SecretString)>,
    ) -> Result<serde_json::Value, ProviderCallError> {
        let mut builder = http::Request::post(url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", "lambda-jwt-auth");
        if let Some((id, secret)) = basic {
            builder = builder.header("authorization", basic_credentials(id, secret));
        }
        let request = builder
            .body(Full::new(Bytes::from(form_body(form))))
            .map_err(|e| ProviderCallError::Unreachable(Box::new(CallError::Url(e))))?;
        self.call(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_basic_credentials_are_escaped() {
        assert_eq!(
            form_body(&[("code", "a b&c=d"), ("redirect_uri", "http://x/y?z")]),
            "code=a%20b%26c%3Dd&redirect_uri=http%3A%2F%2Fx%2Fy%3Fz"
        );
        // RFC 6749 §2.3.1: both halves form-encoded before base64.
        let basic = basic_credentials("my:id", &SecretString::from("p@ss"));
        let decoded = STANDARD
            .decode(basic.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "my%3Aid:p%40ss");
    }
}

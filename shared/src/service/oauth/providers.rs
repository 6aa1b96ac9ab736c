//! What the service knows of each OpenID provider: its discovery document and its keys, read
//! over [`ProviderHttp`] and cached. The keys are fetched again when an ID token names a `kid`
//! the cached set lacks (a provider rotated), at most once a minute: a stream of tokens with
//! made-up `kid`s cannot turn this function into a flood on the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::config::{trusted_base_url, OidcProvider};
use crate::crypto::id_token::ProviderKeys;
use crate::ports::{Clock, ProviderCallError, ProviderHttp};

/// How long a discovery document is kept (providers change theirs rarely; a restart or this
/// much time picks a change up).
pub const METADATA_TTL_SECS: u64 = 3600;
/// How long a key set is kept when no token asks for a key it lacks.
pub const KEYS_TTL_SECS: u64 = 3600;
/// Fewest seconds between two fetches of one provider's keys caused by an unknown `kid`.
pub const KEYS_REFETCH_SECS: u64 = 60;

/// The parts of a provider's discovery document a relying party uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// `id_token_signing_alg_values_supported`.
    pub algorithms: Vec<String>,
    /// `token_endpoint_auth_methods_supported` (default `client_secret_basic`).
    pub auth_methods: Vec<String>,
}

/// Why a provider's documents could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("the provider did not answer")]
    Unavailable(#[source] ProviderCallError),
    #[error("the provider's discovery document is unusable: {0}")]
    BadMetadata(&'static str),
}

impl ProviderMetadata {
    /// Reads a discovery document fetched from `provider.issuer`: its `issuer` must be that
    /// issuer exactly (OpenID Connect Discovery §4.3), every endpoint an https URL (http on
    /// loopback only), and `code` among its response types.
    pub fn parse(doc: &Value, provider: &OidcProvider) -> Result<Self, DirectoryError> {
        let bad = DirectoryError::BadMetadata;
        let text = |name| doc.get(name).and_then(Value::as_str);
        let endpoint = |name, why| {
            text(name)
                .filter(|url| trusted_base_url(url).is_some_and(|u| u == *url))
                .map(str::to_string)
                .ok_or(bad(why))
        };
        if text("issuer") != Some(provider.issuer.as_str()) {
            return Err(bad("its issuer is not the configured one"));
        }
        let list = |name| -> Option<Vec<String>> {
            doc.get(name).and_then(Value::as_array).map(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
        };
        if list("response_types_supported").is_some_and(|t| !t.iter().any(|t| t == "code")) {
            return Err(bad("it does not support the code flow"));
        }
        Ok(ProviderMetadata {
            issuer: provider.issuer.clone(),
            authorization_endpoint: endpoint(
                "authorization_endpoint",
                "no usable authorization_endpoint",
            )?,
            token_endpoint: endpoint("token_endpoint", "no usable token_endpoint")?,
            jwks_uri: endpoint("jwks_uri", "no usable jwks_uri")?,
            algorithms: list("id_token_signing_alg_values_supported")
                .ok_or(bad("no id_token_signing_alg_values_supported"))?,
            auth_methods: list("token_endpoint_auth_methods_supported")
                .unwrap_or_else(|| vec!["client_secret_basic".to_string()]),
        })
    }
}

#[derive(Default)]
struct Cached {
    metadata: Option<(Arc<ProviderMetadata>, u64)>,
    keys: Option<(Arc<ProviderKeys>, u64)>,
}

/// The cache, one per function instance.
pub struct Directory {
    http: Arc<dyn ProviderHttp>,
    clock: Arc<dyn Clock>,
    cached: Mutex<HashMap<String, Cached>>,
}

impl Directory {
    pub fn new(http: Arc<dyn ProviderHttp>, clock: Arc<dyn Clock>) -> Self {
        Directory {
            http,
            clock,
            cached: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, provider: &str, f: impl FnOnce(&mut Cached) -> T) -> T {
        let mut all = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        f(all.entry(provider.to_string()).or_default())
    }

    /// The provider's discovery document, fetched if not cached or older than an hour.
    pub async fn metadata(
        &self,
        provider: &OidcProvider,
    ) -> Result<Arc<ProviderMetadata>, DirectoryError> {
        let now = self.clock.now();
        let fresh = self.with(&provider.id, |c| {
            c.metadata
                .as_ref()
                .filter(|(_, at)| now < at.saturating_add(METADATA_TTL_SECS))
                .map(|(m, _)| m.clone())
        });
        if let Some(metadata) = fresh {
            return Ok(metadata);
        }
        let url = format!("{}/.well-known/openid-configuration", provider.issuer);
        let doc = self
            .http
            .get_json(&url)
            .await
            .map_err(DirectoryError::Unavailable)?;
        let metadata = Arc::new(ProviderMetadata::parse(&doc, provider)?);
        self.with(&provider.id, |c| c.metadata = Some((metadata.clone(), now)));
        Ok(metadata)
    }

    /// The provider's keys: the cached set while under an hour old, else fetched.
    pub async fn keys(
        &self,
        provider: &OidcProvider,
        metadata: &ProviderMetadata,
    ) -> Result<Arc<ProviderKeys>, DirectoryError> {
        let now = self.clock.now();
        let fresh = self.with(&provider.id, |c| {
            c.keys
                .as_ref()
                .filter(|(_, at)| now < at.saturating_add(KEYS_TTL_SECS))
                .map(|(k, _)| k.clone())
        });
        match fresh {
            Some(keys) => Ok(keys),
            None => self.fetch_keys(provider, metadata, now).await,
        }
    }

    /// The keys fetched again because a token named a `kid` the cached set lacks; `None` if
    /// they were fetched under a minute ago (the token is then refused as it is).
    pub async fn refetch_keys(
        &self,
        provider: &OidcProvider,
        metadata: &ProviderMetadata,
    ) -> Result<Option<Arc<ProviderKeys>>, DirectoryError> {
        let now = self.clock.now();
        let recent = self.with(&provider.id, |c| {
            c.keys
                .as_ref()
                .is_some_and(|(_, at)| now < at.saturating_add(KEYS_REFETCH_SECS))
        });
        if recent {
            tracing::info!(
                event = "oidc_keys_refetch_skipped",
                provider = %provider.id,
                "unknown kid, keys fetched under a minute ago"
            );
            return Ok(None);
        }
        self.fetch_keys(provider, metadata, now).await.map(Some)
    }

    async fn fetch_keys(
        &self,
        provider: &OidcProvider,
        metadata: &ProviderMetadata,
        now: u64,
    ) -> Result<Arc<ProviderKeys>, DirectoryError> {
        let jwks = self
            .http
            .get_json(&metadata.jwks_uri)
            .await
            .map_err(DirectoryError::Unavailable)?;
        let keys = Arc::new(ProviderKeys::from_jwks(&jwks));
        tracing::info!(
            event = "oidc_keys_fetched",
            provider = %provider.id,
            keys = keys.len(),
            "provider keys fetched"
        );
        self.with(&provider.id, |c| c.keys = Some((keys.clone(), now)));
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> OidcProvider {
        OidcProvider {
            id: "dev".into(),
            issuer: "https://idp.example".into(),
            client_id: "client".into(),
            client_secret_id: None,
            scopes: vec!["openid".into()],
        }
    }

    fn doc() -> Value {
        serde_json::json!({
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/authorize",
            "token_endpoint": "https://idp.example/token",
            "jwks_uri": "https://idp.example/jwks",
            "response_types_supported": ["code", "id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    #[test]
    fn a_discovery_document_is_read_and_checked() {
        let m = ProviderMetadata::parse(&doc(), &provider()).unwrap();
        assert_eq!(m.token_endpoint, "https://idp.example/token");
        assert_eq!(m.algorithms, ["RS256"]);
        assert_eq!(m.auth_methods, ["client_secret_basic"]);
        let refused = |change: &dyn Fn(&mut Value)| {
            let mut d = doc();
            change(&mut d);
            ProviderMetadata::parse(&d, &provider()).is_err()
        };
        // Another issuer (a mix-up: one provider's document naming another).
        assert!(refused(&|d| d["issuer"] = "https://evil.example".into()));
        assert!(refused(&|d| d["issuer"] = "https://idp.example/".into()));
        // Plain http off loopback, a query, a missing endpoint.
        assert!(refused(
            &|d| d["token_endpoint"] = "http://idp.example/token".into()
        ));
        assert!(refused(
            &|d| d["authorization_endpoint"] = "https://idp.example/a?x=1".into()
        ));
        assert!(refused(&|d| {
            d.as_object_mut().unwrap().remove("jwks_uri");
        }));
        assert!(refused(
            &|d| d["response_types_supported"] = serde_json::json!(["id_token"])
        ));
        assert!(refused(&|d| {
            d.as_object_mut()
                .unwrap()
                .remove("id_token_signing_alg_values_supported");
        }));
    }
}

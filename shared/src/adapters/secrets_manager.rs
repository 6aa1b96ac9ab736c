//! Secrets Manager adapters: [`KeySource`] reads AWSCURRENT, AWSPREVIOUS and AWSPENDING of the
//! signing secret (each `{"signing_key": ...}`, HS256 keys named by version id);
//! [`PublicKeySource`] reads the public key set the rotation publishes in a second secret.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;

use crate::crypto::keyring::{parse_signing_secret, SecretValue};
use crate::crypto::sealed::DataKeySource;
use crate::crypto::sealed::DataKeys;
use crate::domain::SigningAlg;
use crate::error::{Chain, KeyError};
use crate::ports::{ClientSecrets, KeyMaterial, KeySet, KeySource, PublicKeySource};
use secrecy::SecretString;

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub const AWSPENDING: &str = "AWSPENDING";

/// The Secrets Manager client, built on first use (then kept for the container's life).
/// logout never calls Secrets Manager (its role has no access to the secret), so its
/// containers never build one: a client costs ~0.4M instructions of cold start, mostly the
/// SDK parsing its endpoint partition table. login, refresh and the authorizer build it during
/// init anyway, when they load the key ring.
#[derive(Clone, Debug)]
pub struct SecretsClient(Arc<LazyClient>);

#[derive(Debug)]
struct LazyClient {
    config: SdkConfig,
    client: OnceLock<Client>,
}

impl SecretsClient {
    pub fn new(config: &SdkConfig) -> Self {
        SecretsClient(Arc::new(LazyClient {
            config: config.clone(),
            client: OnceLock::new(),
        }))
    }

    /// An already built client (tests configure their own).
    pub fn built(client: Client) -> Self {
        SecretsClient(Arc::new(LazyClient {
            config: SdkConfig::builder().build(),
            client: OnceLock::from(client),
        }))
    }

    pub fn client(&self) -> &Client {
        self.0.client.get_or_init(|| Client::new(&self.0.config))
    }

    /// Whether the client has been built yet.
    #[cfg(test)]
    pub fn is_built(&self) -> bool {
        self.0.client.get().is_some()
    }
}

impl Deref for SecretsClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client()
    }
}

#[derive(Clone, Debug)]
pub struct SecretsManagerKeySource {
    client: SecretsClient,
    secret_id: String,
    alg: SigningAlg,
}

/// One version of the signing secret.
struct Version {
    id: String,
    value: SecretValue,
}

impl SecretsManagerKeySource {
    pub fn new(client: SecretsClient, secret_id: String, alg: SigningAlg) -> Self {
        SecretsManagerKeySource {
            client,
            secret_id,
            alg,
        }
    }

    async fn version(&self, stage: &str) -> Result<Option<Version>, KeyError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if stage != AWSCURRENT
                    && e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(KeyError::unavailable(e)),
        };
        let kid = out
            .version_id
            .ok_or_else(|| KeyError::Malformed("secret version has no id".into()))?;
        let text = out
            .secret_string
            .ok_or_else(|| KeyError::Malformed("secret has no string value".into()))?;
        Ok(Some(Version {
            value: parse_signing_secret(self.alg, &text)?,
            id: kid,
        }))
    }
}

impl Version {
    fn signing(self) -> KeyMaterial {
        KeyMaterial {
            kid: self.id,
            secret: self.value.signing,
        }
    }
}

#[async_trait]
impl KeySource for SecretsManagerKeySource {
    async fn load(&self) -> Result<KeySet, KeyError> {
        // Concurrently: one round trip's latency for all three.
        let (current, previous, pending) = tokio::join!(
            self.version(AWSCURRENT),
            self.version(AWSPREVIOUS),
            self.version(AWSPENDING)
        );
        let current = current?
            .ok_or_else(|| KeyError::Malformed("secret has no AWSCURRENT version".into()))?;
        let next = current.value.next.clone().map(|secret| KeyMaterial {
            kid: current.id.clone(),
            secret,
        });
        let previous = previous.unwrap_or_else(|e| {
            tracing::warn!(error = %Chain(&e), "ignoring AWSPREVIOUS signing key");
            None
        });
        // Between createSecret and finishSecret: verify-only, so tokens signed by an instance
        // that already sees the new version as current are accepted without a reload (which
        // forged kids could otherwise keep rate-limited).
        let pending = pending
            .unwrap_or_else(|e| {
                tracing::warn!(error = %Chain(&e), "ignoring AWSPENDING signing key");
                None
            })
            .filter(|p| p.id != current.id);
        Ok(KeySet {
            current: current.signing(),
            previous: previous.map(Version::signing),
            pending: pending.map(Version::signing),
            next,
        })
    }
}

/// The public key set (`{"keys": [...]}`) in its own secret, AWSCURRENT: a role allowed to
/// read only this secret can verify tokens and can sign none.
#[derive(Clone, Debug)]
pub struct SecretsManagerPublicKeys {
    client: SecretsClient,
    secret_id: String,
}

impl SecretsManagerPublicKeys {
    pub fn new(client: SecretsClient, secret_id: String) -> Self {
        SecretsManagerPublicKeys { client, secret_id }
    }
}

#[async_trait]
impl PublicKeySource for SecretsManagerPublicKeys {
    async fn load_jwks(&self) -> Result<String, KeyError> {
        current_string(&self.client, &self.secret_id, "public key secret").await
    }
}

/// The data keys that seal secrets at rest (`MFA_KEY_SECRET_ID`, AWSCURRENT), parsed and
/// kept for `ttl` (`SECRET_CACHE_TTL`, as the signing keys are).
pub struct SecretsManagerDataKeys {
    client: SecretsClient,
    secret_id: String,
    ttl: std::time::Duration,
    cached: tokio::sync::Mutex<Option<(Arc<DataKeys>, std::time::Instant)>>,
}

impl SecretsManagerDataKeys {
    pub fn new(client: SecretsClient, secret_id: String) -> Self {
        Self::cached_for(client, secret_id, std::time::Duration::ZERO)
    }

    /// As [`SecretsManagerDataKeys::new`], the parsed set kept for `ttl`.
    pub fn cached_for(client: SecretsClient, secret_id: String, ttl: std::time::Duration) -> Self {
        SecretsManagerDataKeys {
            client,
            secret_id,
            ttl,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// Reads and parses the key set: [`KeyError::Unavailable`] when Secrets Manager cannot be
    /// read, [`KeyError::Malformed`] when the value is not a key set (the reason, never a key).
    pub async fn load(&self) -> Result<DataKeys, KeyError> {
        let text = current_string(&self.client, &self.secret_id, "data key secret").await?;
        DataKeys::parse(&text).map_err(|e| KeyError::Malformed(e.to_string()))
    }
}

#[async_trait]
impl DataKeySource for SecretsManagerDataKeys {
    async fn data_keys(&self) -> Result<Arc<DataKeys>, KeyError> {
        let mut cached = self.cached.lock().await;
        if let Some((keys, at)) = cached.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(self.load().await?);
        *cached = Some((keys.clone(), std::time::Instant::now()));
        Ok(keys)
    }

    async fn reload(&self) -> Result<Arc<DataKeys>, KeyError> {
        let keys = Arc::new(self.load().await?);
        *self.cached.lock().await = Some((keys.clone(), std::time::Instant::now()));
        Ok(keys)
    }
}

/// The AWSCURRENT string value of `secret_id` (`what` names it in the error).
async fn current_string(
    client: &SecretsClient,
    secret_id: &str,
    what: &str,
) -> Result<String, KeyError> {
    client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(AWSCURRENT)
        .send()
        .await
        .map_err(KeyError::unavailable)?
        .secret_string
        .ok_or_else(|| KeyError::Malformed(format!("{what} has no string value")))
}

/// OAuth client secrets (each provider's `client_secret_id`), read on first use and kept for
/// `ttl` (`SECRET_CACHE_TTL`). The value is the secret itself, or JSON
/// `{"client_secret": "..."}`.
pub struct SecretsManagerClientSecrets {
    client: SecretsClient,
    ttl: std::time::Duration,
    cached:
        tokio::sync::Mutex<std::collections::HashMap<String, (SecretString, std::time::Instant)>>,
}

impl SecretsManagerClientSecrets {
    pub fn new(client: SecretsClient, ttl: std::time::Duration) -> Self {
        SecretsManagerClientSecrets {
            client,
            ttl,
            cached: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

/// A client secret's stored value: the secret, or `{"client_secret": "..."}`.
fn client_secret_of(text: &str) -> Result<SecretString, KeyError> {
    let secret = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map
            .get("client_secret")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                KeyError::Malformed("client secret JSON has no client_secret string".into())
            })?,
        _ => text.trim().to_string(),
    };
    match secret.is_empty() {
        true => Err(KeyError::Malformed("client secret is empty".into())),
        false => Ok(SecretString::from(secret)),
    }
}

#[async_trait]
impl ClientSecrets for SecretsManagerClientSecrets {
    async fn client_secret(&self, secret_id: &str) -> Result<SecretString, KeyError> {
        let mut cached = self.cached.lock().await;
        if let Some((secret, at)) = cached.get(secret_id) {
            if at.elapsed() < self.ttl {
                return Ok(secret.clone());
            }
        }
        let text = current_string(&self.client, secret_id, "client secret").await?;
        let secret = client_secret_of(&text)?;
        cached.insert(
            secret_id.to_string(),
            (secret.clone(), std::time::Instant::now()),
        );
        Ok(secret)
    }
}

#[cfg(test)]
mod client_secret_tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_client_secret_is_the_value_or_its_json_field() {
        let read = |t: &str| client_secret_of(t).map(|s| s.expose_secret().to_string());
        assert_eq!(read("s3cret\n").unwrap(), "s3cret");
        assert_eq!(read(r#"{"client_secret":"abc"}"#).unwrap(), "abc");
        assert!(read(r#"{"secret":"abc"}"#).is_err());
        assert!(read("  ").is_err());
        assert!(read(r#"{"client_secret":""}"#).is_err());
    }
}

//! Signing-key rotation, the Secrets Manager rotation protocol's four steps:
//! createSecret (the new version as AWSPENDING), setSecret (nothing external holds the key: a
//! no-op), testSecret (sign and verify with the pending key), finishSecret (move AWSCURRENT to
//! the new version; Secrets Manager labels the old one AWSPREVIOUS). Every step is idempotent,
//! as the protocol retries them, and refuses a token that does not match the secret's state.
//! Used by `functions/rotate-secret` and `authctl secret rotate`.
//!
//! HS256: each version holds one fresh random key. Asymmetric modes keep a key published
//! before it signs: each version holds the key that signs and the *next* key, and the new
//! version signs with the current version's next key and draws a fresh next key. finishSecret
//! then writes the public key set (current, next, previous: [`publish_public_keys`]) to the
//! public-keys secret, where the authorizer and the discovery function read it. So a key is
//! in the JWKS one whole rotation period before it signs, and the previous key one period after
//! it stopped; [`MIN_ROTATION_INTERVAL`] keeps a hurried `authctl secret rotate` from cutting
//! either short.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_secretsmanager::Client;
use serde::Deserialize;

use crate::adapters::secrets_manager::{
    SecretsClient, SecretsManagerKeySource, AWSCURRENT, AWSPENDING,
};
use crate::config::Config;
use crate::crypto::keyring::KeyRing;
use crate::crypto::tokens::{mint_access_token, AccessTokenVerifier, TokenSettings};
use crate::domain::{SigningAlg, User, Username};

/// Shortest time between two asymmetric rotations, seconds, unless forced: API Gateway's JWT
/// authorizer caches a JWKS for up to two hours, and the key published as next must be seen
/// by every verifier before it signs (and access tokens live at most a day, so the previous
/// key outlives them too).
pub const MIN_ROTATION_INTERVAL: u64 = 2 * 3600 + 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Step {
    #[serde(rename = "createSecret")]
    Create,
    #[serde(rename = "setSecret")]
    Set,
    #[serde(rename = "testSecret")]
    Test,
    #[serde(rename = "finishSecret")]
    Finish,
}

/// The event Secrets Manager sends the rotation function.
#[derive(Debug, Clone, Deserialize)]
pub struct RotationEvent {
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    #[serde(rename = "ClientRequestToken")]
    pub token: String,
    #[serde(rename = "Step")]
    pub step: Step,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("rotation is not enabled for the secret")]
    NotEnabled,
    #[error("version {0} of the secret is not staged for rotation (no AWSPENDING)")]
    NotPending(String),
    #[error("version {0} does not exist for the secret")]
    UnknownVersion(String),
    #[error("the pending key failed its test")]
    TestFailed(#[source] BoxError),
    #[error("Secrets Manager")]
    Aws(#[source] BoxError),
    #[error("the current key was made {age} s ago; rotating again before {MIN_ROTATION_INTERVAL} s would sign with a key verifiers may not have fetched yet (force it with --force)")]
    TooSoon { age: u64 },
    #[error("could not build the new key")]
    Key(#[source] crate::error::KeyError),
    #[error("SIGNING_ALG is {configured} but the secret's current value is an {found} key; rotating would write a value the functions cannot load (set SIGNING_ALG={found}, or leave it unset)")]
    AlgMismatch {
        configured: SigningAlg,
        found: SigningAlg,
    },
    #[error("the secret's current value is not a key of any supported algorithm; set SIGNING_ALG to the one the functions use to start a new key chain")]
    UnknownAlg,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn aws(e: impl std::error::Error + Send + Sync + 'static) -> RotationError {
    RotationError::Aws(Box::new(e))
}

fn test_failed(e: impl std::error::Error + Send + Sync + 'static) -> RotationError {
    RotationError::TestFailed(Box::new(e))
}

/// The claims of the probe token testSecret signs: a user that cannot exist (usernames are
/// checked at login, but nothing looks this one up), the default issuer and audience.
const PROBE_USER: &str = "rotation-test";

pub struct Rotator {
    client: Client,
    /// The Lambda insists rotation is enabled; `authctl` drives the steps itself.
    require_rotation_enabled: bool,
    alg: SigningAlg,
    /// Where finishSecret publishes the public keys (asymmetric modes).
    public_keys_secret_id: String,
    /// Skip [`MIN_ROTATION_INTERVAL`] (`authctl secret rotate --force`: a leaked key).
    force: bool,
}

impl Rotator {
    pub fn for_lambda(client: Client, cfg: &Config) -> Self {
        Rotator {
            client,
            require_rotation_enabled: true,
            alg: cfg.signing.alg,
            public_keys_secret_id: cfg.signing.public_keys_secret_id.clone(),
            force: false,
        }
    }

    pub fn for_cli(client: Client, cfg: &Config) -> Self {
        Rotator {
            require_rotation_enabled: false,
            ..Self::for_lambda(client, cfg)
        }
    }

    /// For `authctl secret rotate`: the algorithm is the current value's, so the new value is
    /// one the functions can load. `configured` is `SIGNING_ALG` when the operator set it:
    /// refused if the current value is another algorithm's key; needed (a new key chain) if
    /// the current value is no key at all (the template's placeholder).
    pub async fn for_cli_detecting(
        client: Client,
        cfg: &Config,
        configured: Option<SigningAlg>,
    ) -> Result<Self, RotationError> {
        let current = client
            .get_secret_value()
            .secret_id(&cfg.signing.secret_id)
            .version_stage(AWSCURRENT)
            .send()
            .await
            .map_err(aws)?;
        let found = current.secret_string.as_deref().and_then(detect_alg);
        let alg = match (found, configured) {
            (Some(found), Some(configured)) if found != configured => {
                return Err(RotationError::AlgMismatch { configured, found })
            }
            (Some(alg), _) | (None, Some(alg)) => alg,
            (None, None) => return Err(RotationError::UnknownAlg),
        };
        Ok(Rotator {
            alg,
            ..Self::for_cli(client, cfg)
        })
    }

    /// The algorithm this rotator writes keys of.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// Rotates even if the current key is younger than [`MIN_ROTATION_INTERVAL`].
    pub fn forced(self) -> Self {
        Rotator {
            force: true,
            ..self
        }
    }

    async fn versions(
        &self,
        secret_id: &str,
    ) -> Result<HashMap<String, Vec<String>>, RotationError> {
        let d = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(aws)?;
        if self.require_rotation_enabled && d.rotation_enabled != Some(true) {
            return Err(RotationError::NotEnabled);
        }
        Ok(d.version_ids_to_stages.unwrap_or_default())
    }

    /// Runs one step for `token`.
    pub async fn run(&self, secret_id: &str, token: &str, step: Step) -> Result<(), RotationError> {
        let versions = self.versions(secret_id).await?;
        match versions.get(token) {
            Some(stages) if stages.iter().any(|s| s == AWSCURRENT) => {
                tracing::info!(?step, "version already AWSCURRENT: nothing to do");
                if step == Step::Finish && self.alg.is_asymmetric() {
                    // A retried finishSecret whose publication failed the first time.
                    self.publish(secret_id, token).await?;
                }
                return Ok(());
            }
            Some(stages) if !stages.iter().any(|s| s == AWSPENDING) => {
                return Err(RotationError::NotPending(token.to_string()));
            }
            Some(_) => {}
            // Secrets Manager stages the token before calling createSecret; authctl (and the
            // emulator) create it in that step. No other step may meet an unknown version.
            None if step == Step::Create => {}
            None => return Err(RotationError::UnknownVersion(token.to_string())),
        }
        match step {
            Step::Create => self.create(secret_id, token).await,
            Step::Set => {
                tracing::info!("setSecret: the key is used only by this service; nothing to set");
                Ok(())
            }
            Step::Test => self.test(secret_id, token).await,
            Step::Finish => self.finish(secret_id, token, &versions).await,
        }
    }

    /// All four steps with a fresh token (what `authctl secret rotate` does); returns the new
    /// version id.
    pub async fn rotate_now(&self, secret_id: &str) -> Result<String, RotationError> {
        let token = uuid::Uuid::new_v4().to_string();
        for step in [Step::Create, Step::Set, Step::Test, Step::Finish] {
            self.run(secret_id, &token, step).await?;
        }
        Ok(token)
    }
}

mod public_keys;
mod steps;

pub use public_keys::{detect_alg, public_key_set, publish_public_keys};

//! Signing-key rotation, the Secrets Manager rotation protocol's four steps:
//! createSecret (a new random 32-byte key as AWSPENDING), setSecret (nothing external holds
//! the key: a no-op), testSecret (sign and verify with the pending key), finishSecret (move
//! AWSCURRENT to the new version; Secrets Manager labels the old one AWSPREVIOUS). Every step
//! is idempotent, as the protocol retries them, and refuses a token that does not match the
//! secret's state. Used by `functions/rotate-secret` and `authctl secret rotate`.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::adapters::secrets_manager::{AWSCURRENT, AWSPENDING};
use crate::aws::setup::new_signing_secret_value;
use crate::crypto::keyring::{parse_signing_secret, SigningKey};
use crate::crypto::tokens::{mint_access_token, AccessTokenVerifier, TokenSettings};
use crate::domain::{User, Username};
use crate::ports::{Clock, KeyMaterial, SystemClock};

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
}

impl Rotator {
    pub fn for_lambda(client: Client) -> Self {
        Rotator {
            client,
            require_rotation_enabled: true,
        }
    }

    pub fn for_cli(client: Client) -> Self {
        Rotator {
            client,
            require_rotation_enabled: false,
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

    async fn pending_value(
        &self,
        secret_id: &str,
        token: &str,
    ) -> Result<Option<SecretString>, RotationError> {
        match self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(token)
            .version_stage(AWSPENDING)
            .send()
            .await
        {
            Ok(out) => Ok(out.secret_string.map(SecretString::from)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws(e)),
        }
    }

    async fn create(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        // The current version must exist (and we must be able to read it).
        self.client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .send()
            .await
            .map_err(aws)?;
        if self.pending_value(secret_id, token).await?.is_some() {
            tracing::info!("createSecret: pending version already has a key (retried step)");
            return Ok(());
        }
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(new_signing_secret_value().expose_secret())
            .version_stages(AWSPENDING)
            .send()
            .await
            .map_err(aws)?;
        tracing::info!("createSecret: new key stored as AWSPENDING");
        Ok(())
    }

    async fn test(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        let value = self
            .pending_value(secret_id, token)
            .await?
            .ok_or_else(|| RotationError::UnknownVersion(token.to_string()))?;
        let secret = parse_signing_secret(value.expose_secret()).map_err(test_failed)?;
        let key = SigningKey::new(&KeyMaterial {
            kid: token.to_string(),
            secret,
        })
        .map_err(test_failed)?;
        let settings = TokenSettings {
            issuer: PROBE_USER.into(),
            audience: PROBE_USER.into(),
            ttl: 60,
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let probe = User {
            user_id: PROBE_USER.into(),
            username: Username::parse(PROBE_USER).map_err(test_failed)?,
            password_hash: String::new(),
            roles: Vec::new(),
            disabled: false,
            created_at: 0,
            sessions_cutoff: None,
        };
        let (jwt, _) = mint_access_token(
            &key,
            &settings,
            &probe,
            "0".repeat(32).as_str(),
            clock.now(),
        )
        .map_err(test_failed)?;
        AccessTokenVerifier::new(&settings, clock)
            .verify_with(&jwt, &key)
            .map_err(test_failed)?;
        tracing::info!("testSecret: signed and verified with the pending key");
        Ok(())
    }

    async fn finish(
        &self,
        secret_id: &str,
        token: &str,
        versions: &HashMap<String, Vec<String>>,
    ) -> Result<(), RotationError> {
        let current = versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == AWSCURRENT))
            .map(|(id, _)| id.clone());
        let mut update = self
            .client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(token);
        if let Some(current) = current {
            update = update.remove_from_version_id(current);
        }
        update.send().await.map_err(aws)?;
        tracing::info!("finishSecret: AWSCURRENT moved to the new version");
        Ok(())
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

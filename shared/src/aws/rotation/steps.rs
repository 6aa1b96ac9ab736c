//! The rotation protocol's steps: createSecret, testSecret, finishSecret (setSecret has
//! nothing to do: only this service holds the key).

use secrecy::{ExposeSecret, SecretString};

use crate::adapters::secrets_manager::{AWSCURRENT, AWSPENDING};
use crate::crypto::keyring::{parse_signing_secret, render_signing_secret, SigningKey};
use crate::crypto::keys;
use crate::domain::SigningAlg;
use crate::ports::{Clock, KeyMaterial, SystemClock};

use super::*;

impl Rotator {
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

    pub(super) async fn create(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        // The current version must exist (and we must be able to read it).
        let current = self
            .client
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
        let value = if self.alg.is_asymmetric() {
            let created = current.created_date.map(|d| d.secs()).unwrap_or(0);
            let age = u64::try_from(SystemClock.now() as i64 - created).unwrap_or(0);
            let parsed = current
                .secret_string
                .as_deref()
                .map(|v| parse_signing_secret(self.alg, v));
            self.next_value(parsed, age)?
        } else {
            let key = keys::generate(SigningAlg::Hs256).map_err(RotationError::Key)?;
            render_signing_secret(SigningAlg::Hs256, &key, None)
        };
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(value.expose_secret())
            .version_stages(AWSPENDING)
            .send()
            .await
            .map_err(aws)?;
        tracing::info!("createSecret: new version stored as AWSPENDING");
        Ok(())
    }

    /// The asymmetric successor of the current value: sign with its next key and draw a fresh
    /// next key. A current value without a next key keeps its signing key and gains one (so
    /// nothing signs unpublished); one that is not a key of this algorithm at all (the
    /// template's placeholder, or a changed `SIGNING_ALG`) starts a new chain.
    fn next_value(
        &self,
        current: Option<Result<crate::crypto::keyring::SecretValue, crate::error::KeyError>>,
        age: u64,
    ) -> Result<SecretString, RotationError> {
        let alg = self.alg;
        let fresh = || keys::generate(alg).map_err(RotationError::Key);
        let usable =
            |k: &secrecy::SecretSlice<u8>| keys::check_private_key(alg, k.expose_secret()).is_ok();
        let (signing, next) = match current {
            Some(Ok(value)) if usable(&value.signing) => {
                if !self.force && age < MIN_ROTATION_INTERVAL {
                    return Err(RotationError::TooSoon { age });
                }
                match value.next {
                    Some(next) if usable(&next) => (next, fresh()?),
                    _ => (value.signing, fresh()?),
                }
            }
            _ => {
                tracing::warn!(alg = %alg, "createSecret: the current version holds no usable key of this algorithm; starting a new key chain");
                (fresh()?, fresh()?)
            }
        };
        Ok(render_signing_secret(alg, &signing, Some(&next)))
    }

    pub(super) async fn test(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        let value = self
            .pending_value(secret_id, token)
            .await?
            .ok_or_else(|| RotationError::UnknownVersion(token.to_string()))?;
        let secret = parse_signing_secret(self.alg, value.expose_secret()).map_err(test_failed)?;
        if let Some(next) = &secret.next {
            let next = KeyMaterial {
                kid: token.to_string(),
                secret: next.clone(),
            };
            SigningKey::new(self.alg, &next).map_err(test_failed)?;
        }
        let key = SigningKey::new(
            self.alg,
            &KeyMaterial {
                kid: token.to_string(),
                secret: secret.signing,
            },
        )
        .map_err(test_failed)?;
        let settings = TokenSettings {
            issuer: PROBE_USER.into(),
            audience: PROBE_USER.into(),
            ttl: 60,
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let probe = User::new(
            PROBE_USER,
            Username::parse(PROBE_USER).map_err(test_failed)?,
            String::new(),
            Vec::new(),
            0,
        );
        let (jwt, _) = mint_access_token(
            &key,
            &settings,
            &probe,
            "0".repeat(32).as_str(),
            &[],
            clock.now(),
        )
        .map_err(test_failed)?;
        AccessTokenVerifier::new(&settings, clock)
            .verify_with(&jwt, &key)
            .map_err(test_failed)?;
        tracing::info!("testSecret: signed and verified with the pending key");
        Ok(())
    }

    pub(super) async fn finish(
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
        tracing::info!(
            event = "key_rotated",
            reason = "finishSecret",
            "finishSecret: AWSCURRENT moved to the new version"
        );
        if self.alg.is_asymmetric() {
            self.publish(secret_id, token).await?;
        }
        Ok(())
    }

    /// Writes the public key set of version `token` to the public-keys secret.
    pub(super) async fn publish(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        publish_public_keys(
            &self.client,
            secret_id,
            self.alg,
            &self.public_keys_secret_id,
            token,
        )
        .await
    }
}

//! What a rotation publishes: the public key set (a JWKS) of the signing secret's current,
//! next and previous keys, and the algorithm a value holds.

use secrecy::ExposeSecret;

use crate::adapters::secrets_manager::AWSCURRENT;
use crate::crypto::keyring::parse_signing_secret;
use crate::crypto::keys;
use crate::domain::SigningAlg;
use crate::ports::SystemClock;

use super::*;

/// The algorithm a signing secret's value holds a usable key of, if any.
pub fn detect_alg(value: &str) -> Option<SigningAlg> {
    SigningAlg::ALL.into_iter().find(|alg| {
        parse_signing_secret(*alg, value)
            .is_ok_and(|v| keys::check_private_key(*alg, v.signing.expose_secret()).is_ok())
    })
}

/// The JWKS a key ring over the signing secret publishes (current, next, previous), as JSON.
pub async fn public_key_set(
    client: &Client,
    secret_id: &str,
    alg: SigningAlg,
) -> Result<String, RotationError> {
    let source = SecretsManagerKeySource::new(
        SecretsClient::built(client.clone()),
        secret_id.to_string(),
        alg,
    );
    let ring = KeyRing::new(Arc::new(source), alg, Arc::new(SystemClock), 0);
    let keys = ring.published().await.map_err(RotationError::Key)?;
    let keys: Vec<_> = keys.iter().filter_map(|k| k.jwk()).collect();
    Ok(serde_json::json!({ "keys": keys }).to_string())
}

/// Writes [`public_key_set`] to the public-keys secret as its new AWSCURRENT version, named by
/// `token` so a retried step writes nothing twice.
pub async fn publish_public_keys(
    client: &Client,
    secret_id: &str,
    alg: SigningAlg,
    public_keys_secret_id: &str,
    token: &str,
) -> Result<(), RotationError> {
    let jwks = public_key_set(client, secret_id, alg).await?;
    let current = client
        .get_secret_value()
        .secret_id(public_keys_secret_id)
        .version_stage(AWSCURRENT)
        .send()
        .await
        .ok()
        .and_then(|o| o.secret_string);
    if current.as_deref() == Some(jwks.as_str()) {
        tracing::info!("public keys already published");
        return Ok(());
    }
    client
        .put_secret_value()
        .secret_id(public_keys_secret_id)
        .client_request_token(token)
        .secret_string(jwks)
        .send()
        .await
        .map_err(aws)?;
    tracing::info!(event = "public_keys_published", "public keys published");
    Ok(())
}

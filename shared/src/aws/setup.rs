//! Idempotent provisioning of the tables and the signing secret, for tests, `make dev` and
//! `authctl`. In AWS the SAM template creates the same resources.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_secretsmanager::Client as SecretsClient;
use secrecy::{ExposeSecret, SecretString};

use crate::adapters::dynamodb::TTL_ATTRIBUTE;
use crate::config::Config;
use crate::crypto::keyring::render_signing_secret;
use crate::crypto::keys;
use crate::domain::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("creating the tables in DynamoDB")]
    Dynamo(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("creating the signing secret in Secrets Manager")]
    Secrets(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("generating a signing key")]
    Key(#[source] crate::error::KeyError),
    #[error("publishing the public keys")]
    Publish(#[source] crate::aws::rotation::RotationError),
}

fn dyn_err(e: impl std::error::Error + Send + Sync + 'static) -> SetupError {
    SetupError::Dynamo(Box::new(e))
}

fn secrets_err(e: impl std::error::Error + Send + Sync + 'static) -> SetupError {
    SetupError::Secrets(Box::new(e))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, SetupError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(dyn_err)
}

fn attr(name: &str) -> Result<AttributeDefinition, SetupError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(dyn_err)
}

/// Creates the users and sessions tables if missing and enables TTL on sessions.
pub async fn ensure_tables(
    client: &aws_sdk_dynamodb::Client,
    cfg: &Config,
) -> Result<(), SetupError> {
    let users = client
        .create_table()
        .table_name(&cfg.tables.users)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("username")?)
        .key_schema(key("username", KeyType::Hash)?)
        .send()
        .await;
    ignore_in_use(users.map(|_| ()))?;
    let sessions = client
        .create_table()
        .table_name(&cfg.tables.sessions)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("username")?)
        .attribute_definitions(attr("session_id")?)
        .key_schema(key("username", KeyType::Hash)?)
        .key_schema(key("session_id", KeyType::Range)?)
        .send()
        .await;
    ignore_in_use(sessions.map(|_| ()))?;
    let ttl = client
        .describe_time_to_live()
        .table_name(&cfg.tables.sessions)
        .send()
        .await
        .map_err(dyn_err)?;
    let enabled = ttl
        .time_to_live_description
        .and_then(|d| d.time_to_live_status)
        .is_some_and(|s| s.as_str() == "ENABLED" || s.as_str() == "ENABLING");
    if !enabled {
        client
            .update_time_to_live()
            .table_name(&cfg.tables.sessions)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(dyn_err)?,
            )
            .send()
            .await
            .map_err(dyn_err)?;
    }
    Ok(())
}

fn ignore_in_use<E>(
    result: Result<
        (),
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<(), SetupError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ResourceInUseException") => {
            Ok(())
        }
        Err(e) => Err(dyn_err(e)),
    }
}

/// A fresh signing secret value for `alg`: a random 32-byte HMAC key, or an asymmetric
/// signing key with its next key.
pub fn new_signing_secret_value(alg: SigningAlg) -> Result<SecretString, SetupError> {
    let key = keys::generate(alg).map_err(SetupError::Key)?;
    let next = match alg.is_asymmetric() {
        true => Some(keys::generate(alg).map_err(SetupError::Key)?),
        false => None,
    };
    Ok(render_signing_secret(alg, &key, next.as_ref()))
}

/// Creates the signing secret with fresh keys for `SIGNING_ALG` if it does not exist; in an
/// asymmetric mode also the public-keys secret, and publishes the key set to it.
pub async fn ensure_signing_secret(client: &SecretsClient, cfg: &Config) -> Result<(), SetupError> {
    let alg = cfg.signing.alg;
    let description = format!("lambda-jwt-auth {alg} signing key");
    ensure_secret(client, &cfg.signing.secret_id, &description, || {
        new_signing_secret_value(alg)
    })
    .await?;
    if alg.is_asymmetric() {
        ensure_secret(
            client,
            &cfg.signing.public_keys_secret_id,
            "lambda-jwt-auth public keys (JWKS)",
            || Ok(SecretString::from(r#"{"keys":[]}"#.to_string())),
        )
        .await?;
        crate::aws::rotation::publish_public_keys(
            client,
            &cfg.signing.secret_id,
            alg,
            &cfg.signing.public_keys_secret_id,
            &uuid::Uuid::new_v4().to_string(),
        )
        .await
        .map_err(SetupError::Publish)?;
    }
    Ok(())
}

/// The data key set that seals TOTP secrets (`MFA_KEY_SECRET_ID`), if missing: one key of 64
/// random characters (as the template's `GenerateSecretString` makes it), named `k1`.
pub async fn ensure_mfa_key_secret(client: &SecretsClient, cfg: &Config) -> Result<(), SetupError> {
    ensure_secret(
        client,
        &cfg.mfa.key_secret_id,
        "lambda-jwt-auth data keys (TOTP secrets at rest)",
        || {
            use rand::distributions::{Alphanumeric, DistString};
            let key = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 64);
            let value = serde_json::json!({"current": "k1", "k1": key});
            Ok(SecretString::from(value.to_string()))
        },
    )
    .await
}

/// The client secret of every provider that names one (`make dev`'s provider `dev`): a random
/// one where none is stored yet (the local provider takes any).
pub async fn ensure_client_secrets(client: &SecretsClient, cfg: &Config) -> Result<(), SetupError> {
    for provider in &cfg.oauth.providers {
        if let Some(id) = &provider.client_secret_id {
            ensure_secret(client, id, "lambda-jwt-auth OpenID client secret", || {
                use rand::distributions::{Alphanumeric, DistString};
                let secret = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40);
                Ok(SecretString::from(
                    serde_json::json!({ "client_secret": secret }).to_string(),
                ))
            })
            .await?;
        }
    }
    Ok(())
}

async fn ensure_secret(
    client: &SecretsClient,
    secret_id: &str,
    description: &str,
    value: impl FnOnce() -> Result<SecretString, SetupError>,
) -> Result<(), SetupError> {
    let described = client.describe_secret().secret_id(secret_id).send().await;
    match described {
        Ok(_) => return Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(secrets_err(e)),
    }
    let created = client
        .create_secret()
        .name(secret_id)
        .description(description)
        .secret_string(value()?.expose_secret())
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(secrets_err(e)),
    }
}

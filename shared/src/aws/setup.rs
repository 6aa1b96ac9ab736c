//! Idempotent provisioning of the tables and the signing secret, for tests, `make dev` and
//! `authctl`. In AWS the SAM template creates the same resources.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_secretsmanager::Client as SecretsClient;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::adapters::dynamodb::TTL_ATTRIBUTE;
use crate::config::Config;
use crate::crypto::keyring::render_signing_secret;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("creating the tables in DynamoDB")]
    Dynamo(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("creating the signing secret in Secrets Manager")]
    Secrets(#[source] Box<dyn std::error::Error + Send + Sync>),
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
        .table_name(&cfg.users_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("username")?)
        .key_schema(key("username", KeyType::Hash)?)
        .send()
        .await;
    ignore_in_use(users.map(|_| ()))?;
    let sessions = client
        .create_table()
        .table_name(&cfg.sessions_table)
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
        .table_name(&cfg.sessions_table)
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
            .table_name(&cfg.sessions_table)
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

/// A fresh random signing key in the secret's JSON shape.
pub fn new_signing_secret_value() -> SecretString {
    let key = SecretBox::<[u8; 32]>::init_with_mut(|key| rand::rngs::OsRng.fill_bytes(key));
    render_signing_secret(key.expose_secret())
}

/// Creates the signing secret with a random 32-byte key if it does not exist.
pub async fn ensure_signing_secret(
    client: &SecretsClient,
    secret_id: &str,
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
        .description("lambda-jwt-auth HS256 signing key")
        .secret_string(new_signing_secret_value().expose_secret())
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

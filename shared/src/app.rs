//! Wiring: builds the SDK clients, stores and key ring once per container (cold start) and
//! the [`AuthService`] over them. Functions, the dev server and `authctl` all start here.

use std::sync::Arc;

use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::secrets_manager::SecretsManagerKeySource;
use crate::config::Config;
use crate::keyring::KeyRing;
use crate::password::Passwords;
use crate::ports::{Clock, SystemClock};
use crate::service::AuthService;

pub struct App {
    pub cfg: Arc<Config>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub store: Arc<DynamoStore>,
    pub keys: Arc<KeyRing>,
    pub service: Arc<AuthService>,
    pub clock: Arc<dyn Clock>,
}

/// What the authorizer needs: the key ring over Secrets Manager, and no DynamoDB client at
/// all (it verifies offline; leaving the DynamoDB SDK out also keeps its bootstrap small).
pub struct KeyRingApp {
    pub cfg: Arc<Config>,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
}

impl KeyRingApp {
    pub async fn from_config(cfg: Config) -> KeyRingApp {
        let sdk = crate::aws::sdk_config().await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let keys = key_ring(
            aws_sdk_secretsmanager::Client::new(&sdk),
            &cfg,
            clock.clone(),
        );
        KeyRingApp {
            cfg: Arc::new(cfg),
            keys,
            clock,
        }
    }

    pub async fn warm_up(&self) {
        warm_up(&self.keys).await;
    }
}

/// The key ring over the configured secret.
fn key_ring(
    secrets: aws_sdk_secretsmanager::Client,
    cfg: &Config,
    clock: Arc<dyn Clock>,
) -> Arc<KeyRing> {
    Arc::new(KeyRing::new(
        Arc::new(SecretsManagerKeySource::new(
            secrets,
            cfg.signing_secret_id.clone(),
        )),
        clock,
        cfg.secret_cache_ttl,
    ))
}

/// Loads the key ring during the Lambda init phase so the first request does not pay for it.
/// A failure is logged, not fatal: the ring retries on first use.
async fn warm_up(keys: &KeyRing) {
    if let Err(e) = keys.current().await {
        tracing::warn!(error = %e, "could not load the signing key at start-up");
    }
}

impl App {
    pub async fn from_config(cfg: Config) -> App {
        let sdk = crate::aws::sdk_config().await;
        Self::with_sdk_config(cfg, &sdk, Passwords::default())
    }

    pub fn with_sdk_config(cfg: Config, sdk: &aws_config::SdkConfig, passwords: Passwords) -> App {
        Self::from_parts(
            cfg,
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_secretsmanager::Client::new(sdk),
            Arc::new(SystemClock),
            passwords,
        )
    }

    /// Wires the app over given clients and clock (tests count calls or move time).
    pub fn from_parts(
        cfg: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: aws_sdk_secretsmanager::Client,
        clock: Arc<dyn Clock>,
        passwords: Passwords,
    ) -> App {
        let cfg = Arc::new(cfg);
        let store = Arc::new(DynamoStore::new(
            dynamodb.clone(),
            cfg.users_table.clone(),
            cfg.sessions_table.clone(),
        ));
        let keys = key_ring(secrets.clone(), &cfg, clock.clone());
        let service = Arc::new(AuthService::new(
            cfg.clone(),
            crate::service::Stores::all_in(store.clone()),
            keys.clone(),
            clock.clone(),
            passwords,
        ));
        App {
            clock,
            cfg,
            dynamodb,
            secrets,
            store,
            keys,
            service,
        }
    }

    pub async fn warm_up(&self) {
        warm_up(&self.keys).await;
    }
}

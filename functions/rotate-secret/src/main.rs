//! The Secrets Manager rotation function for the signing key (the four protocol steps live
//! in `shared::aws::rotation`).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shared::aws::rotation::{RotationEvent, Rotator};
use shared::error::Chain;

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = shared::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %Chain(&e), "invalid configuration");
    })?;
    let sdk = shared::aws::lambda_sdk_config(cfg.trust_store);
    let rotator = Arc::new(Rotator::for_lambda(
        aws_sdk_secretsmanager::Client::new(&sdk),
        &cfg,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RotationEvent>| {
        let rotator = rotator.clone();
        async move {
            let RotationEvent {
                secret_id,
                token,
                step,
            } = event.payload;
            tracing::info!(?step, version = %token, "rotation step");
            rotator.run(&secret_id, &token, step).await.map_err(|e| {
                tracing::error!(error = %Chain(&e), ?step, "rotation step failed");
                Error::from(Chain(&e).to_string())
            })
        }
    }))
    .await
}

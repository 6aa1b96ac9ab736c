//! The API Gateway Lambda authorizer: config, key ring, `run`. Verification is offline, plus
//! one DynamoDB read per call with `AUTHORIZER_REVOCATION=session`.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shared::error::Chain;
use shared::http::authorizer_event::AuthorizerRequest;

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    shared::telemetry::init_metrics("authorizer");
    let cfg = shared::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %Chain(&e), "invalid configuration");
    })?;
    let app = shared::app::KeyRingApp::from_config(cfg);
    app.warm_up().await?;
    let authorizer = Arc::new(app.authorizer());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<AuthorizerRequest>| {
        let authorizer = authorizer.clone();
        async move {
            let answer = authorizer.handle(&event.payload).await;
            shared::telemetry::flush_metrics();
            answer
        }
    }))
    .await
}

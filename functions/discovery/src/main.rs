//! The discovery function: `GET /.well-known/openid-configuration` and
//! `GET /.well-known/jwks.json` (public, cacheable; no authorizer). It reads no secret in
//! HS256 and only the public-keys secret in an asymmetric mode.

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let cfg = shared::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %shared::error::Chain(e), "invalid configuration");
    })?;
    let app = std::sync::Arc::new(shared::app::KeyRingApp::from_config(cfg));
    let publishes = app.cfg.signing.alg.is_asymmetric();
    if publishes {
        app.warm_up().await?;
    }
    lambda_http::run(lambda_http::service_fn(move |req: lambda_http::Request| {
        let app = app.clone();
        async move {
            let keys = publishes.then_some(&*app.keys);
            Ok::<_, lambda_http::Error>(shared::http::well_known::route(&req, &app.cfg, keys).await)
        }
    }))
    .await
}

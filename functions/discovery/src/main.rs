//! The discovery function: `GET /.well-known/openid-configuration` and
//! `GET /.well-known/jwks.json` (public, cacheable; no authorizer, no secret access).

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let cfg = shared::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %shared::error::Chain(e), "invalid configuration");
    })?;
    let cfg = std::sync::Arc::new(cfg);
    lambda_http::run(lambda_http::service_fn(move |req: lambda_http::Request| {
        let cfg = cfg.clone();
        async move { Ok::<_, lambda_http::Error>(shared::http::well_known::route(&req, &cfg)) }
    }))
    .await
}

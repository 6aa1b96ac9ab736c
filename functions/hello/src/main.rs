//! The demo function: `GET /hello` (behind the authorizer) and `GET /health` (open).

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(
        |req: lambda_http::Request| async move {
            Ok::<_, lambda_http::Error>(shared::http::hello::route(&req))
        },
    ))
    .await
}

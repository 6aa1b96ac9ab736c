//! The refresh Lambda: a thin lambda_http entry point over `shared`.

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::http::handlers::{refresh, Endpoint};
    shared::app::run_endpoint(Endpoint::Refresh, refresh).await
}

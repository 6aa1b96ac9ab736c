//! The refresh Lambda: a thin lambda_http entry point over `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run_endpoint(shared::http::Endpoint::Refresh).await
}

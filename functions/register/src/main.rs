//! The sign-up Lambda (`POST /auth/register`): a thin lambda_http entry point over `shared`.

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work (argon2 still runs on tokio's blocking pool).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::http::handlers::{register, Endpoint};
    shared::app::run_mailing_endpoint(Endpoint::Register, register).await
}

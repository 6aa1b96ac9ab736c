//! The self-service Lambda behind the authorizer (`GET|DELETE /auth/sessions`,
//! `DELETE /auth/sessions/{session_id}`, `POST /auth/password`, `GET /auth/me`,
//! `POST /auth/email`): a thin entry point over `shared`. It signs nothing, so it never reads
//! the signing secret.

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work (argon2 still runs on tokio's blocking pool).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::http::handlers::{account, Endpoint};
    shared::app::run_mailing_endpoint(Endpoint::Account, account).await
}

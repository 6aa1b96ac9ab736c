//! The public email-recovery Lambda (`POST /auth/email/verify`, `POST /auth/password/forgot`,
//! `POST /auth/password/reset`): a thin entry point over `shared`. It signs nothing, so it
//! never reads the signing secret; it mails through SES.

// One thread: Lambda hands an environment one event at a time, so worker threads would only
// add start-up work (argon2 still runs on tokio's blocking pool).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::http::handlers::{recovery, Endpoint};
    shared::app::run_mailing_endpoint(Endpoint::Recovery, recovery).await
}

//! The rules every new password meets (sign-up, password change, `authctl user set-password`):
//! the policy ([`password_policy`]: length, not the username, not easy to guess), then, when a
//! breach corpus is configured (`PWNED_PASSWORDS_URL`), not seen in a breach. An unreachable
//! corpus lets the password through (fail open: sign-up must not depend on a third party),
//! logged and counted.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{password_policy, Username};
use crate::error::Chain;
use crate::ports::BreachedPasswords;

pub const BREACHED: &str =
    "The password has appeared in a data breach (Pwned Passwords); choose another.";

/// `Ok`, or the rule `password` breaks as the `error_description` a caller sees.
pub async fn check_new_password(
    breaches: Option<&dyn BreachedPasswords>,
    username: &Username,
    password: &SecretString,
) -> Result<(), &'static str> {
    password_policy::check(username, password.expose_secret())?;
    check_breach(breaches, password).await
}

/// The breach-corpus half of [`check_new_password`], for a caller that ran the policy
/// already (a password change checks the policy first, the corpus only once the current
/// password is verified).
pub async fn check_breach(
    breaches: Option<&dyn BreachedPasswords>,
    password: &SecretString,
) -> Result<(), &'static str> {
    let Some(breaches) = breaches else {
        return Ok(());
    };
    match breaches.times_seen(password).await {
        Ok(0) => Ok(()),
        Ok(_) => {
            tracing::info!(
                event = "breached_password_refused",
                "a new password was found in the breach corpus"
            );
            Err(BREACHED)
        }
        Err(e) => {
            crate::telemetry::count(crate::telemetry::Metric::BreachCheckUnavailable);
            tracing::warn!(
                event = "breach_check_unavailable",
                error = %Chain(&e),
                "breached-password check skipped: the service did not answer"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::BreachCheckError;

    struct Corpus(Result<u64, ()>);

    #[async_trait::async_trait]
    impl BreachedPasswords for Corpus {
        async fn times_seen(&self, _: &SecretString) -> Result<u64, BreachCheckError> {
            self.0.map_err(|()| BreachCheckError("down".into()))
        }
    }

    fn strong() -> SecretString {
        SecretString::from("violet kettle orbit 42")
    }

    #[tokio::test]
    async fn a_breached_password_is_weak_and_an_unreachable_corpus_lets_it_through() {
        let bob = Username::parse("bob").unwrap();
        assert_eq!(
            check_new_password(Some(&Corpus(Ok(3))), &bob, &strong()).await,
            Err(BREACHED)
        );
        assert_eq!(
            check_new_password(Some(&Corpus(Ok(0))), &bob, &strong()).await,
            Ok(())
        );
        assert_eq!(
            check_new_password(Some(&Corpus(Err(()))), &bob, &strong()).await,
            Ok(())
        );
        assert_eq!(check_new_password(None, &bob, &strong()).await, Ok(()));
        // The policy comes first: no call for a password it refuses.
        assert!(
            check_new_password(Some(&Corpus(Ok(0))), &bob, &"short".into())
                .await
                .is_err()
        );
    }
}

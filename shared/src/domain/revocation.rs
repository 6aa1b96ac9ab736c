//! Whether an access token's session still stands (`AUTHORIZER_REVOCATION=session`): the rule
//! the authorizer applies to what one read of the session and its user returns. Pure.

use super::SessionCutoff;

/// The parts of a session item the check reads (no token hash: the authorizer's role may
/// read only these attributes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSession {
    pub user_id: String,
    pub created_at_ms: u64,
    /// Whichever of the inactivity and absolute expiries comes first, epoch seconds.
    pub ends_at: u64,
}

/// The parts of a user item the check reads (no password hash, no roles).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveUser {
    pub user_id: String,
    pub disabled: bool,
    pub sessions_cutoff: Option<SessionCutoff>,
}

impl From<&super::Session> for LiveSession {
    fn from(s: &super::Session) -> Self {
        LiveSession {
            user_id: s.user_id.clone(),
            created_at_ms: s.created_at_ms,
            ends_at: s.ends_at(),
        }
    }
}

impl From<&super::User> for LiveUser {
    fn from(u: &super::User) -> Self {
        LiveUser {
            user_id: u.user_id.clone(),
            disabled: u.disabled,
            sessions_cutoff: u.sessions_cutoff.clone(),
        }
    }
}

/// Why a token that verified offline is refused all the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Revoked {
    #[error("session gone (logout, revocation, reuse detection or eviction)")]
    SessionGone,
    #[error("session expired")]
    SessionExpired,
    #[error("user gone, disabled, or not the token's subject")]
    UserRefused,
    #[error("session begun before the user's last password change")]
    BeforeCutoff,
}

/// The verdict on a token of user `sub` for session `sid`, given what the store holds now.
/// The user must still be the token's subject (a deleted and re-created username is another
/// user), enabled, and must not have cut this session off; the session must exist, belong to
/// that user and not have ended at `now` (epoch seconds).
pub fn check(
    sub: &str,
    sid: &str,
    session: Option<&LiveSession>,
    user: Option<&LiveUser>,
    now: u64,
) -> Result<(), Revoked> {
    let user = user
        .filter(|u| u.user_id == sub && !u.disabled)
        .ok_or(Revoked::UserRefused)?;
    let session = session
        .filter(|s| s.user_id == sub)
        .ok_or(Revoked::SessionGone)?;
    if now >= session.ends_at {
        return Err(Revoked::SessionExpired);
    }
    let honoured = user.sessions_cutoff.as_ref();
    if honoured.is_some_and(|cut| !cut.honours(session.created_at_ms, sid)) {
        return Err(Revoked::BeforeCutoff);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> LiveSession {
        LiveSession {
            user_id: "u1".into(),
            created_at_ms: 10_000,
            ends_at: 100,
        }
    }

    fn user() -> LiveUser {
        LiveUser {
            user_id: "u1".into(),
            disabled: false,
            sessions_cutoff: None,
        }
    }

    #[test]
    fn a_live_session_of_an_enabled_user_stands() {
        assert_eq!(
            check("u1", "s1", Some(&session()), Some(&user()), 99),
            Ok(())
        );
    }

    #[test]
    fn each_kind_of_revocation_is_refused() {
        let s = session();
        let u = user();
        assert_eq!(
            check("u1", "s1", None, Some(&u), 50),
            Err(Revoked::SessionGone)
        );
        assert_eq!(
            check("u1", "s1", Some(&s), Some(&u), 100),
            Err(Revoked::SessionExpired)
        );
        assert_eq!(
            check("u1", "s1", Some(&s), None, 50),
            Err(Revoked::UserRefused)
        );
        let disabled = LiveUser {
            disabled: true,
            ..user()
        };
        assert_eq!(
            check("u1", "s1", Some(&s), Some(&disabled), 50),
            Err(Revoked::UserRefused)
        );
        // The username now belongs to someone else, or the session to another user.
        assert_eq!(
            check("u2", "s1", Some(&s), Some(&u), 50),
            Err(Revoked::UserRefused)
        );
        let other = LiveSession {
            user_id: "u2".into(),
            ..session()
        };
        assert_eq!(
            check("u1", "s1", Some(&other), Some(&u), 50),
            Err(Revoked::SessionGone)
        );
        // A password change after the session began; the session it was made from is kept.
        let cut = LiveUser {
            sessions_cutoff: Some(SessionCutoff {
                at_ms: 20_000,
                kept: Some("s9".into()),
            }),
            ..user()
        };
        assert_eq!(
            check("u1", "s1", Some(&s), Some(&cut), 50),
            Err(Revoked::BeforeCutoff)
        );
        assert_eq!(check("u1", "s9", Some(&s), Some(&cut), 50), Ok(()));
        let later = LiveSession {
            created_at_ms: 20_000,
            ..session()
        };
        assert_eq!(check("u1", "s1", Some(&later), Some(&cut), 50), Ok(()));
    }
}

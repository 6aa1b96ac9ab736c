//! Refresh: rotation with reuse detection (a spent token presented again revokes the session,
//! except within the grace window, where concurrent refreshes share one successor).

use super::*;

impl AuthService {
    #[tracing::instrument(skip_all, fields(user_id, session_id))]
    pub async fn refresh(&self, raw_token: &str) -> Result<Issued, AuthError> {
        let token = RefreshToken::parse(raw_token).ok_or(AuthError::InvalidGrant)?;
        let presented = token.hash();
        tracing::Span::current().record("session_id", token.session_id.as_str());
        for _ in 0..ROTATION_ATTEMPTS {
            let (session, user) = self
                .sessions
                .load_for_refresh(&token.username, &token.session_id)
                .await?;
            let Some(session) = session else {
                tracing::info!(
                    event = "refresh_failed",
                    reason = "unknown_session",
                    "refresh refused"
                );
                return Err(AuthError::InvalidGrant);
            };
            tracing::Span::current().record("user_id", session.user_id.as_str());
            let now = self.clock.now();
            // DynamoDB's TTL deletes lazily: an expired item may still be there.
            if session.is_expired(now) {
                tracing::info!(
                    event = "refresh_failed",
                    reason = "expired",
                    "refresh refused"
                );
                return Err(AuthError::InvalidGrant);
            }

            if session.token_hash.matches(&presented) {
                let user = active_user(user, &session)?;
                let key = self.keys.current().await?;
                let next_token = RefreshToken::new(
                    session.username.clone(),
                    session.session_id.clone(),
                    key.successor(token.secret()),
                );
                let mut next = session.clone();
                if let Some(prev) = session.prev_hash {
                    next.spent.push(prev);
                    let overflow = next.spent.len().saturating_sub(SPENT_HISTORY);
                    next.spent.drain(..overflow);
                }
                next.prev_hash = Some(presented);
                next.token_hash = next_token.hash();
                next.rotated_at_ms = self.clock.now_ms();
                next.last_used_at = now;
                next.expires_at = now
                    .saturating_add(self.cfg.sessions.refresh_ttl)
                    .min(session.absolute_expires_at);
                next.successor_kid = Some(key.kid.clone());
                next.version = session.version + 1;
                // Minted before the rotation is written: no spent token without a successor.
                let issued = self.issue(&key, &user, &next, &next_token, now)?;
                if self.sessions.rotate(&next, session.version).await? {
                    crate::telemetry::count(crate::telemetry::Metric::RefreshRotated);
                    return Ok(issued);
                }
                // Another presentation of this token rotated first: read again, and this
                // presentation is now the grace-window repeat of the winner.
                continue;
            }

            if session.prev_hash.is_some_and(|p| p.matches(&presented)) {
                if session.in_grace(self.clock.now_ms(), self.grace_ms()) {
                    return self.repeat_within_grace(&token, &session, user, now).await;
                }
                self.revoke_for_reuse(&session).await;
                return Err(AuthError::InvalidGrant);
            }

            if session.spent.iter().any(|h| h.matches(&presented)) {
                self.revoke_for_reuse(&session).await;
                return Err(AuthError::InvalidGrant);
            }
            // Not a token this session ever issued (or one older than its memory): refuse,
            // but do not let a forged token revoke somebody's session.
            tracing::info!(
                event = "refresh_failed",
                reason = "unknown_token",
                "refresh refused"
            );
            return Err(AuthError::InvalidGrant);
        }
        Err(AuthError::unavailable_because(
            "refresh lost the rotation race repeatedly",
        ))
    }

    /// A repeat of the token just rotated, inside the grace window: answer with the same
    /// successor the first presentation got, so every tab ends up with the one live token.
    async fn repeat_within_grace(
        &self,
        token: &RefreshToken,
        session: &Session,
        user: Option<User>,
        now: u64,
    ) -> Result<Issued, AuthError> {
        let user = active_user(user, session)?;
        let derived_with = match &session.successor_kid {
            Some(kid) => self.keys.key_for(kid).await?,
            None => None,
        };
        let Some(derived_with) = derived_with else {
            tracing::warn!("grace repeat: the successor's key version is gone");
            return Err(AuthError::InvalidGrant);
        };
        let successor = RefreshToken::new(
            session.username.clone(),
            session.session_id.clone(),
            derived_with.successor(token.secret()),
        );
        if !successor.hash().matches(&session.token_hash) {
            tracing::warn!("grace repeat: derived successor does not match the live token");
            return Err(AuthError::InvalidGrant);
        }
        let key = self.keys.current().await?;
        tracing::info!(
            event = "refresh_grace_repeat",
            "repeat inside the grace window"
        );
        self.issue(&key, &user, session, &successor, now)
    }

    async fn revoke_for_reuse(&self, session: &Session) {
        crate::telemetry::count(crate::telemetry::Metric::RefreshReuseDetected);
        crate::security_event!(
            warn,
            "refresh_reuse_detected",
            user_id = Some(session.user_id.as_str()),
            session_id = Some(session.session_id.as_str()),
            "spent refresh token presented again: revoking the session"
        );
        match self
            .sessions
            .delete_session(&session.username, &session.session_id)
            .await
        {
            Ok(()) => {
                crate::telemetry::count(crate::telemetry::Metric::SessionRevoked("reuse"));
                crate::security_event!(
                    info,
                    "session_revoked",
                    user_id = Some(session.user_id.as_str()),
                    session_id = Some(session.session_id.as_str()),
                    reason = "reuse",
                    "session revoked"
                )
            }
            Err(e) => {
                tracing::error!(error = %Chain(&e), "could not revoke the session after reuse")
            }
        }
    }
}

/// The session's user, if it still exists, is the same account and is enabled.
fn active_user(user: Option<User>, session: &Session) -> Result<User, AuthError> {
    match user {
        Some(u) if u.user_id == session.user_id && !u.disabled && u.honours(session) => Ok(u),
        Some(u) if u.user_id == session.user_id && !u.disabled => {
            tracing::info!(
                event = "refresh_failed",
                reason = "password_changed",
                "refresh refused"
            );
            Err(AuthError::InvalidGrant)
        }
        Some(u) if u.disabled => {
            tracing::info!(
                event = "refresh_failed",
                reason = "disabled",
                "refresh refused"
            );
            Err(AuthError::InvalidGrant)
        }
        _ => {
            tracing::info!(
                event = "refresh_failed",
                reason = "unknown_user",
                "refresh refused"
            );
            Err(AuthError::InvalidGrant)
        }
    }
}

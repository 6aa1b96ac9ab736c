//! Security events to EventBridge, off the request path. The functions already log each
//! security event as a JSON line (`fields.event`); CloudWatch Logs delivers the matching lines
//! to the security-events function through a subscription filter, and this module turns them
//! into EventBridge events on the stack's bus. Login, refresh and the authorizer never wait for
//! EventBridge: the delivery happens after their log line is written, in another function.
//! `authctl`, which runs outside Lambda, publishes its own events directly
//! ([`SecurityEvents::publish`]).

use std::io::Read;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The events' `source`.
pub const SOURCE: &str = "lambda-jwt-auth";

/// The log events forwarded, by `fields.event` (the template's subscription filter pattern
/// selects the same). `login_locked` only when a lockout begins (the line with `failures`).
pub const FORWARDED: &[&str] = &[
    "refresh_reuse_detected",
    "login_locked",
    "session_revoked",
    "password_changed",
    "user_disabled",
    "user_enabled",
    "key_rotated",
    "password_reset",
    "email_changed",
    "mfa_enabled",
    "mfa_disabled",
    "mfa_failed",
    "recovery_code_used",
    "recovery_codes_regenerated",
    "passkey_added",
    "passkey_removed",
    "passkey_counter_regressed",
    "federated_signup",
    "identity_linked",
    "identity_unlinked",
];

/// The fields copied into an event's detail; nothing else of a log line travels (log lines
/// never hold a secret, and this keeps it that way for every consumer of the bus).
const DETAIL_FIELDS: &[&str] = &[
    "event",
    "reason",
    "session_id",
    "user_id",
    "request_id",
    "username",
    "count",
    "failures",
    "known_device",
    "by",
    "factor",
    "recovery_codes_left",
    "passkey_id",
    "stored_count",
    "provider",
];

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("the CloudWatch Logs payload is not base64 gzip JSON")]
    Payload(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("EventBridge refused {failed} of {total} events")]
    Partial { failed: i32, total: usize },
    #[error("EventBridge")]
    Aws(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One security event: EventBridge `detail-type` (the event name) and `detail`.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityEvent {
    pub detail_type: String,
    pub detail: Value,
}

/// The security event a JSON log line carries, if any (see [`FORWARDED`]); `function` names
/// where it came from (the log group).
pub fn from_log_line(line: &str, function: &str) -> Option<SecurityEvent> {
    let log: Value = serde_json::from_str(line).ok()?;
    let fields = log.get("fields")?.as_object()?;
    let event = fields.get("event")?.as_str()?;
    if !FORWARDED.contains(&event) || (event == "login_locked" && !fields.contains_key("failures"))
    {
        return None;
    }
    let mut detail = Map::new();
    for name in DETAIL_FIELDS {
        if let Some(v) = fields.get(*name) {
            detail.insert((*name).to_string(), v.clone());
        }
    }
    // The request's id: a field of every security-event line; from the request span for a
    // line written outside any inner span (older lines, too).
    if let (false, Some(id)) = (
        detail.contains_key("request_id"),
        log.pointer("/span/request_id"),
    ) {
        detail.insert("request_id".into(), id.clone());
    }
    detail.insert("function".into(), Value::String(function.to_string()));
    Some(SecurityEvent {
        detail_type: event.to_string(),
        detail: Value::Object(detail),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogsData {
    message_type: String,
    log_group: String,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

/// The security events of a CloudWatch Logs subscription delivery (`awslogs.data`: base64 of
/// gzip of JSON). Control messages and lines that are not security events give none.
pub fn from_subscription(data: &str) -> Result<Vec<SecurityEvent>, ForwardError> {
    let payload = |e: Box<dyn std::error::Error + Send + Sync>| ForwardError::Payload(e);
    let gz = STANDARD
        .decode(data.trim())
        .map_err(|e| payload(e.into()))?;
    let mut json = Vec::new();
    // A delivery is at most 1 MB uncompressed; read no more than a little over that.
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(4 << 20)
        .read_to_end(&mut json)
        .map_err(|e| payload(e.into()))?;
    let logs: LogsData = serde_json::from_slice(&json).map_err(|e| payload(e.into()))?;
    if logs.message_type != "DATA_MESSAGE" {
        return Ok(Vec::new());
    }
    let function = logs
        .log_group
        .rsplit('/')
        .next()
        .unwrap_or(&logs.log_group)
        .to_string();
    Ok(logs
        .log_events
        .iter()
        .filter_map(|e| from_log_line(&e.message, &function))
        .collect())
}

/// Publishes to one event bus.
#[derive(Clone, Debug)]
pub struct SecurityEvents {
    client: Client,
    bus: String,
}

impl SecurityEvents {
    pub fn new(client: Client, bus: String) -> Self {
        SecurityEvents { client, bus }
    }

    /// PutEvents in batches of 10 (its limit); an entry EventBridge refuses is an error, so
    /// the subscription delivery is retried rather than an event lost.
    pub async fn publish(&self, events: &[SecurityEvent]) -> Result<(), ForwardError> {
        for batch in events.chunks(10) {
            let entries: Vec<PutEventsRequestEntry> = batch
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(&e.detail_type)
                        .detail(e.detail.to_string())
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| ForwardError::Aws(Box::new(e)))?;
            let failed = out.failed_entry_count;
            if failed > 0 {
                return Err(ForwardError::Partial {
                    failed,
                    total: batch.len(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip_b64(json: &Value) -> String {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(json.to_string().as_bytes()).unwrap();
        STANDARD.encode(enc.finish().unwrap())
    }

    #[test]
    fn only_security_events_are_forwarded_with_their_safe_fields() {
        let lines = [
            r#"{"level":"WARN","fields":{"message":"spent refresh token presented again","event":"refresh_reuse_detected","session_id":"s1","user_id":"u1"},"span":{"request_id":"r1","name":"request"}}"#,
            r#"{"level":"INFO","fields":{"event":"login_locked","known_device":false,"message":"login refused"}}"#,
            r#"{"level":"WARN","fields":{"event":"login_locked","failures":5,"known_device":false,"user_id":"u9","request_id":"r9"},"span":{"name":"login","user_id":"u9"}}"#,
            r#"{"level":"INFO","fields":{"event":"login_succeeded","session_id":"s2"}}"#,
            r#"{"level":"INFO","fields":{"message":"request done","status":200}}"#,
            "not json",
        ];
        let data = gzip_b64(&serde_json::json!({
            "messageType": "DATA_MESSAGE",
            "logGroup": "/aws/lambda/auth-RefreshFunction-abc",
            "logEvents": lines.iter().enumerate().map(|(i, m)| serde_json::json!({"id": i.to_string(), "timestamp": 0, "message": m})).collect::<Vec<_>>(),
        }));
        let events = from_subscription(&data).unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].detail_type, "refresh_reuse_detected");
        assert_eq!(
            events[0].detail,
            serde_json::json!({"event": "refresh_reuse_detected", "session_id": "s1", "user_id": "u1", "request_id": "r1", "function": "auth-RefreshFunction-abc"})
        );
        assert_eq!(events[1].detail_type, "login_locked");
        assert_eq!(events[1].detail["failures"], 5);
        // Who and which request travel as the line's own fields, whatever span it was in.
        assert_eq!(events[1].detail["user_id"], "u9");
        assert_eq!(events[1].detail["request_id"], "r9");
        // Control messages and garbage.
        let control = gzip_b64(
            &serde_json::json!({"messageType": "CONTROL_MESSAGE", "logGroup": "x", "logEvents": []}),
        );
        assert!(from_subscription(&control).unwrap().is_empty());
        assert!(from_subscription("%%%").is_err());
        assert!(from_subscription(&STANDARD.encode(b"not gzip")).is_err());
    }
}

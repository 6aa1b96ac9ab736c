//! The security-events function: CloudWatch Logs delivers the functions' security-event log
//! lines (a subscription filter per log group) and this puts them on the stack's EventBridge
//! bus (`SECURITY_EVENT_BUS`). Off every request path: login, refresh and the authorizer only
//! write their log line.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::aws::security_events::{from_subscription, SecurityEvents};
use shared::error::Chain;

// One thread: Lambda hands an environment one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cfg = shared::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %Chain(e), "invalid configuration");
    })?;
    let Some(bus) = cfg.security_event_bus.clone() else {
        tracing::error!("SECURITY_EVENT_BUS is not set");
        return Err(Error::from(
            "invalid configuration: SECURITY_EVENT_BUS must name the event bus",
        ));
    };
    let sdk = shared::aws::lambda_sdk_config(cfg.trust_store);
    let events = Arc::new(SecurityEvents::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        bus,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let events = events.clone();
        async move { forward(&events, &event.payload).await }
    }))
    .await
}

/// One subscription delivery: `{"awslogs": {"data": "<base64 gzip>"}}`.
async fn forward(events: &SecurityEvents, payload: &Value) -> Result<Value, Error> {
    let data = payload
        .pointer("/awslogs/data")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::from("not a CloudWatch Logs subscription event"))?;
    let found = from_subscription(data).map_err(|e| Error::from(Chain(&e).to_string()))?;
    events.publish(&found).await.map_err(|e| {
        tracing::error!(error = %Chain(&e), "could not put the security events");
        Error::from(Chain(&e).to_string())
    })?;
    tracing::info!(forwarded = found.len(), "security events forwarded");
    Ok(serde_json::json!({ "forwarded": found.len() }))
}

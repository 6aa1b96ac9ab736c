//! The metrics the function binaries write as CloudWatch Embedded Metric Format log lines,
//! checked against the EMF specification's shape and for the counts each event should give.

use integration_tests::runtime_api::run_binary_logged;
use integration_tests::*;
use serde_json::{json, Value};

/// Every EMF document in `logs`, each checked against the specification: `_aws.Timestamp`
/// (epoch ms), `_aws.CloudWatchMetrics` with a namespace, dimension sets (≤ 30 keys, each a
/// string member at the root) and metric definitions (≤ 100, each a numeric member at the
/// root, units from CloudWatch's list if given).
fn emf_documents(logs: &str) -> Vec<Value> {
    const UNITS: &[&str] = &[
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Count",
        "Percent",
        "None",
    ];
    let mut docs = Vec::new();
    for line in logs.lines() {
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(aws) = doc.get("_aws") else { continue };
        let ts = aws["Timestamp"].as_u64().expect("Timestamp in epoch ms");
        assert!(ts > 1_600_000_000_000, "{line}");
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics");
        assert!(!directives.is_empty());
        for d in directives {
            assert!(!d["Namespace"].as_str().unwrap_or("").is_empty(), "{line}");
            for set in d["Dimensions"].as_array().expect("Dimensions") {
                let keys = set.as_array().expect("a dimension set");
                assert!(keys.len() <= 30, "{line}");
                for key in keys {
                    assert!(
                        doc[key.as_str().unwrap()].is_string(),
                        "dimension {key} in {line}"
                    );
                }
            }
            let metrics = d["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100, "{line}");
            for m in metrics {
                let name = m["Name"].as_str().expect("Name");
                assert!(
                    doc[name].is_number() || doc[name].is_array(),
                    "value of {name} in {line}"
                );
                if let Some(unit) = m.get("Unit") {
                    assert!(UNITS.contains(&unit.as_str().unwrap()), "{line}");
                }
            }
        }
        docs.push(doc);
    }
    docs
}

/// The sum of metric `name` over the documents whose dimensions include `dims`.
fn total(docs: &[Value], name: &str, dims: &[(&str, &str)]) -> u64 {
    docs.iter()
        .filter(|d| dims.iter().all(|(k, v)| d[*k] == *v))
        .filter_map(|d| d[name].as_u64())
        .sum()
}

#[tokio::test]
async fn function_binaries_write_emf_counters_for_each_security_event() {
    let env = TestEnv::with_user("mia", "mia-password-1").await;
    let vars = function_env(&env.cfg);
    let login = |p: &str| login_event(&json!({"username": "mia", "password": p}).to_string());

    let (out, _, logs) = run_binary_logged(
        &built_binary("login"),
        &vars,
        vec![
            login("wrong-one"),
            login("mia-password-1"),
            login("mia-password-1"),
        ],
    )
    .await;
    let docs = emf_documents(&logs);
    assert!(docs
        .iter()
        .all(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LambdaJwtAuth"));
    assert!(
        docs.iter().all(|d| d["Function"].is_string()),
        "the function is a dimension"
    );
    assert_eq!(total(&docs, "LoginFailed", &[]), 1);
    assert_eq!(total(&docs, "LoginSucceeded", &[]), 2);
    let first = |i: usize| match &out[i] {
        Some(integration_tests::runtime_api::Outcome::Response(v)) => v.clone(),
        other => panic!("{other:?}"),
    };
    let (a, b) = (first(1), first(2));
    let access = body(&a)["access_token"].as_str().unwrap().to_string();

    // Refresh rotates, then a replay after the grace window is reuse: the session is revoked.
    let t0 = refresh_token_of(&b);
    let (_, _, logs) = run_binary_logged(
        &built_binary("refresh"),
        &vars
            .iter()
            .cloned()
            .chain([("REUSE_GRACE_SECS".to_string(), "0".to_string())])
            .collect::<Vec<_>>(),
        vec![
            refresh_event(Some(&json!({"refresh_token": t0}).to_string()), &[]),
            refresh_event(Some(&json!({"refresh_token": t0}).to_string()), &[]),
        ],
    )
    .await;
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "RefreshRotated", &[]), 1);
    assert_eq!(total(&docs, "RefreshReuseDetected", &[]), 1);
    assert_eq!(total(&docs, "SessionsRevoked", &[("Cause", "reuse")]), 1);

    let (_, _, logs) = run_binary_logged(
        &built_binary("logout"),
        &vars,
        vec![logout_event(
            Some(&json!({"refresh_token": refresh_token_of(&a)}).to_string()),
            &[],
        )],
    )
    .await;
    assert_eq!(
        total(
            &emf_documents(&logs),
            "SessionsRevoked",
            &[("Cause", "logout")]
        ),
        1
    );

    let mut allowed = load_event("authorizer-v2.json");
    allowed["headers"]["authorization"] = json!(format!("Bearer {access}"));
    let (_, _, logs) = run_binary_logged(
        &built_binary("authorizer"),
        &vars,
        vec![allowed, load_event("authorizer-v2.json")],
    )
    .await;
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "AuthorizerAllowed", &[]), 1);
    assert_eq!(total(&docs, "AuthorizerDenied", &[("Reason", "token")]), 1);
}

#[tokio::test]
async fn the_recovery_binary_counts_mails_sent_suppressed_and_failed() {
    let env = TestEnv::new().await;
    let user = env.create_user("noa", "noa-password-1", &[]).await;
    let address = fresh_email("noa");
    env.set_email(&user, &address).await;
    let forgot = || {
        with_body(
            load_event("password-forgot.json"),
            Some(&json!({"email": address}).to_string()),
        )
    };
    let mut vars = function_env(&env.cfg);
    vars.extend([
        ("APP_URL".to_string(), APP_URL.to_string()),
        ("EMAIL_MAX_PER_HOUR".to_string(), "2".to_string()),
    ]);
    let mut sending = vars.clone();
    sending.push(("EMAIL_FROM".into(), MAIL_FROM.into()));
    let (_, _, logs) = run_binary_logged(
        &built_binary("recovery"),
        &sending,
        vec![forgot(), forgot(), forgot()],
    )
    .await;
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "MailSent", &[("Kind", "reset")]), 2);
    assert_eq!(total(&docs, "MailSuppressed", &[("Kind", "reset")]), 1);
    assert_eq!(mails_to(&address).await.len(), 2);

    // A sender SES does not know: refused, counted, and forgot still answers 202.
    let other = fresh_email("noa-other");
    env.set_email(&user, &other).await;
    let mut refused = vars.clone();
    refused.push(("EMAIL_FROM".into(), "nobody@unverified.example".into()));
    let event = with_body(
        load_event("password-forgot.json"),
        Some(&json!({"email": other}).to_string()),
    );
    let (out, _, logs) = run_binary_logged(&built_binary("recovery"), &refused, vec![event]).await;
    let answer = match &out[0] {
        Some(integration_tests::runtime_api::Outcome::Response(v)) => v.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(status(&answer), 202);
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "MailFailed", &[("Kind", "reset")]), 1);
    assert!(
        logs.contains("MessageRejected"),
        "SES's error code is in the log line"
    );
    assert!(!logs.contains(&other), "the address is not");
}

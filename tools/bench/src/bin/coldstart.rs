//! Cold start: exec → first `GET /2018-06-01/runtime/invocation/next` of each release binary
//! under the mock Runtime API on loopback, against a trivial lambda_runtime function measured
//! in the same run (interleaved, median of N). Run by `make bench` under the local engines.
//! login, refresh, register and the authorizer fetch the signing key during init (AWSCURRENT and
//! AWSPREVIOUS, concurrently); that fetch is reported apart: each binary is timed once with
//! Secrets Manager answered by an instant loopback stub (the SDK's side of the fetch still
//! counts, the server's does not) and once against moto, and "without key fetch" subtracts
//! the fetch time the function logs itself (`signing_keys_loaded`, `latency_ms`).
//! Then the authorizer in each asymmetric mode (it loads the published public keys, not the
//! signing secret) against the HS256 authorizer and the trivial function, the same way.
//! Usage: coldstart <dir with release binaries> [runs]; `COLDSTART_ONLY=a,b` measures those
//! functions (and the trivial one) only.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::runtime_api::RuntimeApi;
use integration_tests::secrets_stub::SecretsStub;

/// exec → first poll, and the key fetch the function timed itself during init (its
/// `signing_keys_loaded` log line), if it did one.
async fn first_poll(binary: &Path, env: &[(String, String)]) -> (Duration, Option<Duration>) {
    use tokio::io::AsyncReadExt;
    let api = RuntimeApi::start(Vec::new()).await;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let polled = api
        .wait_first_poll(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("{} never polled", binary.display()));
    let _ = child.kill().await;
    let mut logs = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut logs).await;
    }
    let fetch = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["event"] == "signing_keys_loaded")
        .and_then(|l| l["fields"]["latency_ms"].as_f64())
        .map(|ms| Duration::from_secs_f64(ms / 1000.0));
    (polled - started, fetch)
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: coldstart <release dir> [runs]"));
    let runs: usize = args.next().map(|r| r.parse().unwrap()).unwrap_or(15);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut cfg = shared::Config::from_lookup(|_| None).unwrap();
    cfg.tables.users = format!("cold-users-{id}");
    cfg.tables.sessions = format!("cold-sessions-{id}");
    cfg.signing.secret_id = format!("cold-signing-{id}");
    let sdk = shared::aws::sdk_config(Default::default()).await;
    shared::aws::setup::ensure_tables(&aws_sdk_dynamodb::Client::new(&sdk), &cfg)
        .await
        .unwrap();
    shared::aws::setup::ensure_signing_secret(&aws_sdk_secretsmanager::Client::new(&sdk), &cfg)
        .await
        .unwrap();
    let env = integration_tests::function_env(&cfg);
    let stub = SecretsStub::start().await;
    let stub_env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .cloned()
        .chain([(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_string(),
            stub.url.clone(),
        )])
        .collect();

    // `COLDSTART_ONLY=register,account` measures those (and the trivial baseline) only.
    let only = std::env::var("COLDSTART_ONLY").ok();
    let names: Vec<&str> = [
        "trivial-lambda",
        "login",
        "refresh",
        "logout",
        "register",
        "account",
        "recovery",
        "passkeys",
        "oauth",
        "authorizer",
        "hello",
        "rotate-secret",
    ]
    .into_iter()
    .filter(|n| {
        *n == "trivial-lambda"
            || only
                .as_deref()
                .is_none_or(|o| o.split(',').any(|x| x == *n))
    })
    .collect();
    // Interleaved: every run starts each binary once against the instant stub, then once
    // against moto, so drift on this shared machine hits all of them alike.
    let mut stubbed: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut without_fetch: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut with_moto: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut fetches = vec![0usize; names.len()];
    for _ in 0..runs {
        for (i, name) in names.iter().enumerate() {
            let before = stub.calls();
            let (total, fetch) = first_poll(&dir.join(name), &stub_env).await;
            fetches[i] += stub.calls() - before;
            stubbed[i].push(total);
            without_fetch[i].push(total.saturating_sub(fetch.unwrap_or_default()));
            with_moto[i].push(first_poll(&dir.join(name), &env).await.0);
        }
    }
    let base = median(stubbed[0].clone());
    println!(
        "cold start, exec -> first /invocation/next (median of {runs}, interleaved, same run)"
    );
    println!(
        "  {:<15} {:>20} {:>22} {:>22}   {:>8}  x86_64",
        "", "without key fetch", "fetch from a stub", "fetch from moto", "SM calls"
    );
    let cell = |v: &[Duration]| {
        let m = median(v.to_vec());
        format!("{m:6.2} ms {:5.2}x", m / base)
    };
    for (i, name) in names.iter().enumerate() {
        let size = std::fs::metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "  {name:<15} {:>20} {:>22} {:>22}   {:>8}  {:.2} MB",
            cell(&without_fetch[i]),
            cell(&stubbed[i]),
            cell(&with_moto[i]),
            fetches[i] / runs,
            size as f64 / 1e6
        );
    }
    if only.is_none() {
        asymmetric_authorizers(&dir, runs, &cfg, &sdk).await;
    }
}

/// The authorizer per `SIGNING_ALG`: HS256 (the signing secret) vs RS256, ES256 and EdDSA (the
/// public keys secret), each fetch answered by the stub, interleaved with the trivial function.
async fn asymmetric_authorizers(
    dir: &Path,
    runs: usize,
    cfg: &shared::Config,
    sdk: &aws_config::SdkConfig,
) {
    use shared::config::SigningAlg;
    let mut rows = Vec::new();
    for alg in SigningAlg::ALL {
        let mut cfg = cfg.clone();
        cfg.signing.alg = alg;
        cfg.signing.secret_id = format!("{}-{alg}", cfg.signing.secret_id);
        cfg.signing.public_keys_secret_id = format!("{}-public-{alg}", cfg.signing.secret_id);
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        shared::aws::setup::ensure_signing_secret(&secrets, &cfg)
            .await
            .unwrap();
        let mut answers = std::collections::HashMap::new();
        if alg.is_asymmetric() {
            let jwks = secrets
                .get_secret_value()
                .secret_id(&cfg.signing.public_keys_secret_id)
                .send()
                .await
                .unwrap()
                .secret_string
                .unwrap();
            answers.insert(cfg.signing.public_keys_secret_id.clone(), jwks);
        }
        let stub = SecretsStub::with_secrets(answers).await;
        let env: Vec<(String, String)> = integration_tests::function_env(&cfg)
            .into_iter()
            .filter(|(k, _)| k != "AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .chain([(
                "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_string(),
                stub.url.clone(),
            )])
            .collect();
        let (mut trivial, mut with, mut without) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            trivial.push(first_poll(&dir.join("trivial-lambda"), &env).await.0);
            let (total, fetch) = first_poll(&dir.join("authorizer"), &env).await;
            assert!(fetch.is_some(), "{alg}: the authorizer loaded no key");
            with.push(total);
            without.push(total.saturating_sub(fetch.unwrap_or_default()));
        }
        rows.push((alg, median(trivial), median(without), median(with)));
    }
    println!("authorizer cold start per SIGNING_ALG (median of {runs}, interleaved with the trivial function)");
    for (alg, trivial, without, with) in rows {
        println!(
            "  {alg:<6} without key fetch {without:6.2} ms {:5.2}x   with (stub) {with:6.2} ms {:5.2}x   trivial {trivial:5.2} ms",
            without / trivial,
            with / trivial
        );
    }
}

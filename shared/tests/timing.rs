//! Unknown user, wrong password and disabled user must take statistically similar time:
//! each does exactly one argon2id verification at the default parameters. Measured over
//! interleaved samples; the bound (medians within 1.5x of each other) is generous on purpose,
//! since this machine is shared and noisy, yet a missing dummy verification (~0 ms versus
//! ~20+ ms) fails it by far.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::adapters::memory::{hs256_ring, FakeClock, MemoryStore};
use shared::config::Config;
use shared::crypto::password::Passwords;
use shared::domain::{User, Username};
use shared::ports::UserStore;
use shared::service::{AuthService, LoginInput, Stores};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_take_similar_time() {
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.lockout.max_failures = 1000; // measure the password path, not the lockout
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(1_700_000_000));
    let keys = hs256_ring(clock.clone());
    let passwords = Passwords::default();
    for (name, disabled) in [("alice", false), ("dora", true)] {
        store
            .create_user(&User {
                disabled,
                ..User::new(
                    name,
                    Username::parse(name).unwrap(),
                    passwords.hash_blocking("the-password").unwrap(),
                    vec![],
                    0,
                )
            })
            .await
            .unwrap();
    }
    let svc = AuthService::new(Arc::new(cfg), Stores::all_in(store), keys, clock, passwords);
    let attempt = |username: &'static str, password: &'static str| {
        let svc = &svc;
        async move {
            let started = Instant::now();
            let result = svc
                .login(LoginInput {
                    username: username.into(),
                    password: password.into(),
                    device_id: "t".into(),
                    device_tokens: Vec::new(),
                })
                .await;
            assert!(result.is_err());
            started.elapsed()
        }
    };
    // Warm up (key ring, allocator, caches).
    attempt("ghost", "x").await;
    let (mut unknown, mut wrong, mut disabled) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        unknown.push(attempt("ghost", "the-password").await);
        wrong.push(attempt("alice", "not-the-password").await);
        disabled.push(attempt("dora", "the-password").await);
    }
    let medians = [median(unknown), median(wrong), median(disabled)];
    let (lo, hi) = (
        medians.iter().min().unwrap().as_secs_f64(),
        medians.iter().max().unwrap().as_secs_f64(),
    );
    assert!(
        hi / lo < 1.5,
        "medians unknown/wrong/disabled = {medians:?} differ by {:.2}x",
        hi / lo
    );
}

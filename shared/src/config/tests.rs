use super::*;
use std::collections::HashMap;

fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn cors_origins_are_exact_origins_or_refused() {
    let ok = from(&[(
        "CORS_ALLOW_ORIGIN",
        "https://app.example.com, http://localhost:5173,http://[::1]:8080",
    )])
    .unwrap();
    assert_eq!(
        ok.cors.allow_origins,
        [
            "https://app.example.com",
            "http://localhost:5173",
            "http://[::1]:8080"
        ]
    );
    assert!(from(&[("CORS_ALLOW_ORIGIN", "")])
        .unwrap()
        .cors
        .allow_origins
        .is_empty());
    for bad in [
        "*",
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://*.example.com",
        "https://App.example.com",
        "https://app.example.com:",
        "https://app.example.com:99999",
        "ftp://app.example.com",
        "https://[::1",
        // Plain http off this machine, and default ports browsers never send.
        "http://app.example.com",
        "http://10.0.0.1:8080",
        "http://localhost.evil.example",
        "https://app.example.com:443",
        "http://localhost:80",
    ] {
        let err = from(&[("CORS_ALLOW_ORIGIN", bad)]).unwrap_err();
        assert_eq!(err.name, "CORS_ALLOW_ORIGIN", "{bad}");
    }
}

#[test]
fn the_breach_check_url_is_https_or_a_loopback_stub() {
    assert_eq!(from(&[]).unwrap().pwned_passwords_url, None);
    assert_eq!(
        from(&[("PWNED_PASSWORDS_URL", "")])
            .unwrap()
            .pwned_passwords_url,
        None
    );
    for (ok, stored) in [
        (
            "https://api.pwnedpasswords.com/",
            "https://api.pwnedpasswords.com",
        ),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://localhost:9/pwned", "http://localhost:9/pwned"),
    ] {
        assert_eq!(
            from(&[("PWNED_PASSWORDS_URL", ok)])
                .unwrap()
                .pwned_passwords_url
                .as_deref(),
            Some(stored),
            "{ok}"
        );
    }
    for bad in [
        "api.pwnedpasswords.com",
        "http://api.pwnedpasswords.com",
        "https://",
        "https://x.example/range?x=1",
        "ftp://x.example",
    ] {
        assert_eq!(
            from(&[("PWNED_PASSWORDS_URL", bad)]).unwrap_err().name,
            "PWNED_PASSWORDS_URL",
            "{bad}"
        );
    }
}

#[test]
fn signing_alg_and_revocation_settings_parse_or_name_the_variable() {
    let cfg = from(&[]).unwrap();
    assert_eq!(cfg.signing.alg, SigningAlg::Hs256);
    assert_eq!(cfg.authorizer.revocation, AuthorizerRevocation::Off);
    assert_eq!(cfg.authorizer.on_error, RevocationFailMode::Deny);
    for alg in SigningAlg::ALL {
        assert_eq!(
            from(&[("SIGNING_ALG", alg.as_str())]).unwrap().signing.alg,
            alg
        );
    }
    let cfg = from(&[
        ("AUTHORIZER_REVOCATION", "session"),
        ("AUTHORIZER_REVOCATION_ON_ERROR", "allow"),
    ])
    .unwrap();
    assert_eq!(cfg.authorizer.revocation, AuthorizerRevocation::Session);
    assert_eq!(cfg.authorizer.on_error, RevocationFailMode::Allow);
    for (name, bad) in [
        ("SIGNING_ALG", "hs256"),
        ("SIGNING_ALG", "none"),
        ("SIGNING_ALG", "RS512"),
        ("AUTHORIZER_REVOCATION", "on"),
        ("AUTHORIZER_REVOCATION_ON_ERROR", "open"),
    ] {
        assert_eq!(from(&[(name, bad)]).unwrap_err().name, name);
    }
}

#[test]
fn cookie_settings_parse_and_unsafe_ones_are_refused() {
    let cfg = from(&[]).unwrap();
    assert_eq!(cfg.cookies, CookiePolicy::default());
    let cfg = from(&[
        ("COOKIE_SAMESITE", "Lax"),
        ("COOKIE_DOMAIN", ".example.com"),
    ])
    .unwrap();
    assert_eq!(cfg.cookies.same_site, CookieSameSite::Lax);
    assert_eq!(cfg.cookies.domain.as_deref(), Some("example.com"));
    let cfg = from(&[
        ("COOKIE_SAMESITE", "None"),
        ("CORS_ALLOW_ORIGIN", "https://app.example.org"),
    ])
    .unwrap();
    assert_eq!(cfg.cookies.same_site, CookieSameSite::None);
    let e = from(&[("COOKIE_SAMESITE", "None")]).unwrap_err();
    assert_eq!(e.name, "COOKIE_SAMESITE");
    assert!(e.expected.contains("CORS_ALLOW_ORIGIN"));
    for bad in ["none", "strict", "", "Secure"] {
        assert_eq!(
            from(&[("COOKIE_SAMESITE", bad)]).unwrap_err().name,
            "COOKIE_SAMESITE",
            "{bad}"
        );
    }
    for bad in [
        "com",
        "localhost",
        "https://example.com",
        "example.com:443",
        "example.com/auth",
        "*.example.com",
        "127.0.0.1",
        "Example.com",
        "exa mple.com",
        "-a.example.com",
        "a..example.com",
        // Public suffixes: every site under them would get the cookies.
        "co.uk",
        ".co.uk",
        "github.io",
        "s3.amazonaws.com",
    ] {
        assert_eq!(
            from(&[("COOKIE_DOMAIN", bad)]).unwrap_err().name,
            "COOKIE_DOMAIN",
            "{bad}"
        );
    }
    assert_eq!(from(&[("COOKIE_DOMAIN", "")]).unwrap().cookies.domain, None);
}

/// Each number setting: its variable, the contract's default, and where it lands.
type Field = fn(&Config) -> u64;
const NUMBERS: [(&str, u64, Field); 6] = [
    ("ACCESS_TOKEN_TTL", 900, |c| c.tokens.access_ttl),
    ("REFRESH_TOKEN_TTL", 1_209_600, |c| c.sessions.refresh_ttl),
    ("REUSE_GRACE_SECS", 10, |c| c.sessions.reuse_grace_secs),
    ("SESSION_MAX_AGE", 2_592_000, |c| c.sessions.max_age),
    ("MAX_SESSIONS_PER_USER", 20, |c| {
        c.sessions.max_per_user as u64
    }),
    ("SECRET_CACHE_TTL", 300, |c| c.signing.cache_ttl),
];

#[test]
fn defaults_match_the_contract() {
    let cfg = from(&[]).unwrap();
    for (name, default, field) in NUMBERS {
        assert_eq!(field(&cfg), default, "{name}");
    }
    assert_eq!(cfg.trust_store, TrustStore::Aws);
}

#[test]
fn every_variable_overrides_its_default() {
    for (name, default, field) in NUMBERS {
        // Below the default and at least 1 (a valid value for every bound).
        let value = (default / 2).max(1);
        let cfg = from(&[(name, &value.to_string())]).unwrap();
        assert_eq!(field(&cfg), value, "{name}");
    }
    let cfg = from(&[
        ("USERS_TABLE", "u"),
        ("SESSIONS_TABLE", "s"),
        (
            "SIGNING_SECRET_ID",
            "arn:aws:secretsmanager:eu-west-1:1:secret:k",
        ),
        ("TOKEN_ISSUER", "iss"),
        ("TOKEN_AUDIENCE", "aud"),
        ("TLS_TRUST_STORE", "system"),
    ])
    .unwrap();
    assert_eq!(
        (cfg.tables.users.as_str(), cfg.tables.sessions.as_str()),
        ("u", "s")
    );
    assert_eq!(
        cfg.signing.secret_id,
        "arn:aws:secretsmanager:eu-west-1:1:secret:k"
    );
    assert_eq!(
        (cfg.tokens.issuer.as_str(), cfg.tokens.audience.as_str()),
        ("iss", "aud")
    );
    assert_eq!(cfg.trust_store, TrustStore::System);
    assert_eq!(
        from(&[("SECRET_CACHE_TTL", "0")])
            .unwrap()
            .signing
            .cache_ttl,
        0
    );
}

#[test]
fn bad_values_name_the_variable() {
    for (name, value) in [
        ("ACCESS_TOKEN_TTL", "15m"),
        ("ACCESS_TOKEN_TTL", "0"),
        ("ACCESS_TOKEN_TTL", "-5"),
        ("REUSE_GRACE_SECS", "11"),
        ("MAX_SESSIONS_PER_USER", "0"),
        ("USERS_TABLE", ""),
        ("TOKEN_ISSUER", " padded "),
        ("TLS_TRUST_STORE", "native"),
        ("TLS_TRUST_STORE", ""),
    ] {
        let err = from(&[(name, value)]).unwrap_err();
        assert_eq!(err.name, name);
        assert!(err.to_string().contains(name), "{err}");
    }
}

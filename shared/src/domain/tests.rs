use super::*;

#[test]
fn formats_epoch_seconds_as_rfc3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_795_514_400), "2026-11-24T10:00:00Z");
}

const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    window: 900,
    base: 30,
    cap: 900,
};

fn record(failures: u32, locked_until: Option<u64>) -> FailureRecord {
    FailureRecord {
        failures,
        last_failure: 1000,
        locked_until,
    }
}

#[test]
fn lockouts_start_at_the_threshold_and_double_up_to_the_cap() {
    assert_eq!(POLICY.lockout(4), None);
    assert_eq!(POLICY.lockout(5), Some(30));
    assert_eq!(POLICY.lockout(6), Some(60));
    assert_eq!(POLICY.lockout(8), Some(240));
    assert_eq!(POLICY.lockout(40), Some(900));
    assert_eq!(POLICY.lockout(u32::MAX), Some(900));
}

#[test]
fn attempts_are_counted_until_the_threshold_then_refused_while_locked() {
    use NextAttempt::*;
    assert_eq!(POLICY.next_attempt(None, 1000), Restart);
    assert_eq!(POLICY.next_attempt(Some(&record(4, None)), 1001), Count);
    assert_eq!(
        POLICY.next_attempt(Some(&record(5, Some(1030))), 1029),
        Refuse { until: 1030 }
    );
    assert_eq!(
        POLICY.next_attempt(Some(&record(5, Some(1030))), 1030),
        Count
    );
    // Past the window, but a lockout longer than the window still runs.
    assert_eq!(POLICY.next_attempt(Some(&record(4, None)), 1901), Restart);
    assert_eq!(
        POLICY.next_attempt(Some(&record(9, Some(2000))), 1950),
        Refuse { until: 2000 }
    );
}

#[test]
fn attempts_still_being_checked_refuse_the_rest_as_if_they_fail() {
    use NextAttempt::*;
    // Five reserved, none finished: refused for the lockout five failures would start.
    assert_eq!(
        POLICY.next_attempt(Some(&record(5, None)), 1000),
        Refuse { until: 1030 }
    );
    // They never finished (the instance died): refused until the record leaves the window.
    assert_eq!(
        POLICY.next_attempt(Some(&record(5, None)), 1100),
        Refuse { until: 1901 }
    );
    assert_eq!(POLICY.next_attempt(Some(&record(5, None)), 1901), Restart);
}

#[test]
fn usernames_are_lowercased_and_validated() {
    assert_eq!(Username::parse("Alice.B@x").unwrap().as_str(), "alice.b@x");
    assert_eq!(Username::parse(""), Err(UsernameError::Empty));
    assert_eq!(
        Username::parse(&"a".repeat(129)),
        Err(UsernameError::TooLong)
    );
    assert!(Username::parse(&"a".repeat(128)).is_ok());
    for bad in ["..", "-", "@", "._+-"] {
        assert_eq!(
            Username::parse(bad),
            Err(UsernameError::NoLetterOrDigit),
            "{bad:?}"
        );
    }
    assert!(Username::parse("-a-").is_ok());
    for bad in ["a b", "a/b", "ä", "a\0", "a:b"] {
        assert_eq!(
            Username::parse(bad),
            Err(UsernameError::BadCharacter),
            "{bad:?}"
        );
    }
}

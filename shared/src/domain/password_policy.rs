//! What a new password must be (sign-up and password change): 8 characters to 1024 bytes,
//! not the username nor containing it, and not easy to guess by zxcvbn's estimate (Dropbox's
//! estimator: common passwords, dictionary words, names, dates, keyboard patterns, repeats,
//! sequences, l33t). Each refusal says which rule, in a fixed text.

use crate::domain::{Username, MAX_PASSWORD_BYTES};

pub const MIN_PASSWORD_CHARS: usize = 8;

/// What a username may hold besides letters and digits; ignored when a password is compared
/// with it.
const USERNAME_SEPARATORS: [char; 5] = ['.', '_', '@', '+', '-'];

/// The lowest zxcvbn score accepted (0-4; 3 = "safely unguessable: moderate protection from
/// offline slow-hash scenario", about 10^8 guesses or more).
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// How much of a password the estimator reads (zxcvbn-ts reads 256 by default, for the same
/// reason).
const ESTIMATED_CHARS: usize = 256;

/// `Ok` or the rule the password breaks, as the `error_description` a caller sees.
pub fn check(username: &Username, password: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err("The password must be at least 8 characters long.");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err("The password must be at most 1024 bytes long.");
    }
    // Usernames are stored lower-cased; compare the password the same way, and both without
    // separators (`john.smith` is in `JohnSmith-59` as much as in `john.smith59`).
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| !USERNAME_SEPARATORS.contains(c))
            .collect()
    };
    let name = bare(username.as_str());
    let name = if name.is_empty() {
        username.as_str().to_string()
    } else {
        name
    };
    if bare(&password.to_lowercase()).contains(&name) {
        return Err("The password must not contain the username.");
    }
    // The estimator's matching grows faster than linearly with the length (a 1024-byte repeat
    // took ~40 ms, as long as an argon2id hash): it sees the first ESTIMATED_CHARS characters.
    // A longer password only gains from the rest, so this can only under-rate it.
    let head: String = password.chars().take(ESTIMATED_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&head, &[username.as_str()]);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    use zxcvbn::feedback::Warning;
    Err(match estimate.feedback().and_then(|f| f.warning()) {
        Some(
            Warning::ThisIsATop10Password
            | Warning::ThisIsATop100Password
            | Warning::ThisIsACommonPassword
            | Warning::ThisIsSimilarToACommonlyUsedPassword,
        ) => "The password is too easy to guess: it is a common password or close to one.",
        Some(Warning::AWordByItselfIsEasyToGuess) => {
            "The password is too easy to guess: a single word; use several unrelated words."
        }
        Some(
            Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
            | Warning::CommonNamesAndSurnamesAreEasyToGuess,
        ) => "The password is too easy to guess: names are among the first guesses.",
        Some(Warning::RecentYearsAreEasyToGuess | Warning::DatesAreOftenEasyToGuess) => {
            "The password is too easy to guess: years and dates are among the first guesses."
        }
        Some(
            Warning::StraightRowsOfKeysAreEasyToGuess
            | Warning::ShortKeyboardPatternsAreEasyToGuess,
        ) => "The password is too easy to guess: it follows the keyboard.",
        Some(
            Warning::RepeatsLikeAaaAreEasyToGuess
            | Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess
            | Warning::SequencesLikeAbcAreEasyToGuess,
        ) => "The password is too easy to guess: it repeats or runs in sequence.",
        None => "The password is too easy to guess; use a longer passphrase of unrelated words.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    #[test]
    fn length_and_username_rules_come_first_and_say_so() {
        let alice = user("alice");
        assert_eq!(
            check(&alice, "Xy7#q"),
            Err("The password must be at least 8 characters long.")
        );
        assert_eq!(
            check(&alice, &"x".repeat(1025)),
            Err("The password must be at most 1024 bytes long.")
        );
        assert_eq!(
            check(&alice, "purple-ALICE-horse-93"),
            Err("The password must not contain the username.")
        );
    }

    #[test]
    fn the_username_rule_ignores_separators_on_both_sides() {
        let john = user("john.smithn59");
        for password in [
            "johnsmithn59!Q9z",
            "John-Smith.n59 violet kettle",
            "x_john_smith_n59_",
        ] {
            assert_eq!(
                check(&john, password),
                Err("The password must not contain the username."),
                "{password}"
            );
        }
        assert_eq!(check(&john, "violet kettle orbit 42"), Ok(()));
    }

    #[test]
    fn guessable_passwords_are_refused_with_the_reason() {
        let bob = user("bob");
        for (password, why) in [
            ("password1", "a common password"),
            ("qwertyuiop", "a common password"),
            ("elephant", "a common password"),
            ("abcdefghij", "in sequence"),
            ("aaaaaaaaaaaa", "repeats"),
            ("Michael1980", "names"),
        ] {
            let refused = check(&bob, password).expect_err(password);
            assert!(
                refused.starts_with("The password is too easy to guess") && refused.contains(why),
                "{password}: {refused}"
            );
        }
    }

    #[test]
    fn a_long_password_is_judged_on_its_head() {
        let bob = user("bob");
        // A weak head stays weak however long the repeat; a strong head passes.
        assert!(check(&bob, &"a".repeat(1000)).is_err());
        let strong = format!("violet kettle orbit 42 {}", "a".repeat(900));
        assert_eq!(check(&bob, &strong), Ok(()));
    }

    #[test]
    fn a_passphrase_of_unrelated_words_passes() {
        assert_eq!(
            check(&user("carol"), "correct horse battery staple"),
            Ok(())
        );
        assert_eq!(check(&user("dave"), "vY4!rk9@Lq2#"), Ok(()));
    }
}

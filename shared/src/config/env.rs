//! Reading variables: each bound written once, and every refusal naming its variable.

use super::ConfigError;

/// The variables, through a lookup (the process environment, or a test's map).
pub struct Env<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Env { get }
    }

    /// The raw value, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.get)(name)
    }

    /// A non-empty value without surrounding spaces, or `default` when unset.
    pub fn text(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        match self.get(name) {
            None => Ok(default.to_string()),
            Some(v) if !v.trim().is_empty() && v.trim() == v => Ok(v),
            Some(v) => Err(ConfigError::new(
                name,
                "a non-empty value without surrounding spaces",
                v,
            )),
        }
    }

    /// A whole number in `range` (the message says the range), or `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError {
                name,
                expected: format!(
                    "a whole number between {} and {}",
                    range.start(),
                    range.end()
                ),
                value: v,
            }),
        }
    }

    /// One of `choices` (`(value, meaning)`, the first the default when unset).
    pub fn choice<T: Copy>(
        &self,
        name: &'static str,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(choices[0].1);
        };
        choices
            .iter()
            .find(|(text, _)| *text == v)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(t, _)| *t).collect();
                ConfigError {
                    name,
                    expected: format!("one of {}", names.join(", ")),
                    value: v,
                }
            })
    }
}

//! Which language the agent asked for: `--lang`, then `SIGAP_LANG`, then
//! the POSIX locale, then Indonesian.
//!
//! Read from the raw arguments before clap parses them: clap prints
//! `--help` while parsing, and the help must already be in the language.

use std::ffi::OsString;

use sigap_shared::Lang;

/// A `--lang` or `SIGAP_LANG` that names no language SIGAP speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// Where it was given: `--lang` or `SIGAP_LANG`.
    pub source: &'static str,
    pub value: String,
}

impl Unknown {
    /// The refusal in both languages: whoever mistyped the language may
    /// read only one of them.
    pub fn message(&self) -> String {
        Lang::ALL
            .iter()
            .map(|l| {
                super::text(
                    *l,
                    "lang-unknown",
                    &[
                        ("source", self.source.to_string()),
                        ("value", self.value.clone()),
                    ],
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The value of `--lang` in `args` (program name first), if given:
/// `--lang en` or `--lang=en`, before any `--`.
fn flag(args: &[OsString]) -> Option<String> {
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            return None;
        }
        if a == "--lang" {
            return it.next().map(|v| v.into_owned());
        }
        if let Some(v) = a.strip_prefix("--lang=") {
            return Some(v.to_string());
        }
    }
    None
}

/// The language of this run. `var` reads the environment (the process's,
/// or a test's).
pub fn choose(args: &[OsString], var: impl Fn(&str) -> Option<String>) -> Result<Lang, Unknown> {
    let given = [("--lang", flag(args)), ("SIGAP_LANG", var("SIGAP_LANG"))];
    for (source, value) in given {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        return Lang::from_tag(&value).ok_or(Unknown { source, value });
    }
    Ok(Lang::from_locale_vars(var).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("sigap")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_flag_beats_sigap_lang_which_beats_the_locale() {
        let all = [("SIGAP_LANG", "id"), ("LANG", "id_ID.UTF-8")];
        assert_eq!(
            choose(&args(&["--lang", "en", "status"]), env(&all)),
            Ok(Lang::En)
        );
        assert_eq!(
            choose(&args(&["status", "--lang=en"]), env(&all)),
            Ok(Lang::En)
        );
        let env_en = [("SIGAP_LANG", "en"), ("LANG", "id_ID.UTF-8")];
        assert_eq!(choose(&args(&["status"]), env(&env_en)), Ok(Lang::En));
        assert_eq!(
            choose(&args(&["status"]), env(&[("LC_ALL", "en_US.UTF-8")])),
            Ok(Lang::En)
        );
    }

    #[test]
    fn indonesian_when_nothing_says_otherwise() {
        assert_eq!(choose(&args(&["status"]), env(&[])), Ok(Lang::Id));
        assert_eq!(
            choose(&args(&["status"]), env(&[("LANG", "C")])),
            Ok(Lang::Id)
        );
        assert_eq!(
            choose(&args(&["status"]), env(&[("SIGAP_LANG", " ")])),
            Ok(Lang::Id)
        );
        // After `--` it is an argument, not the flag.
        assert_eq!(
            choose(&args(&["show", "--", "--lang"]), env(&[])),
            Ok(Lang::Id)
        );
    }

    #[test]
    fn an_unknown_language_is_refused_naming_where_it_came_from() {
        let e = choose(&args(&["--lang", "xx"]), env(&[])).unwrap_err();
        assert_eq!((e.source, e.value.as_str()), ("--lang", "xx"));
        let e = choose(&args(&[]), env(&[("SIGAP_LANG", "fr")])).unwrap_err();
        assert_eq!(e.source, "SIGAP_LANG");
        let text = e.message();
        assert!(
            text.contains("\"fr\"") && text.contains("tidak tersedia"),
            "{text}"
        );
        assert!(text.contains("not available"), "{text}");
    }
}

//! Messages in the agent's language: Project Fluent catalogues under
//! `locales/<lang>/*.ftl`, compiled into the binary (see `catalogue`).
//!
//! The language is chosen once, before anything is printed (see
//! [`choose`]), and held for the process: errors are worded deep in the
//! store and the sync client, and threading a language through every one
//! of those signatures would say nothing a global does not. Tests and
//! code that need another language call [`text`] with it.
//!
//! Numbers and dates reach the catalogues already written in the
//! language's style (`Lang::int`, `Lang::percent`, `Lang::date`), so a
//! catalogue never formats them itself.

mod catalogue;
pub mod choose;
pub mod help;
pub mod issues;
pub mod problems;

use std::sync::OnceLock;

use sigap_shared::Lang;

static LANG: OnceLock<Lang> = OnceLock::new();

/// Sets the language of this process's messages; the first call wins.
pub fn set_lang(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language of this process's messages (Indonesian until set).
pub fn lang() -> Lang {
    LANG.get().copied().unwrap_or(DEFAULT)
}

/// Indonesian, the agents' language. Unit tests read English, as the
/// integration tests do (`SIGAP_LANG=en`); the tests of the language
/// itself name theirs.
#[cfg(not(test))]
const DEFAULT: Lang = Lang::Id;
#[cfg(test)]
const DEFAULT: Lang = Lang::En;

/// A whole number in the process's language: `100.512` / `100,512`.
pub fn n(value: impl TryInto<i128>) -> String {
    match value.try_into() {
        Ok(v) => lang().int(v),
        // No count of this tool comes near; said rather than panicking.
        Err(_) => "?".to_string(),
    }
}

/// The message `id` in `lang` with `args`, or `None` when the catalogue has
/// no such message or the arguments do not fill it.
pub fn try_text(lang: Lang, id: &str, args: &[(&str, String)]) -> Option<String> {
    catalogue::format(lang, id, args)
}

/// The message `id` in `lang` with `args`. A message missing from the
/// catalogue (which the catalogue tests rule out) shows as its id rather
/// than stopping the command.
pub fn text(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    try_text(lang, id, args).unwrap_or_else(|| id.to_string())
}

/// The message `id` in English (for the JSON output and scripts) and in
/// this process's language (for people).
pub fn both(id: &str, args: &[(&str, String)]) -> (String, String) {
    (text(Lang::En, id, args), text(lang(), id, args))
}

/// The message of a literal id with `name = value` arguments, in this
/// process's language. Values are shown with `Display`; numbers go in already
/// formatted (`i18n::n(count)`).
macro_rules! t {
    ($id:literal $(, $k:ident = $v:expr)* $(,)?) => {
        $crate::i18n::text(
            $crate::i18n::lang(),
            $id,
            &[$((stringify!($k), ::std::string::ToString::to_string(&$v))),*],
        )
    };
}
pub(crate) use t;

#[cfg(test)]
mod tests;

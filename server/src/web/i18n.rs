//! The dashboard's words, from the Fluent catalogues in `server/locales`
//! (compiled in), and the language of a request.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use sigap_shared::Lang;

use super::cookies;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "id",
        // Isolation marks (U+2068/U+2069) around arguments would show up
        // in CSV cells and break the figures' text comparison.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static ID: LanguageIdentifier = langid!("id");
static EN: LanguageIdentifier = langid!("en");

fn langid(lang: Lang) -> &'static LanguageIdentifier {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

/// The text of message `id` in `lang`.
pub fn t(lang: Lang, id: &str) -> String {
    LOCALES.lookup(langid(lang), id)
}

/// The text of message `id` in `lang` with arguments.
pub fn t_args(lang: Lang, id: &str, args: &[(&'static str, String)]) -> String {
    let map: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone())))
        .collect();
    LOCALES.lookup_with_args(langid(lang), id, &map)
}

/// A `?lang=` value in a query string, when it names a language we have.
pub fn from_query(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::from_tag(v))
}

/// The request's language: `?lang=`, then the `lang` cookie, then
/// `Accept-Language`, then Bahasa Indonesia.
pub fn request_lang(headers: &HeaderMap, query: Option<&str>) -> Lang {
    from_query(query)
        .or_else(|| cookies::get(headers, cookies::LANG).and_then(|v| Lang::from_tag(&v)))
        .or_else(|| {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Message ids defined in every `.ftl` file of one language.
    fn ids(lang: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang);
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                let starts_id = line.starts_with(|c: char| c.is_ascii_alphabetic());
                if let (true, Some((id, _))) = (starts_id, line.split_once('=')) {
                    out.insert(id.trim().to_string());
                }
            }
        }
        out
    }

    #[test]
    fn both_languages_have_the_same_messages() {
        let id = ids("id");
        let en = ids("en");
        assert!(id.len() > 20, "catalogue not found or nearly empty");
        let only_id: Vec<_> = id.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&id).collect();
        assert!(only_id.is_empty(), "missing in en: {only_id:?}");
        assert!(only_en.is_empty(), "missing in id: {only_en:?}");
    }

    #[test]
    fn words_come_from_the_catalogue_in_each_language() {
        assert_eq!(t(Lang::Id, "nav-overview"), "Ringkasan");
        assert_eq!(t(Lang::En, "nav-overview"), "Overview");
        let s = t_args(Lang::En, "signed-in-as", &[("name", "spv-1".into())]);
        assert_eq!(s, "Signed in as spv-1");
    }

    #[test]
    fn language_comes_from_query_then_cookie_then_header() {
        let mut h = HeaderMap::new();
        assert_eq!(request_lang(&h, None), Lang::Id);
        h.insert(ACCEPT_LANGUAGE, "en-GB,en;q=0.8".parse().unwrap());
        assert_eq!(request_lang(&h, None), Lang::En);
        h.insert(axum::http::header::COOKIE, "lang=id".parse().unwrap());
        assert_eq!(request_lang(&h, None), Lang::Id);
        assert_eq!(request_lang(&h, Some("sort=name&lang=en")), Lang::En);
    }
}

//! The signed-in supervisor: the session cookie's token, checked against
//! the token store on every request, and what every page shows of it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sigap_shared::{AreaCode, Lang, Level, wilayah};

use super::errors::WebError;
use super::{cookies, csrf, i18n};
use crate::http::ApiError;
use crate::http::AppState;
use crate::http::auth::{Auth, authenticate};
use crate::store::Role;

/// A supervisor's or admin's session, valid at this request.
pub struct Session {
    pub auth: Auth,
    /// The form token every POST of this session must carry.
    pub csrf: String,
    pub lang: Lang,
    /// Path and query of this request (for the language switch).
    pub here: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let lang = i18n::request_lang(&parts.headers, parts.uri.query());
        let token = cookies::get(&parts.headers, cookies::SESSION)
            .ok_or(WebError::SignIn { notice: None })?;
        let info = authenticate(state, &token).await.map_err(|e| match e {
            ApiError::Unauthorized(_) => WebError::SignIn {
                notice: Some("notice-session-ended"),
            },
            other => other.into(),
        })?;
        if info.role == Role::Agent {
            return Err(WebError::AgentToken);
        }
        let csrf = csrf::token(&state.web.secret, "session", &crate::token::hash(&token));
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Session {
            auth: Auth(info),
            csrf,
            lang,
            here,
        })
    }
}

impl Session {
    /// The area must lie in the token's areas (admins: anywhere).
    pub fn require_area(&self, area: &AreaCode) -> Result<(), WebError> {
        if self.auth.0.covers(area) {
            Ok(())
        } else {
            Err(WebError::Outside(wilayah::area_label(area)))
        }
    }

    /// The areas this session starts from: the token's, or for an admin
    /// the kota (or kotas) of the area table.
    pub fn top_areas(&self) -> Vec<AreaCode> {
        if self.auth.0.role == Role::Admin {
            wilayah::surakarta()
                .iter()
                .filter(|a| a.level == Level::Kota)
                .map(|a| a.code)
                .collect()
        } else {
            self.auth.0.areas.clone()
        }
    }

    /// Checks a posted form's CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), WebError> {
        // The expected token is recomputed from the session, so comparing
        // it with what was posted is enough (both are HMACs).
        if super::constant_time_eq(self.csrf.as_bytes(), given.trim().as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    /// What the layout needs, for the page `nav` (`overview`, `area`, …).
    pub fn page(&self, nav: &'static str, title: String) -> PageCtx {
        PageCtx {
            lang: self.lang,
            user: Some(self.auth.0.name.clone()),
            csrf: self.csrf.clone(),
            nav,
            title,
            lang_href: switch_lang_href(&self.here, other(self.lang)),
        }
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Id => Lang::En,
        Lang::En => Lang::Id,
    }
}

/// The same page in `lang`: the query with `lang=` replaced (the
/// middleware then keeps the choice in a cookie).
pub fn switch_lang_href(here: &str, lang: Lang) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut parts: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang=") && !p.starts_with("notice="))
        .collect();
    let l = format!("lang={}", lang.tag());
    parts.push(&l);
    format!("{path}?{}", parts.join("&"))
}

/// The layout's data: language, who is signed in, the form token.
pub struct PageCtx {
    pub lang: Lang,
    pub user: Option<String>,
    pub csrf: String,
    pub nav: &'static str,
    pub title: String,
    pub lang_href: String,
}

impl PageCtx {
    /// A page for someone not signed in (sign-in, errors).
    pub fn anonymous(lang: Lang, here: &str, title: String) -> PageCtx {
        PageCtx {
            lang,
            user: None,
            csrf: String::new(),
            nav: "",
            title,
            lang_href: switch_lang_href(here, other(lang)),
        }
    }

    /// Message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        i18n::t(self.lang, id)
    }

    /// Message `id` with one argument.
    pub fn t1(&self, id: &str, key: &'static str, value: &str) -> String {
        i18n::t_args(self.lang, id, &[(key, value.to_string())])
    }

    pub fn tag(&self) -> &'static str {
        self.lang.tag()
    }

    /// The name of the other language, for the switch.
    pub fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::Id => "English",
            Lang::En => "Bahasa Indonesia",
        }
    }

    pub fn is(&self, nav: &str) -> bool {
        self.nav == nav
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_switch_keeps_the_rest_of_the_query() {
        assert_eq!(switch_lang_href("/", Lang::En), "/?lang=en");
        assert_eq!(
            switch_lang_href("/area?code=33.72&lang=id&sort=gap", Lang::En),
            "/area?code=33.72&sort=gap&lang=en"
        );
    }
}

//! The dashboard's cookies: reading the `Cookie` header and writing
//! `Set-Cookie` values with the attributes each cookie needs.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The session: the supervisor's token itself, sent back only to us.
pub const SESSION: &str = "sigap_session";
/// The chosen language (`id` / `en`).
pub const LANG: &str = "lang";
/// A random value the sign-in form's CSRF token is bound to, set before
/// there is a session.
pub const PRE_SESSION: &str = "sigap_pre";

/// The value of cookie `name`, if the browser sent it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us over https (through a TLS proxy that
/// says so), or the operator told the server it is behind TLS.
pub fn secure(headers: &HeaderMap, behind_tls: bool) -> bool {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
        || headers
            .get("forwarded")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    behind_tls || forwarded_https
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always (no script
/// and no other site ever needs these), Secure when served over https.
pub fn set(name: &str, value: &str, secure: bool, max_age_secs: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age_secs {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", secure, Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_one_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("lang=en; sigap_session=abc; other=1"),
        );
        assert_eq!(get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&h, LANG).as_deref(), Some("en"));
        assert_eq!(get(&h, PRE_SESSION), None);
    }

    #[test]
    fn session_cookie_attributes() {
        let c = set(SESSION, "t", true, None);
        assert_eq!(
            c,
            "sigap_session=t; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set(SESSION, "t", false, None).contains("Secure"));
        assert!(clear(SESSION, false).contains("Max-Age=0"));
    }

    #[test]
    fn https_is_seen_through_a_proxy_or_by_setting() {
        let mut h = HeaderMap::new();
        assert!(!secure(&h, false));
        assert!(secure(&h, true));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(secure(&h, false));
    }
}

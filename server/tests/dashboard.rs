//! The dashboard over HTTP, as a browser without JavaScript uses it:
//! sign-in and its cookie, CSRF on every form, refusals, the language
//! switch, a conflict resolved through the form, and exports that carry
//! the figures exactly as the page shows them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Device, Server, outcomes, start, web_client};
use reqwest::StatusCode;
use serde_json::Value;
use sigap_server::store::Role;
use sigap_shared::Lang;

const NIK: &str = "3372011203850001";
const KEL: &str = "33.72.01.1001";

/// The value of the first hidden `csrf` input in a page.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The `name=value` of every `Set-Cookie` header, with its attributes.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        c.strip_prefix(&format!("{name}="))
            .map(|rest| rest.split(';').next().unwrap().to_string())
    })
}

/// Opens the sign-in form: the pre-session cookie and the form's token.
async fn signin_form(s: &Server) -> (String, String) {
    let r = web_client()
        .get(format!("{}/signin", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pre = cookie_value(&set_cookies(&r), "sigap_pre").expect("pre-session cookie");
    let html = r.text().await.unwrap();
    (pre, csrf_in(&html))
}

async fn post_signin(
    s: &Server,
    pre: &str,
    form: &[(&str, &str)],
    https: bool,
) -> reqwest::Response {
    let mut req = web_client()
        .post(format!("{}/signin", s.url))
        .header("cookie", format!("sigap_pre={pre}"))
        .form(form);
    if https {
        req = req.header("x-forwarded-proto", "https");
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_supervisor_signs_in_and_the_cookie_is_http_only_and_strict() {
    let s = start().await;
    let sup = s.token(Role::Supervisor, "spv-laweyan", &["33.72.01"]);
    let (pre, csrf) = signin_form(&s).await;
    let r = post_signin(&s, &pre, &[("token", &sup), ("csrf", &csrf)], false).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("sigap_session="))
        .unwrap();
    assert_eq!(
        session,
        &format!("sigap_session={sup}; Path=/; HttpOnly; SameSite=Strict")
    );
    // Behind a TLS proxy the cookie is Secure.
    let r = post_signin(&s, &pre, &[("token", &sup), ("csrf", &csrf)], true).await;
    let cookies = set_cookies(&r);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("sigap_session=") && c.ends_with("; Secure")),
        "{cookies:?}"
    );
    // The cookie opens the overview, which names who is signed in.
    let (st, _, html) = s.page(&sup, "/").await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("Masuk sebagai spv-laweyan"), "{html}");
    assert!(html.contains("Laweyan"));
}

#[tokio::test]
async fn failed_sign_ins_do_not_say_whether_the_token_exists() {
    let s = start().await;
    let revoked = s.token(Role::Supervisor, "old", &["33.72"]);
    s.store.revoke_token("old").unwrap();
    let (pre, csrf) = signin_form(&s).await;
    let mut pages = Vec::new();
    for token in ["sigap_doesnotexist", revoked.as_str()] {
        let r = post_signin(&s, &pre, &[("token", token), ("csrf", &csrf)], false).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            set_cookies(&r)
                .iter()
                .all(|c| !c.starts_with("sigap_session"))
        );
        let html = r.text().await.unwrap();
        let msg = html[html.find("id=\"signin-error\"").unwrap()..]
            .split("</p>")
            .next()
            .unwrap()
            .to_string();
        pages.push(msg);
    }
    assert_eq!(pages[0], pages[1]);
    assert!(pages[0].contains("Token tidak diterima"), "{}", pages[0]);
}

#[tokio::test]
async fn an_agent_token_is_refused_with_a_page_that_says_why() {
    let s = start().await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let (pre, csrf) = signin_form(&s).await;
    let r = post_signin(&s, &pre, &[("token", &agent), ("csrf", &csrf)], false).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("sigap_session"))
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Dasbor hanya untuk pengawas dan admin"),
        "{html}"
    );
}

#[tokio::test]
async fn every_form_needs_its_csrf_token() {
    let s = start().await;
    let sup = s.token(Role::Supervisor, "spv", &["33.72"]);
    let (pre, csrf) = signin_form(&s).await;
    // Sign-in: no token field, a wrong one, or one for another browser.
    let r = post_signin(&s, &pre, &[("token", &sup)], false).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post_signin(&s, &pre, &[("token", &sup), ("csrf", "00ff")], false).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (other_pre, _) = signin_form(&s).await;
    let r = post_signin(&s, &other_pre, &[("token", &sup), ("csrf", &csrf)], false).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("Formulir ditolak"));

    // Signed in: resolve and sign-out without the session's token.
    let (_, _, html) = s.page(&sup, "/conflicts").await;
    let good = csrf_in(&html);
    for (path, form) in [
        ("/conflicts/1/resolve", vec![("name", "Budi")]),
        (
            "/conflicts/1/resolve",
            vec![("name", "Budi"), ("csrf", csrf.as_str())],
        ),
        ("/signout", vec![]),
    ] {
        let r = web_client()
            .post(format!("{}{path}", s.url))
            .header("cookie", format!("sigap_session={sup}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} {form:?}");
    }
    // With it, sign-out clears the cookie.
    let r = web_client()
        .post(format!("{}/signout", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .form(&[("csrf", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("sigap_session=;") && c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn a_revoked_token_stops_the_session_at_once() {
    let s = start().await;
    let sup = s.token(Role::Supervisor, "spv", &["33.72"]);
    let (st, _, _) = s.page(&sup, "/").await;
    assert_eq!(st, StatusCode::OK);
    s.store.revoke_token("spv").unwrap();
    let (st, to, _) = s.page(&sup, "/area?code=33.72").await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(to, "/signin?notice=notice-session-ended");
    let (_, _, html) = s.page("", &to).await;
    assert!(html.contains("Sesi berakhir"), "{html}");
}

#[tokio::test]
async fn english_is_one_click_away_and_accept_language_is_honoured() {
    let s = start().await;
    let sup = s.token(Role::Supervisor, "spv", &["33.72"]);
    let (_, _, html) = s.page(&sup, "/").await;
    assert!(html.contains("<html lang=\"id\">"));
    assert!(html.contains("href=\"/?lang=en\""), "{html}");
    let r = web_client()
        .get(format!("{}/?lang=en", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .send()
        .await
        .unwrap();
    assert!(set_cookies(&r).iter().any(|c| c.starts_with("lang=en;")));
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Overview"));
    // No cookie: the browser's language; a cookie wins over it.
    for (cookie, expect) in [
        (format!("sigap_session={sup}"), "Coverage against target"),
        (
            format!("sigap_session={sup}; lang=id"),
            "Cakupan terhadap target",
        ),
    ] {
        let html = web_client()
            .get(format!("{}/", s.url))
            .header("cookie", cookie)
            .header("accept-language", "en-US,en;q=0.9")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(expect), "{expect}");
    }
}

/// Loads the Surakarta figures of the design notes: 227,164 working,
/// 100,512 covered, 57.02% target.
fn surakarta(s: &Server) {
    use sigap_server::store::{Baseline, RollRow};
    use sigap_shared::coverage::{Percent, Target};
    use sigap_shared::{AreaCode, Category, Nik};
    let kota = AreaCode::parse("33.72").unwrap();
    let year = sigap_shared::today().year();
    s.store
        .set_baselines(&[Baseline {
            area: kota,
            year,
            working_population: 227_164,
        }])
        .unwrap();
    s.store
        .set_target(
            &kota,
            year,
            Target {
                percent: Percent(5702),
                count: None,
            },
        )
        .unwrap();
    let rows: Vec<RollRow> = (0..100_512u32)
        .map(|i| {
            // A valid NIK of Laweyan for each i: serial, then birth date.
            let (serial, k) = (1 + i % 9999, i / 9999);
            let (day, month) = (1 + k % 28, 1 + k / 28);
            RollRow {
                nik: Nik::parse(&format!("337201{day:02}{month:02}80{serial:04}")).unwrap(),
                kelurahan: AreaCode::parse(KEL).unwrap(),
                rw: 1,
                rt: 1,
                category: Category::Bpu,
            }
        })
        .collect();
    s.store.import_participants(&rows).unwrap();
}

#[tokio::test]
async fn the_overview_shows_the_coverage_apis_figures_in_each_language() {
    let s = start().await;
    surakarta(&s);
    let sup = s.token(Role::Supervisor, "spv", &["33.72"]);
    let year = sigap_shared::today().year();
    let (_, api) = s
        .get(&sup, &format!("/api/v1/coverage?area=33.72&year={year}"))
        .await;
    assert_eq!(api["figures"]["covered"], 100_512, "{api}");
    for (lang, covered, coverage, target) in [
        ("id", "100.512", "44,24%", "57,02%"),
        ("en", "100,512", "44.24%", "57.02%"),
    ] {
        let (st, _, html) = s.page(&sup, &format!("/?lang={lang}")).await;
        assert_eq!(st, StatusCode::OK);
        for (key, want) in [
            ("covered", covered),
            ("coverage", coverage),
            ("target", target),
        ] {
            let needle = format!("data-figure=\"{key}\">{want}<");
            assert!(html.contains(&needle), "{lang}: {needle}");
        }
        let l = Lang::from_tag(lang).unwrap();
        let pop = l.int(api["figures"]["working_population"].as_u64().unwrap());
        assert!(html.contains(&format!("data-figure=\"population\">{pop}<")));
        let needed = l.int(api["figures"]["additional_needed"].as_u64().unwrap());
        assert!(html.contains(&format!("data-figure=\"needed\">{needed}<")));
    }
}

#[tokio::test]
async fn tables_export_as_csv_and_xlsx_with_the_figures_as_shown() {
    let s = start().await;
    surakarta(&s);
    let sup = s.token(Role::Supervisor, "spv", &["33.72"]);
    let r = web_client()
        .get(format!("{}/area?code=33.72&format=csv", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].contains("Kota Surakarta (33.72)"), "{csv}");
    assert!(lines[1].starts_with("Tanggal: "), "{csv}");
    assert!(lines[2].starts_with("Nama,Kode,Terlindungi"), "{csv}");
    // Laweyan holds the whole roll: its row says 100.512 as the page does.
    let laweyan = lines.iter().find(|l| l.starts_with("Laweyan,")).unwrap();
    assert!(
        laweyan.starts_with("Laweyan,33.72.01,100.512,"),
        "{laweyan}"
    );
    let (_, _, html) = s.page(&sup, "/area?code=33.72").await;
    assert!(html.contains("<td data-col=\"covered\" class=\"num\">100.512</td>"));
    let r = web_client()
        .get(format!("{}/area?code=33.72&format=xlsx", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip");
    let r = web_client()
        .get(format!("{}/area?code=33.72&format=pdf", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_conflict_resolved_through_the_form_is_a_change_with_its_author() {
    let s = start().await;
    let a1 = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let a2 = s.token(Role::Agent, "agent-2", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "spv-laweyan", &["33.72.01"]);
    let mut d1 = Device::new();
    let mut d2 = Device::new();
    let c = d1.register(NIK, "Budi Santoso", KEL, 3, 5);
    assert_eq!(outcomes(&s.push(&a1, &d1, &[c]).await.1), ["applied"]);
    let c = d2.register(NIK, "Budi Susanto", KEL, 3, 5);
    assert_eq!(outcomes(&s.push(&a2, &d2, &[c]).await.1), ["merged"]);

    let (st, _, html) = s.page(&sup, "/conflicts").await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("Budi Santoso") && html.contains("Budi Susanto"));
    assert!(html.contains("agent-1") && html.contains("agent-2"));
    let (_, list) = s.get(&sup, "/api/v1/conflicts").await;
    let id = list["conflicts"][0]["id"].as_i64().unwrap();
    assert!(html.contains(&format!("action=\"/conflicts/{id}/resolve\"")));
    let csrf = csrf_in(&html);
    let r = web_client()
        .post(format!("{}/conflicts/{id}/resolve", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Budi Susanto"),
            ("note", "KTP checked"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/conflicts?notice=resolved");
    let (_, person) = s
        .get(&sup, &format!("/api/v1/persons/{NIK}?history=true"))
        .await;
    assert_eq!(person["fields"]["name"], "Budi Susanto");
    let history: &Vec<Value> = person["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["agent"] == "spv-laweyan"),
        "{person}"
    );
    // Resolved once: the form again is refused with a page, not a 500.
    let r = web_client()
        .post(format!("{}/conflicts/{id}/resolve", s.url))
        .header("cookie", format!("sigap_session={sup}"))
        .form(&[("csrf", csrf.as_str()), ("name", "Budi Santoso")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("sudah diselesaikan"));
    // The resolved list and the person page show who did it.
    let (_, _, html) = s.page(&sup, "/conflicts?status=resolved").await;
    assert!(html.contains("Diselesaikan oleh spv-laweyan"), "{html}");
    let (st, _, html) = s.page(&sup, &format!("/person?nik={NIK}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("Budi Susanto") && html.contains("spv-laweyan"));
    let (st, _, _) = s.page(&sup, "/person?nik=12345").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // The conflict list, the review list and the history download too.
    let (st, _, csv) = s.page(&sup, "/conflicts?status=all&format=csv").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        csv.starts_with("Konflik identitas — semua wilayah\n"),
        "{csv}"
    );
    let row = csv.lines().find(|l| l.contains(NIK)).unwrap();
    assert!(
        row.contains("Budi Santoso (agent-1)") && row.contains("Budi Susanto (agent-2)"),
        "{row}"
    );
    let (st, _, csv) = s
        .page(&sup, "/conflicts?status=all&table=review&format=csv")
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(csv.contains("NIK,Kelurahan,Dihitung,Masalah"), "{csv}");
    let (st, _, csv) = s.page(&sup, &format!("/person?nik={NIK}&format=csv")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        csv.lines().filter(|l| l.contains("spv-laweyan")).count(),
        1,
        "{csv}"
    );
}

#[tokio::test]
async fn the_stylesheet_comes_from_the_binary_and_pages_load_nothing_from_elsewhere() {
    let s = start().await;
    let sup = s.token(Role::Supervisor, "spv", &["33.72"]);
    let r = web_client()
        .get(format!("{}/static/app.css", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let css = r.text().await.unwrap();
    assert!(css.contains("@media print") && css.contains("overflow-x: auto"));
    for path in ["/", "/area?code=33.72", "/conflicts", "/person"] {
        let (_, _, html) = s.page(&sup, path).await;
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path}"
        );
        assert!(!html.contains("<script"), "{path}");
    }
}

#[tokio::test]
async fn the_pace_counts_this_weeks_registrations_against_the_pace_needed() {
    let s = start().await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "spv", &["33.72.01"]);
    let area = sigap_shared::AreaCode::parse("33.72.01").unwrap();
    let year = sigap_shared::today().year();
    s.store
        .set_baselines(&[sigap_server::store::Baseline {
            area,
            year,
            working_population: 1_000,
        }])
        .unwrap();
    s.store
        .set_target(
            &area,
            year,
            sigap_shared::coverage::Target {
                percent: sigap_shared::coverage::Percent(5702),
                count: None,
            },
        )
        .unwrap();
    // Eight registrations stamped now: two a week over the last four.
    let mut d = Device::new();
    d.millis = sigap_shared::hlc::wall_millis();
    let changes: Vec<_> = (1..=8)
        .map(|i| d.register(&common::nik("337201", i), "Warga", KEL, 1, 1))
        .collect();
    let (st, r) = s.push(&agent, &d, &changes).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (_, _, html) = s.page(&sup, "/").await;
    assert!(
        html.contains("Laju 4 minggu terakhir: 2 pendaftaran per minggu"),
        "{html}"
    );
    // 571 needed (57.02% of 1,000, rounded up) less the 8 covered.
    let today = sigap_shared::today();
    let end = time::Date::from_calendar_date(year, time::Month::December, 31).unwrap();
    let weeks = ((end - today).whole_days() + 1 + 6) / 7;
    let per_week = 563u64.div_ceil(u64::try_from(weeks.max(1)).unwrap());
    assert!(
        html.contains(&format!("Dibutuhkan {} per minggu", Lang::Id.int(per_week))),
        "{html}"
    );
}

/// The cells of the row `key` of a page's table, by column key.
fn row_cells(html: &str, key: &str) -> Vec<(String, String)> {
    let at = html
        .find(&format!("data-row=\"{key}\""))
        .unwrap_or_else(|| panic!("no row {key}: {html}"));
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    row.split("<td data-col=\"")
        .skip(1)
        .map(|cell| {
            let (col, rest) = cell.split_once('"').unwrap();
            let text = rest[rest.find('>').unwrap() + 1..rest.find("</td>").unwrap()].to_string();
            (col.to_string(), text)
        })
        .collect()
}

fn cell<'a>(cells: &'a [(String, String)], col: &str) -> &'a str {
    &cells.iter().find(|(c, _)| c == col).unwrap().1
}

/// An area with a baseline and a target, three registrations of an agent
/// today, a visit to one RT and today's snapshot.
async fn worked_day(s: &Server) -> (String, String) {
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "spv", &["33.72.01"]);
    let area = sigap_shared::AreaCode::parse("33.72.01").unwrap();
    let year = sigap_shared::today().year();
    s.store
        .set_baselines(&[sigap_server::store::Baseline {
            area,
            year,
            working_population: 1_000,
        }])
        .unwrap();
    s.store
        .set_target(
            &area,
            year,
            sigap_shared::coverage::Target {
                percent: sigap_shared::coverage::Percent(5702),
                count: None,
            },
        )
        .unwrap();
    let mut d = Device::new();
    d.millis = sigap_shared::hlc::wall_millis();
    let changes: Vec<_> = (1..=3)
        .map(|i| d.register(&common::nik("337201", i), "Warga", KEL, 1, 1))
        .collect();
    let (st, r) = s.push(&agent, &d, &changes).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let body = serde_json::json!({
        "protocol": sigap_shared::wire::PROTOCOL_VERSION,
        "device_id": d.id,
        "visits": [{
            "id": uuid::Uuid::now_v7(),
            "kelurahan": KEL,
            "rw": 1, "rt": 2, "households": 12,
            "visited_at": format!("{}T00:00:01Z", sigap_shared::today()),
        }],
    });
    let (st, r) = s.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    s.store.snapshot_coverage(true).unwrap();
    (agent, sup)
}

#[tokio::test]
async fn progress_shows_the_history_apis_weeks_with_the_target() {
    let s = start().await;
    let (_, sup) = worked_day(&s).await;
    let (st, api) = s.get(&sup, "/api/v1/coverage/history?area=33.72.01").await;
    assert_eq!(st, StatusCode::OK, "{api}");
    let week = api["weeks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(week["covered"], 3, "{api}");
    for lang in [Lang::Id, Lang::En] {
        let (st, _, html) = s
            .page(
                &sup,
                &format!("/progress?area=33.72.01&lang={}", lang.tag()),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{html}");
        let cells = row_cells(&html, week["week"].as_str().unwrap());
        let bp = u32::try_from(week["coverage_bp"].as_u64().unwrap()).unwrap();
        let pct = |bp: u32| lang.percent(sigap_shared::coverage::Percent(bp));
        assert_eq!(cell(&cells, "coverage"), pct(bp));
        let target = u32::try_from(week["target_bp"].as_u64().unwrap()).unwrap();
        assert_eq!(cell(&cells, "target"), pct(target));
        assert_eq!(
            cell(&cells, "covered"),
            lang.int(week["covered"].as_u64().unwrap())
        );
        assert_eq!(
            cell(&cells, "registrations"),
            lang.int(week["registrations"].as_u64().unwrap())
        );
        // The chart draws the week and its target line.
        assert!(html.contains("class=\"target-line\""), "{html}");
        assert!(html.contains("href=\"/progress\" aria-current=\"page\""));
    }
    let (st, _, csv) = s.page(&sup, "/progress?area=33.72.01&format=csv").await;
    assert_eq!(st, StatusCode::OK);
    let label = week["week"].as_str().unwrap();
    let line = csv.lines().find(|l| l.starts_with(label)).unwrap();
    assert!(line.contains(",3,1.000,\"0,30%\",\"57,02%\""), "{csv}");
    // History is not kept per RT; a date that does not parse is refused.
    let (st, _, _) = s.page(&sup, "/progress?area=33.72.01.1001/1/2").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = s.page(&sup, "/progress?area=33.72.01&from=1/1/2025").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn agents_shows_the_agents_apis_days_and_devices() {
    let s = start().await;
    let (_, sup) = worked_day(&s).await;
    let (st, api) = s.get(&sup, "/api/v1/agents?area=33.72.01").await;
    assert_eq!(st, StatusCode::OK, "{api}");
    let agent = &api["agents"][0];
    assert_eq!(agent["agent"], "agent-1", "{api}");
    let day = &agent["days"][0];
    assert_eq!(day["registrations"], 3, "{api}");
    let known = api["kelurahan"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kelurahan"] == KEL)
        .unwrap()["known_rts"]
        .as_u64()
        .unwrap();
    let (st, _, html) = s.page(&sup, "/agents?area=33.72.01").await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let cells = row_cells(&html, &format!("agent-1/{}", day["day"].as_str().unwrap()));
    for col in ["registrations", "edits", "voids", "merged", "rejections"] {
        assert_eq!(
            cell(&cells, col),
            Lang::Id.int(day[col].as_u64().unwrap()),
            "{col}"
        );
    }
    let visited = day["rts_visited"].as_array().unwrap().len() as u64;
    assert_eq!(visited, 1, "{api}");
    assert_eq!(cell(&cells, "rts"), "1");
    assert_eq!(cell(&cells, "known_rts"), Lang::Id.int(known));
    let device = &agent["devices"][0];
    let cells = row_cells(&html, device["device_id"].as_str().unwrap());
    assert_eq!(cell(&cells, "agent"), "agent-1");
    let pending = device["pending"]
        .as_u64()
        .map_or("–".to_string(), |n| Lang::Id.int(n));
    assert_eq!(cell(&cells, "pending"), pending);
    assert!(cell(&cells, "last_sync").ends_with(" UTC"), "{cells:?}");
    // Both tables download.
    let (st, _, csv) = s.page(&sup, "/agents?area=33.72.01&format=csv").await;
    assert_eq!(st, StatusCode::OK);
    assert!(csv.lines().any(|l| l.starts_with("agent-1,")), "{csv}");
    let (st, _, csv) = s
        .page(&sup, "/agents?area=33.72.01&table=devices&format=csv")
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(csv.contains(device["device_id"].as_str().unwrap()), "{csv}");
}

#[tokio::test]
async fn progress_and_agents_are_refused_to_agents_other_areas_and_strangers() {
    let s = start().await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "spv", &["33.72.01"]);
    for page in ["/progress", "/agents"] {
        let (st, _, html) = s.page(&sup, page).await;
        assert_eq!(st, StatusCode::OK, "{page}: {html}");
        let (st, _, html) = s.page(&agent, &format!("{page}?area=33.72.01")).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
        assert!(
            html.contains("Dasbor hanya untuk pengawas dan admin"),
            "{page}"
        );
        let (st, _, html) = s.page(&sup, &format!("{page}?area=33.72.05")).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
        assert!(html.contains("id=\"error-message\""), "{page}");
        let (st, to, _) = s.page("", &format!("{page}?area=33.72.01")).await;
        assert_eq!(
            (st, to.as_str()),
            (StatusCode::SEE_OTHER, "/signin"),
            "{page}"
        );
    }
}

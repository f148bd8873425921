//! The dashboard in a real browser: the real server with real agents'
//! work synced into it (two agents registering one NIK under different
//! names, so a conflict waits), driven through headless Chromium by
//! WebDriver. Signs in, opens every page, checks each figure against the
//! coverage API, resolves the conflict through its form, switches
//! language, and leaves screenshots of every page at phone and desktop
//! widths in target/dashboard-screenshots/.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test
//! fails under CI (`CI` set) and is skipped with a notice elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sigap_e2e::people::{person, registrations_csv_of};
use sigap_e2e::{Agent, Server, free_port, roll_csv, this_year};
use sigap_shared::Lang;
use sigap_shared::coverage::Percent;

const KECAMATAN: [&str; 5] = ["33.72.01", "33.72.02", "33.72.03", "33.72.04", "33.72.05"];

/// Phone and desktop widths of the screenshots.
const WIDTHS: [(&str, u32, u32); 2] = [("phone", 390, 1600), ("desktop", 1280, 1400)];

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver on a free port, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(path: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: `target/dashboard-screenshots`, beside the
/// binaries' profile folder.
fn screenshot_dir() -> PathBuf {
    let bin = sigap_e2e::bin("sigap-server");
    let target = bin.parent().and_then(Path::parent).unwrap();
    let dir = target.join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything the browser part checks against, fetched over the API
/// before the browser starts.
struct Expected {
    url: String,
    supervisor: String,
    kota: Value,
    laweyan: Value,
    conflict_nik: String,
    year: u32,
}

#[test]
fn a_supervisor_uses_the_dashboard_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) =
        (find_program("chromium"), find_program("chromedriver"))
    else {
        let msg = "chromium and chromedriver are not installed \
                   (apt-get install -y chromium chromium-driver)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}: CI must run the browser test");
        }
        eprintln!("SKIPPED dashboard browser test: {msg}");
        return;
    };

    let server = Server::start();
    let year = this_year();
    let y = year.to_string();
    let admin = |args: &[&str]| server.admin_ok(args);
    admin(&[
        "baseline",
        "set",
        "--area",
        "33.72",
        "--year",
        &y,
        "--working-population",
        "20000",
    ]);
    admin(&[
        "target",
        "set",
        "--area",
        "33.72",
        "--year",
        &y,
        "--percent",
        "57.02",
    ]);
    for (i, kec) in KECAMATAN.iter().enumerate() {
        let pop = (3000 + 500 * i).to_string();
        admin(&[
            "baseline",
            "set",
            "--area",
            kec,
            "--year",
            &y,
            "--working-population",
            &pop,
        ]);
        admin(&[
            "target",
            "set",
            "--area",
            kec,
            "--year",
            &y,
            "--percent",
            "57.02",
        ]);
    }
    let roll = std::env::temp_dir().join(format!("sigap-dash-roll-{}.csv", std::process::id()));
    std::fs::write(&roll, roll_csv(0..5_400)).unwrap();
    admin(&["participants", "import", roll.to_str().unwrap()]);
    let _ = std::fs::remove_file(&roll);

    // Two agents of the city; both register person 200,000, under two names.
    let a_token = server.token("agent", "agent-ani", &["33.72"]);
    let b_token = server.token("agent", "agent-bayu", &["33.72"]);
    let supervisor = server.token("supervisor", "spv-sari", &["33.72"]);
    let (a, b) = (Agent::new(), Agent::new());
    a.init(&server.url(), "laptop-ani", &a_token);
    b.init(&server.url(), "laptop-bayu", &b_token);
    let shared = 200_000u64;
    let mut ani: Vec<u64> = (100_000..100_300).collect();
    ani.push(shared);
    assert!(a.import(&registrations_csv_of(ani)).status.success());
    let p = person(shared);
    let other_name = registrations_csv_of([shared]).replace(&p.name, "Warga Lain Sekali");
    assert!(b.import(&other_name).status.success());
    assert!(
        b.import(&registrations_csv_of(100_300..100_400))
            .status
            .success()
    );
    for agent in [&a, &b] {
        let (code, summary) = agent.sync();
        assert_eq!(code, Some(0), "{summary}");
    }

    let expected = Expected {
        url: server.url(),
        kota: server.coverage(&supervisor, "33.72", year, 1),
        laweyan: server.coverage(&supervisor, "33.72.01", year, 1),
        supervisor: supervisor.clone(),
        conflict_nik: p.nik.clone(),
        year,
    };
    let (_, conflicts) = server.get(&supervisor, "/api/v1/conflicts");
    assert_eq!(
        conflicts["conflicts"].as_array().unwrap().len(),
        1,
        "{conflicts}"
    );

    let driver = Driver::start(&chromedriver);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(browse(&driver, &chromium, &expected));

    // The resolution is a change with its author.
    let (_, all) = server.get(&supervisor, "/api/v1/conflicts?status=all");
    let c = &all["conflicts"][0];
    assert_eq!(c["status"], "resolved", "{all}");
    assert_eq!(c["resolved_by"], "spv-sari");
    let (_, person) = server.get(&supervisor, &format!("/api/v1/persons/{}", p.nik));
    assert_eq!(person["fields"]["name"], "Warga Lain Sekali");
}

async fn browse(driver: &Driver, chromium: &Path, e: &Expected) {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1400",
                     "--lang=id-ID"],
            // An Indonesian supervisor's browser: Accept-Language id.
            "prefs": {"intl.accept_languages": "id-ID,id"},
        }),
    );
    // chromedriver listens on loopback over plain HTTP: no TLS stack (and
    // no C crypto library to build) is needed to talk to it.
    let http = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(http)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session");
    let result = steps(&c, e).await;
    let _ = c.close().await;
    result.unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("{css}: {err}"))
        .text()
        .await
        .unwrap()
}

async fn shoot(c: &Client, name: &str) {
    let dir = screenshot_dir();
    for (label, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        let png = c.screenshot().await.unwrap();
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).unwrap();
    }
    c.set_window_size(1280, 1400).await.unwrap();
}

/// The figures of `node` as the page must print them in `lang`; a figure
/// the area lacks (no baseline, no target) is shown as a dash.
fn printed(lang: Lang, node: &Value) -> Vec<(&'static str, String)> {
    let f = &node["figures"];
    let dash = || "–".to_string();
    let n = |k: &str| f[k].as_u64();
    let with_baseline = |s: String| {
        if node["baseline_set"].as_bool().unwrap() {
            s
        } else {
            dash()
        }
    };
    let target: Option<Percent> = serde_json::from_value(f["target_percent"].clone()).ok();
    vec![
        ("covered", lang.int(n("covered").unwrap())),
        (
            "population",
            with_baseline(lang.int(n("working_population").unwrap())),
        ),
        (
            "coverage",
            with_baseline(lang.percent(Percent(n("coverage_bp").unwrap() as u32))),
        ),
        ("target", target.map_or_else(dash, |t| lang.percent(t))),
        (
            "gap",
            f["gap_bp"].as_i64().map_or_else(dash, |g| lang.points(g)),
        ),
        (
            "needed",
            n("additional_needed").map_or_else(dash, |v| lang.int(v)),
        ),
    ]
}

async fn check_headline(c: &Client, lang: Lang, node: &Value) {
    for (key, want) in printed(lang, node) {
        let shown = text(c, &format!("[data-figure='{key}']")).await;
        assert_eq!(shown, want, "{key} in {lang:?}");
    }
}

async fn check_rows(c: &Client, lang: Lang, node: &Value) {
    for child in node["children"].as_array().unwrap() {
        let code = child["area"].as_str().unwrap();
        for (key, want) in printed(lang, child) {
            let css = format!("tr[data-row='{code}'] td[data-col='{key}']");
            assert_eq!(text(c, &css).await, want, "{css}");
        }
    }
}

async fn steps(c: &Client, e: &Expected) -> Result<(), fantoccini::error::CmdError> {
    let url = |p: &str| format!("{}{p}", e.url);

    // Not signed in: the sign-in page.
    c.goto(&url("/")).await?;
    assert!(c.current_url().await?.path().ends_with("/signin"));
    shoot(c, "signin").await;
    c.find(Locator::Id("token"))
        .await?
        .send_keys(&e.supervisor)
        .await?;
    c.find(Locator::Id("signin-submit")).await?.click().await?;
    c.wait()
        .for_element(Locator::Css("[data-figure='covered']"))
        .await?;
    assert_eq!(c.current_url().await?.path(), "/");

    // Overview: every figure equals the coverage API's, Indonesian style.
    check_headline(c, Lang::Id, &e.kota).await;
    check_rows(c, Lang::Id, &e.kota).await;
    assert!(text(c, "#pace").await.contains("per minggu"));
    // Kecamatan furthest from the target first.
    let mut kids: Vec<(i64, String)> = e.kota["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let gap = n["figures"]["gap_bp"].as_i64().unwrap();
            (-gap, n["area"].as_str().unwrap().to_string())
        })
        .collect();
    kids.sort();
    let mut shown = Vec::new();
    for row in c.find_all(Locator::Css("#areas tbody tr")).await? {
        shown.push(row.attr("data-row").await?.unwrap());
    }
    let want: Vec<String> = kids.into_iter().map(|(_, a)| a).collect();
    assert_eq!(shown, want, "furthest from target first");
    shoot(c, "overview").await;

    // Area: Laweyan from the overview's table, its kelurahan figures.
    c.find(Locator::Css(
        "tr[data-row='33.72.01'] td[data-col='name'] a",
    ))
    .await?
    .click()
    .await?;
    c.wait().for_element(Locator::Css("nav.trail")).await?;
    check_headline(c, Lang::Id, &e.laweyan).await;
    check_rows(c, Lang::Id, &e.laweyan).await;
    shoot(c, "area").await;
    c.find(Locator::Css("th[data-col='name'] a"))
        .await?
        .click()
        .await?;
    c.wait()
        .for_element(Locator::Css("th[data-col='name'][aria-sort='ascending']"))
        .await?;
    let names: Vec<String> = {
        let mut out = Vec::new();
        for el in c
            .find_all(Locator::Css("#areas td[data-col='name']"))
            .await?
        {
            out.push(el.text().await?);
        }
        out
    };
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // Down to a kelurahan's RW, and back up the trail to the kota.
    c.find(Locator::Css("#areas td[data-col='name'] a"))
        .await?
        .click()
        .await?;
    c.wait().for_element(Locator::Css("nav.trail a")).await?;
    c.find(Locator::LinkText("Kota Surakarta (33.72)"))
        .await?
        .click()
        .await?;
    c.wait()
        .for_element(Locator::Css("tr[data-row='33.72.05']"))
        .await?;
    shoot(c, "area-kota").await;

    // Conflicts: both names side by side; keep agent-bayu's.
    c.goto(&url("/conflicts")).await?;
    let card = text(c, "article.conflict").await;
    assert!(
        card.contains("agent-ani") && card.contains("agent-bayu"),
        "{card}"
    );
    assert!(card.contains("Warga Lain Sekali"), "{card}");
    shoot(c, "conflicts").await;
    c.find(Locator::Css(
        "input[type='radio'][value='Warga Lain Sekali']",
    ))
    .await?
    .click()
    .await?;
    c.find(Locator::Css("article.conflict input[name='note']"))
        .await?
        .send_keys("KTP dicek")
        .await?;
    c.find(Locator::Css("article.conflict button.resolve"))
        .await?
        .click()
        .await?;
    c.wait().for_element(Locator::Id("notice")).await?;
    assert!(text(c, "#notice").await.contains("Konflik diselesaikan"));
    c.goto(&url("/conflicts?status=resolved")).await?;
    assert!(text(c, "article.conflict").await.contains("spv-sari"));

    // Person: the merged record and its history.
    c.goto(&url("/person")).await?;
    c.find(Locator::Id("nik"))
        .await?
        .send_keys(&e.conflict_nik)
        .await?;
    c.find(Locator::Id("person-find")).await?.click().await?;
    c.wait().for_element(Locator::Id("record")).await?;
    assert!(text(c, "#record").await.contains("Warga Lain Sekali"));
    let history = text(c, "#history").await;
    assert!(
        history.contains("agent-ani") && history.contains("spv-sari"),
        "{history}"
    );
    shoot(c, "person").await;

    // Progress over time, and what each agent did, with their devices.
    c.goto(&url("/progress?area=33.72")).await?;
    c.wait().for_element(Locator::Id("progress-chart")).await?;
    shoot(c, "progress").await;
    c.goto(&url("/agents?area=33.72")).await?;
    c.wait().for_element(Locator::Id("agent-days-card")).await?;
    let days = text(c, "#agent-days-card").await;
    assert!(
        days.contains("agent-ani") && days.contains("agent-bayu"),
        "{days}"
    );
    assert!(text(c, "#devices-card").await.contains("agent-ani"));
    shoot(c, "agents").await;

    // English one click away, and the figures in English style.
    c.goto(&url("/")).await?;
    c.find(Locator::Id("lang-switch")).await?.click().await?;
    c.wait()
        .for_element(Locator::Css("html[lang='en']"))
        .await?;
    check_headline(c, Lang::En, &e.kota).await;
    check_rows(c, Lang::En, &e.kota).await;
    assert!(text(c, "nav.nav").await.contains("Overview"));
    shoot(c, "overview-en").await;
    // The choice stays for the next page.
    c.goto(&url(&format!("/area?code=33.72.01&year={}", e.year)))
        .await?;
    check_headline(c, Lang::En, &e.laweyan).await;

    // Outside the token's areas there is nothing to see.
    c.goto(&url("/area?code=33.71")).await?;
    assert!(text(c, "#error-message").await.contains("outside"));

    // Sign out: the next page asks to sign in again.
    c.goto(&url("/")).await?;
    c.find(Locator::Id("signout")).await?.click().await?;
    c.wait().for_element(Locator::Id("signin-form")).await?;
    c.goto(&url("/conflicts")).await?;
    assert!(c.current_url().await?.path().ends_with("/signin"));
    Ok(())
}

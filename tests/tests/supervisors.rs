//! Issue 13 through the real binaries: RT visits synced by `sigap sync`,
//! and the supervisor's `sigap report`, `sigap conflicts` and `sigap
//! resolve`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigap_e2e::{Agent, FaultProxy, Server};

fn server_visits(server: &Server) -> i64 {
    let conn = rusqlite::Connection::open(server.db()).unwrap();
    conn.query_row("SELECT COUNT(*) FROM visits", [], |r| r.get(0))
        .unwrap()
}

fn unsynced_visits(agent: &Agent) -> i64 {
    let conn = sigap_e2e::procs::open_agent_db(&agent.db());
    conn.query_row("SELECT COUNT(*) FROM visits WHERE synced = 0", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn visit(agent: &Agent, kel: &str, rw: &str, rt: &str) {
    agent.ok(&[
        "visit",
        "--kelurahan",
        kel,
        "--rw",
        rw,
        "--rt",
        rt,
        "--households",
        "4",
    ]);
}

#[test]
fn visits_sync_once_even_when_the_answer_is_lost() {
    let server = Server::start();
    let token = server.token("agent", "ani", &["33.72.01"]);
    let proxy = FaultProxy::start(server.port);
    let agent = Agent::new();
    agent.init(&proxy.url(), "hp-ani", &token);
    visit(&agent, "33.72.01.1001", "1", "2");
    visit(&agent, "33.72.01.1001", "1", "3");
    // The server stores the visits but its answer never arrives: the
    // client sends them again and they are answered as held.
    proxy.drop_next_push_answers(1);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(proxy.dropped(), 1);
    assert_eq!(summary["visits"]["synced"], 2, "{summary}");
    assert_eq!(server_visits(&server), 2);
    assert_eq!(unsynced_visits(&agent), 0);
    // A later sync sends nothing again.
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["visits"]["synced"], 0, "{summary}");
    assert_eq!(server_visits(&server), 2);

    // A visit recorded by a sync that died before the answer is still
    // unsynced on the device: the next sync sends it, the server keeps one.
    let conn = sigap_e2e::procs::open_agent_db(&agent.db());
    conn.execute("UPDATE visits SET synced = 0", []).unwrap();
    drop(conn);
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["visits"]["synced"], 2, "{summary}");
    assert_eq!(server_visits(&server), 2);
}

#[test]
fn a_visit_outside_the_agents_areas_is_refused_and_not_stored() {
    let server = Server::start();
    let token = server.token("agent", "ani", &["33.72.01"]);
    let agent = Agent::new();
    agent.init(&server.url(), "hp-ani", &token);
    // Joyotakan lies in Serengan (33.72.02), not the agent's kecamatan.
    visit(&agent, "33.72.02.1001", "1", "1");
    let (code, summary) = agent.sync();
    assert_eq!(code, Some(0), "{summary}");
    let refused = summary["visits"]["refused"].to_string();
    assert!(refused.contains("area_not_allowed"), "{summary}");
    assert_eq!(server_visits(&server), 0);
    // Kept on the device with the reason, not sent again.
    let conn = sigap_e2e::procs::open_agent_db(&agent.db());
    let reason: String = conn
        .query_row("SELECT refused FROM visits", [], |r| r.get(0))
        .unwrap();
    assert!(reason.contains("outside"), "{reason}");
    let (_, summary) = agent.sync();
    assert_eq!(summary["visits"]["refused"].as_array().unwrap().len(), 0);
}

fn register(agent: &Agent, nik: &str, name: &str, birth: &str, rt: &str) {
    agent.ok(&[
        "register",
        "--no-input",
        "--force",
        "--nik",
        nik,
        "--name",
        name,
        "--birth-date",
        birth,
        "--sex",
        "L",
        "--kelurahan",
        "33.72.01.1001",
        "--rw",
        "3",
        "--rt",
        rt,
        "--category",
        "bpu",
        "--occupation",
        "pedagang",
    ]);
}

fn out_text(o: &std::process::Output) -> (Option<i32>, String, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_supervisor_reports_and_resolves_from_the_field_tool() {
    let server = Server::start();
    server.admin_ok(&[
        "baseline",
        "set",
        "--area",
        "33.72.01.1001",
        "--year",
        &sigap_e2e::this_year().to_string(),
        "--working-population",
        "200",
    ]);
    let ani_token = server.token("agent", "ani", &["33.72.01"]);
    let budi_token = server.token("agent", "budi", &["33.72.01"]);
    let sup_token = server.token("supervisor", "sri", &["33.72.01"]);
    let ani = Agent::new();
    ani.init(&server.url(), "hp-ani", &ani_token);
    let budi = Agent::new();
    budi.init(&server.url(), "hp-budi", &budi_token);
    register(&ani, "3372011203850001", "Budi Santoso", "1985-03-12", "5");
    register(&ani, "3372011304860002", "Agus Salim", "1986-04-13", "6");
    // The same NIK under another spelling: one person, one conflict.
    register(&budi, "3372011203850001", "Budi Santosa", "1985-03-12", "5");
    assert_eq!(ani.sync().0, Some(0));
    assert_eq!(budi.sync().0, Some(0));

    let sup = Agent::new();
    let init = sup.ok(&[
        "init",
        "--server",
        &server.url(),
        "--device-name",
        "laptop-sri",
        "--token",
        &sup_token,
    ]);
    assert!(init.contains("supervisor token"), "{init}");

    // Report totals are the coverage API's.
    let api = server.coverage(&sup_token, "33.72.01", sigap_e2e::this_year(), 1);
    let report: serde_json::Value = serde_json::from_str(&sup.ok(&["report", "--json"])).unwrap();
    assert_eq!(report["figures"], api["figures"]);
    assert_eq!(report["figures"]["covered"], 2);
    let table = sup.ok(&["report"]);
    assert!(table.contains("Laweyan (33.72.01)"), "{table}");
    let pajang_row = table.lines().find(|l| l.contains("33.72.01.1001")).unwrap();
    assert!(pajang_row.contains("Pajang"), "{table}");
    assert!(pajang_row.contains("1.00%"), "{table}");

    // The same cells in CSV and Excel.
    let csv_path = sup.dir().join("report.csv");
    let xlsx_path = sup.dir().join("report.xlsx");
    sup.ok(&[
        "report",
        "--csv",
        csv_path.to_str().unwrap(),
        "--xlsx",
        xlsx_path.to_str().unwrap(),
    ]);
    let mut csv_rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&csv_path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert!(
        csv_rows[0][1].contains("Laweyan (33.72.01)"),
        "{csv_rows:?}"
    );
    assert_eq!(csv_rows[1][0], "Code");
    let pajang = csv_rows
        .iter()
        .find(|r| r[0].trim() == "33.72.01.1001")
        .unwrap();
    assert_eq!(pajang[1..5], ["Pajang", "2", "200", "1.00%"]);
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(&xlsx_path).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let mut xlsx_rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .filter(|r: &Vec<String>| r.iter().any(|c| !c.is_empty()))
        .collect();
    // The workbook holds the same text, cell for cell.
    for r in csv_rows.iter_mut().chain(xlsx_rows.iter_mut()) {
        while r.last().is_some_and(|c| c.is_empty()) {
            r.pop();
        }
    }
    assert_eq!(xlsx_rows, csv_rows);

    // Agents and history answer too.
    let agents = sup.ok(&["report", "--by", "agent"]);
    assert!(
        agents.contains("ani") && agents.contains("budi"),
        "{agents}"
    );
    let history = sup.ok(&["report", "--history", "--by", "day"]);
    assert!(
        history.contains(&sigap_shared::today().to_string()),
        "{history}"
    );

    // Conflicts: listed, resolved with `sigap resolve`.
    let list: serde_json::Value = serde_json::from_str(&sup.ok(&["conflicts", "--json"])).unwrap();
    let conflicts = list["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{list}");
    let id = conflicts[0]["id"].to_string();
    let shown = sup.ok(&["conflicts"]);
    assert!(
        shown.contains("Budi Santoso") && shown.contains("Budi Santosa"),
        "{shown}"
    );
    let done = sup.ok(&[
        "resolve",
        &id,
        "--keep",
        "name=Budi Santoso",
        "--note",
        "per KTP",
    ]);
    assert!(done.contains("resolved by sri"), "{done}");
    let open: serde_json::Value = serde_json::from_str(&sup.ok(&["conflicts", "--json"])).unwrap();
    assert_eq!(open["conflicts"].as_array().unwrap().len(), 0);
    let resolved: serde_json::Value =
        serde_json::from_str(&sup.ok(&["conflicts", "--status", "resolved", "--json"])).unwrap();
    assert_eq!(resolved["conflicts"][0]["note"], "per KTP");
    let (_, person) = server.get(&sup_token, "/api/v1/persons/3372011203850001");
    assert_eq!(person["fields"]["name"], "Budi Santoso", "{person}");
    // A bad --keep changes nothing and says how.
    let (code, _, err) = out_text(&sup.run(&["resolve", &id, "--keep", "phone=1"]));
    assert_eq!(code, Some(2));
    assert!(err.contains("name, birth_date, sex"), "{err}");

    // A supervisor's laptop does not register or sync.
    for args in [
        vec!["sync"],
        vec!["register", "--no-input", "--nik", "3372011203850009"],
    ] {
        let (code, _, err) = out_text(&sup.run(&args));
        assert_eq!(code, Some(5), "{args:?}: {err}");
        assert!(err.contains("supervisor token"), "{err}");
    }
    // An agent's token reads no reports.
    let (code, _, err) = out_text(&ani.run(&["report", "--area", "33.72.01"]));
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("403") && err.contains("supervisor token"),
        "{err}"
    );
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Supervisors' history, agents' activity and synced visits, on days a
//! test clock moves through (no sleeping).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::{Device, Server, nik, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::{Baseline, Role, SqliteStore};
use sigap_shared::AreaCode;

/// 2026-12-01 10:00 UTC, and a day.
const DAY1: i64 = 1_796_119_200_000;
const DAY: i64 = 86_400_000;

struct Clocked {
    s: Server,
    clock: Arc<AtomicI64>,
}

async fn start_at(millis: i64) -> Clocked {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(millis));
    let c = clock.clone();
    let store = SqliteStore::open(&dir.path().join("h.db"))
        .unwrap()
        .with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    let s = serve(Arc::new(store)).await;
    std::mem::forget(dir);
    Clocked { s, clock }
}

fn baseline(s: &Server, area: &str, year: i32, n: u64) {
    s.store
        .set_baselines(&[Baseline {
            area: AreaCode::parse(area).unwrap(),
            year,
            working_population: n,
        }])
        .unwrap();
}

fn days(v: &Value) -> Vec<(String, u64, u64, u64)> {
    v["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["covered"].as_u64().unwrap(),
                d["coverage_bp"].as_u64().unwrap(),
                d["registrations"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn history_grows_as_pushes_arrive_on_different_days() {
    let Clocked { s, clock } = start_at(DAY1).await;
    baseline(&s, "33.72.01.1001", 2026, 100);
    let agent = s.token(Role::Agent, "ani", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sri", &["33.72.01"]);
    let mut d = Device::new();
    let a = d.register(&nik("337201", 1), "Ani", "33.72.01.1001", 1, 1);
    let b = d.register(&nik("337201", 2), "Budi", "33.72.01.1001", 1, 2);
    let (st, _) = s.push(&agent, &d, &[a, b]).await;
    assert_eq!(st, StatusCode::OK);
    clock.store(DAY1 + DAY, Ordering::SeqCst);
    let c = d.register(&nik("337201", 3), "Citra", "33.72.01.1001", 2, 1);
    s.push(&agent, &d, &[c]).await;
    clock.store(DAY1 + 2 * DAY, Ordering::SeqCst);
    let path = "/api/v1/coverage/history?area=33.72.01.1001&from=2026-11-30&to=2026-12-03";
    let (st, h) = s.get(&sup, path).await;
    assert_eq!(st, StatusCode::OK, "{h}");
    assert_eq!(
        days(&h),
        vec![
            ("2026-12-01".into(), 2, 200, 2),
            ("2026-12-02".into(), 3, 300, 1),
            ("2026-12-03".into(), 3, 300, 0),
        ],
        "{h}"
    );
    assert_eq!(h["days"][0]["by_category"]["bpu"], 2);
    // The kecamatan rolls its kelurahan up; it has no baseline.
    let (_, k) = s
        .get(
            &sup,
            "/api/v1/coverage/history?area=33.72.01&from=2026-12-01&to=2026-12-03",
        )
        .await;
    assert_eq!(k["days"][2]["covered"], 3);
    assert_eq!(k["days"][2]["baseline_set"], false);
    // Weeks: 2026-12-01 is a Tuesday of ISO week 49.
    assert_eq!(h["weeks"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h["weeks"][0]["week"], "2026-W49");
    assert_eq!(h["weeks"][0]["start"], "2026-11-30");
    assert_eq!(h["weeks"][0]["registrations"], 3);
    assert_eq!(h["weeks"][0]["covered"], 3);

    // A later write the same day is seen by the next read (re-take).
    let e = d.register(&nik("337201", 4), "Dewi", "33.72.01.1001", 2, 2);
    s.push(&agent, &d, &[e]).await;
    let (_, h) = s.get(&sup, path).await;
    assert_eq!(days(&h)[2], ("2026-12-03".into(), 4, 400, 1));
    // Still one row per area and day.
    let rows: i64 = s
        .sqlite()
        .with_writer(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM coverage_history WHERE area = '33.72.01.1001' AND day = '2026-12-03'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_fresh_history_is_backfilled_from_when_coverage_started() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    {
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let s = serve(store.clone()).await;
        baseline(&s, "33.72.01.1001", 2025, 10);
        let agent = s.token(Role::Agent, "ani", &["33.72.01"]);
        let mut d = Device::new();
        // Registered in the field on 10 and 12 March 2025 (device clocks).
        d.millis = 1_741_600_000_000; // 2025-03-10 09:46 UTC
        let a = d.register(&nik("337201", 1), "Ani", "33.72.01.1001", 1, 1);
        d.millis += 2 * DAY as u64;
        let b = d.register(&nik("337201", 2), "Budi", "33.72.01.1001", 1, 2);
        let (st, _) = s.push(&agent, &d, &[a, b]).await;
        assert_eq!(st, StatusCode::OK);
        // As a deployment from before the history table had it.
        store
            .with_writer(|c| {
                c.execute_batch(
                    "DELETE FROM coverage_history;
                     DELETE FROM meta WHERE key = 'history_backfilled';",
                )
            })
            .unwrap();
    }
    let s = serve(Arc::new(SqliteStore::open(&db).unwrap())).await;
    let sup = s.token(Role::Supervisor, "sri", &["33.72"]);
    let (st, h) = s
        .get(
            &sup,
            "/api/v1/coverage/history?area=33.72.01.1001&from=2025-03-09&to=2025-03-13",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{h}");
    assert_eq!(
        days(&h),
        vec![
            ("2025-03-10".into(), 1, 1000, 0),
            ("2025-03-11".into(), 1, 1000, 0),
            ("2025-03-12".into(), 2, 2000, 0),
            ("2025-03-13".into(), 2, 2000, 0),
        ],
        "{h}"
    );
    assert_eq!(h["days"][0]["snapshot"], true);
    // Weeks run Monday to Sunday: 10 March 2025 is a Monday.
    let (_, h) = s
        .get(
            &sup,
            "/api/v1/coverage/history?area=33.72.01.1001&from=2025-03-09&to=2025-03-17",
        )
        .await;
    let weeks: Vec<(&str, &str, u64)> = h["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["week"].as_str().unwrap(),
                w["start"].as_str().unwrap(),
                w["covered"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [("2025-W11", "2025-03-10", 2), ("2025-W12", "2025-03-17", 2)],
        "{h}"
    );
}

fn visit(id: uuid::Uuid, kel: &str, rw: u16, rt: u16, at: &str) -> Value {
    json!({"id": id, "kelurahan": kel, "rw": rw, "rt": rt, "households": 3, "visited_at": at})
}

fn visits_body(d: &Device, visits: Vec<Value>) -> Value {
    json!({"protocol": sigap_shared::PROTOCOL_VERSION, "device_id": d.id, "visits": visits})
}

fn stored_visits(s: &Server) -> i64 {
    s.sqlite()
        .with_writer(|c| c.query_row("SELECT COUNT(*) FROM visits", [], |r| r.get(0)))
        .unwrap()
}

#[tokio::test]
async fn visits_are_stored_once_and_only_inside_the_agents_areas() {
    let s = common::start().await;
    let agent = s.token(Role::Agent, "ani", &["33.72.01"]);
    let other = s.token(Role::Agent, "budi", &["33.72.02"]);
    let d = Device::new();
    let id = uuid::Uuid::now_v7();
    let body = visits_body(
        &d,
        vec![visit(id, "33.72.01.1001", 1, 2, "2026-11-28T03:00:00Z")],
    );
    let (st, r) = s.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["outcome"], "stored");
    let (_, r) = s.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    assert_eq!(stored_visits(&s), 1);

    // Outside the token's areas: refused, nothing kept.
    let out = uuid::Uuid::now_v7();
    let body = visits_body(
        &d,
        vec![visit(out, "33.72.02.1001", 1, 1, "2026-11-28T03:00:00Z")],
    );
    let (st, r) = s.post(&agent, "/api/v1/visits", &body).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["results"][0]["outcome"], "rejected");
    assert_eq!(r["results"][0]["code"], "area_not_allowed");
    assert_eq!(stored_visits(&s), 1);

    // No household, or more than any RT has: refused, nothing kept.
    for households in [0, 10_001, u32::MAX] {
        let mut v = visit(
            uuid::Uuid::now_v7(),
            "33.72.01.1001",
            1,
            2,
            "2026-11-28T03:00:00Z",
        );
        v["households"] = json!(households);
        let (st, r) = s
            .post(&agent, "/api/v1/visits", &visits_body(&d, vec![v]))
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(r["results"][0]["code"], "invalid_households", "{r}");
    }
    assert_eq!(stored_visits(&s), 1);

    // Another agent's device: refused like a push.
    let (st, r) = s
        .post(&other, "/api/v1/visits", &visits_body(&d, vec![]))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(r["error"]["code"], "device_not_yours");

    // Bad visits are answered one by one.
    let body = visits_body(
        &d,
        vec![
            visit(
                uuid::Uuid::now_v7(),
                "33.72.01",
                1,
                1,
                "2026-11-28T03:00:00Z",
            ),
            visit(
                uuid::Uuid::now_v7(),
                "33.72.01.1001",
                0,
                1,
                "2026-11-28T03:00:00Z",
            ),
            visit(
                uuid::Uuid::now_v7(),
                "33.72.01.1001",
                1,
                1,
                "2099-01-01T00:00:00Z",
            ),
        ],
    );
    let (_, r) = s.post(&agent, "/api/v1/visits", &body).await;
    let codes: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["invalid_area", "invalid_area", "clock_ahead"]);
    assert_eq!(stored_visits(&s), 1);
    let (st, r) = s
        .post(&agent, "/api/v1/visits", &json!({"device_id": d.id}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
}

#[tokio::test]
async fn agents_activity_per_day_scoped_to_the_supervisors_areas() {
    let Clocked { s, clock } = start_at(DAY1).await;
    let ani = s.token(Role::Agent, "ani", &["33.72.01"]);
    let budi = s.token(Role::Agent, "budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sri", &["33.72.01"]);
    let elsewhere = s.token(Role::Supervisor, "eko", &["33.72.02"]);
    let shared_nik = nik("337201", 7);
    let mut da = Device::new();
    let a1 = da.register(&nik("337201", 1), "Ani", "33.72.01.1001", 1, 1);
    let a2 = da.register(&shared_nik, "Sama", "33.72.01.1001", 1, 2);
    let mut req = serde_json::to_value(sigap_shared::wire::PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: da.id,
        changes: vec![a1, a2],
        pending: Some(4),
    })
    .unwrap();
    let (st, _) = s.post(&ani, "/api/v1/sync/push", &req).await;
    assert_eq!(st, StatusCode::OK);
    let edit = da.change(
        &nik("337201", 1),
        sigap_shared::ChangeKind::Edit,
        sigap_shared::Fields {
            occupation: Some("ojek".into()),
            ..Default::default()
        },
    );
    let void = da.change(
        &nik("337201", 1),
        sigap_shared::ChangeKind::Void,
        sigap_shared::Fields {
            status: Some(sigap_shared::Status::Void),
            void_reason: Some("double form".into()),
            ..Default::default()
        },
    );
    let (_, r) = s.push(&ani, &da, &[edit, void]).await;
    assert_eq!(common::outcomes(&r), ["applied", "applied"], "{r}");
    let v = visits_body(
        &da,
        vec![
            visit(
                uuid::Uuid::now_v7(),
                "33.72.01.1001",
                1,
                1,
                "2026-12-01T11:00:00Z",
            ),
            visit(
                uuid::Uuid::now_v7(),
                "33.72.01.1001",
                1,
                2,
                "2026-12-01T12:00:00Z",
            ),
            visit(
                uuid::Uuid::now_v7(),
                "33.72.01.1001",
                1,
                2,
                "2026-12-01T13:00:00Z",
            ),
        ],
    );
    s.post(&ani, "/api/v1/visits", &v).await;

    clock.store(DAY1 + DAY, Ordering::SeqCst);
    let mut db = Device::new();
    let b1 = db.register(&shared_nik, "Sama", "33.72.01.1001", 1, 2);
    let b2 = db.register(&nik("337201", 9), "Di luar", "33.72.02.1001", 1, 1);
    let (st, r) = s.push(&budi, &db, &[b1, b2]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(common::outcomes(&r), ["merged", "rejected"]);
    // Ani's device reports its queue emptied.
    req["changes"] = json!([]);
    req["pending"] = json!(0);
    s.post(&ani, "/api/v1/sync/push", &req).await;

    let (st, a) = s
        .get(
            &sup,
            "/api/v1/agents?area=33.72.01&from=2026-12-01&to=2026-12-02",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let agents = a["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{a}");
    let ani_v = &agents[0];
    assert_eq!(ani_v["agent"], "ani");
    assert_eq!(ani_v["days"][0]["day"], "2026-12-01");
    assert_eq!(ani_v["days"][0]["registrations"], 2);
    assert_eq!(ani_v["days"][0]["edits"], 1);
    assert_eq!(ani_v["days"][0]["voids"], 1);
    assert_eq!(ani_v["days"][0]["rts_visited"].as_array().unwrap().len(), 2);
    assert_eq!(ani_v["devices"][0]["device_id"], json!(da.id));
    assert_eq!(ani_v["devices"][0]["pending"], 0);
    assert_eq!(ani_v["devices"][0]["last_sync_at"], "2026-12-02T10:00:00Z");
    let budi_v = &agents[1];
    assert_eq!(budi_v["agent"], "budi");
    assert_eq!(budi_v["days"][0]["day"], "2026-12-02");
    assert_eq!(budi_v["days"][0]["registrations"], 1);
    assert_eq!(budi_v["days"][0]["merged"], 1);
    // The refused registration was for another kecamatan: it counts
    // where it said it was, which this supervisor does not see.
    assert_eq!(budi_v["days"][0]["rejections"], 0);
    assert_eq!(a["kelurahan"][0]["known_rts"], 2);
    assert!(!a.to_string().contains(&ani), "a token leaked");

    // A supervisor of another kecamatan sees neither agent.
    let (st, _) = s.get(&elsewhere, "/api/v1/agents?area=33.72.01").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = s
        .get(
            &elsewhere,
            "/api/v1/agents?area=33.72.02&from=2026-12-01&to=2026-12-02",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        e["agents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["agent"] != "ani"),
        "{e}"
    );
    assert_eq!(e["agents"][0]["agent"], "budi", "{e}");
    assert_eq!(e["agents"][0]["days"][0]["rejections"], 1, "{e}");
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Authentication, roles, areas and bad input: always a JSON error with
//! the right status, never a 500.

mod common;

use common::{Backend, Device, start_on};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::Role;

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

async fn healthz_needs_no_token_and_every_answer_carries_the_protocol(backend: Backend) {
    let s = start_on(backend).await;
    let r = s
        .client
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-sigap-protocol"], "3");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "protocol": 3}));
    let r = s
        .client
        .get(format!("{}/nope", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["x-sigap-protocol"], "3");
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "not_found");
}

async fn every_endpoint_refuses_a_missing_or_revoked_token(backend: Backend) {
    let s = start_on(backend).await;
    let t = s.token(Role::Admin, "admin", &[]);
    s.store.revoke_token("admin").unwrap();
    let dev = uuid::Uuid::now_v7();
    for path in [
        "/api/v1/sync/pull".to_string(),
        format!("/api/v1/sync/device/{dev}"),
        format!("/api/v1/sync/device/{dev}/changes"),
        "/api/v1/coverage?area=33.72".into(),
        "/api/v1/conflicts".into(),
        "/api/v1/persons/3372011203850001".into(),
        "/api/v1/review".into(),
        "/api/v1/coverage/history?area=33.72".into(),
        "/api/v1/agents?area=33.72".into(),
        "/api/v1/me".into(),
    ] {
        let r = s
            .client
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let (st, body) = s.get(&t, &path).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(code(&body), "unauthorized");
    }
    let (st, _) = s.post("sigap_wrong", "/api/v1/sync/push", &json!({})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The dashboard sends a browser without a valid session to sign in.
    for path in DASHBOARD_PAGES {
        let (st, to, _) = s.page("", path).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(to, "/signin", "{path}");
        let (st, to, _) = s.page(&t, path).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(to, "/signin?notice=notice-session-ended", "{path}");
    }
    for path in [
        "/api/v1/conflicts/1/resolve",
        "/api/v1/persons/3372011203850001/move",
        "/api/v1/visits",
    ] {
        let (st, _) = s.post("sigap_wrong", path, &json!({})).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}");
    }
}

async fn the_wrong_role_is_forbidden(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent", &["33.72"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let admin = s.token(Role::Admin, "admin", &[]);
    for path in [
        "/api/v1/coverage?area=33.72",
        "/api/v1/conflicts",
        "/api/v1/persons/3372011203850001",
        "/api/v1/review",
        "/api/v1/coverage/history?area=33.72",
        "/api/v1/agents?area=33.72",
    ] {
        let (st, body) = s.get(&agent, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(code(&body), "forbidden");
    }
    let (st, _) = s
        .post(
            &agent,
            "/api/v1/persons/3372011203850001/move",
            &json!({"kelurahan": "33.72.01.1001", "rw": 1, "rt": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for t in [&sup, &admin] {
        let (st, _) = s.get(t, "/api/v1/sync/pull").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let d = Device::new();
        let (st, _) = s.push(t, &d, &[]).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let visits =
            json!({"protocol": sigap_shared::PROTOCOL_VERSION, "device_id": d.id, "visits": []});
        let (st, _) = s.post(t, "/api/v1/visits", &visits).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    for t in [&agent, &sup, &admin] {
        let (st, me) = s.get(t, "/api/v1/me").await;
        assert_eq!(st, StatusCode::OK);
        assert!(!me.to_string().contains(t.as_str()), "the token leaked");
    }
    let (_, me) = s.get(&sup, "/api/v1/me").await;
    assert_eq!(me["role"], "supervisor");
    assert_eq!(me["name"], "sup");
    assert_eq!(me["areas"], json!(["33.72"]));
    for path in [
        "/api/v1/coverage/history?area=33.72",
        "/api/v1/agents?area=33.72",
    ] {
        for t in [&sup, &admin] {
            let (st, _) = s.get(t, path).await;
            assert_eq!(st, StatusCode::OK, "{path}");
        }
    }
    let (st, _) = s.get(&admin, "/api/v1/coverage?area=33.72").await;
    assert_eq!(st, StatusCode::OK);
    for path in DASHBOARD_PAGES {
        let (st, _, body) = s.page(&agent, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("Token agen ditolak"), "{path}: {body}");
        for t in [&sup, &admin] {
            let (st, _, body) = s.page(t, path).await;
            assert_eq!(st, StatusCode::OK, "{path}: {body}");
        }
    }
    let (st, _) = s.get(&sup, "/api/v1/conflicts").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get(&sup, "/api/v1/review").await;
    assert_eq!(st, StatusCode::OK);
}

async fn an_area_outside_the_token_is_forbidden_with_its_name(backend: Backend) {
    let s = start_on(backend).await;
    let sup = s.token(Role::Supervisor, "sup", &["33.72.01"]);
    let (st, body) = s.get(&sup, "/api/v1/coverage?area=33.72").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"].as_str().unwrap().contains("33.72"));
    let (st, body) = s.get(&sup, "/api/v1/coverage?area=33.72.02.1001").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Joyotakan")
    );
    let (st, _) = s
        .get(&sup, "/api/v1/coverage?area=33.72.01.1001&depth=2")
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get(&sup, "/api/v1/review?area=33.72.02").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for path in [
        "/api/v1/coverage/history?area=33.72.02",
        "/api/v1/agents?area=33.72.02.1001",
        "/api/v1/agents?area=33.72",
    ] {
        let (st, body) = s.get(&sup, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(code(&body), "forbidden");
    }
    let (st, _) = s
        .get(&sup, "/api/v1/coverage/history?area=33.72.01.1001")
        .await;
    assert_eq!(st, StatusCode::OK);
    // A person outside the supervisor's areas.
    let agent = s.token(Role::Agent, "agent", &["33.72"]);
    let mut d = Device::new();
    let c = d.register("3372021203850001", "Agus", "33.72.02.1001", 1, 1);
    s.push(&agent, &d, &[c]).await;
    let (st, _) = s.get(&sup, "/api/v1/persons/3372021203850001").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The dashboard's pages refuse the same areas, with a page that says so.
    for path in [
        "/?area=33.72",
        "/area?code=33.72",
        "/area?code=33.72.02.1001",
        "/conflicts?area=33.72.02",
        "/person?nik=3372021203850001",
    ] {
        let (st, _, body) = s.page(&sup, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("Di luar wilayah Anda"), "{path}: {body}");
    }
    let (st, _, _) = s.page(&sup, "/area?code=33.72.01.1001/1").await;
    assert_eq!(st, StatusCode::OK);
}

/// Every page of the dashboard that needs a session.
const DASHBOARD_PAGES: [&str; 4] = ["/", "/area?code=33.72", "/conflicts", "/person"];

async fn bad_input_is_a_json_4xx_never_a_500(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent", &["33.72"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let cases: Vec<(&str, &str, StatusCode, &str)> = vec![
        (
            &sup,
            "/api/v1/coverage",
            StatusCode::BAD_REQUEST,
            "missing_area",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.7",
            StatusCode::BAD_REQUEST,
            "invalid_area",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72&depth=9",
            StatusCode::BAD_REQUEST,
            "invalid_depth",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72&year=abc",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &sup,
            "/api/v1/persons/123",
            StatusCode::BAD_REQUEST,
            "invalid_nik",
        ),
        (
            &sup,
            "/api/v1/persons/3372011203850001",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            &sup,
            "/api/v1/conflicts?status=maybe",
            StatusCode::BAD_REQUEST,
            "invalid_status",
        ),
        (
            &sup,
            "/api/v1/coverage/history",
            StatusCode::BAD_REQUEST,
            "missing_area",
        ),
        (
            &sup,
            "/api/v1/coverage/history?area=33.7",
            StatusCode::BAD_REQUEST,
            "invalid_area",
        ),
        (
            &sup,
            "/api/v1/coverage/history?area=33.72&from=2025-02-30",
            StatusCode::BAD_REQUEST,
            "invalid_date",
        ),
        (
            &sup,
            "/api/v1/coverage/history?area=33.72&to=yesterday",
            StatusCode::BAD_REQUEST,
            "invalid_date",
        ),
        (
            &sup,
            "/api/v1/coverage/history?area=33.72&from=2025-03-02&to=2025-03-01",
            StatusCode::BAD_REQUEST,
            "invalid_range",
        ),
        (
            &sup,
            "/api/v1/coverage/history?area=33.72&from=2020-01-01&to=2025-01-01",
            StatusCode::BAD_REQUEST,
            "range_too_long",
        ),
        (
            &sup,
            "/api/v1/coverage/history?area=33.72.01.1001/3/5",
            StatusCode::BAD_REQUEST,
            "area_too_fine",
        ),
        (
            &sup,
            "/api/v1/agents",
            StatusCode::BAD_REQUEST,
            "missing_area",
        ),
        (
            &sup,
            "/api/v1/agents?area=33.72&from=2025-3-1",
            StatusCode::BAD_REQUEST,
            "invalid_date",
        ),
        (
            &sup,
            "/api/v1/agents?area=33.72&from=2025-03-02&to=2025-03-01",
            StatusCode::BAD_REQUEST,
            "invalid_range",
        ),
        (
            &agent,
            "/api/v1/sync/pull?cursor=-1",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &agent,
            "/api/v1/sync/pull?limit=0",
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
    ];
    for (t, path, status, c) in cases {
        let (st, body) = s.get(t, path).await;
        assert_eq!((st, code(&body)), (status, c), "{path}: {body}");
    }
    let url = format!("{}/api/v1/sync/push", s.url);
    let r = s
        .client
        .post(&url)
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "invalid_json");
    let d = Device::new();
    let mut bad = serde_json::to_value(sigap_shared::wire::PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: d.id,
        changes: vec![],
        pending: None,
    })
    .unwrap();
    bad["changes"] = json!([{"id": "x"}]);
    let (st, body) = s.post(&agent, "/api/v1/sync/push", &bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "invalid_body");
    let big = "x".repeat(9 * 1024 * 1024);
    let r = s
        .client
        .post(&url)
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "payload_too_large");
    // The body is read by our own extractor: the content type is checked
    // as axum's `Json` does (`+json` types pass, others do not).
    let empty = serde_json::to_string(&sigap_shared::wire::PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: d.id,
        changes: vec![],
        pending: None,
    })
    .unwrap();
    for (content_type, status) in [
        ("text/plain", StatusCode::BAD_REQUEST),
        ("application/vnd.sigap+json", StatusCode::OK),
        ("Application/JSON; charset=utf-8", StatusCode::OK),
    ] {
        let r = s
            .client
            .post(&url)
            .bearer_auth(&agent)
            .header("content-type", content_type)
            .body(empty.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{content_type}");
        if status == StatusCode::BAD_REQUEST {
            let body: Value = r.json().await.unwrap();
            assert_eq!(code(&body), "missing_content_type");
        }
    }
    let (st, body) = s
        .post(
            &sup,
            "/api/v1/conflicts/abc/resolve",
            &json!({"fields": {"name": "X"}}),
        )
        .await;
    assert_eq!((st, code(&body)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (st, body) = s
        .post(
            &sup,
            "/api/v1/conflicts/1/resolve",
            &json!({"fields": {"rt": 3}}),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_resolution")
    );
    let (st, body) = s
        .post(
            &sup,
            "/api/v1/conflicts/99/resolve",
            &json!({"fields": {"name": "X"}}),
        )
        .await;
    assert_eq!((st, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn protocol_versions_too_new_or_too_old_are_explained(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent", &["33.72"]);
    let get = |v: &'static str| {
        s.client
            .get(format!("{}/api/v1/sync/pull", s.url))
            .bearer_auth(&agent)
            .header("x-sigap-protocol", v)
            .send()
    };
    let r = get("4").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "protocol_too_new");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upgrade sigap-server")
    );
    // Protocol 1 clients cannot read the `pending` and `superseded`
    // answers, protocol 2 ones would compute unkeyed lookup hashes: they
    // are told to upgrade, on every route.
    for old in ["0", "1", "2"] {
        let r = get(old).await.unwrap();
        assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
        let body: Value = r.json().await.unwrap();
        assert_eq!(code(&body), "protocol_too_old");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("upgrade sigap"),
            "{body}"
        );
    }
    let r = get("3").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let d = Device::new();
    let body = json!({"protocol": 1, "device_id": d.id, "changes": []});
    let (st, b) = s.post(&agent, "/api/v1/sync/push", &body).await;
    assert_eq!(
        (st, code(&b)),
        (StatusCode::UPGRADE_REQUIRED, "protocol_too_old")
    );
    let body = json!({"protocol": 4, "device_id": d.id, "changes": []});
    let (st, b) = s.post(&agent, "/api/v1/sync/push", &body).await;
    assert_eq!(
        (st, code(&b)),
        (StatusCode::BAD_REQUEST, "protocol_too_new")
    );
}

on_both_backends!(
    healthz_needs_no_token_and_every_answer_carries_the_protocol,
    every_endpoint_refuses_a_missing_or_revoked_token,
    the_wrong_role_is_forbidden,
    an_area_outside_the_token_is_forbidden_with_its_name,
    bad_input_is_a_json_4xx_never_a_500,
    protocol_versions_too_new_or_too_old_are_explained,
);

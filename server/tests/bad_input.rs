//! Bad input through real HTTP: every malformed request gets the right
//! 4xx and a JSON error that says what is wrong, the server keeps serving,
//! and the store is unchanged (a digest of every table, before and after).
//! Changes that are well-formed but invalid are answered one by one
//! (`rejected`, with a code) and make no person.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Device, Server, nik, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigap_server::store::Role;
use sigap_shared::wire::PushRequest;

/// A digest of every row of every table.
fn digest(s: &Server) -> String {
    s.sqlite()
        .with_writer(|c| {
            let mut tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            tables.retain(|t| !t.starts_with("sqlite_"));
            let mut h = Sha256::new();
            for t in tables {
                let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\""))?;
                let n = stmt.column_count();
                let mut rows: Vec<String> = stmt
                    .query_map([], |r| {
                        let mut row = String::new();
                        for i in 0..n {
                            let v: rusqlite::types::Value = r.get(i)?;
                            row.push_str(&format!("{v:?}\u{1f}"));
                        }
                        Ok(row)
                    })?
                    .collect::<Result<_, _>>()?;
                rows.sort();
                h.update(t.as_bytes());
                for row in rows {
                    h.update(row.as_bytes());
                    h.update(b"\n");
                }
            }
            Ok(hex::encode(h.finalize()))
        })
        .unwrap()
}

async fn raw(
    s: &Server,
    method: &str,
    token: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let url = format!("{}{path}", s.url);
    let mut req = match method {
        "GET" => s.client.get(url),
        _ => s.client.post(url),
    }
    .bearer_auth(token);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.body(body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: answer is not JSON ({e}): {text:?}"));
    (status, body)
}

fn push_json(device: &Device, changes: Value) -> Value {
    json!({"protocol": sigap_shared::PROTOCOL_VERSION, "device_id": device.id, "changes": changes})
}

fn valid_change(device: &mut Device, i: u32) -> Value {
    serde_json::to_value(device.register(&nik("337201", i), "Sri Wahyuni", "33.72.01.1001", 1, 2))
        .unwrap()
}

#[tokio::test]
async fn malformed_requests_get_a_json_4xx_and_change_nothing() {
    let s = start().await;
    let agent = s.token(Role::Agent, "budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    // Something in the store first, so "unchanged" means something.
    let mut device = Device::new();
    let first = valid_change(&mut device, 0);
    let (st, _) = s
        .post(
            &agent,
            "/api/v1/sync/push",
            &push_json(&device, json!([first])),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let before = digest(&s);

    let good = valid_change(&mut device, 1);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        serde_json::to_vec(&push_json(&device, json!([c]))).unwrap()
    };
    let mut nested = String::new();
    for _ in 0..10_000 {
        nested.push('[');
    }
    let json_ct = Some("application/json");
    let push = "/api/v1/sync/push";
    type Case = (&'static str, Vec<u8>, StatusCode, &'static str);
    let push_cases: Vec<Case> = vec![
        (
            "malformed",
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "truncated",
            serde_json::to_vec(&push_json(&device, json!([good.clone()]))).unwrap()[..40].to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "empty body",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "invalid UTF-8",
            b"{\"protocol\": 2, \"device_id\": \"\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "deep nesting",
            nested.into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "wrong type",
            serde_json::to_vec(&json!({"protocol": "two", "device_id": device.id, "changes": []}))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "missing field",
            serde_json::to_vec(&json!({"protocol": 2, "changes": []})).unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown field in the request",
            serde_json::to_vec(
                &json!({"protocol": 2, "device_id": device.id, "changes": [], "force": true}),
            )
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown field in a change's fields (a typo writes nothing)",
            with(&|c| c["fields"]["nama"] = json!("Sri")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "negative RT",
            with(&|c| c["fields"]["rt"] = json!(-1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "impossible date",
            with(&|c| c["fields"]["birth_date"] = json!("1985-13-45")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "bad NIK",
            with(&|c| c["nik"] = json!("33720112038500")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown kind",
            with(&|c| c["kind"] = json!("delete_everything")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "protocol unknown (too new)",
            serde_json::to_vec(&json!({"protocol": 99, "device_id": device.id, "changes": []}))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "protocol_too_new",
        ),
        (
            "huge array",
            serde_json::to_vec(&push_json(
                &device,
                Value::Array(vec![good.clone(); sigap_shared::wire::MAX_PUSH_CHANGES + 1]),
            ))
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_changes",
        ),
        (
            "body over the limit",
            vec![b' '; sigap_server::http::BODY_LIMIT + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, body, status, code) in push_cases {
        let (st, answer) = raw(&s, "POST", &agent, push, json_ct, body).await;
        assert_eq!(st, status, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.len() > 10,
            "{what}: a message that says what is wrong"
        );
        assert_eq!(digest(&s), before, "{what} changed the store");
    }

    // Query strings.
    let gets: Vec<(&str, &str, StatusCode, &str)> = vec![
        (
            &sup,
            "/api/v1/coverage?area=33.7",
            StatusCode::BAD_REQUEST,
            "invalid_area",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72.99.9999.1",
            StatusCode::BAD_REQUEST,
            "invalid_area",
        ),
        (
            &sup,
            "/api/v1/coverage?area=%3Cscript%3E",
            StatusCode::BAD_REQUEST,
            "invalid_area",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72&year=abc",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72&year=99999999999",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72&depth=-1",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &sup,
            "/api/v1/coverage?area=33.72&depth=9",
            StatusCode::BAD_REQUEST,
            "invalid_depth",
        ),
        (
            &agent,
            "/api/v1/sync/pull?limit=0",
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            &agent,
            "/api/v1/sync/pull?limit=99999999999999999999",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &agent,
            "/api/v1/sync/pull?cursor=abc",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &sup,
            "/api/v1/persons/3372'%20OR%201=1",
            StatusCode::BAD_REQUEST,
            "invalid_nik",
        ),
        (
            &sup,
            "/api/v1/conflicts?status=%00",
            StatusCode::BAD_REQUEST,
            "invalid_status",
        ),
        (
            &agent,
            "/api/v1/sync/device/not-a-uuid",
            StatusCode::BAD_REQUEST,
            "invalid_device_id",
        ),
    ];
    for (token, path, status, code) in gets {
        let (st, answer) = raw(&s, "GET", token, path, None, Vec::new()).await;
        assert_eq!(
            (st, answer["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{path}: {answer}"
        );
        assert_eq!(digest(&s), before, "{path} changed the store");
    }

    // The server still serves, and what it held is intact.
    let (st, _) = s.get(&sup, "/api/v1/coverage?area=33.72").await;
    assert_eq!(st, StatusCode::OK);
    let (st, person) = s
        .get(&sup, &format!("/api/v1/persons/{}", nik("337201", 0)))
        .await;
    assert_eq!(st, StatusCode::OK, "{person}");
}

#[tokio::test]
async fn invalid_changes_are_rejected_one_by_one_and_make_no_person() {
    let s = start().await;
    let agent = s.token(Role::Agent, "budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    let mut device = Device::new();
    let mut changes = Vec::new();
    let mut expect = Vec::new();
    let mut case = |device: &mut Device, i: u32, f: &dyn Fn(&mut Value), code: &'static str| {
        let mut c = valid_change(device, i);
        f(&mut c);
        changes.push(c);
        expect.push(code);
    };
    case(
        &mut device,
        10,
        &|c| c["fields"]["rt"] = json!(0),
        "invalid_rw_rt",
    );
    case(
        &mut device,
        11,
        &|c| c["fields"]["rw"] = json!(0),
        "invalid_rw_rt",
    );
    case(
        &mut device,
        12,
        &|c| c["fields"]["rt"] = json!(1000),
        "invalid_rw_rt",
    );
    case(
        &mut device,
        13,
        &|c| c["fields"]["name"] = json!("x".repeat(101)),
        "invalid_name",
    );
    case(
        &mut device,
        14,
        &|c| c["fields"]["name"] = json!(""),
        "missing_name",
    );
    case(
        &mut device,
        15,
        &|c| c["fields"]["occupation"] = json!("o".repeat(10_000)),
        "too_long",
    );
    case(
        &mut device,
        16,
        &|c| c["fields"]["birth_date"] = json!("1800-01-01"),
        "birth_date_mismatch",
    );
    case(
        &mut device,
        17,
        &|c| c["hlc"]["millis"] = json!(u64::MAX),
        "invalid_timestamp",
    );
    let req = push_json(&device, Value::Array(changes));
    let (st, answer) = s.post(&agent, "/api/v1/sync/push", &req).await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), expect.len());
    for (r, code) in results.iter().zip(&expect) {
        assert_eq!(r["outcome"], "rejected", "{r}");
        assert_eq!(r["code"], *code, "{r}");
        assert!(r["reason"].as_str().unwrap().len() > 10, "{r}");
    }
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72").await;
    assert_eq!(cov["figures"]["covered"], json!(0), "{cov}");
    for i in 10..18 {
        let (st, _) = s
            .get(&sup, &format!("/api/v1/persons/{}", nik("337201", i)))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn names_with_sql_and_html_are_data_not_code() {
    let s = start().await;
    let agent = s.token(Role::Agent, "budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    let mut device = Device::new();
    let names = [
        "Robert'); DROP TABLE persons;--",
        "<script>alert('x')</script>",
        "Ma'ruf \"Amin\"",
    ];
    let changes: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            device.register(&nik("337201", 40 + i as u32), name, "33.72.01.1001", 1, 2)
        })
        .collect();
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device.id,
        changes,
        pending: None,
    };
    let (st, answer) = s
        .post(
            &agent,
            "/api/v1/sync/push",
            &serde_json::to_value(&req).unwrap(),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for r in answer["results"].as_array().unwrap() {
        assert_eq!(r["outcome"], "applied", "{r}");
    }
    for (i, name) in names.iter().enumerate() {
        let (st, person) = s
            .get(
                &sup,
                &format!("/api/v1/persons/{}", nik("337201", 40 + i as u32)),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(person["fields"]["name"], *name, "{person}");
    }
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72").await;
    assert_eq!(cov["figures"]["covered"], json!(3), "{cov}");
}

#[tokio::test]
async fn a_change_repeated_in_one_batch_or_a_number_reused_is_answered_not_doubled() {
    let s = start().await;
    let agent = s.token(Role::Agent, "budi", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    let mut device = Device::new();
    let a = valid_change(&mut device, 50);
    let (st, answer) = s
        .post(
            &agent,
            "/api/v1/sync/push",
            &push_json(&device, json!([a.clone(), a.clone()])),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let outcomes: Vec<_> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["applied", "duplicate"]);
    // The same device number with another change id.
    let mut reused = valid_change(&mut device, 51);
    reused["device_seq"] = a["device_seq"].clone();
    let (st, answer) = s
        .post(
            &agent,
            "/api/v1/sync/push",
            &push_json(&device, json!([reused])),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(answer["results"][0]["outcome"], "rejected");
    assert_eq!(answer["results"][0]["code"], "seq_conflict", "{answer}");
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72").await;
    assert_eq!(cov["figures"]["covered"], json!(1), "{cov}");
}

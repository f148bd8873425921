//! The API description at `/api/openapi.json`: it names every JSON route
//! of the server's source and nothing the server does not serve, it is an
//! OpenAPI 3.1 document whose references all resolve, and real answers of
//! the server fit the schemas it documents for them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Device, Server, routes_in_source, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::Role;
use sigap_shared::wire::ChangeKind;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Routes behind a token that every role may call (no 403 of their own).
const ANY_ROLE: [&str; 1] = ["/api/v1/me"];

async fn document(s: &Server) -> Value {
    // No token: the description holds no data.
    let r = s
        .client
        .get(format!("{}/api/openapi.json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    r.json().await.unwrap()
}

/// Every (METHOD, path) the document describes.
fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The JSON API: `/api/...` and `/healthz`, not `/metrics` (served on its
/// own address, in Prometheus text) nor dashboard pages.
fn is_json_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz"
}

#[tokio::test]
async fn every_route_in_the_source_is_described_and_nothing_else() {
    let s = start().await;
    let doc = document(&s).await;
    let in_source: BTreeSet<(String, String)> = routes_in_source()
        .into_iter()
        .filter(|(_, path)| is_json_api(path))
        .collect();
    assert!(in_source.len() >= 12, "routes found: {in_source:?}");
    let in_doc = described(&doc);
    let undocumented: Vec<_> = in_source.difference(&in_doc).collect();
    assert!(
        undocumented.is_empty(),
        "routes without a #[utoipa::path] in ApiDoc's paths(...): {undocumented:?}"
    );
    let unserved: Vec<_> = in_doc.difference(&in_source).collect();
    assert!(
        unserved.is_empty(),
        "described but not routed in the source: {unserved:?}"
    );
}

#[tokio::test]
async fn every_described_operation_is_answered_by_the_router() {
    let s = start().await;
    let doc = document(&s).await;
    let admin = s.token(Role::Admin, "admin", &[]);
    for (method, template) in described(&doc) {
        let path = template
            .replace("{device_id}", "0190b6d2-7c1e-7000-8000-000000000001")
            .replace("{nik}", "3372011203850001")
            .replace("{id}", "1");
        let url = format!("{}{path}", s.url);
        let req = match method.as_str() {
            "GET" => s.client.get(url),
            "POST" => s.client.post(url).json(&json!({})),
            other => panic!("no method {other} in this API"),
        };
        let r = req.bearer_auth(&admin).send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !message.starts_with("no such endpoint"),
            "{method} {template} is described but the router does not serve it: {status} {body}"
        );
    }
}

/// Every `$ref` in `doc`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let s = start().await;
    let doc = document(&s).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "openapi {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{} refs", all.len());
    for r in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} points outside the document"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every operation answers 200 and documents its errors as ErrorBody;
    // those behind a token name the bearer scheme and answer 401.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{m} {path}");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{m} {path} {status}"
                    );
                }
            }
            let secured = op.get("security").is_some();
            assert_eq!(
                secured,
                path.starts_with("/api/v1/"),
                "{m} {path}: security"
            );
            if secured {
                assert_eq!(op["security"], json!([{"bearer": []}]), "{m} {path}");
                for status in ["400", "401", "429", "503"] {
                    assert!(responses.contains_key(status), "{m} {path} lacks {status}");
                }
                // Every role may ask who it is: nothing there answers 403.
                assert_eq!(
                    responses.contains_key("403"),
                    !ANY_ROLE.contains(&path.as_str()),
                    "{m} {path}: 403"
                );
            }
        }
    }
}

/// Checks `answer` against the schema the document gives for `method
/// path` answering `status`, references resolved in the document.
fn assert_fits(doc: &Value, method: &str, path: &str, status: StatusCode, answer: &Value) {
    let errors = misfits(doc, method, path, status, answer);
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not fit its schema:\n{}\n{answer}",
        errors.join("\n")
    );
}

/// Where `answer` breaks the documented schema.
fn misfits(
    doc: &Value,
    method: &str,
    path: &str,
    status: StatusCode,
    answer: &Value,
) -> Vec<String> {
    let code = status.as_u16().to_string();
    let schema = &doc["paths"][path][method.to_lowercase()]["responses"][&code]["content"]["application/json"]
        ["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no JSON answer for {code}"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap();
    validator
        .iter_errors(answer)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// A server with a baseline, registrations (one rejected), a conflict and
/// a participant, and the tokens to read it all.
struct World {
    s: Server,
    agent: String,
    supervisor: String,
    device: Device,
}

async fn world() -> World {
    let s = start().await;
    let agent = s.token(Role::Agent, "budi", &["33.72.01"]);
    let agent2 = s.token(Role::Agent, "rina", &["33.72.01"]);
    let supervisor = s.token(Role::Supervisor, "sari", &["33.72"]);
    let year = sigap_shared::today().year();
    let kota = sigap_shared::AreaCode::parse("33.72").unwrap();
    s.store
        .set_baselines(&[sigap_server::store::Baseline {
            area: kota,
            year,
            working_population: 262_376,
        }])
        .unwrap();
    s.store
        .set_target(
            &kota,
            year,
            sigap_shared::Target {
                percent: sigap_shared::Percent(5702),
                count: None,
            },
        )
        .unwrap();
    let mut device = Device::new();
    let mut other = Device::new();
    let a = device.register("3372011203850001", "Budi Santoso", "33.72.01.1001", 3, 5);
    let b = other.register("3372011203850001", "Bambang Wijaya", "33.72.01.1001", 3, 5);
    let (st, _) = s.push(&agent, &device, &[a]).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.push(&agent2, &other, &[b]).await;
    assert_eq!(st, StatusCode::OK);
    World {
        s,
        agent,
        supervisor,
        device,
    }
}

#[tokio::test]
async fn real_answers_fit_their_documented_schemas() {
    let mut w = world().await;
    let doc = document(&w.s).await;
    let s = &w.s;

    // A push with every kind of outcome but `pending`/`superseded`:
    // applied, duplicate (the first change again), rejected (outside the
    // agent's areas).
    let first = s.store.device_changes(w.device.id, 0, 10).unwrap().0;
    assert_eq!(first.len(), 1);
    let applied = w
        .device
        .register("3372015203900002", "Siti Aminah", "33.72.01.1002", 1, 2);
    let elsewhere = w
        .device
        .register("3372051111800003", "Joko", "33.72.05.1001", 1, 1);
    let edit = w.device.change(
        "3372015203900002",
        ChangeKind::Edit,
        sigap_shared::Fields {
            occupation: Some("penjahit".into()),
            ..Default::default()
        },
    );
    let (st, pushed) = s
        .push(&w.agent, &w.device, &[applied, elsewhere, edit])
        .await;
    assert_eq!(st, StatusCode::OK, "{pushed}");
    let outcomes = common::outcomes(&pushed);
    assert!(outcomes.contains(&"rejected".to_string()), "{pushed}");
    assert!(outcomes.contains(&"applied".to_string()), "{pushed}");
    assert_fits(&doc, "POST", "/api/v1/sync/push", st, &pushed);

    let checks: Vec<(&str, &str, String)> = vec![
        ("GET", "/healthz", "/healthz".into()),
        (
            "GET",
            "/api/v1/sync/pull",
            "/api/v1/sync/pull?limit=10".into(),
        ),
        (
            "GET",
            "/api/v1/sync/device/{device_id}",
            format!("/api/v1/sync/device/{}", w.device.id),
        ),
        (
            "GET",
            "/api/v1/sync/device/{device_id}/changes",
            format!("/api/v1/sync/device/{}/changes", w.device.id),
        ),
    ];
    for (method, path, url) in &checks {
        let (st, answer) = s.get(&w.agent, url).await;
        assert_eq!(st, StatusCode::OK, "{url}: {answer}");
        assert_fits(&doc, method, path, st, &answer);
    }
    let (_, page) = s.get(&w.agent, "/api/v1/sync/pull").await;
    assert!(
        page["persons"].as_array().unwrap().len() >= 2,
        "the pull fits with persons in it: {page}"
    );
    // The check can fail: a person with a full NIK, a category nobody
    // knows or no `seq` does not fit.
    let pull = "/api/v1/sync/pull";
    for (field, value) in [
        ("nik_masked", Value::from(7)),
        ("category", Value::from("worker")),
        ("seq", Value::Null),
    ] {
        let mut wrong = page.clone();
        wrong["persons"][0][field] = value;
        assert!(
            !misfits(&doc, "GET", pull, StatusCode::OK, &wrong).is_empty(),
            "{field}: {wrong}"
        );
    }
    let mut wrong = pushed.clone();
    wrong["results"][0]["outcome"] = "lost".into();
    assert!(!misfits(&doc, "POST", "/api/v1/sync/push", StatusCode::OK, &wrong).is_empty());

    let year = sigap_shared::today().year();
    let supervised: Vec<(&str, String)> = vec![
        (
            "/api/v1/coverage",
            format!("/api/v1/coverage?area=33.72&year={year}&depth=4"),
        ),
        ("/api/v1/conflicts", "/api/v1/conflicts?status=all".into()),
        (
            "/api/v1/persons/{nik}",
            "/api/v1/persons/3372011203850001?history=true".into(),
        ),
        ("/api/v1/review", "/api/v1/review".into()),
    ];
    for (path, url) in &supervised {
        let (st, answer) = s.get(&w.supervisor, url).await;
        assert_eq!(st, StatusCode::OK, "{url}: {answer}");
        assert_fits(&doc, "GET", path, st, &answer);
    }
    let (_, coverage) = s
        .get(
            &w.supervisor,
            &format!("/api/v1/coverage?area=33.72&year={year}&depth=4"),
        )
        .await;
    assert_eq!(coverage["figures"]["target_percent"], "57.02", "{coverage}");
    assert!(!coverage["children"].as_array().unwrap().is_empty());

    // The conflict, resolved; then the same again (409).
    let (_, list) = s.get(&w.supervisor, "/api/v1/conflicts").await;
    let id = list["conflicts"][0]["id"].as_i64().unwrap();
    let path = "/api/v1/conflicts/{id}/resolve";
    let url = format!("/api/v1/conflicts/{id}/resolve");
    let body = json!({"fields": {"name": "Budi Santoso"}, "note": "KTP checked"});
    let (st, resolved) = s.post(&w.supervisor, &url, &body).await;
    assert_eq!(st, StatusCode::OK, "{resolved}");
    assert_fits(&doc, "POST", path, st, &resolved);
    let (st, again) = s.post(&w.supervisor, &url, &body).await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    assert_fits(&doc, "POST", path, st, &again);

    let (st, moved) = s
        .post(
            &w.supervisor,
            "/api/v1/persons/3372011203850001/move",
            &json!({"kelurahan": "33.72.01.1002", "rw": 4, "rt": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{moved}");
    assert_fits(&doc, "POST", "/api/v1/persons/{nik}/move", st, &moved);

    // Supervisors' reports, the caller's token and a personal data export.
    let reports: Vec<(&str, String)> = vec![
        (
            "/api/v1/coverage/history",
            "/api/v1/coverage/history?area=33.72".into(),
        ),
        ("/api/v1/agents", "/api/v1/agents?area=33.72.01".into()),
        ("/api/v1/me", "/api/v1/me".into()),
        (
            "/api/v1/persons/{nik}/export",
            "/api/v1/persons/3372011203850001/export".into(),
        ),
    ];
    for (path, url) in &reports {
        let (st, answer) = s.get(&w.supervisor, url).await;
        assert_eq!(st, StatusCode::OK, "{url}: {answer}");
        assert_fits(&doc, "GET", path, st, &answer);
    }
    let (_, agents) = s.get(&w.supervisor, "/api/v1/agents?area=33.72.01").await;
    assert!(
        !agents["agents"].as_array().unwrap().is_empty(),
        "the agents' answer fits with agents in it: {agents}"
    );
    let (st, me) = s.get(&w.agent, "/api/v1/me").await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_fits(&doc, "GET", "/api/v1/me", st, &me);

    // The device's replica key, and visits: stored, duplicate, rejected.
    let url = format!("/api/v1/sync/device/{}/key", w.device.id);
    let (st, key) = s.get(&w.agent, &url).await;
    assert_eq!(st, StatusCode::OK, "{key}");
    assert_fits(&doc, "GET", "/api/v1/sync/device/{device_id}/key", st, &key);
    let visit = |id: &str, kelurahan: &str| {
        json!({"id": id, "kelurahan": kelurahan, "rw": 3, "rt": 5, "households": 12,
               "visited_at": "2025-01-06T08:30:00Z"})
    };
    let body = json!({
        "protocol": sigap_shared::wire::PROTOCOL_VERSION,
        "device_id": w.device.id,
        "visits": [
            visit("0190b6d2-7c1e-7000-8000-0000000000a1", "33.72.01.1001"),
            visit("0190b6d2-7c1e-7000-8000-0000000000a1", "33.72.01.1001"),
            visit("0190b6d2-7c1e-7000-8000-0000000000a2", "33.72.05.1001"),
        ],
    });
    let (st, visits) = s.post(&w.agent, "/api/v1/visits", &body).await;
    assert_eq!(st, StatusCode::OK, "{visits}");
    let outcomes: Vec<&str> = visits["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["stored", "duplicate", "rejected"], "{visits}");
    assert_fits(&doc, "POST", "/api/v1/visits", st, &visits);
    let mut wrong = visits.clone();
    wrong["results"][2]["outcome"] = "lost".into();
    assert!(!misfits(&doc, "POST", "/api/v1/visits", StatusCode::OK, &wrong).is_empty());

    // An admin erases the person: a reason is needed.
    let admin = s.token(Role::Admin, "admin", &[]);
    let url = "/api/v1/persons/3372011203850001/erase";
    let path = "/api/v1/persons/{nik}/erase";
    let (st, refused) = s.post(&admin, url, &json!({"reason": " "})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_fits(&doc, "POST", path, st, &refused);
    let (st, erased) = s
        .post(&admin, url, &json!({"reason": "PDP request 2025/014"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{erased}");
    assert_fits(&doc, "POST", path, st, &erased);

    // Refusals fit ErrorBody under the status they come with.
    let refusals: Vec<(&str, &str, String, &str)> = vec![
        (
            "GET",
            "/api/v1/coverage",
            "/api/v1/coverage".into(),
            &w.supervisor,
        ),
        (
            "GET",
            "/api/v1/coverage",
            "/api/v1/coverage?area=33.72".into(),
            &w.agent,
        ),
        (
            "GET",
            "/api/v1/persons/{nik}",
            "/api/v1/persons/3372011203850009".into(),
            &w.supervisor,
        ),
        ("GET", "/api/v1/review", "/api/v1/review".into(), "nonsense"),
        (
            "GET",
            "/api/v1/coverage/history",
            "/api/v1/coverage/history?area=33.72.01.1001/3".into(),
            &w.supervisor,
        ),
        (
            "GET",
            "/api/v1/agents",
            "/api/v1/agents?area=33.72&from=2025-02-01&to=2025-01-01".into(),
            &w.supervisor,
        ),
        (
            "GET",
            "/api/v1/persons/{nik}/export",
            "/api/v1/persons/3372011203850001/export".into(),
            &w.agent,
        ),
    ];
    for (method, path, url, token) in refusals {
        let (st, answer) = s.get(token, &url).await;
        assert!(st.is_client_error(), "{url}: {st}");
        assert_fits(&doc, method, path, st, &answer);
    }
}

#[tokio::test]
async fn the_description_is_the_one_the_code_generates() {
    let s = start().await;
    let served = document(&s).await;
    let generated = serde_json::to_value(sigap_server::http::openapi::document()).unwrap();
    assert_eq!(served, generated);
    // The string-shaped types carry their grammar.
    let schemas = &served["components"]["schemas"];
    assert_eq!(schemas["Nik"]["type"], "string");
    assert_eq!(
        schemas["Category"]["enum"],
        json!(["pu", "bpu", "jakon", "pmi"])
    );
    let nik_pattern = regex_lite(schemas["Nik"]["pattern"].as_str().unwrap());
    assert!(nik_pattern("3372011203850001"));
    assert!(nik_pattern("3372015203900002"));
    assert!(!nik_pattern("3372011203850000"), "serial 0000");
    assert!(!nik_pattern("337201120385001"), "15 digits");
    let area_pattern = regex_lite(schemas["AreaCode"]["pattern"].as_str().unwrap());
    for ok in [
        "33",
        "33.72",
        "33.72.01",
        "33.72.01.1001",
        "33.72.01.1001/3/5",
    ] {
        assert!(area_pattern(ok), "{ok}");
    }
    assert!(!area_pattern("33.7"));
}

/// A pattern as JSON Schema reads it.
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    let schema = json!({"type": "string", "pattern": pattern});
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    move |text| validator.is_valid(&json!(text))
}

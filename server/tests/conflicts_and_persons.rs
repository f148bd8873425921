#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Identity conflicts between sources, their resolution, and a person's
//! history.

mod common;

use common::{Backend, Device, outcomes, start_on};
use reqwest::StatusCode;
use serde_json::json;
use sigap_server::store::Role;

const NIK: &str = "3372011203850001";
const KEL: &str = "33.72.01.1001";

async fn two_agents_disagreeing_on_a_name_open_a_conflict_a_supervisor_resolves(backend: Backend) {
    let s = start_on(backend).await;
    let a1 = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let a2 = s.token(Role::Agent, "agent-2", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72.01"]);
    let other_sup = s.token(Role::Supervisor, "sup-2", &["33.72.02"]);
    let mut d1 = Device::new();
    let mut d2 = Device::new();
    let (_, r) = {
        let c = d1.register(NIK, "Budi Santoso", KEL, 3, 5);
        s.push(&a1, &d1, &[c]).await
    };
    assert_eq!(outcomes(&r), ["applied"]);
    let (_, r) = {
        let c = d2.register(NIK, "Budi Susanto", KEL, 3, 5);
        s.push(&a2, &d2, &[c]).await
    };
    assert_eq!(outcomes(&r), ["merged"]);
    let (_, cov) = s
        .get(&sup, "/api/v1/coverage?area=33.72.01&year=2025")
        .await;
    assert_eq!(cov["figures"]["covered"], 1, "counted once");
    let (st, list) = s.get(&sup, "/api/v1/conflicts").await;
    assert_eq!(st, StatusCode::OK);
    let conflicts = list["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c["fields"], json!(["name"]));
    assert_eq!(c["existing"]["fields"]["name"], "Budi Santoso");
    assert_eq!(c["incoming"]["fields"]["name"], "Budi Susanto");
    assert_eq!(c["incoming"]["agent"], "agent-2");
    assert_eq!(c["status"], "open");
    let id = c["id"].as_i64().unwrap();
    let (_, other) = s.get(&other_sup, "/api/v1/conflicts").await;
    assert_eq!(other["conflicts"], json!([]));
    let path = format!("/api/v1/conflicts/{id}/resolve");
    let body = json!({"fields": {"name": "Budi Santoso"}, "note": "checked the KTP"});
    let (st, _) = s.post(&other_sup, &path, &body).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, resolved) = s.post(&sup, &path, &body).await;
    assert_eq!(st, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["conflict"]["status"], "resolved");
    assert_eq!(resolved["conflict"]["resolved_by"], "sup");
    let (st, again) = s.post(&sup, &path, &body).await;
    assert_eq!(
        (st, again["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict_resolved"))
    );
    let (_, open) = s.get(&sup, "/api/v1/conflicts?status=open").await;
    assert_eq!(open["conflicts"], json!([]));
    let (_, all) = s.get(&sup, "/api/v1/conflicts?status=all").await;
    assert_eq!(all["conflicts"].as_array().unwrap().len(), 1);
    // The resolution wins over both agents' writes.
    let (st, p) = s
        .get(&sup, &format!("/api/v1/persons/{NIK}?history=true"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p["fields"]["name"], "Budi Santoso");
    assert_eq!(p["covered"], true);
    assert_eq!(p["registered_by"], "agent-1");
    let history = p["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2]["agent"], "sup");
    let (_, cov) = s
        .get(&sup, "/api/v1/coverage?area=33.72.01&year=2025")
        .await;
    assert_eq!(cov["figures"]["covered"], 1);
    assert!(s.store.verify_counters().unwrap().differences.is_empty());
    // An agent's replica gets the resolved person again, masked: neither
    // agent's full name nor the NIK reaches it.
    let (_, page) = s.get(&a1, "/api/v1/sync/pull").await;
    let pulled = &page["persons"][0];
    assert_eq!(pulled["name_masked"], "B*** S******");
    assert_eq!(pulled["seq"], p["seq"]);
    let text = page.to_string();
    for secret in [NIK, "Santoso", "Susanto"] {
        assert!(!text.contains(secret), "pull leaks {secret}: {text}");
    }
}

async fn a_resolution_that_breaks_a_rule_is_refused(backend: Backend) {
    let s = start_on(backend).await;
    let a1 = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let a2 = s.token(Role::Agent, "agent-2", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let mut d1 = Device::new();
    let mut d2 = Device::new();
    {
        let c = d1.register(NIK, "Budi", KEL, 3, 5);
        s.push(&a1, &d1, &[c]).await
    };
    {
        let c = d2.register(NIK, "Budi Susanto", KEL, 3, 5);
        s.push(&a2, &d2, &[c]).await
    };
    let (_, list) = s.get(&sup, "/api/v1/conflicts").await;
    let id = list["conflicts"][0]["id"].as_i64().unwrap();
    let (st, body) = s
        .post(
            &sup,
            &format!("/api/v1/conflicts/{id}/resolve"),
            &json!({"fields": {"sex": "P"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "sex_mismatch");
}

async fn the_same_device_correcting_itself_opens_no_conflict(backend: Backend) {
    let s = start_on(backend).await;
    let a1 = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let mut d1 = Device::new();
    let reg = d1.register(NIK, "Budi", KEL, 3, 5);
    let fix = d1.change(
        NIK,
        sigap_shared::wire::ChangeKind::Edit,
        sigap_shared::Fields {
            name: Some("Budi Santoso".into()),
            ..Default::default()
        },
    );
    let (_, r) = s.push(&a1, &d1, &[reg, fix]).await;
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    let (_, list) = s.get(&sup, "/api/v1/conflicts?status=all").await;
    assert_eq!(list["conflicts"], json!([]));
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{NIK}")).await;
    assert_eq!(p["fields"]["name"], "Budi Santoso");
    assert!(p.get("history").is_none());
}

on_both_backends!(
    two_agents_disagreeing_on_a_name_open_a_conflict_a_supervisor_resolves,
    a_resolution_that_breaks_a_rule_is_refused,
    the_same_device_correcting_itself_opens_no_conflict,
);

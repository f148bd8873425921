#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every write is authorised by who sent it, from which device, for which
//! area; clocks are bounded; what is accepted does not depend on what
//! arrived before. Through real HTTP.

mod common;

use common::{Backend, Device, outcomes, registration_fields, start_on};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::Role;
use sigap_shared::merge::Fields;
use sigap_shared::wire::ChangeKind;
use sigap_shared::{AreaCode, Category, Status};

const PAJANG: &str = "33.72.01.1001";
const NIK: &str = "3372011203850001";

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

async fn a_device_belongs_to_the_token_that_first_pushed_for_it(backend: Backend) {
    let s = start_on(backend).await;
    let budi = s.token(Role::Agent, "budi", &["33.72"]);
    let rina = s.token(Role::Agent, "rina", &["33.72"]);
    let mut d = Device::new();
    let c = d.register(NIK, "Budi", PAJANG, 1, 1);
    let (_, r) = s.push(&budi, &d, &[c]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    // Another agent's token can neither push as the device (using up its
    // numbers) nor read its receipt or log.
    let stolen = d.register("3372015204900002", "Siti", PAJANG, 1, 1);
    let (st, body) = s.push(&rina, &d, std::slice::from_ref(&stolen)).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::FORBIDDEN, "device_not_yours")
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("budi"));
    for path in [
        format!("/api/v1/sync/device/{}", d.id),
        format!("/api/v1/sync/device/{}/changes", d.id),
    ] {
        let (st, body) = s.get(&rina, &path).await;
        assert_eq!(
            (st, code(&body)),
            (StatusCode::FORBIDDEN, "device_not_yours"),
            "{path}"
        );
    }
    // Nor send visits as the device.
    let visits = serde_json::json!({"protocol": sigap_shared::PROTOCOL_VERSION, "device_id": d.id,
        "visits": [{"id": uuid::Uuid::now_v7(), "kelurahan": PAJANG, "rw": 1, "rt": 1,
                    "households": 2, "visited_at": "2026-01-05T03:00:00Z"}]});
    let (st, body) = s.post(&rina, "/api/v1/visits", &visits).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::FORBIDDEN, "device_not_yours")
    );
    // The real device's next change still goes through under its number.
    let (_, r) = s.push(&budi, &d, &[stolen]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    assert_eq!(r["receipt"]["highest_seq"], 2);
    // A device first seen through its receipt is enrolled by that read.
    let fresh = Device::new();
    let (st, _) = s
        .get(&rina, &format!("/api/v1/sync/device/{}", fresh.id))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.push(&budi, &fresh, &[]).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::FORBIDDEN, "device_not_yours")
    );
    // Revoking the token stops its devices: the token is refused, and no
    // other token takes the device over.
    s.store.revoke_token("budi").unwrap();
    let mut d2 = Device {
        id: d.id,
        seq: d.seq,
        millis: d.millis,
    };
    let next = d2.register("3372011505800003", "Joko", PAJANG, 1, 1);
    let (st, _) = s.push(&budi, &d2, std::slice::from_ref(&next)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s.push(&rina, &d2, &[next]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The ids standing for the roll and the server are no device's.
    for reserved in [uuid::Uuid::nil(), uuid::Uuid::max()] {
        let body = serde_json::json!({"protocol": sigap_shared::PROTOCOL_VERSION,
            "device_id": reserved, "visits": []});
        let (st, b) = s.post(&rina, "/api/v1/visits", &body).await;
        assert_eq!(
            (st, code(&b)),
            (StatusCode::BAD_REQUEST, "invalid_device_id")
        );
        let (st, body) = s
            .get(&rina, &format!("/api/v1/sync/device/{reserved}"))
            .await;
        assert_eq!(
            (st, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_device_id")
        );
    }
}

async fn a_change_may_not_pose_as_another_device_nor_number_itself_out_of_range(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "budi", &["33.72"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    let mut d = Device::new();
    let mut posing = d.register(NIK, "Budi", PAJANG, 1, 1);
    posing.hlc.device = uuid::Uuid::max();
    let (_, r) = s.push(&agent, &d, &[posing]).await;
    assert_eq!(r["results"][0]["code"], "device_mismatch");
    // Held in the log (the agent corrects it), so the next goes through.
    assert_eq!(r["receipt"]["count"], 1);
    let ok = d.register("3372015204900002", "Siti", PAJANG, 1, 1);
    let (_, r) = s.push(&agent, &d, &[ok]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    for bad in [0u64, u64::MAX] {
        let mut c = d.register("3372011505800003", "Joko", PAJANG, 1, 1);
        d.seq -= 1;
        c.device_seq = bad;
        let (_, r) = s.push(&agent, &d, &[c]).await;
        assert_eq!(r["results"][0]["code"], "invalid_device_seq", "{bad}");
        assert_eq!(r["receipt"]["count"], 2);
    }
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
    assert_eq!(cov["figures"]["covered"], 1);
}

async fn a_clock_far_ahead_is_refused_kept_out_of_the_log_and_taken_once_restamped(
    backend: Backend,
) {
    let s = common::start_on_with(backend, |st| st.max_clock_skew_millis = 3_600_000).await;
    let agent = s.token(Role::Agent, "budi", &["33.72"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    let now = sigap_shared::hlc::wall_millis();
    let mut d = Device::new();
    let first = d.register(NIK, "Budi", PAJANG, 1, 1);
    let (_, r) = s.push(&agent, &d, &[first]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    // Ten years ahead: it would beat every real edit after it.
    d.millis = now + 10 * 365 * 24 * 3_600_000;
    let mut ahead = d.change(
        NIK,
        ChangeKind::Void,
        Fields {
            status: Some(Status::Void),
            void_reason: Some("moved away".into()),
            ..Fields::default()
        },
    );
    let after = d.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            occupation: Some("ojek".into()),
            ..Fields::default()
        },
    );
    let (_, r) = s.push(&agent, &d, &[ahead.clone(), after.clone()]).await;
    assert_eq!(r["results"][0]["code"], "clock_ahead");
    let reason = r["results"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("laptop's date and time"), "{reason}");
    // Not held: the number stays free and the device's later change waits.
    assert_eq!(r["results"][1]["outcome"], "pending");
    assert_eq!(r["receipt"]["count"], 1);
    // Just inside the allowed skew is fine; the same change re-stamped
    // (same id and number) is taken.
    ahead.hlc.millis = now + 30 * 60_000;
    let mut after = after;
    after.hlc.millis = now + 31 * 60_000;
    let (_, r) = s.push(&agent, &d, &[ahead, after]).await;
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{NIK}")).await;
    assert_eq!(p["fields"]["status"], "void");
    // Beyond the stored form's range: refused, never cut.
    let mut huge = d.register("3372015204900002", "Siti", PAJANG, 1, 1);
    huge.hlc.millis = 10_000_000_000_000_000;
    let (_, r) = s.push(&agent, &d, &[huge]).await;
    assert_eq!(r["results"][0]["code"], "invalid_timestamp");
}

async fn an_agent_cannot_move_or_void_a_person_of_another_area(backend: Backend) {
    let s = start_on(backend).await;
    let laweyan = s.token(Role::Agent, "budi", &["33.72.01"]);
    let banjarsari = s.token(Role::Agent, "rina", &["33.72.05"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
    let mut a = Device::new();
    let first = a.register(NIK, "Budi", PAJANG, 1, 1);
    let (_, r) = s.push(&laweyan, &a, &[first]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    let mut b = Device::new();
    b.millis = a.millis + 60_000;
    let grab = b.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            kelurahan: Some(AreaCode::parse("33.72.05.1001").unwrap()),
            status: Some(Status::Void),
            void_reason: Some("moved".into()),
            ..Fields::default()
        },
    );
    let void = b.change(
        NIK,
        ChangeKind::Void,
        Fields {
            status: Some(Status::Void),
            void_reason: Some("not found".into()),
            ..Fields::default()
        },
    );
    let (_, r) = s.push(&banjarsari, &b, &[grab, void]).await;
    for i in 0..2 {
        assert_eq!(r["results"][i]["code"], "area_not_assigned", "{r}");
    }
    assert!(
        r["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Pajang")
    );
    let (_, cov) = s
        .get(&sup, "/api/v1/coverage?area=33.72.01&year=2025")
        .await;
    assert_eq!(cov["figures"]["covered"], 1);
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{NIK}")).await;
    assert_eq!(p["fields"]["kelurahan"], PAJANG);
    assert_eq!(p["fields"]["status"], "registered");
    // Moving inside the agent's own areas is fine.
    let mv = a.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            kelurahan: Some(AreaCode::parse("33.72.01.1002").unwrap()),
            ..Fields::default()
        },
    );
    let (_, r) = s.push(&laweyan, &a, &[mv]).await;
    assert_eq!(outcomes(&r), ["applied"]);
}

/// The case: one server took a PU registration with an employer
/// then another device's edit; another server the other way round. Both
/// now hold the same person, reviewed for the same rule.
async fn acceptance_does_not_depend_on_what_arrived_before(backend: Backend) {
    let mut a = Device::new();
    let mut b = Device::new();
    let mut reg = registration_fields(NIK, "Budi", PAJANG, 1, 1);
    reg.category = Some(Category::Pu);
    reg.employer = Some("PT Batik Solo".into());
    reg.programs = Some(sigap_shared::registration::parse_programs("jkk,jkm,jht").unwrap());
    let register = a.change(NIK, ChangeKind::Register, reg);
    b.millis = a.millis + 10_000;
    // Device B (which saw the person as informal) clears the employer.
    let clear = b.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            employer: Some(String::new()),
            ..Fields::default()
        },
    );
    let mut states = Vec::new();
    for order in [[0, 1], [1, 0]] {
        let s = start_on(backend).await;
        let ta = s.token(Role::Agent, "budi", &["33.72"]);
        let tb = s.token(Role::Agent, "rina", &["33.72"]);
        let sup = s.token(Role::Supervisor, "sari", &["33.72"]);
        for i in order {
            let (_, r) = if i == 0 {
                s.push(&ta, &a, std::slice::from_ref(&register)).await
            } else {
                s.push(&tb, &b, std::slice::from_ref(&clear)).await
            };
            assert_ne!(r["results"][0]["outcome"], "rejected", "{r}");
        }
        let (_, p) = s.get(&sup, &format!("/api/v1/persons/{NIK}")).await;
        let (_, review) = s.get(&sup, "/api/v1/review").await;
        let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
        assert_eq!(
            review["persons"][0]["issues"][0]["code"],
            "missing_employer"
        );
        assert_eq!(review["persons"][0]["covered"], true);
        states.push((
            p["fields"].clone(),
            review["persons"].clone(),
            cov["figures"].clone(),
        ));
    }
    assert_eq!(states[0], states[1]);
    assert_eq!(states[0].2["covered"], 1);
}

async fn the_review_list_is_scoped_to_the_supervisors_areas(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "budi", &["33.72"]);
    let laweyan = s.token(Role::Supervisor, "sari", &["33.72.01"]);
    let serengan = s.token(Role::Supervisor, "dewi", &["33.72.02"]);
    let mut d = Device::new();
    let reg = d.register(NIK, "Budi", PAJANG, 1, 1);
    let pu = d.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            category: Some(Category::Pu),
            ..Fields::default()
        },
    );
    let (_, r) = s.push(&agent, &d, &[reg, pu]).await;
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    let (_, mine) = s.get(&laweyan, "/api/v1/review?area=33.72.01.1001").await;
    assert_eq!(mine["persons"][0]["nik"], NIK);
    assert_eq!(mine["persons"][0]["kelurahan"], PAJANG);
    let (_, theirs) = s.get(&serengan, "/api/v1/review").await;
    assert_eq!(theirs["persons"], json!([]));
    let (st, body) = s.get(&laweyan, "/api/v1/review?area=nonsense").await;
    assert_eq!((st, code(&body)), (StatusCode::BAD_REQUEST, "invalid_area"));
}

async fn the_feed_says_when_and_why_a_person_was_voided_and_who_wrote_last(backend: Backend) {
    let s = start_on(backend).await;
    let budi = s.token(Role::Agent, "budi", &["33.72"]);
    let rina = s.token(Role::Agent, "rina", &["33.72"]);
    let mut a = Device::new();
    let mut b = Device::new();
    let first = a.register(NIK, "Budi", PAJANG, 1, 1);
    s.push(&budi, &a, &[first]).await;
    b.millis = a.millis + 60_000;
    let void = b.change(
        NIK,
        ChangeKind::Void,
        Fields {
            status: Some(Status::Void),
            void_reason: Some("duplicate form".into()),
            ..Fields::default()
        },
    );
    let at = void.hlc.millis;
    let (_, r) = s.push(&rina, &b, &[void]).await;
    assert_eq!(outcomes(&r), ["merged"]);
    let (_, page) = s
        .get(&budi, &format!("/api/v1/sync/pull?device={}", a.id))
        .await;
    let p = &page["persons"][0];
    assert_eq!(p["status"], "void");
    assert_eq!(p["voided_at"], at);
    assert_eq!(p["void_reason"], "duplicate form");
    assert_eq!(p["last_changed_by"], "rina");
}

async fn a_supervisor_of_both_areas_moves_a_person_between_kecamatan(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "budi", &["33.72.01"]);
    let kota = s.token(Role::Supervisor, "sari", &["33.72"]);
    let laweyan = s.token(Role::Supervisor, "dewi", &["33.72.01"]);
    let mut d = Device::new();
    let first = d.register(NIK, "Budi", PAJANG, 1, 1);
    s.push(&agent, &d, &[first]).await;
    let path = format!("/api/v1/persons/{NIK}/move");
    let to = json!({"kelurahan": "33.72.05.1001", "rw": 2, "rt": 3});
    // Agents may not; a supervisor of one of the two areas may not.
    let (st, _) = s.post(&agent, &path, &to).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.post(&laweyan, &path, &to).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = s
        .post(
            &kota,
            &path,
            &json!({"kelurahan": "33.72.05.1001", "rw": 0, "rt": 3}),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rw_rt")
    );
    let (st, body) = s.post(&kota, &path, &to).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["fields"]["kelurahan"], "33.72.05.1001");
    let (_, cov) = s
        .get(&kota, "/api/v1/coverage?area=33.72&year=2025&depth=1")
        .await;
    let by_kec: Vec<(Value, Value)> = cov["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["area"].clone(), c["figures"]["covered"].clone()))
        .collect();
    assert!(
        by_kec.contains(&(json!("33.72.05"), json!(1))),
        "{by_kec:?}"
    );
    assert!(
        by_kec.contains(&(json!("33.72.01"), json!(0))),
        "{by_kec:?}"
    );
    // The history names the supervisor; the agent of Laweyan no longer
    // writes the person.
    let (_, p) = s
        .get(&kota, &format!("/api/v1/persons/{NIK}?history=true"))
        .await;
    let last = p["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["agent"], "sari");
    let edit = d.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            occupation: Some("ojek".into()),
            ..Fields::default()
        },
    );
    let (_, r) = s.push(&agent, &d, &[edit]).await;
    assert_eq!(r["results"][0]["code"], "area_not_assigned");
}

on_both_backends!(
    a_device_belongs_to_the_token_that_first_pushed_for_it,
    a_change_may_not_pose_as_another_device_nor_number_itself_out_of_range,
    a_clock_far_ahead_is_refused_kept_out_of_the_log_and_taken_once_restamped,
    an_agent_cannot_move_or_void_a_person_of_another_area,
    acceptance_does_not_depend_on_what_arrived_before,
    the_review_list_is_scoped_to_the_supervisors_areas,
    the_feed_says_when_and_why_a_person_was_voided_and_who_wrote_last,
    a_supervisor_of_both_areas_moves_a_person_between_kecamatan,
);

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Push, pull and the device log through real HTTP.

mod common;

use common::{Backend, Device, Server, outcomes, start_on};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::Role;
use sigap_shared::merge::Fields;
use sigap_shared::wire::ChangeKind;
use sigap_shared::{Nik, nik_lookup_hash};

const LAWEYAN_KEL: &str = "33.72.01.1001";

async fn replayed_batch_applies_nothing_twice(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let mut d = Device::new();
    let batch = vec![
        d.register("3372011203850001", "Budi Santoso", LAWEYAN_KEL, 3, 5),
        d.register("3372015204900002", "Siti Aminah", LAWEYAN_KEL, 3, 6),
    ];
    let (st, first) = s.push(&agent, &d, &batch).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    assert_eq!(outcomes(&first), ["applied", "applied"]);
    let (_, again) = s.push(&agent, &d, &batch).await;
    assert_eq!(outcomes(&again), ["duplicate", "duplicate"]);
    assert_eq!(first["receipt"], again["receipt"]);
    assert_eq!(again["receipt"]["count"], 2);
    assert_eq!(again["receipt"]["highest_seq"], 2);
    let ids: Vec<_> = batch.iter().map(|c| c.id).collect();
    assert_eq!(
        again["receipt"]["hash"],
        sigap_shared::wire::ReceiptHash::of(&ids).to_hex()
    );
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
    assert_eq!(cov["figures"]["covered"], 2);
    let (_, page) = s.get(&agent, "/api/v1/sync/pull").await;
    assert_eq!(page["persons"].as_array().unwrap().len(), 2);
}

async fn reused_sequence_number_is_a_seq_conflict(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let mut d = Device::new();
    let a = d.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    let mut b = d.register("3372015204900002", "Siti", LAWEYAN_KEL, 1, 1);
    b.device_seq = a.device_seq;
    let (_, r) = s.push(&agent, &d, &[a]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    let (_, r) = s.push(&agent, &d, &[b]).await;
    assert_eq!(r["results"][0]["outcome"], "rejected");
    assert_eq!(r["results"][0]["code"], "seq_conflict");
    assert_eq!(r["receipt"]["count"], 1);
}

async fn a_change_id_sent_again_with_other_content_is_id_reused(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let mut d = Device::new();
    let a = d.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    let (_, r) = s.push(&agent, &d, std::slice::from_ref(&a)).await;
    assert_eq!(outcomes(&r), ["applied"]);
    // The same id under the next number (the fast path: numbered above
    // everything logged) and under its own number with another name.
    let mut renumbered = a.clone();
    renumbered.device_seq = 2;
    let mut rewritten = a.clone();
    rewritten.fields.name = Some("Budi Santoso".into());
    for again in [renumbered, rewritten] {
        let (_, r) = s.push(&agent, &d, &[again]).await;
        assert_eq!(r["results"][0]["code"], "id_reused", "{r}");
        assert_eq!(r["receipt"]["count"], 1);
    }
    // Exactly the same change again is a duplicate.
    let (_, r) = s.push(&agent, &d, &[a]).await;
    assert_eq!(outcomes(&r), ["duplicate"]);
    let (_, p) = s.get(&sup, "/api/v1/persons/3372011203850001").await;
    assert_eq!(p["fields"]["name"], "Budi");
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
    assert_eq!(cov["figures"]["covered"], 1);
}

async fn pages_arriving_out_of_order_take_effect_in_the_devices_order(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let mut d = Device::new();
    let nik = "3372011203850001";
    let page1 = vec![
        d.register(nik, "Budi", LAWEYAN_KEL, 1, 1),
        d.register("3372015204900002", "Siti", LAWEYAN_KEL, 1, 2),
    ];
    let page2 = vec![
        d.change(
            nik,
            ChangeKind::Edit,
            Fields {
                occupation: Some("ojek".into()),
                ..Default::default()
            },
        ),
        d.change(
            nik,
            ChangeKind::Void,
            Fields {
                status: Some(sigap_shared::Status::Void),
                void_reason: Some("duplicate form".into()),
                ..Default::default()
            },
        ),
    ];
    // Page 2 first: it waits, nothing of it is held.
    let (_, r) = s.push(&agent, &d, &page2).await;
    assert_eq!(outcomes(&r), ["pending", "pending"]);
    assert_eq!(r["receipt"]["count"], 0);
    let (_, r) = s.push(&agent, &d, &page1).await;
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    assert_eq!(r["receipt"]["highest_seq"], 2);
    let (_, r) = s.push(&agent, &d, &page2).await;
    assert_eq!(outcomes(&r), ["applied", "applied"]);
    assert_eq!(r["receipt"]["highest_seq"], 4);
    assert_eq!(r["receipt"]["max_seq"], 4);
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{nik}")).await;
    assert_eq!(p["fields"]["status"], "void");
    assert_eq!(p["fields"]["occupation"], "ojek");
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
    assert_eq!(cov["figures"]["covered"], 1);
}

async fn an_edit_that_arrives_before_its_registration_waits_in_a_partial_record(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let other = s.token(Role::Agent, "agent-2", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let nik = "3372011203850001";
    let mut a = Device::new();
    let mut b = Device::new();
    let reg = a.register(nik, "Budi", LAWEYAN_KEL, 1, 1);
    b.millis = a.millis + 5_000;
    let edit = b.change(
        nik,
        ChangeKind::Edit,
        Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        },
    );
    let (_, r) = s.push(&other, &b, &[edit]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    // Known in part: not counted, listed for review.
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
    assert_eq!(cov["figures"]["covered"], 0);
    let (st, review) = s.get(&sup, "/api/v1/review").await;
    assert_eq!(st, StatusCode::OK, "{review}");
    let admin = s.token(Role::Admin, "admin", &[]);
    let (_, all) = s.get(&admin, "/api/v1/review").await;
    assert_eq!(
        all["persons"][0]["issues"][0]["code"],
        "incomplete_registration"
    );
    // The registration wrote no phone, earlier than agent-2's edit: the
    // agent is told the server keeps agent-2's phone.
    let (_, r) = s.push(&agent, &a, &[reg]).await;
    assert_eq!(outcomes(&r), ["superseded"]);
    assert_eq!(r["results"][0]["fields"], json!(["phone"]));
    assert_eq!(r["results"][0]["by"], json!(["agent-2"]));
    let (_, p) = s.get(&sup, &format!("/api/v1/persons/{nik}")).await;
    assert_eq!(p["fields"]["phone"], "081234567890");
    assert_eq!(p["fields"]["name"], "Budi");
    let (_, cov) = s.get(&sup, "/api/v1/coverage?area=33.72&year=2025").await;
    assert_eq!(cov["figures"]["covered"], 1);
    let (_, all) = s.get(&admin, "/api/v1/review").await;
    assert_eq!(all["persons"], json!([]));
}

async fn registration_outside_the_agents_areas_is_area_not_assigned(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.02"]);
    let mut d = Device::new();
    let c = d.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    let (st, r) = s.push(&agent, &d, &[c]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["results"][0]["code"], "area_not_assigned");
    assert!(
        r["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Pajang")
    );
}

async fn invalid_registration_is_rejected_with_the_domain_code(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72"]);
    let mut d = Device::new();
    let mut c = d.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    c.fields.birth_date = Some(time::macros::date!(1985 - 03 - 13));
    let (_, r) = s.push(&agent, &d, &[c]).await;
    assert_eq!(r["results"][0]["code"], "birth_date_mismatch");
}

async fn a_change_from_another_device_in_the_batch_is_device_mismatch(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72"]);
    let mut d = Device::new();
    let mut other = Device::new();
    let c = other.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    let (_, r) = s.push(&agent, &d, &[c]).await;
    assert_eq!(r["results"][0]["code"], "device_mismatch");
    let ok = d.register("3372015204900002", "Siti", LAWEYAN_KEL, 1, 1);
    let (_, r) = s.push(&agent, &d, &[ok]).await;
    assert_eq!(outcomes(&r), ["applied"]);
}

async fn pull_pages_through_the_agents_areas_only(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "laweyan", &["33.72.01"]);
    let all = s.token(Role::Agent, "kota", &["33.72"]);
    let mut d = Device::new();
    let mut changes = Vec::new();
    for i in 0..5 {
        changes.push(d.register(&common::nik("337201", i), "Budi", LAWEYAN_KEL, 1, 1));
    }
    changes.push(d.register(&common::nik("337202", 0), "Agus", "33.72.02.1001", 1, 1));
    let (_, r) = s.push(&all, &d, &changes).await;
    assert!(outcomes(&r).iter().all(|o| o == "applied"), "{r}");
    let mut cursor = 0;
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let r = s
            .client
            .get(format!(
                "{}/api/v1/sync/pull?cursor={cursor}&limit=2",
                s.url
            ))
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let header = r
            .headers()
            .get(sigap_shared::wire::PULL_NEXT_HEADER)
            .map(|v| v.to_str().unwrap().to_string());
        let page: Value = r.json().await.unwrap();
        pages += 1;
        seen += page["persons"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_u64().unwrap();
        let more = page["has_more"].as_bool().unwrap();
        // The header says before the body where the next page starts.
        assert_eq!(
            header
                .as_deref()
                .and_then(sigap_shared::wire::parse_pull_next),
            Some((cursor, more)),
            "{header:?} {page}"
        );
        if !more {
            break;
        }
    }
    assert_eq!(seen, 5);
    assert_eq!(pages, 3);
    let (_, empty) = s
        .get(&agent, &format!("/api/v1/sync/pull?cursor={cursor}"))
        .await;
    assert_eq!(empty["persons"], json!([]));
    assert_eq!(empty["next_cursor"].as_u64(), Some(cursor));
    let (_, p) = s.get(&all, "/api/v1/sync/pull").await;
    assert_eq!(p["persons"].as_array().unwrap().len(), 6);
    assert_eq!(p["persons"][0]["registered_by"], "kota");
}

async fn device_status_reports_the_receipt(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72"]);
    let mut d = Device::new();
    let c = d.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    let (_, pushed) = s.push(&agent, &d, &[c]).await;
    let (st, status) = s
        .get(&agent, &format!("/api/v1/sync/device/{}", d.id))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(status["receipt"], pushed["receipt"]);
    assert_eq!(status["protocol"], 3);
    let fresh = uuid::Uuid::now_v7();
    let (_, status) = s.get(&agent, &format!("/api/v1/sync/device/{fresh}")).await;
    assert_eq!(status["receipt"]["count"], 0);
    let (st, err) = s.get(&agent, "/api/v1/sync/device/not-a-uuid").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "invalid_device_id");
}

async fn the_same_changes_in_any_order_give_the_same_persons_and_coverage(backend: Backend) {
    let mut a = Device::new();
    let mut b = Device::new();
    let nik1 = "3372011203850001";
    let nik2 = "3372015204900002";
    let mut changes = vec![
        a.register(nik1, "Budi Santoso", LAWEYAN_KEL, 3, 5),
        b.register(nik1, "Budi Santoso", "33.72.01.1002", 2, 1),
        a.register(nik2, "Siti", LAWEYAN_KEL, 1, 1),
    ];
    changes.push(a.change(
        nik2,
        ChangeKind::Void,
        Fields {
            status: Some(sigap_shared::Status::Void),
            void_reason: Some("moved away".into()),
            ..Default::default()
        },
    ));
    changes.push(b.change(
        nik1,
        ChangeKind::Edit,
        Fields {
            occupation: Some("ojek".into()),
            ..Default::default()
        },
    ));
    let mut results = Vec::new();
    // Each device's changes keep their outbox order; devices interleave.
    for order in [
        vec![0, 1, 2, 3, 4],
        vec![1, 4, 0, 2, 3],
        vec![1, 0, 4, 2, 3],
    ] {
        let s = start_on(backend).await;
        let agent = s.token(Role::Agent, "agent", &["33.72"]);
        let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
        for i in order {
            let c = &changes[i];
            let dev = if c.device_id == a.id { &a } else { &b };
            let (st, r) = s.push(&agent, dev, std::slice::from_ref(c)).await;
            assert_eq!(st, StatusCode::OK);
            assert_ne!(r["results"][0]["outcome"], "rejected", "{r}");
        }
        let (_, page) = s.get(&agent, "/api/v1/sync/pull").await;
        // Each server keys its hashes with its own secret: compared by
        // the NIK they stand for.
        let nik_of = |hash: &Value| {
            changes
                .iter()
                .map(|c| c.nik.as_str().to_string())
                .find(|nik| hash_of(&s, nik) == hash.as_str().unwrap_or(""))
                .unwrap()
        };
        let mut persons: Vec<_> = page["persons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.as_object_mut().unwrap().remove("seq");
                p["nik_hash"] = Value::from(nik_of(&p["nik_hash"]));
                p
            })
            .collect();
        persons.sort_by_key(|p| p["nik_hash"].as_str().unwrap().to_string());
        let (_, cov) = s
            .get(&sup, "/api/v1/coverage?area=33.72&year=2025&depth=4")
            .await;
        let (_, budi) = s.get(&sup, &format!("/api/v1/persons/{nik1}")).await;
        results.push((persons, cov, budi["fields"].clone()));
    }
    for r in &results[1..] {
        assert!(
            r.0 == results[0].0,
            "persons differ: {:?} vs {:?}",
            r.0,
            results[0].0
        );
        assert!(r.1 == results[0].1, "coverage differs");
        assert!(r.2 == results[0].2, "merged fields differ");
    }
    assert_eq!(results[0].1["figures"]["covered"], 1);
    let budi = results[0].0.iter().find(|p| p["nik_hash"] == nik1).unwrap();
    assert_eq!(budi["kelurahan"], "33.72.01.1002");
    assert_eq!(results[0].2["kelurahan"], "33.72.01.1002");
    assert_eq!(results[0].2["occupation"], "ojek");
}

async fn pull_sends_masked_persons_without_niks_or_names(backend: Backend) {
    use sigap_server::store::RollRow;
    let s = start_on(backend).await;
    let budi_agent = s.token(Role::Agent, "agent-budi", &["33.72.01"]);
    let other_agent = s.token(Role::Agent, "agent-siti", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72.01"]);
    let registered = "3372011203850001";
    let participant = "3372015204900002";
    let mut d = Device::new();
    let mut c = d.register(registered, "Budi Santoso", LAWEYAN_KEL, 3, 5);
    c.fields.phone = Some("081234567890".into());
    c.fields.occupation = Some("tukang becak".into());
    let (_, r) = s.push(&budi_agent, &d, &[c]).await;
    assert_eq!(outcomes(&r), ["applied"], "{r}");
    s.store
        .import_participants(&[RollRow {
            nik: Nik::parse(participant).unwrap(),
            kelurahan: sigap_shared::AreaCode::parse("33.72.01.1002").unwrap(),
            rw: 1,
            rt: 2,
            category: sigap_shared::Category::Pu,
        }])
        .unwrap();

    let resp = s
        .client
        .get(format!("{}/api/v1/sync/pull", s.url))
        .bearer_auth(&other_agent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    for secret in [
        registered,
        participant,
        "Budi",
        "Santoso",
        "081234567890",
        "tukang becak",
        "1985-03-12",
    ] {
        assert!(!body.contains(secret), "pull leaks {secret}: {body}");
    }
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    let persons = page["persons"].as_array().unwrap();
    assert_eq!(persons.len(), 2);
    let budi = &persons[0];
    assert_eq!(
        budi["nik_hash"],
        nik_lookup_hash(
            &s.store.replica_key().unwrap(),
            &Nik::parse(registered).unwrap()
        )
    );
    assert_eq!(budi["nik_masked"], "**************01");
    assert_eq!(budi["name_masked"], "B*** S******");
    assert_eq!(budi["kelurahan"], LAWEYAN_KEL);
    assert_eq!(
        (budi["rw"].as_u64(), budi["rt"].as_u64()),
        (Some(3), Some(5))
    );
    assert_eq!(budi["category"], "bpu");
    assert_eq!(budi["status"], "registered");
    assert_eq!(budi["registered_by"], "agent-budi");
    assert_eq!(budi["participant"], false);
    for gone in ["nik", "fields", "name", "birth_date", "phone", "occupation"] {
        assert!(budi.get(gone).is_none(), "{gone} in {budi}");
    }
    let roll = &persons[1];
    assert_eq!(
        roll["nik_hash"],
        nik_lookup_hash(
            &s.store.replica_key().unwrap(),
            &Nik::parse(participant).unwrap()
        )
    );
    assert_eq!(roll["nik_masked"], "**************02");
    assert_eq!(roll["participant"], true);
    assert!(roll.get("name_masked").is_none());
    assert_eq!(roll["kelurahan"], "33.72.01.1002");

    // The supervisor of the area still reads the full record.
    let (st, p) = s.get(&sup, &format!("/api/v1/persons/{registered}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p["nik"], registered);
    assert_eq!(p["fields"]["name"], "Budi Santoso");
    assert_eq!(p["fields"]["phone"], "081234567890");
}

async fn a_roll_participant_registered_in_the_field_is_counted_once(backend: Backend) {
    use sigap_server::store::RollRow;
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72.01"]);
    let nik = "3372011203850001";
    s.store
        .import_participants(&[RollRow {
            nik: sigap_shared::Nik::parse(nik).unwrap(),
            kelurahan: sigap_shared::AreaCode::parse(LAWEYAN_KEL).unwrap(),
            rw: 3,
            rt: 5,
            category: sigap_shared::Category::Pu,
        }])
        .unwrap();
    let (_, page) = s.get(&agent, "/api/v1/sync/pull").await;
    assert_eq!(page["persons"][0]["participant"], true);
    let mut d = Device::new();
    let c = d.register(nik, "Budi Santoso", LAWEYAN_KEL, 3, 5);
    let (_, r) = s.push(&agent, &d, &[c]).await;
    assert_eq!(outcomes(&r), ["merged"], "{r}");
    let (_, cov) = s
        .get(&sup, "/api/v1/coverage?area=33.72.01&year=2025")
        .await;
    assert_eq!(cov["figures"]["covered"], 1);
    assert_eq!(cov["by_category"]["bpu"], 1);
    assert_eq!(cov["by_category"]["pu"], 0);
    let (_, page) = s.get(&agent, "/api/v1/sync/pull").await;
    assert_eq!(page["persons"].as_array().unwrap().len(), 1);
    assert_eq!(page["persons"][0]["participant"], true);
    assert_eq!(page["persons"][0]["registered_by"], "agent-1");
    let report = s.store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
}

async fn coverage_answers_follow_every_write_even_from_another_process(backend: Backend) {
    use sigap_server::store::Baseline;
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let ask = "/api/v1/coverage?area=33.72&year=2025&depth=4";
    let (_, before) = s.get(&sup, ask).await;
    assert_eq!(before["figures"]["covered"], 0);
    let (_, again) = s.get(&sup, ask).await;
    assert_eq!(before, again);

    let mut d = Device::new();
    let one = d.register("3372011203850001", "Budi", LAWEYAN_KEL, 1, 1);
    let (_, r) = s.push(&agent, &d, &[one]).await;
    assert_eq!(outcomes(&r), ["applied"]);
    let (_, after_push) = s.get(&sup, ask).await;
    assert_eq!(after_push["figures"]["covered"], 1);

    // `sigap-server baseline set` runs as another process on the same
    // database.
    let admin = s.another_store();
    admin
        .set_baselines(&[Baseline {
            area: sigap_shared::AreaCode::parse("33.72").unwrap(),
            year: 2025,
            working_population: 4,
        }])
        .unwrap();
    let (_, after_baseline) = s.get(&sup, ask).await;
    assert_eq!(after_baseline["figures"]["working_population"], 4);
    assert_eq!(after_baseline["figures"]["coverage"], "25.00%");
}

/// The NIK lookup hashes in a pull page.
fn hashes(page: &serde_json::Value) -> Vec<String> {
    page["persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["nik_hash"].as_str().unwrap().to_string())
        .collect()
}

fn hash_of(s: &Server, nik: &str) -> String {
    nik_lookup_hash(&s.store.replica_key().unwrap(), &Nik::parse(nik).unwrap())
}

async fn a_device_is_not_sent_back_the_persons_only_it_has_written(backend: Backend) {
    use sigap_server::store::RollRow;
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let other_agent = s.token(Role::Agent, "agent-2", &["33.72.01"]);
    let mut mine = Device::new();
    let mut other = Device::new();
    let own: Vec<String> = (0..30).map(|i| common::nik("337201", i)).collect();
    let shared = common::nik("337201", 100);
    let theirs = common::nik("337201", 101);
    let rolled = common::nik("337201", 102);
    let mut batch: Vec<_> = own
        .iter()
        .map(|n| mine.register(n, "Budi", LAWEYAN_KEL, 1, 1))
        .collect();
    batch.push(mine.register(&shared, "Sari", LAWEYAN_KEL, 1, 2));
    batch.push(mine.register(&rolled, "Agus", LAWEYAN_KEL, 1, 3));
    let (_, r) = s.push(&agent, &mine, &batch).await;
    assert!(outcomes(&r).iter().all(|o| o == "applied"), "{r}");
    // Another device writes one of them (later: an older write that
    // changes nothing leaves the person as this device has it) and one of
    // its own; the roll makes another a participant.
    other.millis = mine.millis;
    let edit = other.change(
        &shared,
        ChangeKind::Edit,
        Fields {
            phone: Some("081234567890".into()),
            ..Fields::default()
        },
    );
    let reg = other.register(&theirs, "Tini", LAWEYAN_KEL, 2, 1);
    let (_, r) = s.push(&other_agent, &other, &[edit, reg]).await;
    assert_eq!(outcomes(&r), ["merged", "applied"], "{r}");
    s.store
        .import_participants(&[RollRow {
            nik: Nik::parse(&rolled).unwrap(),
            kelurahan: sigap_shared::AreaCode::parse(LAWEYAN_KEL).unwrap(),
            rw: 1,
            rt: 3,
            category: sigap_shared::Category::Pu,
        }])
        .unwrap();

    // Naming the device leaves out its own 30, in small pages too; the
    // cursor moves past them.
    let mut cursor = 0;
    let mut got = Vec::new();
    loop {
        let (st, page) = s
            .get(
                &agent,
                &format!(
                    "/api/v1/sync/pull?cursor={cursor}&limit=1&device={}",
                    mine.id
                ),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        got.extend(hashes(&page));
        let next = page["next_cursor"].as_u64().unwrap();
        assert!(next > cursor || !page["has_more"].as_bool().unwrap());
        cursor = next;
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    got.sort();
    let mut want = vec![
        hash_of(&s, &shared),
        hash_of(&s, &theirs),
        hash_of(&s, &rolled),
    ];
    want.sort();
    assert_eq!(got, want);
    let (_, last) = s.get(&agent, "/api/v1/sync/pull?limit=5000").await;
    assert_eq!(cursor, last["next_cursor"].as_u64().unwrap());

    // Without the device (older clients), or as the other device, all 33.
    assert_eq!(hashes(&last).len(), 33);
    let (_, as_other) = s
        .get(
            &other_agent,
            &format!("/api/v1/sync/pull?limit=5000&device={}", other.id),
        )
        .await;
    let as_other = hashes(&as_other);
    assert_eq!(as_other.len(), 32);
    assert!(!as_other.contains(&hash_of(&s, &theirs)));

    // A later write by another device sends the person again.
    let edit = other.change(
        &own[0],
        ChangeKind::Edit,
        Fields {
            phone: Some("081234567891".into()),
            ..Fields::default()
        },
    );
    let (_, r) = s.push(&other_agent, &other, &[edit]).await;
    assert_eq!(outcomes(&r), ["merged"], "{r}");
    let (_, page) = s
        .get(
            &agent,
            &format!("/api/v1/sync/pull?cursor={cursor}&device={}", mine.id),
        )
        .await;
    assert_eq!(hashes(&page), [hash_of(&s, &own[0])]);

    let (st, bad) = s.get(&agent, "/api/v1/sync/pull?device=laptop-budi").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["code"], "invalid_device_id");
}

/// `sigap sync` keeps two pages in flight: when the later one reaches the
/// server first, it waits for the earlier one instead of coming back
/// `pending` (and being sent again).
async fn a_later_page_that_arrives_first_waits_for_the_earlier_one(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent-1", &["33.72.01"]);
    let mut d = Device::new();
    let nik = "3372011203850001";
    let page1 = vec![d.register(nik, "Budi", LAWEYAN_KEL, 1, 1)];
    let page2 = vec![d.change(
        nik,
        ChangeKind::Void,
        Fields {
            status: Some(sigap_shared::Status::Void),
            void_reason: Some("duplicate form".into()),
            ..Default::default()
        },
    )];
    let later = s.push(&agent, &d, &page2);
    let earlier = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        s.push(&agent, &d, &page1).await
    };
    let ((_, r2), (_, r1)) = tokio::join!(later, earlier);
    assert_eq!(outcomes(&r1), ["applied"]);
    assert_eq!(outcomes(&r2), ["applied"], "{r2}");
    assert_eq!(r2["receipt"]["highest_seq"], 2);
}

on_both_backends!(
    replayed_batch_applies_nothing_twice,
    reused_sequence_number_is_a_seq_conflict,
    a_change_id_sent_again_with_other_content_is_id_reused,
    pages_arriving_out_of_order_take_effect_in_the_devices_order,
    an_edit_that_arrives_before_its_registration_waits_in_a_partial_record,
    registration_outside_the_agents_areas_is_area_not_assigned,
    invalid_registration_is_rejected_with_the_domain_code,
    a_change_from_another_device_in_the_batch_is_device_mismatch,
    pull_pages_through_the_agents_areas_only,
    device_status_reports_the_receipt,
    the_same_changes_in_any_order_give_the_same_persons_and_coverage,
    pull_sends_masked_persons_without_niks_or_names,
    a_roll_participant_registered_in_the_field_is_counted_once,
    coverage_answers_follow_every_write_even_from_another_process,
    a_device_is_not_sent_back_the_persons_only_it_has_written,
    a_later_page_that_arrives_first_waits_for_the_earlier_one,
);

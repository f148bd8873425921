//! Personal data requests: a supervisor of the person's area exports
//! everything held about one person; an admin erases the person's
//! personal fields, which leaves the coverage count as it was and leaves
//! no trace of them in the API or the database file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Device, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::Role;

const NIK: &str = "3372015505900002";

#[tokio::test]
async fn export_then_erase_keeps_the_count_and_nothing_personal() {
    let s = start().await;
    let budi = s.token(Role::Agent, "budi", &["33.72.01"]);
    let rina = s.token(Role::Agent, "rina", &["33.72.01"]);
    let sup = s.token(Role::Supervisor, "sari", &["33.72.01"]);
    let sup_else = s.token(Role::Supervisor, "dewi", &["33.72.05"]);
    let admin = s.token(Role::Admin, "admin", &[]);

    // Two agents register her with different names and phones: a
    // conflict, and a history with both.
    let mut d1 = Device::new();
    let mut a = d1.register(NIK, "Siti Rahayu", "33.72.01.1001", 1, 2);
    a.fields.phone = Some("081234567890".into());
    let (st, _) = s.push(&budi, &d1, &[a]).await;
    assert_eq!(st, StatusCode::OK);
    let mut d2 = Device::new();
    let mut b = d2.register(NIK, "Sitti Rahayoe", "33.72.01.1001", 1, 2);
    b.fields.phone = Some("085799887766".into());
    b.fields.occupation = Some("penjahit".into());
    let (st, _) = s.push(&rina, &d2, &[b]).await;
    assert_eq!(st, StatusCode::OK);
    let (_, before) = s.get(&sup, "/api/v1/coverage?area=33.72.01").await;

    // The access request.
    let path = format!("/api/v1/persons/{NIK}/export");
    let (st, export) = s.get(&sup, &path).await;
    assert_eq!(st, StatusCode::OK, "{export}");
    let text = export.to_string();
    for held in [
        "Siti Rahayu",
        "Sitti Rahayoe",
        "081234567890",
        "085799887766",
        "budi",
        "rina",
    ] {
        assert!(text.contains(held), "the export holds {held}: {export}");
    }
    assert_eq!(export["person"]["history"].as_array().unwrap().len(), 2);
    assert_eq!(export["conflicts"].as_array().unwrap().len(), 1, "{export}");
    assert_eq!(export["exported_by"], "sari");
    for (token, who) in [
        (&sup_else, "another area's supervisor"),
        (&budi, "an agent"),
    ] {
        let (st, body) = s.get(token, &path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{who}: {body}");
    }

    // Erasure: admins only, with a reason.
    let erase = format!("/api/v1/persons/{NIK}/erase");
    let (st, _) = s
        .post(&sup, &erase, &json!({"reason": "PDP-2026-17"}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = s.post(&admin, &erase, &json!({"reason": " "})).await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_reason"))
    );
    let (st, body) = s
        .post(
            &admin,
            "/api/v1/persons/3372019999990009/erase",
            &json!({"reason": "x"}),
        )
        .await;
    assert!(st.is_client_error(), "{body}");
    let (st, erased) = s
        .post(&admin, &erase, &json!({"reason": "PDP-2026-17"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{erased}");
    assert!(
        erased["changes_scrubbed"].as_u64().unwrap() >= 2,
        "{erased}"
    );
    assert_eq!(erased["conflicts_scrubbed"], 1, "{erased}");
    assert!(
        !erased.to_string().contains(NIK),
        "the answer masks the NIK: {erased}"
    );

    // Counted as before, in the same place and category.
    let (_, after) = s.get(&sup, "/api/v1/coverage?area=33.72.01").await;
    assert_eq!(after["figures"], before["figures"]);
    assert_eq!(after["by_category"], before["by_category"]);

    // Nothing personal left in what the API gives.
    let (st, export) = s.get(&sup, &path).await;
    assert_eq!(st, StatusCode::OK);
    let text = export.to_string();
    for gone in [
        "Siti",
        "Sitti",
        "Rahay",
        "081234567890",
        "085799887766",
        "penjahit",
        "pedagang",
    ] {
        assert!(!text.contains(gone), "{gone} is still held: {export}");
    }
    assert_eq!(export["person"]["fields"]["name"], "[dihapus]");
    assert_eq!(export["person"]["covered"], true);
    let history = export["person"]["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        last["agent"], "admin",
        "the erasure is a change with an author: {last}"
    );
    let (_, review) = s.get(&sup, "/api/v1/review").await;
    assert!(!review.to_string().contains("Rahay"), "{review}");

    // The agents' feed shows the erased name, masked.
    let (_, page) = s.get(&budi, "/api/v1/sync/pull").await;
    let person = page["persons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["nik_masked"] == "3372**********02")
        .cloned()
        .unwrap_or(Value::Null);
    assert_ne!(person["name_masked"], "S*** R*****", "{page}");

    // And not in the database file either, once the log is checkpointed.
    s.sqlite()
        .with_writer(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
        .unwrap();
    let where_left: Vec<String> = s
        .sqlite()
        .with_writer(|c| {
            let tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut found = Vec::new();
            for t in tables {
                let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\""))?;
                let n = stmt.column_count();
                let names: Vec<String> =
                    stmt.column_names().iter().map(|s| s.to_string()).collect();
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    for (i, name) in names.iter().enumerate().take(n) {
                        let v: rusqlite::types::Value = r.get(i)?;
                        if format!("{v:?}").contains("Rahay") {
                            found.push(format!("{t}.{name}"));
                        }
                    }
                }
            }
            Ok(found)
        })
        .unwrap();
    assert!(where_left.is_empty(), "still held in {where_left:?}");
    let db = s.sqlite().path().to_path_buf();
    let bytes = std::fs::read(&db).unwrap();
    for gone in [
        "Siti Rahayu",
        "Sitti Rahayoe",
        "081234567890",
        "085799887766",
    ] {
        assert!(
            !bytes.windows(gone.len()).any(|w| w == gone.as_bytes()),
            "{gone} is still in {}",
            db.display()
        );
    }
}

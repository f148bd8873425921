#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The feed's lookup hashes are keyed with a secret of the deployment,
//! which the server hands only to an enrolled device's own token.
//! Through real HTTP.

mod common;

use std::sync::Arc;

use common::{Device, Server, outcomes, serve, start};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigap_server::store::{Role, SqliteStore, Store};
use sigap_shared::{Nik, ReplicaKey};

const BUDI: &str = "3372011203850001";
const KEL: &str = "33.72.01.1001";

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// The key handed to `device` on `token`.
async fn key_for(s: &Server, token: &str, device: &Device) -> (StatusCode, Value) {
    s.get(token, &format!("/api/v1/sync/device/{}/key", device.id))
        .await
}

/// Registers Budi from a new device of a new agent and pulls the feed as
/// that agent: (the agent's token, its device, the pulled Budi).
async fn budi_pulled(s: &Server) -> (String, Device, Value) {
    let agent = s.token(Role::Agent, "agent-budi", &["33.72.01"]);
    let mut d = Device::new();
    let c = d.register(BUDI, "Budi Santoso", KEL, 3, 5);
    let (_, r) = s.push(&agent, &d, &[c]).await;
    assert_eq!(outcomes(&r), ["applied"], "{r}");
    let (st, page) = s.get(&agent, "/api/v1/sync/pull").await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let budi = page["persons"][0].clone();
    (agent, d, budi)
}

#[tokio::test]
async fn an_enrolled_device_gets_the_key_and_other_tokens_are_refused() {
    let s = start().await;
    let agent = s.token(Role::Agent, "agent-budi", &["33.72.01"]);
    let d = Device::new();
    // Asking enrols the device to the token, as reading its receipt does.
    let (st, body) = key_for(&s, &agent, &d).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["protocol"], sigap_shared::PROTOCOL_VERSION);
    let key = ReplicaKey::from_hex(body["key"].as_str().unwrap()).unwrap();
    assert_eq!(key, s.store.replica_key().unwrap());
    // Asked again: the same key.
    let (_, again) = key_for(&s, &agent, &d).await;
    assert_eq!(again["key"], body["key"]);

    // Another agent's token, for this device: not its device.
    let other = s.token(Role::Agent, "agent-siti", &["33.72.01"]);
    let (st, body) = key_for(&s, &other, &d).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::FORBIDDEN, "device_not_yours")
    );
    assert!(body.get("key").is_none() && !body.to_string().contains(&key.to_hex()));
    // A supervisor has no device.
    let sup = s.token(Role::Supervisor, "sup", &["33.72.01"]);
    let (st, body) = key_for(&s, &sup, &d).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.to_string().contains(&key.to_hex()));
    // No token, or a made-up one.
    let r = s
        .client
        .get(format!("{}/api/v1/sync/device/{}/key", s.url, d.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (st, body) = key_for(&s, "sigap_00", &d).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

#[tokio::test]
async fn feed_hashes_are_hmac_with_the_key_not_the_old_unkeyed_hash() {
    let s = start().await;
    let (agent, d, budi) = budi_pulled(&s).await;
    let (_, body) = key_for(&s, &agent, &d).await;
    let key = hex::decode(body["key"].as_str().unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("sigap-nik-v2:{BUDI}").as_bytes());
    let keyed = hex::encode(mac.finalize().into_bytes());
    assert_eq!(budi["nik_hash"], keyed);
    // Not the unkeyed hash that anyone could recompute from a guess.
    let unkeyed = hex::encode(Sha256::digest(format!("sigap-nik-v1:{BUDI}").as_bytes()));
    assert_ne!(budi["nik_hash"], unkeyed);
    // The masked NIK shows only what tells the person from the NIK typed.
    assert_eq!(budi["nik_masked"], "**************01");
    assert!(!budi.to_string().contains("3372011203"));
    let nik = Nik::parse(BUDI).unwrap();
    let key = ReplicaKey::from_hex(body["key"].as_str().unwrap()).unwrap();
    assert_eq!(budi["nik_hash"], sigap_shared::nik_lookup_hash(&key, &nik));
}

#[tokio::test]
async fn two_deployments_hash_the_same_person_differently_and_each_keeps_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let a = serve(Arc::new(SqliteStore::open(&path).unwrap())).await;
    let b = start().await;
    let (_, _, in_a) = budi_pulled(&a).await;
    let (_, _, in_b) = budi_pulled(&b).await;
    assert_ne!(
        a.store.replica_key().unwrap(),
        b.store.replica_key().unwrap()
    );
    assert_ne!(in_a["nik_hash"], in_b["nik_hash"]);
    assert_eq!(in_a["nik_masked"], in_b["nik_masked"]);

    // The key is made once: reopening the database keeps it, so the
    // devices' replicas stay valid across restarts.
    let before = a.store.replica_key().unwrap();
    drop(a);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.replica_key().unwrap(), before);
    let stored: Vec<u8> = reopened
        .with_writer(|c| {
            c.query_row(
                "SELECT value FROM secrets WHERE name = 'replica_key'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(stored.as_slice(), before.as_bytes());
}

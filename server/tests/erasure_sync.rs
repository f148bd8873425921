//! An admin's erasure of a person reaches the agents' feed: the pull
//! sends the erased person with `erased_at` (the erasure's clock), also
//! to the device that alone registered the person (whose own persons a
//! pull otherwise skips), so that its laptop can overwrite its own copy.
//! On SQLite, and on PostgreSQL when `SIGAP_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::Device;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::{NewToken, PgStore, Role, SqliteStore, Store};
use sigap_server::{AppState, app};
use sigap_shared::wire::{ChangeKind, PROTOCOL_HEADER, PullPage, PushRequest};
use sigap_shared::{AreaCode, Category, Fields, PROTOCOL_VERSION};

const NIK: &str = "3372015505900002";
const KEL: &str = "33.72.01.1001";

/// A server on `store`, its URL, and a client.
struct Api {
    url: String,
    store: Arc<dyn Store>,
    client: reqwest::Client,
}

impl Api {
    async fn serve(store: Arc<dyn Store>) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone());
        tokio::spawn(async move {
            axum::serve(listener, app(state)).await.unwrap();
        });
        Api {
            url,
            store,
            client: reqwest::Client::new(),
        }
    }

    fn token(&self, role: Role, name: &str, areas: &[&str]) -> String {
        let secret = sigap_server::token::generate();
        self.store
            .create_token(&NewToken {
                name: name.into(),
                role,
                areas: areas.iter().map(|a| AreaCode::parse(a).unwrap()).collect(),
                hash: sigap_server::token::hash(&secret),
                expires_at: None,
            })
            .unwrap();
        secret
    }

    async fn send(&self, req: reqwest::RequestBuilder, token: &str) -> (StatusCode, Value) {
        let r = req
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let req = self.client.get(format!("{}{path}", self.url));
        self.send(req, token).await
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let req = self.client.post(format!("{}{path}", self.url)).json(body);
        self.send(req, token).await
    }

    async fn push(&self, token: &str, device: &Device, changes: Vec<sigap_shared::Change>) {
        let req = PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: device.id,
            changes,
            pending: None,
        };
        let (st, body) = self
            .post(
                token,
                "/api/v1/sync/push",
                &serde_json::to_value(&req).unwrap(),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }

    /// The feed from `cursor`, as `device` (or any device) pulls it.
    async fn pull(&self, token: &str, cursor: u64, device: Option<&Device>) -> PullPage {
        let mut path = format!("/api/v1/sync/pull?cursor={cursor}");
        if let Some(d) = device {
            path.push_str(&format!("&device={}", d.id));
        }
        let (st, body) = self.get(token, &path).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    }
}

/// A wage earner with every personal field filled in.
fn registration(device: &mut Device) -> sigap_shared::Change {
    let mut c = device.register(NIK, "Siti Rahayu", KEL, 1, 2);
    c.fields.phone = Some("081234567890".into());
    c.fields.occupation = Some("penjahit".into());
    c.fields.employer = Some("Konveksi Laweyan".into());
    c.fields.category = Some(Category::Pu);
    c.fields.programs = Some(sigap_shared::registration::parse_programs("jkk,jkm,jht").unwrap());
    c
}

async fn the_feed_says_a_person_was_erased(store: Arc<dyn Store>) {
    let api = Api::serve(store).await;
    let budi = api.token(Role::Agent, "budi", &["33.72.01"]);
    let rina = api.token(Role::Agent, "rina", &["33.72.01"]);
    let admin = api.token(Role::Admin, "admin", &[]);

    let mut laptop = Device::new();
    let registered = registration(&mut laptop);
    api.push(&budi, &laptop, vec![registered]).await;
    // Only budi's laptop wrote her: its own pull leaves her out, and no
    // one's feed says she was erased.
    let before = api.pull(&budi, 0, Some(&laptop)).await;
    assert!(before.persons.is_empty(), "{before:?}");
    let all = api.pull(&rina, 0, None).await;
    assert_eq!(all.persons.len(), 1);
    assert_eq!(all.persons[0].erased_at, None);
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("erased_at"), "{text}");

    let t0 = sigap_shared::hlc::wall_millis();
    let (st, body) = api
        .post(
            &admin,
            &format!("/api/v1/persons/{NIK}/erase"),
            &json!({"reason": "PDP-2026-17"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let t1 = sigap_shared::hlc::wall_millis();

    // The erasure is the server's write: budi's laptop gets her now, from
    // where its last pull left off, with the erasure's time.
    let page = api.pull(&budi, before.next_cursor, Some(&laptop)).await;
    assert_eq!(page.persons.len(), 1, "{page:?}");
    let p = &page.persons[0];
    let at = p.erased_at.expect("erased_at");
    assert!((t0..=t1).contains(&at), "{t0} <= {at} <= {t1}");
    assert_eq!(p.last_changed_by.as_deref(), Some("admin admin"));
    let text = serde_json::to_string(&page).unwrap();
    // Whole values only: the page carries a 64-digit hex hash keyed per
    // server, and a short run of digits such as "0812" turns up in one
    // hash in a few hundred.
    for gone in ["Siti", "Rahayu", "081234567890", "penjahit", "Laweyan"] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    // Every other agent's feed says so too, from the start.
    let all = api.pull(&rina, 0, None).await;
    assert_eq!(all.persons[0].erased_at, Some(at));
    assert_eq!(all.persons[0].seq, p.seq);

    // Another agent writes the name again after the erasure: the
    // occupation and employer still carry the erasure's mark.
    let mut other = Device::new();
    other.millis = sigap_shared::hlc::wall_millis() + 60_000;
    let again = other.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            name: Some("Siti Rahayu".into()),
            ..Fields::default()
        },
    );
    api.push(&rina, &other, vec![again]).await;
    let page = api.pull(&budi, p.seq, Some(&laptop)).await;
    assert_eq!(page.persons[0].erased_at, Some(at), "{page:?}");
    // Every erased field written again: the record no longer carries the
    // mark, and the feed no longer says so.
    let rest = other.change(
        NIK,
        ChangeKind::Edit,
        Fields {
            occupation: Some("pedagang".into()),
            employer: Some("Pasar Klewer".into()),
            ..Fields::default()
        },
    );
    api.push(&rina, &other, vec![rest]).await;
    let page = api.pull(&budi, p.seq, Some(&laptop)).await;
    assert_eq!(page.persons[0].erased_at, None, "{page:?}");
}

#[tokio::test]
async fn the_feed_says_a_person_was_erased_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("test.db")).unwrap());
    the_feed_says_a_person_was_erased(store).await;
}

#[tokio::test]
async fn the_feed_says_a_person_was_erased_on_postgres() {
    let Some(url) = common::pg_url() else { return };
    // Opened outside the runtime's worker (the store blocks on its own).
    let store = tokio::task::spawn_blocking(move || PgStore::open(&url).unwrap())
        .await
        .unwrap();
    the_feed_says_a_person_was_erased(Arc::new(store)).await;
}

#[tokio::test]
async fn the_api_description_documents_erased_at() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("test.db")).unwrap());
    let api = Api::serve(store).await;
    let r = api
        .client
        .get(format!("{}/api/openapi.json", api.url))
        .send()
        .await
        .unwrap();
    let doc: Value = r.json().await.unwrap();
    let person = &doc["components"]["schemas"]["PersonState"];
    let field = &person["properties"]["erased_at"];
    assert!(
        field["description"]
            .as_str()
            .is_some_and(|d| d.contains("erased")),
        "{person}"
    );
    let required = person["required"].as_array().unwrap();
    assert!(
        !required.iter().any(|r| r == "erased_at"),
        "optional: older servers do not send it"
    );
}

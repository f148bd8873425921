//! The authorisation matrix: every route × who asks (no token, a
//! malformed, revoked or expired one, an agent of the area or of another,
//! an agent with another agent's laptop, a supervisor of the area or of
//! another, an admin) → the status the caller gets. The routes are read
//! from the server's source, so a route added without a row here fails
//! this test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Device, Server, routes_in_source, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigap_server::store::{NewToken, Role};
use sigap_shared::AreaCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    Malformed,
    Revoked,
    Expired,
    AgentOfArea,
    AgentElsewhere,
    /// The agent of the area, with the other agent's laptop.
    AgentOtherDevice,
    SupervisorOfArea,
    SupervisorElsewhere,
    Admin,
}

const EVERYONE: [Who; 10] = [
    Who::NoToken,
    Who::Malformed,
    Who::Revoked,
    Who::Expired,
    Who::AgentOfArea,
    Who::AgentElsewhere,
    Who::AgentOtherDevice,
    // Before the supervisor of the area, whose resolution and move succeed.
    Who::SupervisorElsewhere,
    Who::SupervisorOfArea,
    Who::Admin,
];

/// The area the matrix is about (Laweyan) and another (Banjarsari).
const AREA: &str = "33.72.01";
const ELSEWHERE: &str = "33.72.05";

struct World {
    s: Server,
    agent: String,
    agent_elsewhere: String,
    supervisor: String,
    supervisor_elsewhere: String,
    admin: String,
    revoked: String,
    expired: String,
    /// The laptops of `agent` and of `agent_elsewhere`.
    own_device: Device,
    other_device: Device,
    /// Conflicts in AREA: one for the supervisor, one for the admin.
    conflicts: [i64; 2],
    /// A person in AREA.
    person: &'static str,
}

fn token(s: &Server, role: Role, name: &str, area: &str, expires_at: Option<i64>) -> String {
    let secret = sigap_server::token::generate();
    s.store
        .create_token(&NewToken {
            name: name.into(),
            role,
            areas: if area.is_empty() {
                vec![]
            } else {
                vec![AreaCode::parse(area).unwrap()]
            },
            hash: sigap_server::token::hash(&secret),
            expires_at,
        })
        .unwrap();
    secret
}

async fn world() -> World {
    let s = start().await;
    let agent = token(&s, Role::Agent, "budi", AREA, None);
    let agent2 = token(&s, Role::Agent, "rina", AREA, None);
    let agent_elsewhere = token(&s, Role::Agent, "joko", ELSEWHERE, None);
    let supervisor = token(&s, Role::Supervisor, "sari", AREA, None);
    let supervisor_elsewhere = token(&s, Role::Supervisor, "dewi", ELSEWHERE, None);
    let admin = token(&s, Role::Admin, "admin", "", None);
    let revoked = token(&s, Role::Supervisor, "gone", "33.72", None);
    s.store.revoke_token("gone").unwrap();
    let expired = token(&s, Role::Supervisor, "old", "33.72", Some(1));

    // Two persons registered by two agents under different names: two
    // identity conflicts in AREA.
    let mut own_device = Device::new();
    let mut rina = Device::new();
    let niks = ["3372011203850001", "3372011304860002"];
    for (i, nik) in niks.iter().enumerate() {
        let a = own_device.register(nik, "Budi Santoso", "33.72.01.1001", 1, 2);
        let (st, _) = s.push(&agent, &own_device, &[a]).await;
        assert_eq!(st, StatusCode::OK);
        let other_name = ["Bambang Wijaya", "Slamet Riyadi"][i];
        let b = rina.register(nik, other_name, "33.72.01.1001", 1, 2);
        let (st, _) = s.push(&agent2, &rina, &[b]).await;
        assert_eq!(st, StatusCode::OK);
    }
    let mut conflicts: Vec<i64> = s
        .store
        .conflicts(Some("open"))
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    conflicts.sort();
    assert_eq!(conflicts.len(), 2);
    // The other agent's laptop, enrolled by its first push.
    let mut other_device = Device::new();
    let c = other_device.register("3372051111800003", "Joko", "33.72.05.1001", 1, 1);
    let (st, _) = s.push(&agent_elsewhere, &other_device, &[c]).await;
    assert_eq!(st, StatusCode::OK);
    World {
        s,
        agent,
        agent_elsewhere,
        supervisor,
        supervisor_elsewhere,
        admin,
        revoked,
        expired,
        own_device,
        other_device,
        conflicts: [conflicts[0], conflicts[1]],
        person: niks[0],
    }
}

impl World {
    /// The Authorization header `who` sends, if any.
    fn authorization(&self, who: Who) -> Option<String> {
        let bearer = |t: &str| Some(format!("Bearer {t}"));
        match who {
            Who::NoToken => None,
            Who::Malformed => Some("Basic YWRtaW46YWRtaW4=".into()),
            Who::Revoked => bearer(&self.revoked),
            Who::Expired => bearer(&self.expired),
            Who::AgentOfArea | Who::AgentOtherDevice => bearer(&self.agent),
            Who::AgentElsewhere => bearer(&self.agent_elsewhere),
            Who::SupervisorOfArea => bearer(&self.supervisor),
            Who::SupervisorElsewhere => bearer(&self.supervisor_elsewhere),
            Who::Admin => bearer(&self.admin),
        }
    }

    /// The laptop `who` uses: the other agent's for `AgentOtherDevice`.
    fn device(&mut self, who: Who) -> &mut Device {
        match who {
            Who::AgentOtherDevice => &mut self.other_device,
            Who::AgentElsewhere => &mut self.other_device,
            _ => &mut self.own_device,
        }
    }

    async fn send(
        &self,
        who: Who,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.s.url);
        // The dashboard's pages: a session cookie, and redirects seen as
        // they are instead of followed.
        let page = is_page(path);
        let client = if page {
            common::web_client()
        } else {
            self.s.client.clone()
        };
        let mut req = match method {
            "GET" => client.get(url),
            "POST" => client.post(url),
            other => panic!("no method {other}"),
        };
        match (self.authorization(who), page) {
            (Some(h), false) => req = req.header("authorization", h),
            (Some(h), true) => {
                let token = h.strip_prefix("Bearer ").unwrap_or("%%garbage%%");
                req = req.header("cookie", format!("sigap_session={token}"));
            }
            (None, _) => {}
        }
        if page && method == "POST" {
            // A form as a browser sends it, without the page's CSRF token.
            req = req.form(&[("name", "Budi Santoso"), ("token", "sigap_x")]);
        } else if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        if page {
            let location = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            return (status, json!({"location": location}));
        }
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// A dashboard page (HTML, session cookie) rather than the JSON API.
fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/healthz") || path.starts_with("/metrics"))
}

fn is_bad_token(who: Who) -> bool {
    matches!(
        who,
        Who::NoToken | Who::Malformed | Who::Revoked | Who::Expired
    )
}

/// One route's row: the request each caller makes, and what it gets.
async fn row(
    w: &mut World,
    method: &str,
    template: &str,
    who: Who,
) -> (StatusCode, StatusCode, Value) {
    use StatusCode as S;
    let unauthorized = is_bad_token(who);
    let pick = |agent: S, sup_own: S, sup_else: S, admin: S| -> S {
        match who {
            _ if unauthorized => S::UNAUTHORIZED,
            Who::AgentOfArea | Who::AgentElsewhere | Who::AgentOtherDevice => agent,
            Who::SupervisorOfArea => sup_own,
            Who::SupervisorElsewhere => sup_else,
            Who::Admin => admin,
            _ => unreachable!(),
        }
    };
    let forbidden = S::FORBIDDEN;
    let ok = S::OK;
    let (expected, path, body): (S, String, Option<Value>) = match (method, template) {
        ("GET", "/healthz") => (ok, "/healthz".into(), None),
        // The API description holds no data: anyone may read it.
        ("GET", "/api/openapi.json") => (ok, "/api/openapi.json".into(), None),
        // Served only on `serve --metrics-listen`, an address of its own
        // that the firewall keeps to the monitoring system: never here.
        ("GET", "/metrics") => (S::NOT_FOUND, "/metrics".into(), None),
        ("POST", "/api/v1/sync/push") => {
            let device = w.device(who);
            let n = device.seq as u32;
            let nik = common::nik("337201", 1000 + n);
            let change = device.register(&nik, "Sri Wahyuni", "33.72.01.1001", 1, 2);
            let req = sigap_shared::wire::PushRequest {
                protocol: sigap_shared::PROTOCOL_VERSION,
                device_id: device.id,
                changes: vec![change],
                pending: None,
            };
            let expected = match who {
                // Another agent's laptop is refused whoever's token it is.
                Who::AgentOtherDevice => forbidden,
                // Answered, with the change rejected (area_not_assigned).
                Who::AgentElsewhere | Who::AgentOfArea => ok,
                _ => pick(ok, forbidden, forbidden, forbidden),
            };
            if !matches!(who, Who::AgentOfArea | Who::AgentElsewhere) {
                // Not taken: the device's number stays free.
                device.seq -= 1;
            }
            (
                expected,
                "/api/v1/sync/push".into(),
                Some(serde_json::to_value(req).unwrap()),
            )
        }
        ("GET", "/api/v1/sync/pull") => (
            pick(ok, forbidden, forbidden, forbidden),
            "/api/v1/sync/pull".into(),
            None,
        ),
        ("GET", "/api/v1/sync/device/{device_id}")
        | ("GET", "/api/v1/sync/device/{device_id}/changes")
        | ("GET", "/api/v1/sync/device/{device_id}/key") => {
            let id = w.device(who).id;
            let expected = match who {
                Who::AgentOtherDevice => forbidden,
                _ => pick(ok, forbidden, forbidden, forbidden),
            };
            (
                expected,
                template.replace("{device_id}", &id.to_string()),
                None,
            )
        }
        ("GET", "/api/v1/coverage") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/coverage?area={AREA}"),
            None,
        ),
        ("GET", "/api/v1/conflicts") => (
            pick(forbidden, ok, ok, ok),
            "/api/v1/conflicts".into(),
            None,
        ),
        ("POST", "/api/v1/conflicts/{id}/resolve") => {
            let id = if who == Who::Admin {
                w.conflicts[1]
            } else {
                w.conflicts[0]
            };
            (
                pick(forbidden, ok, forbidden, ok),
                format!("/api/v1/conflicts/{id}/resolve"),
                Some(json!({"fields": {"name": "Budi Santoso"}, "note": "KTP checked"})),
            )
        }
        ("GET", "/api/v1/persons/{nik}") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/persons/{}", w.person),
            None,
        ),
        ("POST", "/api/v1/persons/{nik}/move") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/persons/{}/move", w.person),
            Some(json!({"kelurahan": "33.72.01.1002", "rw": 3, "rt": 4})),
        ),
        ("GET", "/api/v1/persons/{nik}/export") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/persons/{}/export", w.person),
            None,
        ),
        ("POST", "/api/v1/persons/{nik}/erase") => (
            pick(forbidden, forbidden, forbidden, ok),
            format!("/api/v1/persons/{}/erase", w.person),
            Some(json!({"reason": "PDP request 17"})),
        ),
        ("GET", "/api/v1/coverage/history") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/coverage/history?area={AREA}"),
            None,
        ),
        ("GET", "/api/v1/agents") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/agents?area={AREA}"),
            None,
        ),
        // Who the token is: any valid token may ask about itself.
        ("GET", "/api/v1/me") => (pick(ok, ok, ok, ok), "/api/v1/me".into(), None),
        ("POST", "/api/v1/visits") => {
            let device = w.device(who).id;
            let expected = match who {
                Who::AgentOtherDevice => forbidden,
                // Answered; the visit outside the agent's areas is refused.
                _ => pick(ok, forbidden, forbidden, forbidden),
            };
            let body = json!({
                "protocol": sigap_shared::PROTOCOL_VERSION,
                "device_id": device,
                "visits": [{
                    "id": uuid::Uuid::now_v7(),
                    "kelurahan": "33.72.01.1001",
                    "rw": 1, "rt": 2, "households": 12,
                    "visited_at": "2026-11-20T09:00:00Z"
                }]
            });
            (expected, "/api/v1/visits".into(), Some(body))
        }
        ("GET", "/api/v1/review") => (
            pick(forbidden, ok, forbidden, ok),
            format!("/api/v1/review?area={AREA}"),
            None,
        ),
        // The dashboard: without a valid session, to the sign-in page;
        // agents and other areas get a page that refuses.
        ("GET", "/" | "/area" | "/progress" | "/agents" | "/conflicts" | "/person") => {
            let expected = match who {
                _ if unauthorized => S::SEE_OTHER,
                _ => pick(forbidden, ok, forbidden, ok),
            };
            let path = match template {
                "/" => format!("/?area={AREA}"),
                "/area" => format!("/area?code={AREA}"),
                "/progress" => format!("/progress?area={AREA}"),
                "/agents" => format!("/agents?area={AREA}"),
                "/conflicts" => format!("/conflicts?area={AREA}"),
                _ => format!("/person?nik={}", w.person),
            };
            (expected, path, None)
        }
        // Forms without the CSRF token of a signed-in page are refused,
        // whoever sends them.
        ("POST", "/conflicts/{id}/resolve") => {
            let expected = if unauthorized {
                S::SEE_OTHER
            } else {
                forbidden
            };
            (
                expected,
                format!("/conflicts/{}/resolve", w.conflicts[0]),
                None,
            )
        }
        ("POST", "/signin") => (forbidden, template.to_string(), None),
        // Without a session there is nothing to sign out of.
        ("POST", "/signout") => {
            let expected = if unauthorized {
                S::SEE_OTHER
            } else {
                forbidden
            };
            (expected, template.to_string(), None)
        }
        ("GET", "/signin" | "/static/app.css") => (ok, template.to_string(), None),
        other => panic!("route {other:?} has no row in the authorisation matrix: add one"),
    };
    let (status, answer) = w.send(who, method, &path, body).await;
    (expected, status, answer)
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_matrix_says() {
    let routes = routes_in_source();
    assert!(routes.len() >= 11, "routes found: {routes:?}");
    let mut w = world().await;
    let mut failures = Vec::new();
    for (method, template) in &routes {
        for who in EVERYONE {
            let (expected, got, answer) = row(&mut w, method, template, who).await;
            if expected != got {
                failures.push(format!(
                    "{method} {template} as {who:?}: expected {expected}, got {got}: {answer}"
                ));
            } else if got.is_client_error() && !is_page(template) {
                assert!(
                    answer["error"]["code"].is_string(),
                    "{method} {template} as {who:?}: a refusal is a JSON error: {answer}"
                );
            }
            if method == "POST" && template == "/api/v1/visits" && got == StatusCode::OK {
                let outcome = &answer["results"][0]["outcome"];
                match who {
                    Who::AgentElsewhere => assert_eq!(outcome, "rejected", "{answer}"),
                    Who::AgentOfArea => assert_eq!(outcome, "stored", "{answer}"),
                    _ => {}
                }
            }
            if method == "POST" && template == "/api/v1/sync/push" && got == StatusCode::OK {
                let outcome = &answer["results"][0];
                match who {
                    Who::AgentElsewhere => {
                        assert_eq!(outcome["code"], "area_not_assigned", "{answer}")
                    }
                    Who::AgentOfArea => assert_eq!(outcome["outcome"], "applied", "{answer}"),
                    _ => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn lists_show_only_the_callers_areas() {
    let w = world().await;
    let (_, own) = w
        .send(Who::SupervisorOfArea, "GET", "/api/v1/conflicts", None)
        .await;
    assert_eq!(own["conflicts"].as_array().unwrap().len(), 2, "{own}");
    let (_, other) = w
        .send(Who::SupervisorElsewhere, "GET", "/api/v1/conflicts", None)
        .await;
    assert_eq!(other["conflicts"], json!([]), "{other}");
    let (_, review) = w
        .send(Who::SupervisorElsewhere, "GET", "/api/v1/review", None)
        .await;
    assert_eq!(review["conflicts"], json!([]), "{review}");
    // An agent's pull holds its areas only.
    let (st, page) = w
        .send(Who::AgentElsewhere, "GET", "/api/v1/sync/pull", None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let text = page.to_string();
    assert!(!text.contains("33.72.01.1001"), "{page}");
}

#[test]
fn the_route_reader_finds_known_routes() {
    let routes = routes_in_source();
    assert!(routes.contains(&("POST".into(), "/api/v1/sync/push".into())));
    assert!(routes.contains(&("GET".into(), "/api/v1/persons/{nik}".into())));
    assert!(routes.contains(&("GET".into(), "/healthz".into())));
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Coverage answers are kept between requests (`http::coverage`), but an
//! answer asked right after an acknowledged write reflects it, whoever
//! wrote it: this server's push, or another process (an admin command,
//! another server) on the same database. And the kept answer, written
//! straight as JSON, is the tree the dashboard builds.

mod common;

use common::{Backend, Device, nik, outcomes, start_on};
use serde_json::Value;
use sigap_server::coverage::{CoverageReport, node_for};
use sigap_server::store::Role;
use sigap_shared::AreaCode;
use sigap_shared::coverage::{Percent, Target};

const PAJANG: &str = "33.72.01.1001";

/// The node of `area` in a tree answer.
fn find<'a>(node: &'a Value, area: &str) -> Option<&'a Value> {
    if node["area"] == area {
        return Some(node);
    }
    node["children"]
        .as_array()?
        .iter()
        .find_map(|c| find(c, area))
}

async fn an_answer_right_after_an_acknowledged_write_reflects_it(backend: Backend) {
    let s = start_on(backend).await;
    let agent = s.token(Role::Agent, "agent", &["33.72"]);
    let sup = s.token(Role::Supervisor, "sup", &["33.72"]);
    let year = sigap_shared::today().year();
    let kota = AreaCode::parse("33.72").unwrap();
    let path = format!("/api/v1/coverage?area=33.72&year={year}&depth=4");
    let mut d = Device::new();
    for i in 0..12u32 {
        // Asked twice before the push: the second answer is the kept one.
        let (_, before) = s.get(&sup, &path).await;
        let (_, kept) = s.get(&sup, &path).await;
        assert_eq!(before, kept);
        let (rw, rt) = (1 + (i % 2) as u16, 1 + (i % 3) as u16);
        let change = d.register(&nik("337201", i), "Sri Rahayu", PAJANG, rw, rt);
        let (status, r) = s.push(&agent, &d, &[change]).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(outcomes(&r), ["applied"], "{r}");
        let (status, after) = s.get(&sup, &path).await;
        assert_eq!(status, 200, "{after}");
        assert_eq!(after["figures"]["covered"], i + 1, "push {i}");
        let rt_node = find(&after, &format!("{PAJANG}/{rw}/{rt}")).expect("the RT is listed");
        let expected_rt = (0..=i).filter(|j| j % 2 == i % 2 && j % 3 == i % 3).count();
        assert_eq!(rt_node["figures"]["covered"], expected_rt, "push {i}");
        // The same as the dashboard's tree of the same data.
        let tree = CoverageReport {
            protocol: sigap_shared::PROTOCOL_VERSION,
            root: node_for(s.store.as_ref(), &kota, year, 4).unwrap(),
        };
        assert_eq!(after, serde_json::to_value(&tree).unwrap());
    }

    // A write by another process: the kept answer is not served.
    let target = Target {
        percent: Percent(5702),
        count: None,
    };
    s.another_store().set_target(&kota, year, target).unwrap();
    let (_, after) = s.get(&sup, &path).await;
    assert_eq!(after["figures"]["target_percent"], "57.02", "{after}");
    let other = s.another_store();
    other
        .set_baselines(&[sigap_server::store::Baseline {
            area: AreaCode::parse(PAJANG).unwrap(),
            year,
            working_population: 40,
        }])
        .unwrap();
    let (_, after) = s.get(&sup, &path).await;
    let pajang = find(&after, PAJANG).unwrap();
    assert_eq!(pajang["figures"]["working_population"], 40, "{pajang}");
    assert_eq!(pajang["figures"]["covered"], 12, "{pajang}");

    // And the counters the answers come from equal a recount.
    let report = s.store.verify_counters().unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}

on_both_backends!(an_answer_right_after_an_acknowledged_write_reflects_it);

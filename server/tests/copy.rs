#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `sigap-server copy`: branch offices' SQLite databases moved into one
//! PostgreSQL database by the real binary, then compared with the office
//! through the `Store` trait (persons, conflicts, coverage, receipts,
//! tokens, history, activity, the feed), an interrupted copy run again
//! until it finishes, two offices added up in one database, and the
//! refusals of what two offices cannot share.
//!
//! Each test runs in a schema of its own on the database of
//! `SIGAP_TEST_DATABASE_URL` and is skipped (with a notice) when that is
//! not set, but fails under `CI`.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::{Device, nik};
use sigap_server::store::{
    Baseline, Conflict, NewToken, NewVisit, PersonView, PgStore, Pusher, Role, RollRow,
    SqliteStore, Store, TokenInfo,
};
use sigap_shared::coverage::{Percent, Target};
use sigap_shared::merge::Fields;
use sigap_shared::wire::{Change, ChangeKind, PushRequest};
use sigap_shared::{AreaCode, Category, Nik, Status};
use uuid::Uuid;

const DAY: i64 = 86_400_000;

/// Names hold no digits.
const NAMES: [&str; 8] = [
    "Satu", "Dua", "Tiga", "Empat", "Lima", "Enam", "Tujuh", "Delapan",
];

fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).unwrap()
}

/// A branch office's database with a bit of everything.
struct Office {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: SqliteStore,
    kec: &'static str,
    devices: Vec<Uuid>,
}

fn token(s: &dyn Store, name: &str, role: Role, areas: &[&str]) -> TokenInfo {
    s.create_token(&NewToken {
        name: name.into(),
        role,
        areas: areas.iter().map(|a| area(a)).collect(),
        // Another office's token of the same name is another token.
        hash: sigap_server::token::hash(&format!("{name} {}", Uuid::new_v4())),
        expires_at: None,
    })
    .unwrap()
}

fn push(s: &dyn Store, t: &TokenInfo, device: Uuid, changes: &[Change]) -> Vec<String> {
    let by = Pusher {
        token_id: t.id,
        token_name: &t.name,
        areas: Some(t.areas.as_slice()),
        max_skew_millis: sigap_server::store::DEFAULT_MAX_CLOCK_SKEW_MILLIS,
        gap_wait: std::time::Duration::from_millis(10),
    };
    let req = PushRequest {
        protocol: sigap_shared::PROTOCOL_VERSION,
        device_id: device,
        changes: changes.to_vec(),
        pending: Some(0),
    };
    s.push(&by, &req)
        .unwrap()
        .results
        .into_iter()
        .map(|r| {
            serde_json::to_value(&r.outcome).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// An office of kecamatan `kec` (NIKs issued in `kec6`, from number
/// `first`): agents ani and budi on two laptops, registrations in two
/// kelurahan, an edit, a void, a change refused into the log and one
/// refused before it, two identity conflicts (one resolved), a roll
/// import, baselines, targets, a visit, and snapshots on two days from
/// `day0`.
fn office(kec: &'static str, kec6: &str, first: u32, day0: i64) -> Office {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("office.db");
    let clock = Arc::new(AtomicI64::new(day0));
    let c = clock.clone();
    let store = SqliteStore::open(&path)
        .unwrap()
        .with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    let (kel1, kel2) = (format!("{kec}.1001"), format!("{kec}.1002"));
    token(&store, "admin", Role::Admin, &[]);
    let ani = token(&store, "ani", Role::Agent, &[kec]);
    let budi = token(&store, "budi", Role::Agent, &[kec]);
    token(&store, "sari", Role::Supervisor, &[kec]);
    let old = token(&store, "old", Role::Agent, &[&kel1]);
    store.revoke_token(&old.name).unwrap();
    let mut da = Device::new();
    let mut db = Device::new();
    store.claim_device(da.id, ani.id).unwrap();
    store.claim_device(db.id, budi.id).unwrap();
    let niks: Vec<String> = (first..first + 12).map(|i| nik(kec6, i)).collect();

    let mut by_ani = Vec::new();
    for (i, n) in niks[..8].iter().enumerate() {
        let kel = if i % 2 == 0 { &kel1 } else { &kel2 };
        let rw = u16::try_from(1 + i % 3).unwrap();
        by_ani.push(da.register(n, &format!("Warga {}", NAMES[i]), kel, rw, 2));
    }
    by_ani.push(da.change(
        &niks[0],
        ChangeKind::Edit,
        Fields {
            phone: Some("081234567890".into()),
            ..Fields::default()
        },
    ));
    by_ani.push(da.change(
        &niks[1],
        ChangeKind::Void,
        Fields {
            status: Some(Status::Void),
            void_reason: Some("pindah".into()),
            ..Fields::default()
        },
    ));
    // Outside ani's areas: refused, in the device's log.
    by_ani.push(da.register(&niks[8], "Warga Jauh", "33.72.03.1001", 1, 1));
    // Numbered 0: refused before it takes a place in the log.
    let mut bad = da.register(&niks[8], "Warga Nol", &kel1, 1, 1);
    bad.device_seq = 0;
    da.seq -= 1;
    by_ani.push(bad);
    let out = push(&store, &ani, da.id, &by_ani);
    assert_eq!(
        out.iter().filter(|o| *o == "rejected").count(),
        2,
        "{out:?}"
    );

    let mut by_budi = vec![
        db.register(&niks[2], "Nama Lain", &kel1, 1, 2),
        db.register(&niks[3], "Nama Lain Juga", &kel2, 2, 2),
    ];
    for (i, n) in niks[9..12].iter().enumerate() {
        by_budi.push(db.register(n, &format!("Warga Budi {}", NAMES[i]), &kel2, 3, 1));
    }
    by_budi.push(db.change(
        &niks[4],
        ChangeKind::Edit,
        Fields {
            occupation: Some("tukang".into()),
            ..Fields::default()
        },
    ));
    push(&store, &budi, db.id, &by_budi);
    let open = store.conflicts(Some("open")).unwrap();
    assert_eq!(open.len(), 2, "{open:?}");
    store.snapshot_coverage(true).unwrap();

    clock.fetch_add(DAY, Ordering::SeqCst);
    store
        .resolve_conflict(
            open[0].id,
            &open[0].existing.fields,
            Some("cek KTP"),
            "sari",
        )
        .unwrap();
    let row = |n: &str, kel: &str| RollRow {
        nik: Nik::parse(n).unwrap(),
        kelurahan: area(kel),
        rw: 1,
        rt: 1,
        category: Category::Pu,
    };
    store
        .import_participants_as_of(
            &[row(&niks[0], &kel1), row(&nik(kec6, first + 40), &kel2)],
            time::macros::date!(2026 - 01 - 05),
        )
        .unwrap();
    store
        .set_baselines(&[
            Baseline {
                area: area(kec),
                year: 2026,
                working_population: 20_000,
            },
            Baseline {
                area: area(kec),
                year: 2025,
                working_population: 19_500,
            },
            // The kota's, the same in every office.
            Baseline {
                area: area("33.72"),
                year: 2026,
                working_population: 227_164,
            },
        ])
        .unwrap();
    let target = Target {
        percent: Percent(5702),
        count: None,
    };
    store.set_target(&area(kec), 2026, target).unwrap();
    store.set_target(&area("33.72"), 2026, target).unwrap();
    store
        .add_visits(
            ani.id,
            &ani.name,
            da.id,
            &[NewVisit {
                id: Uuid::now_v7(),
                kelurahan: area(&kel1),
                rw: 1,
                rt: 2,
                households: 14,
                note: Some("ketua RT ramah".into()),
                visited_at: day0 + DAY,
            }],
        )
        .unwrap();
    store.snapshot_coverage(true).unwrap();
    Office {
        _dir: dir,
        path,
        store,
        kec,
        devices: vec![da.id, db.id],
    }
}

impl Office {
    fn from(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn niks(&self) -> Vec<Nik> {
        self.store
            .with_writer(|c| {
                let mut stmt = c.prepare("SELECT nik FROM persons ORDER BY seq")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .iter()
            .map(|n| Nik::parse(n).unwrap())
            .collect()
    }

    fn count(&self, table: &str) -> i64 {
        self.store
            .with_writer(|c| {
                c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            })
            .unwrap()
    }
}

/// `sigap-server copy`: exit code, stdout, stderr.
fn copy(from: &str, to: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sigap-server"));
    cmd.args(["copy", "--from", from, "--to", to])
        .args(extra)
        .env("RUST_LOG", "warn")
        .env_remove("SIGAP_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_ok(from: &str, to: &str, extra: &[&str]) -> String {
    let (code, out, err) = copy(from, to, extra, &[]);
    assert_eq!(code, 0, "copy failed\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// A plain connection into the test's schema.
fn raw(url: &str) -> (tokio::runtime::Runtime, tokio_postgres::Client) {
    let (_, query) = url.split_once('?').unwrap();
    let schema = query
        .split('&')
        .find_map(|p| p.strip_prefix("schema="))
        .unwrap();
    common::pg_raw(schema)
}

fn pg_count(url: &str, sql: &str) -> i64 {
    let (rt, client) = raw(url);
    rt.block_on(client.query_one(sql, &[])).unwrap().get(0)
}

/// Names as the target writes them (`--token-suffix`).
type Rename<'a> = &'a dyn Fn(&str) -> String;

fn renamed_person(mut p: PersonView, rename: Rename<'_>) -> PersonView {
    p.seq = 0;
    p.registered_by = p.registered_by.as_deref().map(rename);
    if let Some(h) = &mut p.history {
        for e in h.iter_mut() {
            e.agent = rename(&e.agent);
        }
    }
    p
}

fn renamed_conflict(mut c: Conflict, rename: Rename<'_>) -> Conflict {
    c.id = 0;
    c.existing.agent = c.existing.agent.as_deref().map(rename);
    c.incoming.agent = c.incoming.agent.as_deref().map(rename);
    c.resolved_by = c.resolved_by.as_deref().map(rename);
    c
}

fn author(rename: Rename<'_>, text: &str) -> String {
    match text.strip_prefix("supervisor ") {
        Some(name) => format!("supervisor {}", rename(name)),
        None => rename(text),
    }
}

/// Everything of `office` reads the same from `pg`, but for what the
/// copy changes by design (feed positions, conflict ids, admin tokens
/// revoked, renamed tokens).
fn same_as_office(office: &Office, pg: &PgStore, rename: Rename<'_>) {
    let s = &office.store;
    let niks = office.niks();
    assert!(niks.len() > 10);
    for n in &niks {
        let a = renamed_person(s.person(n, true).unwrap().unwrap(), rename);
        let b = pg.person(n, true).unwrap().unwrap();
        assert!(b.seq > 0, "{} waits outside the feed", n.masked());
        assert_eq!(
            a,
            renamed_person(b, &|x| x.to_string()),
            "person {}",
            n.masked()
        );
    }
    // The feed: the office's persons in their old order.
    let key = pg.replica_key().unwrap();
    let by_hash: HashMap<String, &Nik> = niks
        .iter()
        .map(|n| (sigap_shared::nik_lookup_hash(&key, n), n))
        .collect();
    let page = pg.pull(None, 0, 10_000, None).unwrap();
    let ours: Vec<&Nik> = page
        .persons
        .iter()
        .filter_map(|p| by_hash.get(&p.nik_hash).copied())
        .collect();
    assert_eq!(ours, niks.iter().collect::<Vec<_>>());
    // Conflicts, by what they are about.
    let mut a: Vec<Conflict> = s
        .conflicts(None)
        .unwrap()
        .into_iter()
        .map(|c| renamed_conflict(c, rename))
        .collect();
    let mut b: Vec<Conflict> = pg
        .conflicts(None)
        .unwrap()
        .into_iter()
        .filter(|c| niks.contains(&c.nik))
        .map(|c| renamed_conflict(c, &|x| x.to_string()))
        .collect();
    let key = |c: &Conflict| (c.nik.as_str().to_string(), c.change_id, c.opened_at);
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
    // Coverage of the office's kecamatan, each year.
    let kec = area(office.kec);
    for year in [2025, 2026] {
        let through = sigap_server::coverage::counted_through(year, sigap_shared::today().year());
        let x = s.area_data(&kec, year, through).unwrap();
        let y = pg.area_data(&kec, year, through).unwrap();
        assert_eq!(x.counters, y.counters, "{year}");
        assert_eq!(x.baselines, y.baselines, "{year}");
        assert_eq!(x.targets, y.targets, "{year}");
    }
    for d in &office.devices {
        assert_eq!(
            s.device_receipt(*d).unwrap(),
            pg.device_receipt(*d).unwrap()
        );
        assert_eq!(
            s.device_changes(*d, 0, 100).unwrap(),
            pg.device_changes(*d, 0, 100).unwrap()
        );
    }
    // Tokens: the same, renamed, office admins revoked.
    let theirs: HashMap<String, TokenInfo> = pg
        .list_tokens()
        .unwrap()
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    for t in s.list_tokens().unwrap() {
        let u = &theirs[&rename(&t.name)];
        assert_eq!(
            (u.role, &u.areas, u.created_at, u.expires_at),
            (t.role, &t.areas, t.created_at, t.expires_at)
        );
        match t.role {
            Role::Admin => assert!(u.revoked_at.is_some(), "{u:?}"),
            _ => assert_eq!(u.revoked_at, t.revoked_at),
        }
    }
    // History and agents' activity of the kecamatan.
    let today = sigap_shared::today();
    let from = today - time::Duration::days(30);
    // (The target also takes today's snapshot when asked; the office's
    // clock stopped days ago.)
    let past = |rows: Vec<sigap_server::store::HistoryRow>| {
        rows.into_iter()
            .filter(|r| r.day < today)
            .collect::<Vec<_>>()
    };
    let history = past(s.coverage_history(&kec, from, today).unwrap());
    assert_eq!(
        history.iter().filter(|r| r.snapshot).count(),
        2,
        "{history:?}"
    );
    assert_eq!(
        history,
        past(pg.coverage_history(&kec, from, today).unwrap())
    );
    let mut act = s.activity(&kec, from, today).unwrap();
    for d in &mut act.days {
        d.agent = rename(&d.agent);
    }
    for d in &mut act.devices {
        d.agent = rename(&d.agent);
    }
    assert_eq!(act, pg.activity(&kec, from, today).unwrap());
    // The last change of a person someone else changed names its author.
    for n in &niks {
        let last = |v: PersonView| v.history.unwrap().last().map(|h| h.agent.clone());
        let a = last(s.person(n, true).unwrap().unwrap()).map(|x| author(rename, &x));
        assert_eq!(a, last(pg.person(n, true).unwrap().unwrap()));
    }
}

fn verified(s: &dyn Store) -> u64 {
    let r = s.verify_counters().unwrap();
    assert!(r.differences.is_empty(), "{r:?}");
    r.persons
}

fn day0() -> i64 {
    i64::try_from(sigap_shared::hlc::wall_millis()).unwrap() - 5 * DAY
}

#[test]
fn an_office_moves_up_without_loss() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let office = office("33.72.01", "337201", 0, day0());
    let out = copy_ok(&office.from(), &url, &["--batch-size", "4"]);
    for table in [
        "tokens",
        "persons",
        "changes",
        "conflicts",
        "coverage_history",
        "visits",
    ] {
        let line = out.lines().find(|l| l.starts_with(table)).unwrap();
        assert!(line.contains(" ok"), "{out}");
    }
    assert!(out.contains("target: ok"), "{out}");
    assert!(out.contains("admin tokens copied revoked"), "{out}");
    // Again: nothing left, nothing twice.
    let again = copy_ok(&office.from(), &url, &[]);
    assert!(again.contains("nothing left to copy"), "{again}");
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM changes"),
        office.count("changes")
    );
    assert_eq!(pg_count(&url, "SELECT COUNT(*) FROM conflicts"), 2);

    let pg = PgStore::open(&url).unwrap();
    assert_eq!(verified(&pg), verified(&office.store));
    same_as_office(&office, &pg, &|x| x.to_string());
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM unlogged_rejections"),
        office.count("unlogged_rejections")
    );
    assert_eq!(
        pg_count(&url, "SELECT value FROM meta WHERE key = 'roll_imports'"),
        1
    );
    assert!(
        pg_count(&url, "SELECT value FROM meta WHERE key = 'feed_seq'")
            >= pg_count(&url, "SELECT MAX(seq) FROM persons")
    );
    // The target keeps its own replica key.
    assert_ne!(
        pg.replica_key().unwrap().to_hex(),
        office.store.replica_key().unwrap().to_hex()
    );
}

#[test]
fn an_interrupted_copy_goes_on_where_it_stopped() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let office = office("33.72.01", "337201", 100, day0());
    let total = office.niks().len();
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs < 200, "the copy never finished");
        let (code, out, err) = copy(
            &office.from(),
            &url,
            &["--batch-size", "3"],
            &[("SIGAP_COPY_STOP_AFTER_BATCHES", "2")],
        );
        if code == 0 {
            assert!(out.contains("went on with the copy"), "{out}");
            break;
        }
        assert_eq!(code, 3, "{out}\n{err}");
        assert!(err.contains("stopped after 2 batches"), "{err}");
        // Between runs the target is whole: coverage agrees with the
        // persons copied so far, and the feed shows only persons that
        // have their place in it.
        let pg = PgStore::open(&url).unwrap();
        verified(&pg);
        let pulled = pg.pull(None, 0, 10_000, None).unwrap().persons.len();
        let numbered = pg_count(&url, "SELECT COUNT(*) FROM persons WHERE seq > 0");
        assert_eq!(i64::try_from(pulled).unwrap(), numbered);
        assert!(pulled <= total);
    }
    assert!(runs > 10, "{runs} runs: the batches were not small");
    let pg = PgStore::open(&url).unwrap();
    assert_eq!(verified(&pg), verified(&office.store));
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM changes"),
        office.count("changes")
    );
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM persons"),
        office.count("persons")
    );
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM devices"),
        office.count("devices")
    );
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM visits"),
        office.count("visits")
    );
    same_as_office(&office, &pg, &|x| x.to_string());
}

#[test]
fn two_offices_add_up_in_one_database() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let a = office("33.72.01", "337201", 200, day0());
    // Another kecamatan, its snapshots a day later: the kota's history
    // is added up as two step functions.
    let b = office("33.72.05", "337205", 200, day0() + DAY);
    copy_ok(&a.from(), &url, &[]);
    let persons = pg_count(&url, "SELECT COUNT(*) FROM persons");

    // Both have tokens admin, ani, budi, sari and old.
    let (code, out, err) = copy(&b.from(), &url, &[], &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("tokens named admin, ani, budi, sari, old"),
        "{err}"
    );
    assert!(err.contains("--token-suffix"), "{err}");
    assert_eq!(pg_count(&url, "SELECT COUNT(*) FROM persons"), persons);
    assert_eq!(pg_count(&url, "SELECT COUNT(*) FROM copy_sources"), 1);

    let out = copy_ok(&b.from(), &url, &["--token-suffix=-bjs"]);
    assert!(out.contains("budi → budi-bjs"), "{out}");
    let pg = PgStore::open(&url).unwrap();
    let rename_b = |x: &str| format!("{x}-bjs");
    same_as_office(&a, &pg, &|x| x.to_string());
    same_as_office(&b, &pg, &rename_b);
    assert_eq!(verified(&pg), verified(&a.store) + verified(&b.store));

    // The kota: both offices' counters added up, its baseline and target.
    let year = sigap_shared::today().year();
    let through = sigap_server::coverage::counted_through(year, year);
    let kota = area("33.72");
    let x = a.store.area_data(&kota, year, through).unwrap();
    let y = b.store.area_data(&kota, year, through).unwrap();
    let z = pg.area_data(&kota, year, through).unwrap();
    let mut sum = x.counters.clone();
    for (k, v) in &y.counters {
        let e = sum.entry(*k).or_insert([0; 4]);
        for i in 0..4 {
            e[i] += v[i];
        }
    }
    assert_eq!(z.counters, sum);
    let mut baselines = x.baselines.clone();
    baselines.extend(y.baselines.clone());
    let mut targets = x.targets.clone();
    targets.extend(y.targets.clone());
    assert_eq!(z.baselines, baselines);
    assert_eq!(z.targets, targets);
    // The kota's history: each day the two offices' figures of then.
    let today = sigap_shared::today();
    let from = today - time::Duration::days(30);
    let ha = a.store.coverage_history(&kota, from, today).unwrap();
    let hb = b.store.coverage_history(&kota, from, today).unwrap();
    let hz = pg.coverage_history(&kota, from, today).unwrap();
    let at = |h: &[sigap_server::store::HistoryRow], day: time::Date| {
        h.iter()
            .rfind(|r| r.snapshot && r.day <= day)
            .map_or([0; 4], |r| r.by_category)
    };
    for r in hz.iter().filter(|r| r.snapshot && r.day < today) {
        let (p, q) = (at(&ha, r.day), at(&hb, r.day));
        let want: Vec<u64> = (0..4).map(|i| p[i] + q[i]).collect();
        assert_eq!(r.by_category.to_vec(), want, "{}", r.day);
    }
    assert!(hz.iter().filter(|r| r.snapshot).count() >= 3, "{hz:?}");
    // Runs of both again change nothing.
    copy_ok(&a.from(), &url, &[]);
    copy_ok(&b.from(), &url, &["--token-suffix=-bjs"]);
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM changes"),
        a.count("changes") + b.count("changes")
    );
}

#[test]
fn the_same_person_in_two_offices_is_refused_before_anything_is_written() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let a = office("33.72.01", "337201", 300, day0());
    // The same NIKs registered at another office.
    let c = office("33.72.01", "337201", 300, day0() + DAY);
    copy_ok(&a.from(), &url, &[]);
    let before = [
        pg_count(&url, "SELECT COUNT(*) FROM persons"),
        pg_count(&url, "SELECT COUNT(*) FROM tokens"),
        pg_count(&url, "SELECT COUNT(*) FROM changes"),
        pg_count(
            &url,
            "SELECT COALESCE(SUM(covered), 0)::BIGINT FROM counters",
        ),
    ];
    let (code, out, err) = copy(&c.from(), &url, &["--token-suffix=-c"], &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    let persons = c.count("persons");
    assert!(
        err.contains(&format!(
            "of the office's {persons} persons are in the target already"
        )),
        "{err}"
    );
    assert!(err.contains("does not merge"), "{err}");
    let after = [
        pg_count(&url, "SELECT COUNT(*) FROM persons"),
        pg_count(&url, "SELECT COUNT(*) FROM tokens"),
        pg_count(&url, "SELECT COUNT(*) FROM changes"),
        pg_count(
            &url,
            "SELECT COALESCE(SUM(covered), 0)::BIGINT FROM counters",
        ),
    ];
    assert_eq!(before, after);
}

#[test]
fn bad_sources_and_targets_are_told_how_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let (code, _, err) = copy(
        &format!("sqlite:{}", missing.display()),
        "postgres://u@127.0.0.1:1/db",
        &[],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("there is no file"), "{err}");
    let not_db = dir.path().join("notes.txt");
    std::fs::write(&not_db, "hello").unwrap();
    let (code, _, err) = copy(
        &format!("sqlite:{}", not_db.display()),
        "postgres://u@127.0.0.1:1/db",
        &[],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a sigap-server database"), "{err}");
    let (code, _, err) = copy(
        &format!("sqlite:{}", not_db.display()),
        "sqlite:/tmp/x.db",
        &[],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("copy writes into PostgreSQL"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sigap-server"))
        .args(["copy", "--from"])
        .arg(&not_db)
        .env_remove("SIGAP_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("copy needs the PostgreSQL database"), "{err}");
}

/// The target's servers keep serving while an office is copied in: a
/// laptop of another kecamatan pushes all along, and a reader pulling
/// the feed all along ends with every person, the office's included
/// (they reach the feed after everything it had read, never behind its
/// cursor). Coverage stays whole.
#[test]
fn a_copy_into_a_serving_database_is_seen_whole_by_a_pull_that_runs_meanwhile() {
    use std::collections::HashSet;
    use std::sync::atomic::AtomicBool;

    let Some(url) = common::pg_url() else {
        return;
    };
    let office = office("33.72.01", "337201", 400, day0());
    let pg = PgStore::open(&url).unwrap();
    let live = token(&pg, "live", Role::Agent, &["33.72.05"]);
    let done = AtomicBool::new(false);
    let stopped = AtomicBool::new(false);
    // Set when the copy or a thread failed: the others stop, so the test
    // fails with the first panic's message instead of waiting forever.
    let failed = AtomicBool::new(false);
    let (seen, pushed) = std::thread::scope(|s| {
        let _stop = StopOnPanic(&failed);
        let pusher = s.spawn(|| {
            let mut d = Device::new();
            pg.claim_device(d.id, live.id).unwrap();
            let _stop = StopOnPanic(&failed);
            let mut n = 0u32;
            while !done.load(Ordering::SeqCst) && !failed.load(Ordering::SeqCst) {
                let batch: Vec<Change> = (n..n + 3)
                    .map(|i| d.register(&nik("337205", i), "Warga Hidup", "33.72.05.1001", 1, 1))
                    .collect();
                let out = push(&pg, &live, d.id, &batch);
                assert!(out.iter().all(|o| o == "applied"), "{out:?}");
                n += 3;
                // An agent's pace, not a flood: on a busy machine the copy
                // takes minutes, and the reader must catch up after it.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            n
        });
        let reader = s.spawn(|| {
            let _stop = StopOnPanic(&failed);
            let mut seen = HashSet::new();
            let mut cursor = 0;
            let mut last_round = false;
            while !failed.load(Ordering::SeqCst) {
                let page = pg.pull(None, cursor, 7, None).unwrap();
                seen.extend(page.persons.iter().map(|p| p.nik_hash.clone()));
                assert!(page.next_cursor >= cursor);
                cursor = page.next_cursor;
                if !page.has_more {
                    if last_round {
                        return seen;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    // One more round once every writer has stopped.
                    if stopped.load(Ordering::SeqCst) {
                        last_round = true;
                    }
                }
            }
            seen
        });
        let out = copy_ok(&office.from(), &url, &["--batch-size", "2"]);
        assert!(out.contains("target: ok"), "{out}");
        done.store(true, Ordering::SeqCst);
        let pushed = pusher.join().unwrap();
        stopped.store(true, Ordering::SeqCst);
        (reader.join().unwrap(), pushed)
    });
    let all = pg.pull(None, 0, 100_000, None).unwrap().persons;
    assert_eq!(all.len(), office.niks().len() + pushed as usize);
    let missed = all.iter().filter(|p| !seen.contains(&p.nik_hash)).count();
    assert_eq!(missed, 0, "the reader's cursor passed {missed} persons");
    assert!(pushed > 0);
    eprintln!("{pushed} persons pushed while the copy ran");
    verified(&pg);
    same_as_office(&office, &pg, &|x| x.to_string());
}

/// Raises its flag when dropped by a panicking thread.
struct StopOnPanic<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

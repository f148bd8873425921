//! The end of a copy: both sides counted per table, and the table printed
//! with `coverage verify` of both sides.

use std::process::ExitCode;

use super::source::uuid_of;
use super::{CHECK_CHUNK, Copier};
use crate::commands::CommandError;
use crate::store::{PgStore, VerifyReport};

/// One row of the report's table.
pub(super) struct Check {
    table: &'static str,
    office: u64,
    target: u64,
    ok: bool,
    note: String,
}

impl Check {
    fn new(table: &'static str, office: impl TryInto<u64>, target: i64) -> Check {
        let office = office.try_into().unwrap_or(u64::MAX);
        let target = u64::try_from(target).unwrap_or(0);
        Check {
            table,
            office,
            target,
            ok: office == target,
            note: String::new(),
        }
    }

    fn fail(&mut self, why: String) {
        self.ok = false;
        self.note = why;
    }
}

impl Copier {
    /// Counts, per table, the office's rows and the target's rows that
    /// match them.
    pub(super) async fn check(&self) -> Result<Vec<Check>, CommandError> {
        let src = &self.ctx.src;
        let client = &self.client;
        let mut checks = Vec::new();

        let tokens = src.tokens()?;
        let hashes: Vec<&str> = tokens.iter().map(|t| t.hash.as_str()).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM tokens WHERE hash = ANY($1)",
                &[&hashes],
            )
            .await?
            .get(0);
        checks.push(Check::new("tokens", tokens.len(), present));

        for (table, col) in [
            ("devices", "device_id"),
            ("changes", "id"),
            ("visits", "id"),
        ] {
            let mut from = None;
            let mut present = 0i64;
            loop {
                let ids = src.page_ids(table, col, from, CHECK_CHUNK)?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                let n: i64 = client
                    .query_one(
                        &format!("SELECT COUNT(*) FROM {table} WHERE {col} = ANY($1)"),
                        &[&ids],
                    )
                    .await?
                    .get(0);
                present += n;
                from = Some(last);
            }
            checks.push(Check::new(table, src.count(table)?, present));
        }

        let mut from = i64::MIN;
        let (mut present, mut waiting) = (0i64, 0i64);
        let (mut first, mut last_seq): (Option<i64>, Option<i64>) = (None, None);
        loop {
            let page = src.page_niks(from, CHECK_CHUNK)?;
            let Some(last) = page.last().map(|p| p.0) else {
                break;
            };
            let niks: Vec<&str> = page.iter().map(|p| p.1.as_str()).collect();
            let r = client
                .query_one(
                    "SELECT COUNT(*), COUNT(*) FILTER (WHERE seq < 0),
                            MIN(seq) FILTER (WHERE seq > 0), MAX(seq)
                     FROM persons WHERE nik = ANY($1)",
                    &[&niks],
                )
                .await?;
            present += r.get::<_, i64>(0);
            waiting += r.get::<_, i64>(1);
            if let Some(m) = r.get::<_, Option<i64>>(2) {
                first = Some(first.map_or(m, |f: i64| f.min(m)));
            }
            if let Some(m) = r.get::<_, Option<i64>>(3) {
                last_seq = Some(last_seq.map_or(m, |l: i64| l.max(m)));
            }
            from = last;
        }
        let mut persons = Check::new("persons", src.count("persons")?, present);
        // Every position given out is at most the feed's counter, or a
        // later write could take one a pull has passed. Both read by one
        // statement, so in one snapshot: a server pushing into the target
        // meanwhile commits its persons and the counter together, and read
        // one after the other they could fall on either side of it.
        let row = client
            .query_one(
                "SELECT (SELECT value FROM meta WHERE key = 'feed_seq'),
                        (SELECT COALESCE(MAX(seq), 0) FROM persons)",
                &[],
            )
            .await?;
        let feed_seq: i64 = row
            .try_get::<_, Option<i64>>(0)?
            .ok_or_else(|| super::corrupt("the target has no feed_seq in meta"))?;
        let max_seq: i64 = row.try_get(1)?;
        if waiting > 0 {
            persons.fail(format!("{waiting} not yet in the feed"));
        } else if max_seq > feed_seq {
            persons.fail(format!(
                "a person is at feed position {max_seq}, beyond feed_seq {feed_seq}"
            ));
        } else if let (Some(a), Some(b)) = (first, last_seq) {
            persons.note = format!("feed positions {a}..{b}, feed_seq {feed_seq}");
        }
        checks.push(persons);

        // Conflicts by what they are about (their ids are new).
        let mut stmt = src
            .conn
            .prepare("SELECT nik, change_id, opened_at FROM conflicts")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let (mut niks, mut changes, mut opened) = (Vec::new(), Vec::new(), Vec::new());
        for r in rows {
            let (n, c, o) = r?;
            niks.push(n);
            changes.push(uuid_of(&c)?);
            opened.push(o);
        }
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM conflicts c
                 JOIN UNNEST($1::text[], $2::uuid[], $3::bigint[]) AS v(nik, change_id, opened_at)
                   ON c.nik = v.nik AND c.change_id = v.change_id AND c.opened_at = v.opened_at",
                &[&niks, &changes, &opened],
            )
            .await?
            .get(0);
        checks.push(Check::new("conflicts", niks.len(), present));

        let rows = src.baselines()?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let n: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM baselines b
                 JOIN UNNEST($1::text[], $2::integer[], $3::bigint[]) AS v(area, year, n)
                   ON b.area = v.area AND b.year = v.year AND b.working_population = v.n",
                &[&areas, &years, &n],
            )
            .await?
            .get(0);
        checks.push(Check::new("baselines", rows.len(), present));

        let rows = src.targets()?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let bp: Vec<i32> = rows.iter().map(|r| r.2).collect();
        let count: Vec<Option<i64>> = rows.iter().map(|r| r.3).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM targets t
                 JOIN UNNEST($1::text[], $2::integer[], $3::integer[], $4::bigint[])
                      AS v(area, year, bp, count)
                   ON t.area = v.area AND t.year = v.year AND t.percent_bp = v.bp
                  AND t.count IS NOT DISTINCT FROM v.count",
                &[&areas, &years, &bp, &count],
            )
            .await?
            .get(0);
        checks.push(Check::new("targets", rows.len(), present));

        // Counters are sums: the target's hold at least the office's.
        let rows = src.counters()?;
        let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let cats: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| r.2).collect();
        let n: Vec<i64> = rows.iter().map(|r| r.3).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM UNNEST($1::text[], $2::text[], $3::integer[], $4::bigint[])
                      AS v(area, category, since_year, n)
                 LEFT JOIN (SELECT area, category, since_year, SUM(covered) AS covered
                            FROM counters GROUP BY area, category, since_year) c
                        ON c.area = v.area AND c.category = v.category
                       AND c.since_year = v.since_year
                 WHERE COALESCE(c.covered, 0) >= v.n",
                &[&areas, &cats, &years, &n],
            )
            .await?
            .get(0);
        let mut counters = Check::new("counters", rows.len(), present);
        counters.note = "added to the target's".into();
        checks.push(counters);

        let mut stmt = src.conn.prepare("SELECT area, day FROM coverage_history")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let (mut areas, mut days) = (Vec::new(), Vec::new());
        for r in rows {
            let (a, d) = r?;
            areas.push(a);
            days.push(d);
        }
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM coverage_history h
                 JOIN UNNEST($1::text[], $2::text[]) AS v(area, day)
                   ON h.area = v.area AND h.day = v.day",
                &[&areas, &days],
            )
            .await?
            .get(0);
        checks.push(Check::new("coverage_history", areas.len(), present));

        let rows = src.unlogged()?;
        let agents: Vec<String> = rows.iter().map(|r| self.ctx.names.name(&r.0)).collect();
        let days: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        let counts: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let present: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM unlogged_rejections u
                 JOIN UNNEST($1::text[], $2::text[], $3::bigint[]) AS v(agent, day, n)
                   ON u.agent = v.agent AND u.day = v.day AND u.count >= v.n",
                &[&agents, &days, &counts],
            )
            .await?
            .get(0);
        checks.push(Check::new("unlogged_rejections", rows.len(), present));

        let rows = src.meta()?;
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let present: i64 = client
            .query_one("SELECT COUNT(*) FROM meta WHERE key = ANY($1)", &[&keys])
            .await?
            .get(0);
        let mut meta = Check::new("meta", rows.len(), present);
        meta.note = "generation bumped; roll_imports, history_backfilled: the larger".into();
        checks.push(meta);
        Ok(checks)
    }
}

fn verify_line(side: &str, r: &VerifyReport) -> String {
    if r.differences.is_empty() {
        format!(
            "{side}: ok, coverage counters match a recount of {} persons ({} counters)",
            r.persons, r.counters
        )
    } else {
        let shown: Vec<String> = r
            .differences
            .iter()
            .take(5)
            .map(|d| {
                format!(
                    "{} {} since {}: stored {}, recount {}",
                    d.area, d.category, d.since_year, d.stored, d.expected
                )
            })
            .collect();
        format!(
            "{side}: {} of {} counters differ from a recount of {} persons ({})",
            r.differences.len(),
            r.counters,
            r.persons,
            shown.join("; ")
        )
    }
}

pub(super) fn report(
    checks: &[Check],
    office: &VerifyReport,
    target: &VerifyReport,
    notes: &[String],
    store: &PgStore,
) -> ExitCode {
    println!();
    println!("{:<20} {:>10} {:>10}  CHECK", "TABLE", "OFFICE", "TARGET");
    for c in checks {
        let mut verdict = if c.ok {
            "ok".to_string()
        } else {
            "DIFFERS".to_string()
        };
        if !c.note.is_empty() {
            verdict.push_str(&format!(" ({})", c.note));
        }
        println!(
            "{:<20} {:>10} {:>10}  {verdict}",
            c.table, c.office, c.target
        );
    }
    println!();
    println!("coverage verify");
    println!("  {}", verify_line("office", office));
    println!("  {}", verify_line("target", target));
    if !office.differences.is_empty() && target.differences.is_empty() {
        println!("  (the office's stored counters were off; the target was given the recount's)");
    }
    for n in notes {
        println!("note: {n}");
    }
    let ok = checks.iter().all(|c| c.ok) && target.differences.is_empty();
    if ok {
        println!(
            "copied and verified into PostgreSQL (schema {}). Point the office's laptops at the \
             regional server (sigap init --server URL): at their next sync they fetch its key and \
             pull their areas again.",
            store.schema()
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "the copy does not match the office (DIFFERS above); run it again, and if it still differs, keep the office's server in use and report this"
        );
        ExitCode::from(1)
    }
}

//! Valid, distinct test people spread over Kota Surakarta's 54 kelurahan.

use sigap_shared::wilayah;
use std::fmt::Write;

/// One made-up working resident with a valid NIK.
#[derive(Debug, Clone)]
pub struct Person {
    pub nik: String,
    pub name: String,
    pub birth_date: String,
    pub sex: &'static str,
    pub kelurahan: String,
    pub rw: u16,
    pub rt: u16,
}

/// Person number `n` (0, 1, 2…): every `n` gives a different NIK. The
/// kelurahan cycles through all 54; the NIK is issued in its kecamatan.
pub fn person(n: u64) -> Person {
    let kel = wilayah::kelurahan_in(&sigap_shared::AreaCode::parse("33.72").unwrap());
    let k = &kel[(n % kel.len() as u64) as usize];
    let kec = k
        .code
        .kecamatan_code()
        .unwrap()
        .to_string()
        .replace('.', "");
    // 28 days x 12 months x 40 years of birth dates, then the serial.
    let combo = n / kel.len() as u64;
    let day = (combo % 28 + 1) as u32;
    let month = (combo / 28 % 12 + 1) as u32;
    let year = 1960 + (combo / (28 * 12) % 40) as u32;
    // The kelurahan index goes into the serial: kelurahan of one kecamatan
    // share the NIK's region digits.
    let serial = combo / (28 * 12 * 40) * kel.len() as u64 + n % kel.len() as u64 + 1;
    assert!(serial <= 9999, "person {n}: out of serials");
    let woman = n % 2 == 1;
    let nik_day = if woman { day + 40 } else { day };
    Person {
        nik: format!("{kec}{nik_day:02}{month:02}{:02}{serial:04}", year % 100),
        name: format!("Warga {}", letters(n)),
        birth_date: format!("{year}-{month:02}-{day:02}"),
        sex: if woman { "P" } else { "L" },
        kelurahan: k.code.to_string(),
        rw: (n % 7 + 1) as u16,
        rt: (n % 13 + 1) as u16,
    }
}

/// `n` written in letters (names hold no digits): 0 → "A", 27 → "Bb".
pub fn letters(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    out[0] = out[0].to_ascii_uppercase();
    String::from_utf8(out).unwrap_or_default()
}

/// CSV for `sigap import` of people `range`, informal workers (bpu).
pub fn registrations_csv(range: std::ops::Range<u64>) -> String {
    registrations_csv_of(range)
}

/// CSV for `sigap import` of the given people, informal workers (bpu).
pub fn registrations_csv_of(people: impl IntoIterator<Item = u64>) -> String {
    let mut out = String::from(
        "nik,name,birth_date,sex,kelurahan,rw,rt,category,occupation,employer,phone,programs\n",
    );
    for n in people {
        let p = person(n);
        writeln!(
            out,
            "{},{},{},{},{},{},{},bpu,pedagang,,,\"jkk,jkm\"",
            p.nik, p.name, p.birth_date, p.sex, p.kelurahan, p.rw, p.rt
        )
        .unwrap();
    }
    out
}

/// CSV for `sigap-server participants import` (the membership roll).
pub fn roll_csv(range: std::ops::Range<u64>) -> String {
    let mut out = String::from("nik,kelurahan,rw,rt,category\n");
    for n in range {
        let p = person(n);
        writeln!(out, "{},{},{},{},pu", p.nik, p.kelurahan, p.rw, p.rt).unwrap();
    }
    out
}

/// Person `n` as a complete registration change from `device`, the
/// `seq`-th of its log.
pub fn change(n: u64, device: uuid::Uuid, seq: u64) -> sigap_shared::Change {
    use sigap_shared::{Hlc, Registration, merge::Fields, wire::ChangeKind};
    let p = person(n);
    let reg = Registration {
        nik: sigap_shared::Nik::parse(&p.nik).unwrap(),
        name: p.name,
        birth_date: time::Date::parse(
            &p.birth_date,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap(),
        sex: p.sex.parse().unwrap(),
        phone: None,
        kelurahan: sigap_shared::AreaCode::parse(&p.kelurahan).unwrap(),
        rw: p.rw,
        rt: p.rt,
        category: sigap_shared::Category::Bpu,
        occupation: "pedagang".into(),
        employer: None,
        programs: sigap_shared::registration::parse_programs("jkk,jkm").unwrap(),
        status: sigap_shared::Status::Registered,
        void_reason: None,
    };
    sigap_shared::Change {
        id: uuid::Uuid::now_v7(),
        device_id: device,
        device_seq: seq,
        nik: reg.nik.clone(),
        hlc: Hlc {
            millis: sigap_shared::hlc::wall_millis(),
            counter: 0,
            device,
        },
        kind: ChangeKind::Register,
        fields: Fields::from_registration(&reg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn people_are_valid_and_distinct() {
        let mut seen = HashSet::new();
        for n in (0..200_000).step_by(97) {
            let p = person(n);
            let nik = sigap_shared::Nik::parse(&p.nik).unwrap();
            assert!(seen.insert(p.nik.clone()));
            let born = time::Date::parse(
                &p.birth_date,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .unwrap();
            assert!(nik.matches_birth_date(born), "{p:?}");
        }
    }
}

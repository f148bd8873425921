#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rusqlite::Connection;

use super::*;

unsafe extern "C" {
    // SQLCipher's own OpenSSL provider, still built in (crypto_openssl.c).
    fn sqlcipher_openssl_setup(p: *mut Provider) -> c_int;
}

/// This module's provider, as registered by [`prepare`].
fn ours() -> *mut Provider {
    prepare();
    let p = INSTALLED.load(std::sync::atomic::Ordering::SeqCst);
    assert!(!p.is_null(), "the provider was not installed");
    p
}

/// SQLCipher's OpenSSL provider, made once, allocated as SQLCipher
/// allocates providers (it frees them at exit).
fn openssl() -> *mut Provider {
    static P: OnceLock<usize> = OnceLock::new();
    *P.get_or_init(|| {
        ours();
        // SQLite is initialised by now: `sqlite3_malloc` is safe.
        drop(Connection::open_in_memory().unwrap());
        let size = std::mem::size_of::<Provider>() as c_int;
        let p = unsafe { rusqlite::ffi::sqlite3_malloc(size) }.cast::<Provider>();
        assert!(!p.is_null());
        unsafe {
            p.write(ffi::table());
            assert_eq!(sqlcipher_openssl_setup(p), SQLITE_OK);
        }
        p as usize
    }) as *mut Provider
}

fn table(p: *mut Provider) -> &'static Provider {
    unsafe { &*p }
}

fn name(p: &Provider) -> String {
    let s = unsafe { std::ffi::CStr::from_ptr(p.get_provider_name.unwrap()(std::ptr::null_mut())) };
    s.to_string_lossy().into_owned()
}

fn cipher(p: &Provider, mode: c_int, key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; data.len()];
    let rc = unsafe {
        p.cipher.unwrap()(
            std::ptr::null_mut(),
            mode,
            key.as_ptr(),
            key.len() as c_int,
            iv.as_ptr(),
            data.as_ptr(),
            data.len() as c_int,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(rc, SQLITE_OK, "{} cipher", name(p));
    out
}

fn hmac(p: &Provider, algorithm: c_int, key: &[u8], in1: &[u8], in2: Option<&[u8]>) -> Vec<u8> {
    let size = unsafe { p.get_hmac_sz.unwrap()(std::ptr::null_mut(), algorithm) };
    let mut out = vec![0u8; size as usize];
    let (in2, in2_sz) = in2.map_or((std::ptr::null(), 0), |b| (b.as_ptr(), b.len() as c_int));
    let rc = unsafe {
        p.hmac.unwrap()(
            std::ptr::null_mut(),
            algorithm,
            key.as_ptr(),
            key.len() as c_int,
            in1.as_ptr(),
            in1.len() as c_int,
            in2,
            in2_sz,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(rc, SQLITE_OK, "{} hmac", name(p));
    out
}

fn kdf(
    p: &Provider,
    algorithm: c_int,
    pass: &[u8],
    salt: &[u8],
    rounds: c_int,
    len: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let rc = unsafe {
        p.kdf.unwrap()(
            std::ptr::null_mut(),
            algorithm,
            pass.as_ptr(),
            pass.len() as c_int,
            salt.as_ptr(),
            salt.len() as c_int,
            rounds,
            len as c_int,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(rc, SQLITE_OK, "{} kdf", name(p));
    out
}

fn bytes(rng: &mut impl Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random()).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn aes_256_cbc_gives_the_published_vector() {
    // NIST SP 800-38A, F.2.5 (CBC-AES256.Encrypt), its first two blocks.
    let p = table(ours());
    let key = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    let iv = unhex("000102030405060708090a0b0c0d0e0f");
    let plain = unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
    let sealed = unhex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
    assert_eq!(cipher(p, SQLCIPHER_ENCRYPT, &key, &iv, &plain), sealed);
    assert_eq!(cipher(p, SQLCIPHER_DECRYPT, &key, &iv, &sealed), plain);
}

#[test]
fn every_answer_is_the_one_openssl_gives() {
    let (a, b) = (table(ours()), table(openssl()));
    assert_eq!(
        (name(a).as_str(), name(b).as_str()),
        (NAME.to_str().unwrap(), "openssl")
    );
    let none = std::ptr::null_mut();
    unsafe {
        assert_eq!(a.get_key_sz.unwrap()(none), b.get_key_sz.unwrap()(none));
        assert_eq!(a.get_iv_sz.unwrap()(none), b.get_iv_sz.unwrap()(none));
        assert_eq!(a.get_block_sz.unwrap()(none), b.get_block_sz.unwrap()(none));
        for alg in [HMAC_SHA1, HMAC_SHA256, HMAC_SHA512] {
            assert_eq!(
                a.get_hmac_sz.unwrap()(none, alg),
                b.get_hmac_sz.unwrap()(none, alg)
            );
        }
        let cipher_name =
            |p: &Provider| std::ffi::CStr::from_ptr(p.get_cipher.unwrap()(none)).to_owned();
        assert_eq!(cipher_name(a), cipher_name(b));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    for round in 0..64 {
        // Pages of every size SQLCipher allows, and odd smaller runs.
        let len = 16 * rng.random_range(1..=if round % 4 == 0 { 4096 } else { 8 });
        let key = bytes(&mut rng, 32);
        let iv = bytes(&mut rng, 16);
        let data = bytes(&mut rng, len);
        let sealed = cipher(a, SQLCIPHER_ENCRYPT, &key, &iv, &data);
        assert_ne!(sealed, data);
        assert_eq!(sealed, cipher(b, SQLCIPHER_ENCRYPT, &key, &iv, &data));
        assert_eq!(cipher(a, SQLCIPHER_DECRYPT, &key, &iv, &sealed), data);
        assert_eq!(cipher(b, SQLCIPHER_DECRYPT, &key, &iv, &sealed), data);

        for alg in [HMAC_SHA1, HMAC_SHA256, HMAC_SHA512] {
            let key_len = rng.random_range(0..200);
            let key = bytes(&mut rng, key_len);
            let in1_len = rng.random_range(1..5000);
            let in1 = bytes(&mut rng, in1_len);
            let in2_len = rng.random_range(0..8);
            let in2 = bytes(&mut rng, in2_len);
            assert_eq!(
                hmac(a, alg, &key, &in1, None),
                hmac(b, alg, &key, &in1, None)
            );
            assert_eq!(
                hmac(a, alg, &key, &in1, Some(&in2)),
                hmac(b, alg, &key, &in1, Some(&in2))
            );

            let pass_len = rng.random_range(0..80);
            let pass = bytes(&mut rng, pass_len);
            let salt = bytes(&mut rng, 16);
            let rounds = [1, 2, 3, 1000][round % 4];
            let len = [32, 64, 48, 20][round % 4];
            assert_eq!(
                kdf(a, alg, &pass, &salt, rounds, len),
                kdf(b, alg, &pass, &salt, rounds, len)
            );
        }
    }
    let mut r = [0u8; 64];
    let rc = unsafe { a.random.unwrap()(none, r.as_mut_ptr().cast(), 64) };
    assert_eq!(rc, SQLITE_OK);
    assert_ne!(r, [0u8; 64]);
}

#[test]
fn what_sqlcipher_must_not_be_given_is_an_error_not_a_crash() {
    let p = table(ours());
    let none = std::ptr::null_mut();
    let key = [7u8; 32];
    let iv = [1u8; 16];
    let data = [0u8; 24];
    let mut out = [0u8; 64];
    unsafe {
        // Not whole blocks.
        let rc = p.cipher.unwrap()(
            none,
            1,
            key.as_ptr(),
            32,
            iv.as_ptr(),
            data.as_ptr(),
            24,
            out.as_mut_ptr(),
        );
        assert_eq!(rc, SQLITE_ERROR);
        // A short key.
        let rc = p.cipher.unwrap()(
            none,
            1,
            key.as_ptr(),
            16,
            iv.as_ptr(),
            data.as_ptr(),
            16,
            out.as_mut_ptr(),
        );
        assert_eq!(rc, SQLITE_ERROR);
        // No first input, as OpenSSL's provider refuses it.
        let rc = p.hmac.unwrap()(
            none,
            HMAC_SHA512,
            key.as_ptr(),
            32,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            out.as_mut_ptr(),
        );
        assert_eq!(rc, SQLITE_ERROR);
        // A missing key or salt with a length is refused, not read as empty.
        let rc = p.hmac.unwrap()(
            none,
            HMAC_SHA512,
            std::ptr::null(),
            32,
            data.as_ptr(),
            16,
            std::ptr::null(),
            0,
            out.as_mut_ptr(),
        );
        assert_eq!(rc, SQLITE_ERROR);
        let rc = p.kdf.unwrap()(
            none,
            HMAC_SHA512,
            key.as_ptr(),
            32,
            std::ptr::null(),
            16,
            2,
            32,
            out.as_mut_ptr(),
        );
        assert_eq!(rc, SQLITE_ERROR);
        // An algorithm SQLCipher does not have.
        assert_eq!(p.get_hmac_sz.unwrap()(none, 9), 0);
        let rc = p.kdf.unwrap()(
            none,
            9,
            key.as_ptr(),
            32,
            iv.as_ptr(),
            16,
            2,
            32,
            out.as_mut_ptr(),
        );
        assert_eq!(rc, SQLITE_ERROR);
    }
}

/// Held while a test makes SQLCipher's OpenSSL provider the default, so
/// that a test of which provider the stores use never runs meanwhile.
static SWITCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_field_database_is_opened_through_this_provider() {
    let _alone = SWITCHING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let key = crate::store::kdf::DbKey::from_hex(&"5a".repeat(32)).unwrap();
    let store = crate::store::Store::open(&dir.path().join("f.db"), Some(&key)).unwrap();
    let provider: String = store
        .conn
        .query_row("PRAGMA cipher_provider", [], |r| r.get(0))
        .unwrap();
    assert_eq!(provider, NAME.to_str().unwrap());
}

/// Makes `p` SQLCipher's default provider for the connections opened next.
fn use_provider(p: *mut Provider) {
    assert!(unsafe { ffi::register(p) });
}

/// Puts this module's provider back as the default, even when the test
/// fails half-way.
struct Restore(*mut Provider);
impl Drop for Restore {
    fn drop(&mut self) {
        use_provider(self.0);
    }
}

const KEY: &str =
    "PRAGMA key = \"x'2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c'\";";

fn open(path: &std::path::Path, expect: &str, hmac: &str) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(KEY).unwrap();
    conn.execute_batch(&format!("PRAGMA cipher_hmac_algorithm = {hmac};"))
        .unwrap();
    let provider: String = conn
        .query_row("PRAGMA cipher_provider", [], |r| r.get(0))
        .unwrap();
    assert_eq!(provider, expect);
    conn
}

fn rows(conn: &Connection) -> (i64, String) {
    conn.query_row(
        "SELECT COUNT(*), group_concat(v, '') FROM (SELECT v FROM t ORDER BY id)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

fn intact(conn: &Connection) {
    let mut stmt = conn.prepare("PRAGMA cipher_integrity_check").unwrap();
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

fn add(conn: &Connection, from: i64) {
    let tx = conn.unchecked_transaction().unwrap();
    for i in from..from + 400 {
        tx.execute(
            "INSERT INTO t (id, v) VALUES (?1, ?2)",
            (i, format!("{i:0>200}")),
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn a_database_written_through_either_provider_opens_through_the_other() {
    // SQLCipher's default page HMAC (databases made before `page_hmac`)
    // and the one new databases get.
    for hmac in ["HMAC_SHA512", "HMAC_SHA256"] {
        written_through_either_provider(hmac);
    }
}

fn written_through_either_provider(hmac: &str) {
    let _alone = SWITCHING.lock().unwrap_or_else(|e| e.into_inner());
    let (mine, theirs) = (ours(), openssl());
    let _restore = Restore(mine);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("both.db");

    // Written as SQLCipher with OpenSSL writes it (today's laptops).
    use_provider(theirs);
    {
        let conn = open(&path, "openssl", hmac);
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
        )
        .unwrap();
        add(&conn, 0);
    }
    let expected = (0..400).map(|i| format!("{i:0>200}")).collect::<String>();

    // Read and extended through this module.
    use_provider(mine);
    {
        let conn = open(&path, NAME.to_str().unwrap(), hmac);
        assert_eq!(rows(&conn), (400, expected.clone()));
        intact(&conn);
        add(&conn, 400);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let expected = (0..800).map(|i| format!("{i:0>200}")).collect::<String>();

    // And read back through OpenSSL: every page's HMAC checks.
    use_provider(theirs);
    {
        let conn = open(&path, "openssl", hmac);
        assert_eq!(rows(&conn), (800, expected.clone()));
        intact(&conn);
    }

    // A wrong key is refused as OpenSSL's provider refuses it.
    use_provider(mine);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .unwrap();
    conn.execute_batch(&KEY.replace("2b7e", "0000")).unwrap();
    conn.execute_batch(&format!("PRAGMA cipher_hmac_algorithm = {hmac};"))
        .unwrap();
    let err = conn
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase)
    );
}

//! The cryptography SQLCipher encrypts the field database with: AES-256-CBC
//! from the RustCrypto crates, HMAC, PBKDF2 and the random generator from
//! ring, handed to SQLCipher as its crypto provider before its first
//! connection opens.
//!
//! Why not the OpenSSL that SQLCipher is built with: every `sigap` command
//! is a process of a few milliseconds, and OpenSSL 3 spends about a quarter
//! of a `sigap register` setting itself up for one cipher, one MAC and a
//! random generator (its provider and method store, the name map of every
//! algorithm, the first instantiation of its DRBG, and the HMAC and cipher
//! fetched again for every page). With this provider a registration runs
//! 5.2–5.4 M instructions instead of 7.7 M (callgrind; BENCHMARKS.md).
//!
//! The page format is SQLCipher's, unchanged: a database written through
//! either provider opens through the other (tested below, both ways, with
//! SQLCipher's own OpenSSL provider beside this one), so laptops upgrade
//! in place. The server never opens a keyed database and keeps the
//! default provider.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;

use aes::Aes256;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};

// SQLCipher's result codes and constants (sqlcipher.h, SQLite).
const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
const SQLCIPHER_ENCRYPT: c_int = 1;
const SQLCIPHER_DECRYPT: c_int = 0;
const HMAC_SHA1: c_int = 0;
const HMAC_SHA256: c_int = 1;
const HMAC_SHA512: c_int = 2;

const KEY_SZ: c_int = 32;
const IV_SZ: c_int = 16;
const BLOCK_SZ: c_int = 16;

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;

/// SQLCipher 4's `struct sqlcipher_provider`, field for field.
#[repr(C)]
pub(super) struct Provider {
    init: Option<unsafe extern "C" fn() -> c_int>,
    shutdown: Option<unsafe extern "C" fn()>,
    get_provider_name: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    add_random: Option<unsafe extern "C" fn(*mut c_void, *const c_void, c_int) -> c_int>,
    random: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    #[allow(clippy::type_complexity)]
    hmac: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    #[allow(clippy::type_complexity)]
    kdf: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            c_int,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    #[allow(clippy::type_complexity)]
    cipher: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    get_cipher: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    get_key_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_iv_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_block_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_hmac_sz: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    ctx_init: Option<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    ctx_free: Option<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    fips_status: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_provider_version: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    next: *mut Provider,
}

/// What `PRAGMA cipher_provider` reports.
pub const NAME: &std::ffi::CStr = c"rust";

// The safe halves: plain slices in, a result out. The `extern "C"`
// wrappers in `ffi` only turn SQLCipher's pointers into slices.

/// HMAC of `in1` then `in2` with the digest SQLCipher names.
fn hmac(algorithm: c_int, key: &[u8], in1: &[u8], in2: &[u8], out: &mut [u8]) -> bool {
    let digest = match algorithm {
        HMAC_SHA1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        HMAC_SHA256 => ring::hmac::HMAC_SHA256,
        HMAC_SHA512 => ring::hmac::HMAC_SHA512,
        _ => return false,
    };
    let mut mac = ring::hmac::Context::with_key(&ring::hmac::Key::new(digest, key));
    mac.update(in1);
    mac.update(in2);
    let tag = mac.sign();
    if out.len() != tag.as_ref().len() {
        return false;
    }
    out.copy_from_slice(tag.as_ref());
    true
}

fn hmac_size(algorithm: c_int) -> c_int {
    match algorithm {
        HMAC_SHA1 => 20,
        HMAC_SHA256 => 32,
        HMAC_SHA512 => 64,
        _ => 0,
    }
}

/// PBKDF2 with the HMAC SQLCipher names.
fn kdf(algorithm: c_int, pass: &[u8], salt: &[u8], rounds: u32, key: &mut [u8]) -> bool {
    let Some(rounds) = std::num::NonZeroU32::new(rounds) else {
        return false;
    };
    let prf = match algorithm {
        HMAC_SHA1 => ring::pbkdf2::PBKDF2_HMAC_SHA1,
        HMAC_SHA256 => ring::pbkdf2::PBKDF2_HMAC_SHA256,
        HMAC_SHA512 => ring::pbkdf2::PBKDF2_HMAC_SHA512,
        _ => return false,
    };
    if key.is_empty() {
        return false;
    }
    ring::pbkdf2::derive(prf, rounds, salt, pass, key);
    true
}

/// AES-256-CBC without padding over whole blocks, `data` in place.
fn cbc(mode: c_int, key: &[u8], iv: &[u8], data: &mut [u8]) -> bool {
    let len = data.len();
    if !len.is_multiple_of(BLOCK_SZ as usize) {
        return false;
    }
    match mode {
        SQLCIPHER_ENCRYPT => Aes256CbcEnc::new_from_slices(key, iv)
            .ok()
            .and_then(|c| c.encrypt_padded_mut::<NoPadding>(data, len).ok())
            .is_some(),
        SQLCIPHER_DECRYPT => Aes256CbcDec::new_from_slices(key, iv)
            .ok()
            .and_then(|c| c.decrypt_padded_mut::<NoPadding>(data).ok())
            .is_some(),
        _ => false,
    }
}

fn random(out: &mut [u8]) -> bool {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new().fill(out).is_ok()
}

fn ok(done: bool) -> c_int {
    if done { SQLITE_OK } else { SQLITE_ERROR }
}

#[allow(unsafe_code)]
mod ffi {
    use super::*;

    unsafe extern "C" {
        // SQLCipher's public provider interface (sqlcipher.h), linked from
        // the SQLCipher that rusqlite bundles.
        pub fn sqlcipher_register_provider(p: *mut Provider) -> c_int;
    }

    /// A slice over `len` bytes at `ptr`; empty for a length of zero (any
    /// pointer), `None` for a negative length or a null pointer with a
    /// length (never read as empty: a missing key must not HMAC as "").
    ///
    /// SAFETY (callers): SQLCipher passes buffers of the stated length.
    unsafe fn bytes<'a>(ptr: *const u8, len: c_int) -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        if len == 0 {
            return Some(&[]);
        }
        if ptr.is_null() {
            return None;
        }
        // SAFETY: see the function's contract.
        Some(unsafe { std::slice::from_raw_parts(ptr, len) })
    }

    unsafe extern "C" fn name(_: *mut c_void) -> *const c_char {
        NAME.as_ptr()
    }

    unsafe extern "C" fn version(_: *mut c_void) -> *const c_char {
        c"aes 0.8, cbc 0.1, ring 0.17".as_ptr()
    }

    unsafe extern "C" fn cipher_name(_: *mut c_void) -> *const c_char {
        // OpenSSL's short name for the same cipher, as SQLCipher reports it.
        c"AES-256-CBC".as_ptr()
    }

    unsafe extern "C" fn add_random(_: *mut c_void, _: *const c_void, _: c_int) -> c_int {
        // The operating system's generator needs no seed from the caller.
        SQLITE_OK
    }

    unsafe extern "C" fn random(_: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
        let Ok(len) = usize::try_from(length) else {
            return SQLITE_ERROR;
        };
        if buffer.is_null() || len == 0 {
            return ok(len == 0);
        }
        // SAFETY: SQLCipher passes a writable buffer of `length` bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), len) };
        ok(super::random(out))
    }

    #[allow(clippy::too_many_arguments)]
    unsafe extern "C" fn hmac(
        _: *mut c_void,
        algorithm: c_int,
        key: *const u8,
        key_sz: c_int,
        in1: *const u8,
        in1_sz: c_int,
        in2: *const u8,
        in2_sz: c_int,
        out: *mut u8,
    ) -> c_int {
        // As OpenSSL's provider: a missing first input is an error.
        if in1.is_null() || out.is_null() {
            return SQLITE_ERROR;
        }
        let size = hmac_size(algorithm) as usize;
        // SAFETY: buffers of the stated sizes; `out` holds the HMAC's
        // size for the algorithm (SQLCipher asks `get_hmac_sz`).
        let (Some(key), Some(in1), Some(in2)) = (
            unsafe { bytes(key, key_sz) },
            unsafe { bytes(in1, in1_sz) },
            unsafe { bytes(in2, in2_sz) },
        ) else {
            return SQLITE_ERROR;
        };
        if size == 0 {
            return SQLITE_ERROR;
        }
        // SAFETY: as above.
        let out = unsafe { std::slice::from_raw_parts_mut(out, size) };
        ok(super::hmac(algorithm, key, in1, in2, out))
    }

    #[allow(clippy::too_many_arguments)]
    unsafe extern "C" fn kdf(
        _: *mut c_void,
        algorithm: c_int,
        pass: *const u8,
        pass_sz: c_int,
        salt: *const u8,
        salt_sz: c_int,
        workfactor: c_int,
        key_sz: c_int,
        key: *mut u8,
    ) -> c_int {
        let (Ok(rounds), Ok(key_len)) = (u32::try_from(workfactor), usize::try_from(key_sz)) else {
            return SQLITE_ERROR;
        };
        if key.is_null() {
            return SQLITE_ERROR;
        }
        // SAFETY: buffers of the stated sizes.
        let (Some(pass), Some(salt)) = (unsafe { bytes(pass, pass_sz) }, unsafe {
            bytes(salt, salt_sz)
        }) else {
            return SQLITE_ERROR;
        };
        // SAFETY: `key` is writable for `key_sz` bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(key, key_len) };
        ok(super::kdf(algorithm, pass, salt, rounds, out))
    }

    #[allow(clippy::too_many_arguments)]
    unsafe extern "C" fn cipher(
        _: *mut c_void,
        mode: c_int,
        key: *const u8,
        key_sz: c_int,
        iv: *const u8,
        input: *const u8,
        in_sz: c_int,
        out: *mut u8,
    ) -> c_int {
        let Ok(len) = usize::try_from(in_sz) else {
            return SQLITE_ERROR;
        };
        if key.is_null() || iv.is_null() || input.is_null() || out.is_null() {
            return SQLITE_ERROR;
        }
        // SAFETY: `key` has `key_sz` bytes and `iv` the IV size this
        // provider reports; `input` and `out` each hold `in_sz` bytes and
        // may be the same buffer, which `copy` allows.
        let (Some(key), Some(iv)) = (unsafe { bytes(key, key_sz) }, unsafe { bytes(iv, IV_SZ) })
        else {
            return SQLITE_ERROR;
        };
        unsafe { std::ptr::copy(input, out, len) };
        // SAFETY: as above.
        let data = unsafe { std::slice::from_raw_parts_mut(out, len) };
        ok(super::cbc(mode, key, iv, data))
    }

    unsafe extern "C" fn key_sz(_: *mut c_void) -> c_int {
        KEY_SZ
    }

    unsafe extern "C" fn iv_sz(_: *mut c_void) -> c_int {
        IV_SZ
    }

    unsafe extern "C" fn block_sz(_: *mut c_void) -> c_int {
        BLOCK_SZ
    }

    unsafe extern "C" fn hmac_sz(_: *mut c_void, algorithm: c_int) -> c_int {
        hmac_size(algorithm)
    }

    unsafe extern "C" fn ctx_noop(_: *mut *mut c_void) -> c_int {
        // Stateless: nothing per connection.
        SQLITE_OK
    }

    unsafe extern "C" fn fips_status(_: *mut c_void) -> c_int {
        0
    }

    /// This module's functions in SQLCipher's table.
    pub(super) fn table() -> Provider {
        Provider {
            init: None,
            shutdown: None,
            get_provider_name: Some(name),
            add_random: Some(add_random),
            random: Some(random),
            hmac: Some(hmac),
            kdf: Some(kdf),
            cipher: Some(cipher),
            get_cipher: Some(cipher_name),
            get_key_sz: Some(key_sz),
            get_iv_sz: Some(iv_sz),
            get_block_sz: Some(block_sz),
            get_hmac_sz: Some(hmac_sz),
            ctx_init: Some(ctx_noop),
            ctx_free: Some(ctx_noop),
            fips_status: Some(fips_status),
            get_provider_version: Some(version),
            next: std::ptr::null_mut(),
        }
    }

    /// Memory for a provider that SQLCipher may free: it frees its
    /// providers with `sqlite3_free` when the process ends, so the
    /// provider must come from SQLite's allocator. Before SQLite is
    /// initialised, `sqlite3_malloc` would initialise it (and SQLCipher
    /// with OpenSSL's provider, the cost this module avoids), so the
    /// allocator's own `xMalloc` is used, as SQLite's `sqlite3_free` will
    /// find it.
    pub(super) fn allocate() -> *mut Provider {
        use rusqlite::ffi;
        let size = std::mem::size_of::<Provider>();
        let mut methods = std::mem::MaybeUninit::<ffi::sqlite3_mem_methods>::zeroed();
        // SAFETY: SQLITE_CONFIG_GETMALLOC takes one pointer to a
        // `sqlite3_mem_methods`, which it fills; before initialisation it
        // installs and returns the default allocator. After it, the call
        // is refused (SQLITE_MISUSE) and `sqlite3_malloc` is safe to use.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETMALLOC, methods.as_mut_ptr()) };
        let raw = if rc == ffi::SQLITE_OK {
            // SAFETY: filled by the call above.
            let methods = unsafe { methods.assume_init() };
            match (methods.xInit, methods.xMalloc) {
                (Some(init), Some(malloc)) => {
                    // SAFETY: the default allocator's own set-up, which
                    // SQLite calls again (harmlessly) when it initialises.
                    if unsafe { init(methods.pAppData) } != ffi::SQLITE_OK {
                        return std::ptr::null_mut();
                    }
                    // SAFETY: a plain allocation of `size` bytes.
                    unsafe { malloc(size as c_int) }
                }
                _ => std::ptr::null_mut(),
            }
        } else {
            // SAFETY: SQLite is initialised; a plain allocation.
            unsafe { ffi::sqlite3_malloc(size as c_int) }
        };
        raw.cast::<Provider>()
    }

    /// Registers `p` (filled) as SQLCipher's default provider.
    ///
    /// SAFETY (callers): `p` comes from [`allocate`] and is filled; after
    /// this SQLCipher owns it.
    pub(super) unsafe fn register(p: *mut Provider) -> bool {
        // SAFETY: see the function's contract. Before SQLite initialises,
        // SQLCipher's provider mutex does not exist yet and the call runs
        // unlocked: `install` holds SQLite's main mutex instead.
        unsafe { sqlcipher_register_provider(p) == SQLITE_OK }
    }

    /// Allocates, fills and registers this module's provider, holding
    /// SQLite's main mutex: SQLite sets up its allocator, and SQLCipher
    /// picks its default provider, under that mutex, so another thread
    /// opening a database meanwhile waits and then finds this one. Taking
    /// a static mutex does not initialise SQLite.
    pub(super) fn install() -> bool {
        use rusqlite::ffi;
        // SAFETY: a static mutex of SQLite's; `enter`/`leave` accept the
        // null a failed allocation gives (then nothing is locked).
        let main = unsafe { ffi::sqlite3_mutex_alloc(ffi::SQLITE_MUTEX_STATIC_MAIN) };
        unsafe { ffi::sqlite3_mutex_enter(main) };
        let done = install_locked();
        // SAFETY: as above.
        unsafe { ffi::sqlite3_mutex_leave(main) };
        done
    }

    fn install_locked() -> bool {
        let p = allocate();
        if p.is_null() {
            return false;
        }
        // SAFETY: `p` is a fresh allocation of a `Provider`'s size and
        // alignment (SQLite's allocator aligns to 8 bytes), written whole
        // before SQLCipher reads it.
        let done = unsafe {
            p.write(table());
            register(p)
        };
        #[cfg(test)]
        if done {
            super::INSTALLED.store(p, std::sync::atomic::Ordering::SeqCst);
        }
        done
    }
}

static INSTALL: Once = Once::new();
/// The provider [`prepare`] registered (tests switch between it and
/// SQLCipher's OpenSSL provider).
#[cfg(test)]
static INSTALLED: std::sync::atomic::AtomicPtr<Provider> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// Called before the first SQLCipher connection opens; later calls do
/// nothing. Should the provider not be installed (no memory), SQLCipher
/// uses its OpenSSL provider, which reads and writes the same format:
/// slower, not less safe.
pub fn prepare() {
    INSTALL.call_once(|| {
        let _ = ffi::install();
    });
}

#[cfg(test)]
mod tests;

//! OpenSSL, which SQLCipher encrypts with, set up for a short process.
//!
//! Left to itself OpenSSL 3 initialises for a long-lived program: it loads
//! every error string, registers every legacy cipher and digest name, reads
//! its configuration file and frees all of it again at exit. A `sigap`
//! command lives a few milliseconds and uses one cipher, one MAC and the
//! random generator, and perf put a fifth of `sigap register`'s time in
//! that set-up and tear-down (BENCHMARKS.md). The options below skip what
//! SQLCipher does not use; the process's exit frees its memory anyway.

use std::sync::Once;

// From OpenSSL's crypto.h (stable since 1.1.0).
const NO_LOAD_CRYPTO_STRINGS: u64 = 0x0000_0001;
const NO_ADD_ALL_CIPHERS: u64 = 0x0000_0010;
const NO_ADD_ALL_DIGESTS: u64 = 0x0000_0020;
const NO_LOAD_CONFIG: u64 = 0x0000_0080;
const NO_ATEXIT: u64 = 0x0008_0000;

#[allow(unsafe_code)]
mod ffi {
    unsafe extern "C" {
        // Linked from the vendored libcrypto that SQLCipher is built with.
        pub fn OPENSSL_init_crypto(opts: u64, settings: *const std::ffi::c_void)
        -> std::ffi::c_int;
    }

    pub fn init_crypto(opts: u64) -> bool {
        // SAFETY: a documented entry point, callable from any thread
        // before or after other OpenSSL use; a null settings pointer means
        // the defaults. It only reads `opts`.
        unsafe { OPENSSL_init_crypto(opts, std::ptr::null()) == 1 }
    }
}

static INIT: Once = Once::new();

/// Called before the first SQLCipher connection opens; later calls do
/// nothing. Should OpenSSL refuse the options, SQLCipher initialises it
/// the usual way: slower, not less safe.
pub fn prepare() {
    INIT.call_once(|| {
        let _ = ffi::init_crypto(
            NO_LOAD_CRYPTO_STRINGS
                | NO_ADD_ALL_CIPHERS
                | NO_ADD_ALL_DIGESTS
                | NO_LOAD_CONFIG
                | NO_ATEXIT,
        );
    });
}

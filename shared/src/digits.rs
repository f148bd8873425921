//! Zero-padded decimal text without the formatting machinery: timestamps
//! and area codes are written for every change the server applies, and
//! `format!` showed up in its profiles.

/// `v` in decimal, left-padded with zeros to at least `width`: ASCII
/// digits written into the end of `buf`.
pub fn padded(buf: &mut [u8; 20], mut v: u64, width: usize) -> &[u8] {
    *buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    &buf[start..]
}

/// Appends `v` in decimal, left-padded with zeros to at least `width`.
pub fn push_padded(out: &mut String, v: u64, width: usize) {
    let mut buf = [0; 20];
    // Pushed as ASCII characters: checking the digits as UTF-8 cost more
    // than writing them (callgrind: ~19 calls a change pushed).
    out.extend(padded(&mut buf, v, width).iter().map(|&b| char::from(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_like_format() {
        for (v, w) in [
            (0u64, 0usize),
            (0, 2),
            (7, 2),
            (42, 2),
            (123, 2),
            (5, 4),
            (1001, 4),
            (u64::MAX, 16),
            (1_732_550_400_000, 16),
        ] {
            let mut s = String::new();
            push_padded(&mut s, v, w);
            assert_eq!(s, format!("{v:0w$}"));
        }
    }
}

//! The second factor (双因素认证) that 等级保护 level 3 asks of the
//! management side: time-based one-time passwords (RFC 6238, the codes
//! of any authenticator app): HMAC-SHA1 over the 30-second step since
//! the Unix epoch, six digits.
//!
//! A code is accepted for its step and the one before and after (a phone's
//! clock may be half a minute off), and only for a step later than the
//! last one the account used: the state machine keeps that step, so a
//! code seen once is refused on every node (no replay).

use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha1::Sha1;

/// Seconds per step, as every authenticator app counts.
pub const STEP_SECONDS: i64 = 30;
/// 160 bits, the RFC's recommendation for SHA-1.
const SECRET_BYTES: usize = 20;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new secret, in the base32 form apps take (and the log stores).
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    base32(&bytes)
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The bytes of a base32 secret (spaces and case ignored), if it is one.
pub fn decode(secret: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in secret.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET.iter().position(|a| *a as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    (out.len() >= 10).then_some(out)
}

/// The code of `step` for a secret's bytes.
pub fn code(secret: &[u8], step: i64) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&(step as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let value = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", value % 1_000_000)
}

/// The step of an instant (ms).
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(STEP_SECONDS * 1000)
}

/// Why a code was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not the code of this step or a neighbour.
    Wrong,
    /// Right, but for a step already used: someone saw it.
    Replayed,
}

/// The step `code` proves at `now_ms`, if it is right and newer than
/// `last_step`. Compared in constant time per candidate.
pub fn verify(secret: &[u8], given: &str, now_ms: i64, last_step: i64) -> Result<i64, Refused> {
    let given = given.trim();
    if given.len() != 6 || !given.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refused::Wrong);
    }
    let now = step_at(now_ms);
    let mut matched = None;
    for step in [now - 1, now, now + 1] {
        let expected = code(secret, step);
        let same = expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same {
            matched = Some(step);
        }
    }
    match matched {
        None => Err(Refused::Wrong),
        Some(step) if step <= last_step => Err(Refused::Replayed),
        Some(step) => Ok(step),
    }
}

/// The `otpauth://` address an app reads (by hand or from a QR code).
pub fn uri(issuer: &str, username: &str, secret: &str) -> String {
    let enc = |s: &str| {
        s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>()
    };
    format!("otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30", enc(issuer), enc(username), enc(issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, the last six digits.
    #[test]
    fn codes_are_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (seconds, want) in [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"), (2_000_000_000, "279037")] {
            assert_eq!(code(secret, seconds / STEP_SECONDS), want, "at {seconds}");
        }
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        assert_eq!(decode(&s).unwrap().len(), 20);
        assert_eq!(decode(&s.to_lowercase()), decode(&s));
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(decode("not base32!").is_none());
    }

    #[test]
    fn a_code_is_taken_once_within_a_step_either_side() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111_000;
        let step = step_at(now);
        assert_eq!(verify(secret, &code(secret, step), now, 0), Ok(step));
        assert_eq!(verify(secret, &code(secret, step - 1), now, 0), Ok(step - 1), "a phone half a minute behind");
        assert_eq!(verify(secret, &code(secret, step - 2), now, 0), Err(Refused::Wrong), "a minute old");
        assert_eq!(verify(secret, &code(secret, step), now, step), Err(Refused::Replayed));
        assert_eq!(verify(secret, "12345", now, 0), Err(Refused::Wrong));
        assert_eq!(verify(secret, "abcdef", now, 0), Err(Refused::Wrong));
    }
}

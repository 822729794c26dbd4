//! Passwords and session tokens. Only digests are replicated: a password
//! as its argon2id hash, a token as its SHA-256, so a copy of the database
//! or a snapshot in transit lets nobody log in.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

/// The SHA-256 of a bearer token, as sessions are stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh 256-bit bearer token.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// argon2id with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes is a valid salt length");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashing with valid parameters").to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

//! Encryption at rest for what experts hand us to be verified and paid
//! (identity documents, bank account numbers): AES-256-GCM with a random
//! 96-bit nonce per seal, stored in front of the ciphertext.
//!
//! Every seal is bound to what it is (its additional data, e.g. the document
//! id): a ciphertext copied to another row, or another account's object
//! renamed into place, fails to open instead of passing for the original.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

const NONCE_BYTES: usize = 12;
pub const KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Shorter than a nonce and a tag: not something we sealed.
    #[error("sealed data is truncated")]
    Truncated,
    /// Wrong key, other additional data, or altered bytes.
    #[error("sealed data does not open with this key for this purpose")]
    Forged,
    /// Past AES-GCM's limit for one message (64 GiB).
    #[error("too much data to seal at once")]
    TooLong,
}

#[derive(Clone)]
pub struct Sealer(Aes256Gcm);

impl Sealer {
    pub fn new(key: &[u8; KEY_BYTES]) -> Self {
        Sealer(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)))
    }

    /// A key as configured: standard base64 of 32 bytes.
    pub fn from_base64(key: &str) -> Option<Self> {
        let bytes: [u8; KEY_BYTES] = B64.decode(key.trim()).ok()?.try_into().ok()?;
        Some(Sealer::new(&bytes))
    }

    /// A fresh random key in the configured form.
    pub fn generate_key() -> String {
        B64.encode(rand::random::<[u8; KEY_BYTES]>())
    }

    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SealError::TooLong)?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        // The nonce, then at least the 16-byte tag.
        if sealed.len() < NONCE_BYTES + 16 {
            return Err(SealError::Truncated);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| SealError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_base64(&Sealer::generate_key()).unwrap()
    }

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time() {
        let s = sealer();
        let a = s.seal(b"doc:1", b"identity card").unwrap();
        let b = s.seal(b"doc:1", b"identity card").unwrap();
        assert_ne!(a, b, "a nonce is never reused");
        assert_eq!(s.open(b"doc:1", &a).unwrap(), b"identity card");
        assert_eq!(s.open(b"doc:1", &b).unwrap(), b"identity card");
        assert_eq!(s.open(b"", &s.seal(b"", b"").unwrap()).unwrap(), b"");
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let s = sealer();
        let sealed = s.seal(b"doc:1", b"identity card").unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(s.open(b"doc:1", &tampered), Err(SealError::Forged), "{i}");
        }
        assert_eq!(
            s.open(b"doc:1", &sealed[..sealed.len() - 1]),
            Err(SealError::Forged)
        );
        assert_eq!(s.open(b"doc:1", &sealed[..27]), Err(SealError::Truncated));
    }

    #[test]
    fn other_additional_data_or_key_does_not_open() {
        let s = sealer();
        let sealed = s.seal(b"doc:1", b"identity card").unwrap();
        assert_eq!(s.open(b"doc:2", &sealed), Err(SealError::Forged));
        assert_eq!(sealer().open(b"doc:1", &sealed), Err(SealError::Forged));
    }

    #[test]
    fn configured_keys_are_32_bytes_of_base64() {
        assert!(Sealer::from_base64(&B64.encode([7u8; 32])).is_some());
        assert!(Sealer::from_base64(&B64.encode([7u8; 31])).is_none());
        assert!(Sealer::from_base64(&B64.encode([7u8; 33])).is_none());
        assert!(Sealer::from_base64("not base64!").is_none());
    }
}

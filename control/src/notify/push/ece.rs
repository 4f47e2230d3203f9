//! Web push message encryption (RFC 8291): the `aes128gcm` content coding
//! (RFC 8188) in one record, keyed by ECDH between a fresh sender key and the
//! browser's P-256 key, mixed with the browser's authentication secret. Pure:
//! the sender key and salt are given, so the RFC's example is a test.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// The record size announced in the header: one record holds the message.
const RECORD_SIZE: u32 = 4096;
/// Push services need accept no more than 4,096 bytes of body (RFC 8030
/// 7.2): less the header (86), the tag (16) and the delimiter (1).
pub const MAX_PLAINTEXT: usize = 4096 - 86 - 16 - 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EceError {
    #[error("the subscription's p256dh is not a P-256 public key")]
    BadKey,
    #[error("the subscription's auth secret is not 16 bytes")]
    BadAuth,
    #[error("a push payload holds at most {MAX_PLAINTEXT} bytes")]
    TooLarge,
    #[error("key derivation failed")]
    Derivation,
}

/// The request body for `plaintext` to the browser whose keys are
/// `ua_public` (uncompressed point) and `auth`, from the sender key
/// `as_secret` with `salt`: both must be fresh for every message.
pub fn encrypt(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, EceError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EceError::TooLarge);
    }
    if auth.len() != 16 {
        return Err(EceError::BadAuth);
    }
    let ua = PublicKey::from_sec1_bytes(ua_public).map_err(|_| EceError::BadKey)?;
    let ua_point = ua.to_encoded_point(false);
    let as_point = as_secret.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua.as_affine());

    // IKM = HKDF(auth, ECDH secret, "WebPush: info" 0 ua_public as_public, 32)
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_point.as_bytes());
    key_info.extend_from_slice(as_point.as_bytes());
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|_| EceError::Derivation)?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|_| EceError::Derivation)?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|_| EceError::Derivation)?;

    // The one (so last) record: the plaintext and the delimiter 2, no padding.
    let mut record = plaintext.to_vec();
    record.push(2);
    let sealed = Aes128Gcm::new_from_slice(&cek)
        .map_err(|_| EceError::Derivation)?
        .encrypt(Nonce::from_slice(&nonce), record.as_slice())
        .map_err(|_| EceError::Derivation)?;

    // Header: salt, record size, key id length and key id (the sender key).
    let key_id = as_point.as_bytes();
    let mut body = Vec::with_capacity(21 + key_id.len() + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(key_id.len() as u8);
    body.extend_from_slice(key_id);
    body.extend_from_slice(&sealed);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;

    use super::*;

    fn b(s: &str) -> Vec<u8> {
        B64.decode(s).unwrap()
    }

    /// RFC 8291, Appendix A.
    #[test]
    fn the_rfc_example_byte_for_byte() {
        let as_secret =
            SecretKey::from_slice(&b("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        let salt: [u8; 16] = b("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt(
            b"When I grow up, I want to be a watermelon",
            &b("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            &b("BTBZMqHH6r4Tts7J_aSIgg"),
            &as_secret,
            &salt,
        )
        .unwrap();
        assert_eq!(
            B64.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn bad_keys_and_large_payloads_are_refused() {
        let as_secret = SecretKey::from_slice(&[7u8; 32]).unwrap();
        let ua = as_secret.public_key().to_encoded_point(false);
        let salt = [0u8; 16];
        assert_eq!(
            encrypt(b"x", &[4u8; 65], &[0u8; 16], &as_secret, &salt),
            Err(EceError::BadKey)
        );
        assert_eq!(
            encrypt(b"x", ua.as_bytes(), &[0u8; 15], &as_secret, &salt),
            Err(EceError::BadAuth)
        );
        let big = vec![0u8; MAX_PLAINTEXT + 1];
        assert_eq!(
            encrypt(&big, ua.as_bytes(), &[0u8; 16], &as_secret, &salt),
            Err(EceError::TooLarge)
        );
        let fits = vec![0u8; MAX_PLAINTEXT];
        let body = encrypt(&fits, ua.as_bytes(), &[0u8; 16], &as_secret, &salt).unwrap();
        assert_eq!(body.len(), 4096);
    }
}

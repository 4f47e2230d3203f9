//! Password hashing with argon2id (OWASP's recommended parameters: 19 MiB,
//! two passes). Hashing is CPU-bound, so it runs off the async workers,
//! one job per core (`crate::cpu`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

fn hasher() -> Argon2<'static> {
    Argon2::default()
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    crate::cpu::run(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// True when `password` matches `stored`. An unparsable stored hash (such as
/// the `!` of an anonymised account) matches nothing.
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    crate::cpu::run(move || match PasswordHash::new(&stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    })
    .await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let a = super::hash("Correct-Horse9".into()).await.unwrap();
        let b = super::hash("Correct-Horse9".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(super::verify("Correct-Horse9".into(), a.clone())
            .await
            .unwrap());
        assert!(!super::verify("correct-horse9".into(), a).await.unwrap());
        assert!(!super::verify("anything".into(), "!".into()).await.unwrap());
    }
}

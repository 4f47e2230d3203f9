//! Creating the first administrator, from the command line.

use platform::{Clock, Database};
use proto::FieldError;

use crate::accounts::{store, validate, Account, Privacy, Role};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Creates an active administrator whose email counts as verified.
pub async fn create_admin(
    db: &Database,
    clock: &dyn Clock,
    email: &str,
    first_name: &str,
    last_name: &str,
    password: &str,
) -> Result<Account, BootstrapError> {
    let mut errors = Vec::new();
    validate::email("email", email, &mut errors);
    validate::name("first_name", first_name, &mut errors);
    validate::name("last_name", last_name, &mut errors);
    let local = email.split('@').next().unwrap_or_default();
    validate::password(
        "password",
        password,
        &[local, first_name, last_name],
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(BootstrapError::Invalid(errors));
    }
    let now = clock.now_ms();
    let hash = crate::auth::password::hash(password.to_owned()).await?;
    let mut account = Account::new(email, hash, Role::Admin, first_name, last_name, now);
    account.privacy = Privacy::Private;
    account.email_verified_at = Some(now);
    match store::insert(db.pool(), &account).await {
        Ok(()) => Ok(account),
        Err(store::StoreError::EmailTaken) => Err(BootstrapError::EmailTaken),
        Err(store::StoreError::Db(e)) => Err(anyhow::Error::from(e).into()),
    }
}

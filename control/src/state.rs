//! What every request handler shares, assembled once at start-up.

use std::path::Path;
use std::sync::Arc;

use platform::bus::Bus;
use platform::config::ConfigError;
use platform::room_token::RoomTokens;
use platform::telemetry::Telemetry;
use platform::{Clock, Database};

use crate::auth::throttle::RateLimiter;
use crate::auth::tokens::Keys;
use crate::bookings::Bookings;
use crate::calls::Calls;
use crate::experts::seal::Sealer;
use crate::experts::tax;
use crate::ledger::rules::MAX_AMOUNT;
use crate::ledger::Ledger;
use crate::mail::{Email, Mailer};
use crate::messaging::Messaging;
use crate::metrics::AuthMetrics;
use crate::notify::live::Live;
use crate::notify::push::{Vapid, WebPush};
use crate::notify::sms::Sms;
use crate::objects::ObjectStore;
use crate::payments::Payments;
use crate::payouts::Payouts;
use crate::settings::Settings;
use crate::social::client::Social;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    /// Live events between replicas (in-process, or Redis).
    pub bus: Bus,
    /// Open notification streams on this replica, fed from the bus.
    pub live: Live,
    /// `None` when SMS is not configured.
    pub sms: Option<Sms>,
    pub push: WebPush,
    pub ledger: Ledger,
    pub payments: Payments,
    pub bookings: Bookings,
    /// Booked calls: room tokens, presence, status and settlement.
    pub calls: Calls,
    pub payouts: Payouts,
    pub messaging: Messaging,
    /// The OAuth clients experts link social accounts with.
    pub social: Social,
    pub settings: Settings,
    pub public_url: String,
    pub keys: Keys,
    pub room_tokens: RoomTokens,
    /// Where clients reach signalling (`ws://` or `wss://`).
    pub signalling_url: String,
    pub mailer: Mailer,
    pub objects: ObjectStore,
    /// Seals identity documents and bank account numbers at rest.
    pub sealer: Sealer,
    pub auth_limiter: RateLimiter,
    /// Emailed links per recipient address: however many clients ask,
    /// nobody's mailbox gets flooded.
    pub mail_limiter: RateLimiter,
    pub metrics: AuthMetrics,
    /// A hash to verify against when the email is unknown, so a login takes
    /// as long whether or not the account exists.
    pub decoy_hash: String,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub async fn new(
        settings: Settings,
        data_dir: &Path,
        db: Database,
        clock: Arc<dyn Clock>,
        bus: Bus,
        telemetry: &Telemetry,
    ) -> anyhow::Result<Self> {
        let secret = match &settings.auth.secret {
            Some(s) if s.len() < 32 => {
                return Err(ConfigError::key(
                    "control.auth.secret",
                    "must be at least 32 characters",
                )
                .into())
            }
            Some(s) => s.clone(),
            None => load_or_create_secret(data_dir)?,
        };
        let sealer = match &settings.experts.documents_key {
            Some(key) => Sealer::from_base64(key).ok_or_else(|| {
                ConfigError::key(
                    "control.experts.documents_key",
                    "must be standard base64 of 32 bytes",
                )
            })?,
            None => load_or_create_documents_key(data_dir)?,
        };
        for (key, bp) in [
            (
                "control.experts.vat_percent_bp",
                settings.experts.vat_percent_bp,
            ),
            (
                "control.experts.withholding_percent_bp",
                settings.experts.withholding_percent_bp,
            ),
        ] {
            if !(0..=tax::MAX_BP).contains(&bp) {
                return Err(ConfigError::key(
                    key,
                    format!("must be basis points from 0 to {}", tax::MAX_BP),
                )
                .into());
            }
        }
        if !(1..=MAX_AMOUNT).contains(&settings.payouts.min_amount) {
            return Err(ConfigError::key(
                "control.payouts.min_amount",
                format!("must be 1 to {MAX_AMOUNT} millimes"),
            )
            .into());
        }
        if settings.auth.refresh_token_ttl <= settings.auth.access_token_ttl {
            return Err(ConfigError::key(
                "control.auth.refresh_token_ttl",
                "must be longer than control.auth.access_token_ttl",
            )
            .into());
        }
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.listen))
            .trim_end_matches('/')
            .to_owned();
        let mailer = Mailer::new(
            &settings.mail.from,
            settings.mail.smtp_url.as_deref(),
            settings
                .mail
                .outbox_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("outbox")),
        )?;
        let objects = ObjectStore::local(
            settings
                .storage
                .dir
                .clone()
                .unwrap_or_else(|| data_dir.join("objects")),
        );
        let ledger = Ledger::new(db.clone(), clock.clone(), settings.payouts.clearing_delay);
        let payments = Payments::new(
            db.clone(),
            clock.clone(),
            ledger.clone(),
            &settings.payments,
            &public_url,
        )?;
        let bookings = Bookings::new(
            db.clone(),
            clock.clone(),
            ledger.clone(),
            settings.bookings.clone(),
        )
        .with_low_balance(settings.notify.low_balance_coins);
        let messaging = Messaging::new(
            db.clone(),
            clock.clone(),
            ledger.clone(),
            bookings.clone(),
            objects.clone(),
            settings.messaging.clone(),
        )
        .with_low_balance(settings.notify.low_balance_coins);
        let payouts = Payouts::new(
            db.clone(),
            ledger.clone(),
            clock.clone(),
            sealer.clone(),
            settings.payouts.clone(),
            (&settings.experts).into(),
        );
        let m = &settings.messaging;
        if m.sends_per_minute == 0
            || m.max_chars == 0
            || m.max_video_bytes <= 0
            || m.max_chunk_bytes < crate::messaging::video::SNIFF_BYTES
            || m.reply_within.is_zero()
            || m.max_video_duration.is_zero()
        {
            return Err(ConfigError::key(
                "control.messaging",
                "reply_within, max_chars, sends_per_minute, max_video_bytes and \
                 max_video_duration must be positive, max_chunk_bytes at least 12",
            )
            .into());
        }
        let social = Social::new(&settings.social, &public_url)?;
        let notify = &settings.notify;
        if notify.batch_size == 0 || notify.announcement_batch == 0 || notify.max_attempts == 0 {
            return Err(ConfigError::key(
                "control.notify",
                "batch_size, announcement_batch and max_attempts must be at least 1",
            )
            .into());
        }
        // A send is cut off at half the lease (see notify::runner).
        let send_timeout = notify.lease / 2;
        if send_timeout < std::time::Duration::from_secs(1) {
            return Err(
                ConfigError::key("control.notify.lease", "must be at least 2 seconds").into(),
            );
        }
        let vapid = match &notify.push.vapid_private_key {
            Some(key) => Vapid::from_base64url(key, &notify.push.subject).ok_or_else(|| {
                ConfigError::key(
                    "control.notify.push.vapid_private_key",
                    "must be base64url of a 32-byte P-256 private key",
                )
            })?,
            None => load_or_create_vapid_key(data_dir, &notify.push.subject)?,
        };
        let push = WebPush::new(vapid, notify.push.ttl, send_timeout)?;
        let sms = Sms::new(&notify.sms, send_timeout)?;
        let rate = settings.auth.ip_requests_per_minute;
        let room_tokens = RoomTokens::new(room_token_secret(&settings, data_dir)?.as_bytes());
        let signalling_url = settings.calls.signalling_url.clone().unwrap_or_else(|| {
            let ws = public_url
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1);
            format!("{}{}", ws.trim_end_matches('/'), "/v1/signal")
        });
        let calls = Calls::new(
            db.clone(),
            clock.clone(),
            ledger.clone(),
            bookings.clone(),
            bus.clone(),
            room_tokens.clone(),
            signalling_url.clone(),
            settings.calls.clone(),
        );
        Ok(AppState(Arc::new(Inner {
            keys: Keys::new(secret.as_bytes()),
            room_tokens,
            signalling_url,
            calls,
            auth_limiter: RateLimiter::per_minute(rate, rate),
            mail_limiter: RateLimiter::every(10 * 60_000, 3),
            metrics: AuthMetrics::register(&telemetry.registry)?,
            decoy_hash: crate::auth::password::hash(crate::auth::tokens::random_token()).await?,
            ledger,
            payments,
            bookings,
            payouts,
            messaging,
            social,
            db,
            clock,
            live: Live::new(bus.clone()),
            bus,
            sms,
            push,
            public_url,
            mailer,
            objects,
            sealer,
            settings,
        })))
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Sends `email` in the background: what it tells has happened whether
    /// or not the mail server answers, so nobody waits for it. `about`
    /// names it in the log if it cannot be sent.
    pub fn send_later(&self, name: String, address: String, email: Email, about: &'static str) {
        let state = self.clone();
        tokio::spawn(async move {
            if let Err(e) = state.mailer.send(&name, &address, email).await {
                tracing::warn!(to = %address, error = %e, "could not send the {about} email");
            }
        });
    }
}

/// The embedded default keeps its generated secret next to its data, so tokens
/// survive a restart.
fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<String> {
    load_or_create(
        &data_dir.join("secret.key"),
        "signing secret",
        crate::auth::tokens::random_token,
        |s| s.len() >= 32,
    )
}

/// The secret room tokens are signed with: the configured one, else the one
/// kept in `<data_dir>/room-token.key`. Signalling in the same process reads
/// it the same way, so both sides always agree.
pub fn room_token_secret(settings: &Settings, data_dir: &Path) -> anyhow::Result<String> {
    match &settings.calls.room_token_secret {
        Some(s) if s.len() < 32 => Err(ConfigError::key(
            "control.calls.room_token_secret",
            "must be at least 32 characters",
        )
        .into()),
        Some(s) => Ok(s.clone()),
        None => load_or_create(
            &data_dir.join("room-token.key"),
            "room token secret",
            crate::auth::tokens::random_token,
            |s| s.len() >= 32,
        ),
    }
}

/// Likewise the documents key: without it, sealed documents and bank
/// account numbers are lost.
fn load_or_create_documents_key(data_dir: &Path) -> anyhow::Result<Sealer> {
    let key = load_or_create(
        &data_dir.join("documents.key"),
        "documents key",
        Sealer::generate_key,
        |k| Sealer::from_base64(k).is_some(),
    )?;
    Sealer::from_base64(&key).ok_or_else(|| anyhow::anyhow!("generated documents key is unusable"))
}

/// The VAPID key browsers' subscriptions are bound to: losing it ends every
/// subscription, so it is kept like the others.
fn load_or_create_vapid_key(data_dir: &Path, subject: &str) -> anyhow::Result<Vapid> {
    let key = load_or_create(
        &data_dir.join("vapid.key"),
        "VAPID key",
        Vapid::generate_key,
        |k| Vapid::from_base64url(k, subject).is_some(),
    )?;
    Vapid::from_base64url(&key, subject)
        .ok_or_else(|| anyhow::anyhow!("generated VAPID key is unusable"))
}

/// The secret kept in `path` (owner-only), generated on first use. One that
/// is there but not `valid` stops start-up rather than being replaced, since
/// what it protects would be lost.
fn load_or_create(
    path: &Path,
    what: &str,
    generate: impl FnOnce() -> String,
    valid: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if valid(&existing) {
            return Ok(existing);
        }
        anyhow::bail!(
            "{} does not hold a valid {what}; restore it, or delete it to generate a new one",
            path.display()
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret = generate();
    write_private(path, &secret)?;
    tracing::info!(path = %path.display(), "generated a new {what}");
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

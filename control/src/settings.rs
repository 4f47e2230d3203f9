//! The control plane's configuration: the `[control]` section of the config
//! file, `DI_CONTROL__*` in the environment.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the REST API listens on.
    pub listen: String,
    /// Base URL clients reach the API at, used in emailed links.
    /// Default: `http://` + the listen address.
    pub public_url: Option<String>,
    /// Take the client address from the last `X-Forwarded-For` entry. Enable
    /// only behind a reverse proxy that sets it, or clients can spoof it.
    pub trust_forwarded_for: bool,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub storage: StorageSettings,
    pub payments: PaymentSettings,
    pub experts: ExpertSettings,
    pub payouts: PayoutSettings,
    pub social: SocialSettings,
    pub bookings: BookingSettings,
    pub messaging: MessagingSettings,
    pub notify: NotifySettings,
    pub calls: CallSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Secret that signs access tokens and emailed links (32+ characters).
    /// When unset, one is generated and kept in `<data_dir>/secret.key`;
    /// several replicas must share one, so set it when running more than one.
    pub secret: Option<String>,
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub verification_link_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub reset_link_ttl: Duration,
    /// Consecutive failed logins that lock an account.
    pub max_failed_logins: u32,
    #[serde(with = "humantime_serde")]
    pub lockout: Duration,
    /// Requests per minute one client address may make to the sign-up, login,
    /// refresh and password-reset endpoints, with bursts of the same size.
    pub ip_requests_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    pub from: String,
    /// e.g. `smtp://user:pass@smtp.example.com:587?tls=required`; unset writes to the outbox.
    pub smtp_url: Option<String>,
    /// Default: `<data_dir>/outbox`.
    pub outbox_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// Root of the local object store. Default: `<data_dir>/objects`.
    pub dir: Option<PathBuf>,
    pub max_photo_bytes: usize,
}

/// Expert verification: identity documents and payout details.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpertSettings {
    /// Key sealing identity documents and bank account numbers (AES-256-GCM):
    /// standard base64 of 32 bytes. When unset, one is generated and kept in
    /// `<data_dir>/documents.key`; replicas must share one, and losing it
    /// loses every sealed document.
    pub documents_key: Option<String>,
    pub max_document_bytes: usize,
    /// Tax rates in basis points until an administrator sets them
    /// (`PUT /api/v1/admin/settings/tax`).
    pub vat_percent_bp: i64,
    pub withholding_percent_bp: i64,
}

impl Default for ExpertSettings {
    fn default() -> Self {
        ExpertSettings {
            documents_key: None,
            max_document_bytes: 10 * 1024 * 1024,
            vat_percent_bp: 1900,
            withholding_percent_bp: 1500,
        }
    }
}

/// Paying experts their earnings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayoutSettings {
    /// How long after its capture an expert's share may be paid out: the
    /// time left for refunds.
    #[serde(with = "humantime_serde")]
    pub clearing_delay: Duration,
    /// The smallest payout, in millimes.
    pub min_amount: i64,
}

impl Default for PayoutSettings {
    fn default() -> Self {
        PayoutSettings {
            clearing_delay: Duration::from_secs(7 * 24 * 3600),
            min_amount: 5_000,
        }
    }
}

/// Buying coins. Prices are millimes of TND (1 TND = 1,000 millimes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentSettings {
    /// Payment providers offered: `sandbox` (completes payments locally;
    /// for development and the embedded default), `konnect`, `flouci`,
    /// `clictopay` and `paypal`.
    pub providers: Vec<String>,
    /// Coin packs on sale.
    pub packs: Vec<Pack>,
    /// Price of one coin bought in a chosen amount, in millimes.
    pub coin_price: i64,
    /// Smallest and largest chosen amount of coins in one purchase.
    pub min_coins: i64,
    pub max_coins: i64,
    /// A payment neither paid nor failed this long after it started is
    /// given up on (reconciliation asks the provider once more first).
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
    pub konnect: KonnectSettings,
    pub flouci: FlouciSettings,
    pub clictopay: ClicToPaySettings,
    pub paypal: PayPalSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub coins: i64,
    /// Millimes of TND.
    pub price: i64,
}

/// Konnect (konnect.network) gateway API v2.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KonnectSettings {
    /// `https://api.konnect.network/api/v2` in production,
    /// `https://api.preprod.konnect.network/api/v2` for the sandbox.
    pub base_url: String,
    /// The `x-api-key` from the organisation profile.
    pub api_key: Option<String>,
    /// The wallet payments are paid into (`receiverWalletId`).
    pub wallet_id: Option<String>,
}

/// Flouci (developers.flouci.com) API v2.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlouciSettings {
    pub base_url: String,
    /// The application's public and private keys (a test application's
    /// keys for testing: Flouci has no separate sandbox host).
    pub public_key: Option<String>,
    pub private_key: Option<String>,
}

impl Default for FlouciSettings {
    fn default() -> Self {
        FlouciSettings {
            base_url: "https://developers.flouci.com/api/v2".to_owned(),
            public_key: None,
            private_key: None,
        }
    }
}

/// ClicToPay (SMT) `payment/rest` API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClicToPaySettings {
    /// `https://ipay.clictopay.com/payment/rest` in production,
    /// `https://test.clictopay.com/payment/rest` for tests.
    pub base_url: String,
    /// The merchant API login and password SMT issued.
    pub user_name: Option<String>,
    pub password: Option<String>,
}

impl Default for ClicToPaySettings {
    fn default() -> Self {
        ClicToPaySettings {
            base_url: "https://ipay.clictopay.com/payment/rest".to_owned(),
            user_name: None,
            password: None,
        }
    }
}

/// PayPal REST (Orders v2). PayPal has no Tunisian dinar: prices are
/// charged in `currency` at `millimes_per_unit` millimes per unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayPalSettings {
    /// `https://api-m.paypal.com` live, `https://api-m.sandbox.paypal.com` sandbox.
    pub base_url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The id PayPal gave our webhook; without it webhooks are ignored
    /// (the buyer's return and reconciliation still settle payments).
    pub webhook_id: Option<String>,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// The exchange rate: millimes of TND per unit of `currency`.
    pub millimes_per_unit: i64,
}

impl Default for PayPalSettings {
    fn default() -> Self {
        PayPalSettings {
            base_url: "https://api-m.paypal.com".to_owned(),
            client_id: None,
            client_secret: None,
            webhook_id: None,
            currency: "EUR".to_owned(),
            millimes_per_unit: 3_400,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: None,
            trust_forwarded_for: false,
            auth: AuthSettings::default(),
            mail: MailSettings::default(),
            storage: StorageSettings::default(),
            payments: PaymentSettings::default(),
            experts: ExpertSettings::default(),
            payouts: PayoutSettings::default(),
            social: SocialSettings::default(),
            bookings: BookingSettings::default(),
            messaging: MessagingSettings::default(),
            notify: NotifySettings::default(),
            calls: CallSettings::default(),
        }
    }
}

/// Calendar and bookings: requests, cancellations, reminders and slots.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingSettings {
    /// How long an expert has to answer a request, and a user to answer an
    /// alternative time, before it lapses and the hold is released (never
    /// later than the booked start).
    #[serde(with = "humantime_serde")]
    pub respond_within: Duration,
    /// A user cancels for free until this long before the start; later, or
    /// at no-show, `late_cancel_charge_bp` of the price is charged. Users
    /// may reschedule until then too. An expert's cancellation always
    /// refunds in full.
    #[serde(with = "humantime_serde")]
    pub free_cancellation_before: Duration,
    /// Basis points of the price a late cancellation by the user pays the
    /// expert (5000 = half).
    pub late_cancel_charge_bp: i64,
    /// Reminders to both sides, this long before the start.
    pub reminders: Vec<humantime_serde::Serde<Duration>>,
    /// Slot starts are this far apart within free time.
    #[serde(with = "humantime_serde")]
    pub slot_step: Duration,
    /// The longest bookable call, in minutes (the shortest is 10).
    pub max_minutes: i64,
}

impl Default for BookingSettings {
    fn default() -> Self {
        BookingSettings {
            respond_within: Duration::from_secs(24 * 3600),
            free_cancellation_before: Duration::from_secs(24 * 3600),
            late_cancel_charge_bp: 5000,
            reminders: vec![
                Duration::from_secs(24 * 3600).into(),
                Duration::from_secs(15 * 60).into(),
            ],
            slot_step: Duration::from_secs(15 * 60),
            max_minutes: 240,
        }
    }
}

/// Messaging: paid messages' reply deadline, limits and video uploads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingSettings {
    /// An expert replies to a paid message within this, or its hold is
    /// released and the user notified.
    #[serde(with = "humantime_serde")]
    pub reply_within: Duration,
    /// The longest message text (and video caption), in characters.
    pub max_chars: usize,
    /// Messages one account may send per minute, with bursts of as many.
    pub sends_per_minute: u32,
    /// The largest video message, in bytes.
    pub max_video_bytes: i64,
    /// The longest video message.
    #[serde(with = "humantime_serde")]
    pub max_video_duration: Duration,
    /// The largest chunk of a video upload, in bytes.
    pub max_chunk_bytes: usize,
    /// An upload not sent in a message this long after its last chunk is
    /// deleted, file and all.
    #[serde(with = "humantime_serde")]
    pub upload_ttl: Duration,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        MessagingSettings {
            reply_within: Duration::from_secs(7 * 24 * 3600),
            max_chars: 4000,
            sends_per_minute: 30,
            max_video_bytes: 200 * 1024 * 1024,
            max_video_duration: Duration::from_secs(5 * 60),
            max_chunk_bytes: 8 * 1024 * 1024,
            upload_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// Experts prove their LinkedIn and Instagram accounts by signing in there
/// (OAuth 2 / OpenID Connect). A provider without a client id and secret is
/// not offered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocialSettings {
    pub linkedin: OAuthSettings,
    pub instagram: OAuthSettings,
}

/// One provider's OAuth client. No `serde(default)`: the defaults differ per
/// provider and come from `SocialSettings::default()`, over which the config
/// loader lays the file and the environment key by key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub authorize_url: String,
    pub token_url: String,
    /// Where the signed-in person's profile is read with the access token.
    pub profile_url: String,
    pub scopes: Vec<String>,
}

impl Default for SocialSettings {
    fn default() -> Self {
        let scopes = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect();
        SocialSettings {
            // "Sign In with LinkedIn using OpenID Connect".
            linkedin: OAuthSettings {
                client_id: None,
                client_secret: None,
                authorize_url: "https://www.linkedin.com/oauth/v2/authorization".to_owned(),
                token_url: "https://www.linkedin.com/oauth/v2/accessToken".to_owned(),
                profile_url: "https://api.linkedin.com/v2/userinfo".to_owned(),
                scopes: scopes(&["openid", "profile", "email"]),
            },
            // "Instagram API with Instagram Login" (professional accounts).
            instagram: OAuthSettings {
                client_id: None,
                client_secret: None,
                authorize_url: "https://www.instagram.com/oauth/authorize".to_owned(),
                token_url: "https://api.instagram.com/oauth/access_token".to_owned(),
                profile_url: "https://graph.instagram.com/me?fields=user_id,username".to_owned(),
                scopes: scopes(&["instagram_business_basic"]),
            },
        }
    }
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            providers: vec!["sandbox".to_owned()],
            packs: vec![
                Pack {
                    coins: 20,
                    price: 10_000,
                },
                Pack {
                    coins: 110,
                    price: 50_000,
                },
                Pack {
                    coins: 230,
                    price: 100_000,
                },
            ],
            coin_price: 500,
            min_coins: 10,
            max_coins: 20_000,
            give_up_after: Duration::from_secs(24 * 3600),
            konnect: KonnectSettings::default(),
            flouci: FlouciSettings::default(),
            clictopay: ClicToPaySettings::default(),
            paypal: PayPalSettings::default(),
        }
    }
}

impl Default for KonnectSettings {
    fn default() -> Self {
        KonnectSettings {
            base_url: "https://api.konnect.network/api/v2".to_owned(),
            api_key: None,
            wallet_id: None,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            verification_link_ttl: Duration::from_secs(48 * 3600),
            reset_link_ttl: Duration::from_secs(3600),
            max_failed_logins: 5,
            lockout: Duration::from_secs(15 * 60),
            ip_requests_per_minute: 30,
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            from: "DeepInfluence <no-reply@deepinfluence.local>".to_owned(),
            smtp_url: None,
            outbox_dir: None,
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            dir: None,
            max_photo_bytes: 5 * 1024 * 1024,
        }
    }
}

/// Notifications: the job queue every replica runs, and the SMS and web-push
/// channels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    /// How often each replica looks for due jobs (live notifications wait
    /// at most this long).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Jobs a replica claims at a time.
    pub batch_size: u32,
    /// How long a claimed job belongs to its runner. A runner that dies holds
    /// its jobs this long before another replica retries them; a send is cut
    /// off at half of it, so a slow one never overlaps its retry.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Tries before a job is marked failed.
    pub max_attempts: u32,
    /// Wait before the first retry, doubling with each failure up to
    /// `max_retry_after`.
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// Accounts one announcement job notifies (one transaction each).
    pub announcement_batch: u32,
    /// When a booking's hold leaves a user's spendable balance (wallet)
    /// below this many coins, they are reminded to top up, at most once per
    /// UTC day. 0 turns the reminder off.
    pub low_balance_coins: i64,
    pub sms: SmsSettings,
    pub push: PushSettings,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            poll_interval: Duration::from_secs(1),
            batch_size: 32,
            lease: Duration::from_secs(120),
            max_attempts: 8,
            retry_after: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(3600),
            announcement_batch: 500,
            low_balance_coins: 20,
            sms: SmsSettings::default(),
            push: PushSettings::default(),
        }
    }
}

/// SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).
/// Without an account SID, token and sender, no SMS is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSettings {
    pub base_url: String,
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    /// The sender: a phone number in E.164 form, an alphanumeric sender id,
    /// or a Messaging Service SID (`MG...`).
    pub from: Option<String>,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            base_url: "https://api.twilio.com".to_owned(),
            account_sid: None,
            auth_token: None,
            from: None,
        }
    }
}

/// Web push (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// The VAPID private key: base64url of the 32-byte P-256 scalar. When
    /// unset, one is generated and kept in `<data_dir>/vapid.key`; replicas
    /// must share one, and changing it invalidates every subscription.
    pub vapid_private_key: Option<String>,
    /// Who push services contact about our traffic (`mailto:` or `https:`).
    pub subject: String,
    /// How long a push service keeps a message for an offline browser.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// The push services subscriptions may point at (a host, or a domain
    /// and its subdomains): we POST to whatever endpoint a browser gives, so
    /// it must not be a host of ours.
    pub endpoint_hosts: Vec<String>,
    /// Accept `http://` endpoints (development and tests only).
    pub allow_http: bool,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            vapid_private_key: None,
            subject: "mailto:support@deepinfluence.tn".to_owned(),
            ttl: Duration::from_secs(24 * 3600),
            // Chrome and Edge (FCM), Firefox (Mozilla autopush), Windows (WNS),
            // Safari (Apple).
            endpoint_hosts: [
                "fcm.googleapis.com",
                "push.services.mozilla.com",
                "notify.windows.com",
                "push.apple.com",
            ]
            .map(str::to_owned)
            .to_vec(),
            allow_http: false,
        }
    }
}

/// Video calls: the room tokens clients join the media server with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallSettings {
    /// Secret that signs room tokens (32+ characters); the signalling service
    /// checks them with the same one. When unset, one is generated and kept
    /// in `<data_dir>/room-token.key`; set it when signalling runs apart.
    pub room_token_secret: Option<String>,
    /// The WebSocket URL clients reach signalling at. Default: `/v1/signal`
    /// on `public_url`, which `deepinfluence serve` also answers.
    pub signalling_url: Option<String>,
    /// Longest life an administrator may give a room token.
    #[serde(with = "humantime_serde")]
    pub max_room_token_ttl: Duration,
    /// A booking's parties may join this long before its start ...
    #[serde(with = "humantime_serde")]
    pub join_before: Duration,
    /// ... until this long after its end: the call may run over by as much,
    /// billed per minute (beyond the hold, from the wallet).
    #[serde(with = "humantime_serde")]
    pub overrun: Duration,
    /// The shortest call charged, in minutes.
    pub min_minutes: i64,
    /// The paying user is warned when their hold and wallet cover at most
    /// this many more minutes.
    pub warn_minutes: i64,
    /// Minutes charged when the expert was there and the user never came
    /// (at most the booked price; 0: nothing). An expert who never came
    /// costs the user nothing.
    pub user_no_show_minutes: i64,
    /// After everyone left, a call is over once nobody came back for this long.
    #[serde(with = "humantime_serde")]
    pub empty_grace: Duration,
    /// How late presence reports may arrive: a call ended by its time or by
    /// its host settles this long after.
    #[serde(with = "humantime_serde")]
    pub report_lag: Duration,
    /// How often the call status is pushed to the parties of live calls.
    #[serde(with = "humantime_serde")]
    pub status_every: Duration,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            room_token_secret: None,
            signalling_url: None,
            max_room_token_ttl: Duration::from_secs(24 * 3600),
            join_before: Duration::from_secs(10 * 60),
            overrun: Duration::from_secs(10 * 60),
            min_minutes: 10,
            warn_minutes: 2,
            user_no_show_minutes: 10,
            empty_grace: Duration::from_secs(2 * 60),
            report_lag: Duration::from_secs(30),
            status_every: Duration::from_secs(2),
        }
    }
}

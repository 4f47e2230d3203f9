//! Outgoing email: SMTP through lettre when configured, otherwise each message
//! is written as an `.eml` file to a local outbox directory and its link
//! logged, so a developer can follow it without a mail server.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use platform::config::ConfigError;

use crate::accounts::Language;

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
}

/// A message ready to send; `link` is the one action it asks for.
pub struct Email {
    pub subject: String,
    pub text: String,
    pub link: String,
    /// An iCalendar object attached as `invite.ics`.
    pub calendar: Option<String>,
}

impl Mailer {
    /// `smtp_url` as lettre reads it: `smtps://user:pass@host` (TLS from the
    /// start), `smtp://user:pass@host:587?tls=required` (STARTTLS), or plain
    /// `smtp://host:25` (no encryption: only for a relay on the same host).
    pub fn new(from: &str, smtp_url: Option<&str>, outbox: PathBuf) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| ConfigError::key("control.mail.from", e))?;
        Ok(match smtp_url {
            Some(url) => Mailer::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| ConfigError::key("control.mail.smtp_url", e))?
                    .build(),
                from,
            },
            None => Mailer::Outbox { dir: outbox, from },
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "SMTP".to_owned(),
            Mailer::Outbox { dir, .. } => format!("outbox directory {}", dir.display()),
        }
    }

    pub async fn send(&self, to_name: &str, to_email: &str, email: Email) -> anyhow::Result<()> {
        self.send_with_id(to_name, to_email, email, None).await
    }

    /// `send` with our own `Message-ID` (`<id@deepinfluence>`): a message
    /// sent again under the same id is recognisably the same message, which
    /// mail systems that deduplicate by it drop.
    pub async fn send_with_id(
        &self,
        to_name: &str,
        to_email: &str,
        email: Email,
        message_id: Option<&str>,
    ) -> anyhow::Result<()> {
        let (Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. }) = self;
        let to = Mailbox::new(Some(to_name.to_owned()), to_email.parse()?);
        // The outbox is read by people in a text editor, so lines stay whole
        // and links clickable: 8bit, valid up to RFC 5322's 998-character line
        // limit. Over SMTP lettre picks what every server accepts
        // (quoted-printable once a line passes 76 characters).
        let body = match self {
            Mailer::Outbox { .. } if email.text.lines().all(|l| l.len() < 998) => {
                let crlf = email
                    .text
                    .lines()
                    .map(|l| format!("{l}\r\n"))
                    .collect::<String>();
                Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
            }
            _ => Body::new(email.text),
        };
        let builder = Message::builder()
            .message_id(message_id.map(|id| format!("<{id}@deepinfluence>")))
            .from(from.clone())
            .to(to)
            .subject(&email.subject);
        let message = match email.calendar {
            None => builder.header(ContentType::TEXT_PLAIN).body(body)?,
            Some(ics) => builder.multipart(
                MultiPart::mixed()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(body),
                    )
                    .singlepart(
                        Attachment::new("invite.ics".to_owned()).body(
                            Body::new_with_encoding(ics, ContentTransferEncoding::Base64)
                                .map_err(|_| anyhow::anyhow!("cannot encode the calendar"))?,
                            ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")?,
                        ),
                    ),
            )?,
        };
        match self {
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await?;
                tracing::info!(to = to_email, subject = %email.subject, "email sent");
            }
            Mailer::Outbox { dir, .. } => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!("{}-{}.eml", time_prefix(), uuid::Uuid::now_v7());
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted()).await?;
                tracing::info!(to = to_email, subject = %email.subject, link = %email.link, path = %path.display(), "email written to outbox");
            }
        }
        Ok(())
    }
}

/// Sortable file-name prefix: the outbox lists in sending order.
fn time_prefix() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:020}", now.as_micros())
}

pub fn verification(lang: Language, first_name: &str, link: &str, valid_for: Duration) -> Email {
    let hours = valid_for.as_secs() / 3600;
    let (subject, text) = match lang {
        Language::Fr => (
            "Confirmez votre adresse email".to_owned(),
            format!(
                "Bonjour {first_name},\n\nBienvenue sur DeepInfluence. Pour confirmer votre adresse email, ouvrez ce lien :\n\n{link}\n\nLe lien est valable {hours} heures. Si vous n'avez pas créé de compte, ignorez ce message.\n"
            ),
        ),
        Language::En => (
            "Confirm your email address".to_owned(),
            format!(
                "Hello {first_name},\n\nWelcome to DeepInfluence. To confirm your email address, open this link:\n\n{link}\n\nThe link is valid for {hours} hours. If you did not create an account, ignore this message.\n"
            ),
        ),
    };
    Email {
        subject,
        text,
        link: link.to_owned(),
        calendar: None,
    }
}

pub fn password_reset(lang: Language, first_name: &str, link: &str, valid_for: Duration) -> Email {
    let minutes = valid_for.as_secs() / 60;
    let (subject, text) = match lang {
        Language::Fr => (
            "Réinitialisation de votre mot de passe".to_owned(),
            format!(
                "Bonjour {first_name},\n\nPour choisir un nouveau mot de passe, envoyez le jeton de ce lien avec votre nouveau mot de passe (POST /api/v1/auth/password-reset/confirm) :\n\n{link}\n\nLe lien est valable {minutes} minutes et ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.\n"
            ),
        ),
        Language::En => (
            "Reset your password".to_owned(),
            format!(
                "Hello {first_name},\n\nTo choose a new password, send the token of this link with your new password (POST /api/v1/auth/password-reset/confirm):\n\n{link}\n\nThe link is valid for {minutes} minutes and works once. If you did not ask for this, ignore this message: your password is unchanged.\n"
            ),
        ),
    };
    Email {
        subject,
        text,
        link: link.to_owned(),
        calendar: None,
    }
}

/// An amount of millimes as dinars with three decimals, the way the
/// language writes them: `41,143 TND` in French, `41.143 TND` in English.
pub fn dinars(lang: Language, millimes: i64) -> String {
    let sign = if millimes < 0 { "-" } else { "" };
    let (whole, rest) = (
        millimes.unsigned_abs() / 1000,
        millimes.unsigned_abs() % 1000,
    );
    let point = match lang {
        Language::Fr => ',',
        Language::En => '.',
    };
    format!("{sign}{whole}{point}{rest:03} TND")
}

/// A payout approved and sent: what the bank receives, what was withheld
/// at source, and where the statement is.
pub fn payout_paid(
    lang: Language,
    first_name: &str,
    net: i64,
    withheld: i64,
    statement: &str,
) -> Email {
    let (net, withheld) = (dinars(lang, net), dinars(lang, withheld));
    let (subject, text) = match lang {
        Language::Fr => (
            "Votre paiement est en route".to_owned(),
            format!(
                "Bonjour {first_name},\n\nNotre équipe a validé votre demande de paiement : {net} sont virés sur votre compte bancaire (retenue à la source : {withheld}).\n\nVotre relevé (JSON, ou CSV avec ?format=csv) :\n\n{statement}\n"
            ),
        ),
        Language::En => (
            "Your payout is on its way".to_owned(),
            format!(
                "Hello {first_name},\n\nOur team approved your payout: {net} are being transferred to your bank account (withheld at source: {withheld}).\n\nYour statement (JSON, or CSV with ?format=csv):\n\n{statement}\n"
            ),
        ),
    };
    Email {
        subject,
        text,
        link: statement.to_owned(),
        calendar: None,
    }
}

/// A payout rejected with the reviewer's reason; the money is back among
/// the expert's available earnings.
pub fn payout_rejected(
    lang: Language,
    first_name: &str,
    amount: i64,
    reason: &str,
    link: &str,
) -> Email {
    let amount = dinars(lang, amount);
    let (subject, text) = match lang {
        Language::Fr => (
            "Votre demande de paiement n'a pas été validée".to_owned(),
            format!(
                "Bonjour {first_name},\n\nNotre équipe n'a pas validé votre demande de paiement de {amount}, pour la raison suivante :\n\n{reason}\n\nLe montant est de nouveau disponible dans vos gains :\n\n{link}\n"
            ),
        ),
        Language::En => (
            "Your payout was not approved".to_owned(),
            format!(
                "Hello {first_name},\n\nOur team did not approve your payout of {amount}, for this reason:\n\n{reason}\n\nThe amount is available again among your earnings:\n\n{link}\n"
            ),
        ),
    };
    Email {
        subject,
        text,
        link: link.to_owned(),
        calendar: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dinars_have_three_decimals_as_each_language_writes_them() {
        assert_eq!(dinars(Language::Fr, 41_143), "41,143 TND");
        assert_eq!(dinars(Language::En, 41_143), "41.143 TND");
        assert_eq!(dinars(Language::En, 5), "0.005 TND");
        assert_eq!(dinars(Language::En, -1_500), "-1.500 TND");
    }
}

//! The words of every notification, in French and English: a title and a
//! body for the centre, push and SMS, and the email built around them. Pure:
//! the caller picks the language (the recipient's) and gives the data.

use crate::accounts::Language;
use crate::mail::Email;

use super::event::{Booking, Event};

/// A notification's text in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub title: String,
    pub body: String,
}

/// SMS are billed per 160-character segment (70 with accents): two segments
/// at most.
const SMS_MAX_CHARS: usize = 140;

pub fn render(event: &Event, lang: Language) -> Text {
    let fr = lang == Language::Fr;
    let pick = |f: String, e: String| if fr { f } else { e };
    let when = |b: &Booking| when_at(b.starts_at, &b.time_zone, lang);
    let (title, body) = match event {
        Event::BookingRequested { booking: b } => (
            pick("Nouvelle demande de réservation".into(), "New booking request".into()),
            pick(
                format!("{} demande une séance de {} min le {}. Confirmez ou refusez la demande.", b.user_name, b.minutes, when(b)),
                format!("{} asks for a {}-minute session on {}. Confirm or decline the request.", b.user_name, b.minutes, when(b)),
            ),
        ),
        Event::BookingConfirmed { booking: b } => (
            pick("Réservation confirmée".into(), "Booking confirmed".into()),
            pick(
                format!("Votre séance de {} min avec {} le {} est confirmée.", b.minutes, b.expert_name, when(b)),
                format!("Your {}-minute session with {} on {} is confirmed.", b.minutes, b.expert_name, when(b)),
            ),
        ),
        Event::BookingReceived { booking: b } => (
            pick("Nouvelle réservation".into(), "New booking".into()),
            pick(
                format!("{} a réservé une séance de {} min avec vous le {}. Elle est confirmée.", b.user_name, b.minutes, when(b)),
                format!("{} booked a {}-minute session with you on {}. It is confirmed.", b.user_name, b.minutes, when(b)),
            ),
        ),
        Event::BookingProposed { booking: b, previous_starts_at } => (
            pick("Autre horaire proposé".into(), "Another time proposed".into()),
            pick(
                format!("{} ne peut pas vous recevoir le {} et vous propose la séance de {} min le {}. Acceptez ou refusez cette proposition.", b.expert_name, when_at(*previous_starts_at, &b.time_zone, lang), b.minutes, when(b)),
                format!("{} cannot see you on {} and proposes the {}-minute session on {} instead. Accept or decline the proposal.", b.expert_name, when_at(*previous_starts_at, &b.time_zone, lang), b.minutes, when(b)),
            ),
        ),
        Event::BookingDeclined { booking: b, reason } => (
            pick("Réservation refusée".into(), "Booking declined".into()),
            pick(
                format!("{} ne peut pas vous recevoir le {}. Vos pièces sont débloquées.{}", b.expert_name, when(b), reason_line(reason.as_deref(), lang)),
                format!("{} cannot see you on {}. Your coins are released.{}", b.expert_name, when(b), reason_line(reason.as_deref(), lang)),
            ),
        ),
        Event::BookingChanged { booking: b, previous_starts_at } => (
            pick("Réservation déplacée".into(), "Booking moved".into()),
            pick(
                format!("La séance de {} avec {} prévue le {} a lieu désormais le {}.", b.user_name, b.expert_name, when_at(*previous_starts_at, &b.time_zone, lang), when(b)),
                format!("The session of {} with {} planned on {} now takes place on {}.", b.user_name, b.expert_name, when_at(*previous_starts_at, &b.time_zone, lang), when(b)),
            ),
        ),
        Event::BookingCancelled { booking: b, by, refunded_coins } => (
            pick("Réservation annulée".into(), "Booking cancelled".into()),
            pick(
                format!("{by} a annulé la séance de {} avec {} du {}.{}", b.user_name, b.expert_name, when(b), refund_line(*refunded_coins, lang)),
                format!("{by} cancelled the session of {} with {} on {}.{}", b.user_name, b.expert_name, when(b), refund_line(*refunded_coins, lang)),
            ),
        ),
        Event::BookingReminder { booking: b, before_minutes } => (
            pick(format!("Rappel : séance dans {}", duration(*before_minutes, lang)), format!("Reminder: session in {}", duration(*before_minutes, lang))),
            pick(
                format!("La séance de {} avec {} commence le {}.", b.user_name, b.expert_name, when(b)),
                format!("The session of {} with {} starts on {}.", b.user_name, b.expert_name, when(b)),
            ),
        ),
        Event::MeetingInvitation { booking: b } => (
            pick("Invitation à une réunion".into(), "Meeting invitation".into()),
            pick(
                format!("{} vous invite à une réunion de {} min le {}.", b.expert_name, b.minutes, when(b)),
                format!("{} invites you to a {}-minute meeting on {}.", b.expert_name, b.minutes, when(b)),
            ),
        ),
        Event::ExpertApproved => (
            pick("Votre profil d'expert est validé".into(), "Your expert profile is approved".into()),
            pick(
                "Notre équipe a validé votre profil d'expert : il est désormais visible dans la recherche et les utilisateurs peuvent vous réserver.".into(),
                "Our team approved your expert profile: it now shows in search and users can book you.".into(),
            ),
        ),
        Event::ExpertRejected { reason } => (
            pick("Votre profil d'expert n'a pas été validé".into(), "Your expert profile was not approved".into()),
            pick(
                format!("Notre équipe n'a pas pu valider votre profil d'expert, pour la raison suivante : {reason}\nCorrigez votre profil puis soumettez-le de nouveau."),
                format!("Our team could not approve your expert profile, for this reason: {reason}\nCorrect your profile, then submit it again."),
            ),
        ),
        Event::PaymentSucceeded { coins, .. } => (
            pick("Paiement reçu".into(), "Payment received".into()),
            pick(
                format!("Votre paiement est confirmé : {coins} pièces ont été ajoutées à votre portefeuille."),
                format!("Your payment is confirmed: {coins} coins were added to your wallet."),
            ),
        ),
        Event::PaymentRefunded { coins, .. } => (
            pick("Remboursement".into(), "Refund".into()),
            pick(
                format!("{coins} pièces ont été remboursées sur votre portefeuille."),
                format!("{coins} coins were refunded to your wallet."),
            ),
        ),
        Event::CallSettled { booking: b, outcome, billed_seconds, charged_coins } => (
            pick("Séance terminée".into(), "Session ended".into()),
            match outcome.as_str() {
                "expert_no_show" => pick(
                    format!("{} n'a pas rejoint la séance du {} : vous êtes remboursé intégralement.", b.expert_name, when(b)),
                    format!("{} did not join the session on {}: it is refunded in full.", b.expert_name, when(b)),
                ),
                "user_no_show" => pick(
                    format!("{} n'a pas rejoint la séance du {} ; {charged_coins} pièces ont été facturées.", b.user_name, when(b)),
                    format!("{} did not join the session on {}; {charged_coins} coins were charged.", b.user_name, when(b)),
                ),
                _ => pick(
                    format!("La séance de {} avec {} a duré {} min ; {charged_coins} pièces ont été facturées.", b.user_name, b.expert_name, (billed_seconds + 59) / 60),
                    format!("The session of {} with {} lasted {} min; {charged_coins} coins were charged.", b.user_name, b.expert_name, (billed_seconds + 59) / 60),
                ),
            },
        ),
        Event::LowBalance { balance_coins } => (
            pick("Solde bas".into(), "Low balance".into()),
            pick(
                format!("Il vous reste {balance_coins} pièces. Rechargez votre portefeuille pour vos prochaines séances."),
                format!("You have {balance_coins} coins left. Top up your wallet for your next sessions."),
            ),
        ),
        Event::MessageReceived { message: m } => (
            pick(format!("Nouveau message de {}", m.sender_name), format!("New message from {}", m.sender_name)),
            match (m.kind.as_str(), fr) {
                ("video", true) => "Message vidéo.".to_owned(),
                ("video", false) => "Video message.".to_owned(),
                _ => m.body.clone(),
            },
        ),
        Event::MessageExpired { expert_name, refunded_coins, .. } => (
            pick("Message sans réponse".into(), "Message not answered".into()),
            pick(
                format!("{expert_name} n'a pas répondu à temps à votre message.{}", refund_line(*refunded_coins, lang)),
                format!("{expert_name} did not reply to your message in time.{}", refund_line(*refunded_coins, lang)),
            ),
        ),
        Event::Announcement { title, body, .. } => (title.clone(), body.clone()),
    };
    Text { title, body }
}

/// The path (under the public URL) an email about `event` to `account_id`
/// points at: what it is about where the API has a page for it, else the
/// notification centre.
pub fn link(event: Option<&Event>, account_id: &str) -> String {
    match event {
        Some(Event::ExpertApproved) => format!("/api/v1/experts/{account_id}"),
        Some(Event::ExpertRejected { .. }) => "/api/v1/experts/me".to_owned(),
        Some(Event::PaymentSucceeded { payment_id, .. }) => {
            format!("/api/v1/wallet/purchases/{payment_id}")
        }
        Some(Event::PaymentRefunded { .. } | Event::LowBalance { .. }) => {
            "/api/v1/wallet".to_owned()
        }
        Some(Event::MessageReceived { message }) => {
            format!("/api/v1/conversations/{}", message.conversation_id)
        }
        Some(Event::MessageExpired {
            conversation_id, ..
        }) => format!("/api/v1/conversations/{conversation_id}"),
        _ => "/api/v1/notifications".to_owned(),
    }
}

/// The email of a notification: the greeting, the text, where to see it,
/// and the booking's calendar event when it has one.
pub fn email(
    lang: Language,
    first_name: &str,
    text: &Text,
    link: &str,
    calendar: Option<String>,
) -> Email {
    let body = match lang {
        Language::Fr => format!(
            "Bonjour {first_name},\n\n{}\n\n{link}\n\nVous recevez cet email selon vos préférences de notification, modifiables dans votre profil.\n",
            text.body
        ),
        Language::En => format!(
            "Hello {first_name},\n\n{}\n\n{link}\n\nYou receive this email according to your notification preferences, which you can change in your profile.\n",
            text.body
        ),
    };
    Email {
        subject: text.title.clone(),
        text: body,
        link: link.to_owned(),
        calendar,
    }
}

/// The SMS of a notification: title and body, cut to two segments.
pub fn sms(text: &Text) -> String {
    let full = format!("DeepInfluence: {}. {}", text.title, text.body);
    if full.chars().count() <= SMS_MAX_CHARS {
        return full;
    }
    let mut cut: String = full.chars().take(SMS_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn reason_line(reason: Option<&str>, lang: Language) -> String {
    match (reason, lang) {
        (None, _) => String::new(),
        (Some(r), Language::Fr) => format!(" Motif : {r}"),
        (Some(r), Language::En) => format!(" Reason: {r}"),
    }
}

fn refund_line(coins: i64, lang: Language) -> String {
    match (coins, lang) {
        (0, _) => String::new(),
        (c, Language::Fr) => format!(" {c} pièces ont été remboursées."),
        (c, Language::En) => format!(" {c} coins were refunded."),
    }
}

/// "15 min", "24 h", "2 h 30".
fn duration(minutes: i64, lang: Language) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m, lang) {
        (0, m, _) => format!("{m} min"),
        (h, 0, _) => format!("{h} h"),
        (h, m, Language::Fr) => format!("{h} h {m:02}"),
        (h, m, Language::En) => format!("{h} h {m} min"),
    }
}

/// A date and time as people read it, in `time_zone` (UTC when the name is
/// unknown, and then said so), with the zone named: the reader may be
/// elsewhere.
fn when_at(at_ms: i64, time_zone: &str, lang: Language) -> String {
    let (tz, name) = match jiff::tz::TimeZone::get(time_zone) {
        Ok(tz) => (tz, time_zone),
        Err(_) => (jiff::tz::TimeZone::UTC, "UTC"),
    };
    let Ok(at) = jiff::Timestamp::from_millisecond(at_ms) else {
        return String::new();
    };
    let z = at.to_zoned_datetime(tz);
    let weekday = z.weekday().to_monday_zero_offset() as usize;
    let month = (z.month() - 1) as usize;
    match lang {
        Language::Fr => {
            const DAYS: [&str; 7] = [
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ];
            const MONTHS: [&str; 12] = [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ];
            format!(
                "{} {} {} {} à {:02}:{:02} ({name})",
                DAYS[weekday],
                z.day(),
                MONTHS[month],
                z.year(),
                z.hour(),
                z.minute()
            )
        }
        Language::En => {
            const DAYS: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            format!(
                "{} {} {} {} at {:02}:{:02} ({name})",
                DAYS[weekday],
                z.day(),
                MONTHS[month],
                z.year(),
                z.hour(),
                z.minute()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(starts_at: i64, tz: &str) -> Booking {
        Booking {
            id: "b1".into(),
            expert_name: "Sami Trabelsi".into(),
            user_name: "Amira Ben Salah".into(),
            starts_at,
            minutes: 30,
            time_zone: tz.into(),
        }
    }

    // 2025-03-30 13:00 UTC: Paris has just moved to summer time (UTC+2),
    // Tunis stays at UTC+1.
    const AT: i64 = 1_743_339_600_000;

    #[test]
    fn times_are_shown_in_the_recipients_zone_and_language() {
        let fr = render(
            &Event::BookingConfirmed {
                booking: booking(AT, "Europe/Paris"),
            },
            Language::Fr,
        );
        assert_eq!(fr.title, "Réservation confirmée");
        assert!(
            fr.body
                .contains("dimanche 30 mars 2025 à 15:00 (Europe/Paris)"),
            "{}",
            fr.body
        );
        let en = render(
            &Event::BookingConfirmed {
                booking: booking(AT, "Africa/Tunis"),
            },
            Language::En,
        );
        assert!(
            en.body
                .contains("Sunday 30 March 2025 at 14:00 (Africa/Tunis)"),
            "{}",
            en.body
        );
    }

    #[test]
    fn an_unknown_zone_falls_back_to_utc_and_says_so() {
        let t = render(
            &Event::BookingRequested {
                booking: booking(AT, "Mars/Olympus"),
            },
            Language::En,
        );
        assert!(t.body.contains("at 13:00 (UTC)"), "{}", t.body);
    }

    #[test]
    fn reminders_name_the_delay() {
        let t = |m| {
            render(
                &Event::BookingReminder {
                    booking: booking(AT, "UTC"),
                    before_minutes: m,
                },
                Language::Fr,
            )
            .title
        };
        assert_eq!(t(15), "Rappel : séance dans 15 min");
        assert_eq!(t(1440), "Rappel : séance dans 24 h");
        assert_eq!(t(150), "Rappel : séance dans 2 h 30");
    }

    #[test]
    fn proposals_and_new_bookings_read_right_in_both_languages() {
        let proposed = Event::BookingProposed {
            booking: booking(AT, "UTC"),
            previous_starts_at: AT - 3_600_000,
        };
        let en = render(&proposed, Language::En);
        assert_eq!(en.title, "Another time proposed");
        assert!(en.body.starts_with("Sami Trabelsi cannot see you on Sunday 30 March 2025 at 12:00 (UTC) and proposes the 30-minute session on Sunday 30 March 2025 at 13:00 (UTC) instead. Accept or decline"), "{}", en.body);
        let fr = render(&proposed, Language::Fr);
        assert!(
            fr.body.contains("Acceptez ou refusez cette proposition."),
            "{}",
            fr.body
        );
        let received = Event::BookingReceived {
            booking: booking(AT, "UTC"),
        };
        let en = render(&received, Language::En);
        assert_eq!(en.title, "New booking");
        assert_eq!(en.body, "Amira Ben Salah booked a 30-minute session with you on Sunday 30 March 2025 at 13:00 (UTC). It is confirmed.");
        assert_eq!(
            render(&received, Language::Fr).title,
            "Nouvelle réservation"
        );
    }

    #[test]
    fn sms_fit_two_segments() {
        let long = Text {
            title: "T".into(),
            body: "é".repeat(500),
        };
        let s = sms(&long);
        assert_eq!(s.chars().count(), SMS_MAX_CHARS);
        assert!(s.ends_with('…'));
        let short = Text {
            title: "Paiement reçu".into(),
            body: "Ok.".into(),
        };
        assert_eq!(sms(&short), "DeepInfluence: Paiement reçu. Ok.");
    }
}

//! What happened, as the product names it. Each event carries what its texts
//! and clients need, copied when it is emitted: a notification says what was
//! true then, whatever changes later.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A booking as its notifications describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Booking {
    pub id: String,
    pub expert_name: String,
    pub user_name: String,
    /// Unix milliseconds.
    pub starts_at: i64,
    pub minutes: i64,
    /// IANA name (`Africa/Tunis`): the recipient's, to show the time in.
    pub time_zone: String,
}

/// A message as its notification carries it: what a client needs to show it
/// at once (the full view is at `/api/v1/conversations/{id}/messages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = MessageNotice)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub sender_id: String,
    pub sender_name: String,
    /// `text` or `video`.
    pub kind: String,
    /// Exactly as sent (a video message's caption).
    pub body: String,
    /// Coins held for it (0: free).
    pub coins: i64,
    /// Unix milliseconds.
    pub sent_at: i64,
}

/// Everything the platform notifies about. Texts address the recipient of
/// the notice; booking texts name both sides, so one event fits either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// To the expert: a user asks for a booking to confirm.
    BookingRequested { booking: Booking },
    /// To the user: the booking stands (instantly or by the expert).
    BookingConfirmed { booking: Booking },
    /// To the expert: a user booked them and, booking being instant, the
    /// booking stands.
    BookingReceived { booking: Booking },
    /// To the user: the expert answers a request with another time
    /// (`booking.starts_at`) instead of the one asked for
    /// (`previous_starts_at`), for the user to accept or decline.
    BookingProposed {
        booking: Booking,
        previous_starts_at: i64,
    },
    /// To the user: the expert declined; the hold is released.
    BookingDeclined {
        booking: Booking,
        reason: Option<String>,
    },
    /// To the other side: the booking moved from `previous_starts_at`.
    BookingChanged {
        booking: Booking,
        previous_starts_at: i64,
    },
    /// To the other side: `by` (a name) cancelled; `refunded_coins` went back
    /// to the user.
    BookingCancelled {
        booking: Booking,
        by: String,
        refunded_coins: i64,
    },
    /// To each participant, `before_minutes` before the start.
    BookingReminder {
        booking: Booking,
        before_minutes: i64,
    },
    /// To an invitee of a booking's meeting; the expert hosts.
    MeetingInvitation { booking: Booking },
    /// To the expert: verification approved, they are listed.
    ExpertApproved,
    /// To the expert: verification rejected, with the reviewer's reason.
    ExpertRejected { reason: String },
    /// To the buyer: coins credited.
    PaymentSucceeded { payment_id: String, coins: i64 },
    /// To the payer: coins given back (`reference` names what was refunded).
    PaymentRefunded { reference: String, coins: i64 },
    /// To both sides: a booking's call ended and was settled. `outcome` is
    /// `completed`, `expert_no_show` (everything refunded) or `user_no_show`
    /// (the no-show minutes charged); `charged_coins` is what the user paid.
    CallSettled {
        booking: Booking,
        outcome: String,
        billed_seconds: i64,
        charged_coins: i64,
    },
    /// To a user whose wallet runs low.
    LowBalance { balance_coins: i64 },
    /// To the other participant of a conversation: a new message.
    MessageReceived { message: Message },
    /// To the user: the expert did not reply in time; `refunded_coins` went
    /// back to the wallet.
    MessageExpired {
        message_id: String,
        conversation_id: String,
        expert_name: String,
        refunded_coins: i64,
    },
    /// From the administrators; the text is theirs, in one language.
    Announcement {
        announcement_id: String,
        title: String,
        body: String,
    },
}

impl Event {
    /// The stored `kind`: the serde tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BookingRequested { .. } => "booking_requested",
            Event::BookingConfirmed { .. } => "booking_confirmed",
            Event::BookingReceived { .. } => "booking_received",
            Event::BookingProposed { .. } => "booking_proposed",
            Event::BookingDeclined { .. } => "booking_declined",
            Event::BookingChanged { .. } => "booking_changed",
            Event::BookingCancelled { .. } => "booking_cancelled",
            Event::BookingReminder { .. } => "booking_reminder",
            Event::MeetingInvitation { .. } => "meeting_invitation",
            Event::ExpertApproved => "expert_approved",
            Event::ExpertRejected { .. } => "expert_rejected",
            Event::PaymentSucceeded { .. } => "payment_succeeded",
            Event::PaymentRefunded { .. } => "payment_refunded",
            Event::CallSettled { .. } => "call_settled",
            Event::LowBalance { .. } => "low_balance",
            Event::MessageReceived { .. } => "message_received",
            Event::MessageExpired { .. } => "message_expired",
            Event::Announcement { .. } => "announcement",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_serde_tag() {
        let booking = Booking {
            id: "b".into(),
            expert_name: "E".into(),
            user_name: "U".into(),
            starts_at: 0,
            minutes: 30,
            time_zone: "Africa/Tunis".into(),
        };
        let all = [
            Event::BookingRequested {
                booking: booking.clone(),
            },
            Event::BookingConfirmed {
                booking: booking.clone(),
            },
            Event::BookingReceived {
                booking: booking.clone(),
            },
            Event::BookingProposed {
                booking: booking.clone(),
                previous_starts_at: 0,
            },
            Event::BookingDeclined {
                booking: booking.clone(),
                reason: None,
            },
            Event::BookingChanged {
                booking: booking.clone(),
                previous_starts_at: 0,
            },
            Event::BookingCancelled {
                booking: booking.clone(),
                by: "U".into(),
                refunded_coins: 0,
            },
            Event::BookingReminder {
                booking: booking.clone(),
                before_minutes: 15,
            },
            Event::CallSettled {
                booking: booking.clone(),
                outcome: "completed".into(),
                billed_seconds: 61,
                charged_coins: 20,
            },
            Event::MeetingInvitation { booking },
            Event::ExpertApproved,
            Event::ExpertRejected { reason: "r".into() },
            Event::PaymentSucceeded {
                payment_id: "p".into(),
                coins: 1,
            },
            Event::PaymentRefunded {
                reference: "r".into(),
                coins: 1,
            },
            Event::LowBalance { balance_coins: 1 },
            Event::MessageReceived {
                message: Message {
                    id: "m".into(),
                    conversation_id: "c".into(),
                    sender_id: "s".into(),
                    sender_name: "S".into(),
                    kind: "text".into(),
                    body: "👋".into(),
                    coins: 3,
                    sent_at: 0,
                },
            },
            Event::MessageExpired {
                message_id: "m".into(),
                conversation_id: "c".into(),
                expert_name: "E".into(),
                refunded_coins: 3,
            },
            Event::Announcement {
                announcement_id: "a".into(),
                title: "t".into(),
                body: "b".into(),
            },
        ];
        for e in all {
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["kind"], e.kind());
            assert_eq!(serde_json::from_value::<Event>(json).unwrap(), e);
        }
    }
}

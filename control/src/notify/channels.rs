//! Which channels a notification goes out on: a decision on the recipient's
//! preferences and what we know to reach them by, made without I/O.

use serde::{Deserialize, Serialize};

use crate::accounts::NotificationPrefs;

/// A way a notification leaves the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Server-Sent Events to the recipient's open clients.
    Live,
    Email,
    Sms,
    Push,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Live => "live",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }
}

/// What routing needs to know about a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub prefs: NotificationPrefs,
    /// Deactivated accounts keep their centre but are not contacted.
    pub active: bool,
    pub has_phone: bool,
    pub push_subscriptions: usize,
}

/// The channels to deliver on. The centre (and so the live stream, which
/// only mirrors it) always gets the notification; the others follow the
/// recipient's choices and need an address.
pub fn route(reach: &Reach) -> Vec<Channel> {
    let mut out = vec![Channel::Live];
    if !reach.active {
        return out;
    }
    if reach.prefs.email {
        out.push(Channel::Email);
    }
    if reach.prefs.sms && reach.has_phone {
        out.push(Channel::Sms);
    }
    if reach.prefs.push && reach.push_subscriptions > 0 {
        out.push(Channel::Push);
    }
    out
}

/// Whether a delivery decided earlier may still go: preferences can change
/// between the decision and the send, and the latest word wins.
pub fn still_wanted(channel: Channel, prefs: NotificationPrefs, active: bool) -> bool {
    match channel {
        Channel::Live => true,
        _ if !active => false,
        Channel::Email => prefs.email,
        Channel::Sms => prefs.sms,
        Channel::Push => prefs.push,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(email: bool, sms: bool, push: bool) -> Reach {
        Reach {
            prefs: NotificationPrefs { email, sms, push },
            active: true,
            has_phone: true,
            push_subscriptions: 1,
        }
    }

    #[test]
    fn preferences_choose_the_channels() {
        use Channel::*;
        assert_eq!(route(&reach(true, true, true)), [Live, Email, Sms, Push]);
        assert_eq!(route(&reach(false, false, false)), [Live]);
        assert_eq!(route(&reach(false, true, false)), [Live, Sms]);
    }

    #[test]
    fn a_channel_needs_an_address() {
        let mut r = reach(true, true, true);
        r.has_phone = false;
        r.push_subscriptions = 0;
        assert_eq!(route(&r), [Channel::Live, Channel::Email]);
    }

    #[test]
    fn inactive_accounts_only_get_the_centre() {
        let mut r = reach(true, true, true);
        r.active = false;
        assert_eq!(route(&r), [Channel::Live]);
        assert!(!still_wanted(Channel::Email, r.prefs, false));
        assert!(still_wanted(Channel::Live, r.prefs, false));
    }

    #[test]
    fn the_latest_preference_wins() {
        let prefs = NotificationPrefs {
            email: false,
            sms: true,
            push: false,
        };
        assert!(!still_wanted(Channel::Email, prefs, true));
        assert!(still_wanted(Channel::Sms, prefs, true));
    }
}

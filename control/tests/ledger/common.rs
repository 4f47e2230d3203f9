//! A ledger on a fresh database with a clock the test moves, and the
//! invariants every state of the ledger must satisfy.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use control::ledger::{Ledger, Request, MILLIMES_PER_COIN};
use platform::{Clock, ManualClock};
use uuid::Uuid;

pub use crate::testdb::{Backend, TestDb};

/// How long after a capture the expert's share may be paid out, in these
/// tests.
pub const CLEARING_DELAY: Duration = Duration::from_secs(600);

pub fn coins(n: i64) -> i64 {
    n * MILLIMES_PER_COIN
}

pub struct Books {
    pub ledger: Ledger,
    pub clock: Arc<ManualClock>,
    pub store: TestDb,
}

impl Books {
    pub async fn open(backend: Backend) -> Books {
        let store = TestDb::create(backend).await;
        let clock = Arc::new(ManualClock::starting_now());
        let ledger = Ledger::new(
            store.db.clone(),
            clock.clone() as Arc<dyn Clock>,
            CLEARING_DELAY,
        );
        Books {
            ledger,
            clock,
            store,
        }
    }

    pub async fn deposit(&self, account: Uuid, amount: i64) {
        let request = Request::Deposit {
            account,
            amount,
            provider: "sandbox".into(),
            reference: format!("payment:{}", Uuid::new_v4()),
        };
        self.ledger
            .apply(&Uuid::new_v4().to_string(), &request)
            .await
            .expect("deposit");
    }

    pub async fn hold(&self, payer: Uuid, payee: Uuid, amount: i64) -> Uuid {
        self.ledger
            .apply(
                &Uuid::new_v4().to_string(),
                &hold(payer, payee, amount, None),
            )
            .await
            .expect("hold")
            .hold
            .expect("a hold id")
    }

    /// `expert` earns 80 % of `amount` from a new payer's hold captured now.
    pub async fn earn(&self, expert: Uuid, amount: i64) -> Uuid {
        let payer = Uuid::new_v4();
        self.deposit(payer, amount).await;
        let hold = self.hold(payer, expert, amount).await;
        self.ledger
            .apply(
                &Uuid::new_v4().to_string(),
                &Request::Capture { hold, amount },
            )
            .await
            .expect("capture");
        hold
    }

    /// Moves the clock past the clearing delay: what was earned so far is
    /// cleared.
    pub fn clear(&self) {
        self.clock.advance(CLEARING_DELAY);
    }

    /// Requests a payout of `amount` for `expert`; the payout's id.
    pub async fn request_payout(&self, expert: Uuid, amount: i64) -> Uuid {
        self.ledger
            .apply(
                &Uuid::new_v4().to_string(),
                &Request::PayoutRequest { expert, amount },
            )
            .await
            .expect("payout request")
            .payout
            .expect("a payout id")
    }

    pub async fn transfers(&self) -> i64 {
        self.ledger.audit().await.unwrap().transfers
    }

    /// Every invariant, read from the database itself.
    pub async fn assert_sound(&self) {
        let audit = self.ledger.audit().await.unwrap();
        assert!(audit.is_clean(), "the ledger is unsound: {audit:?}");
        let holds: Vec<(String, i64, i64, i64, String)> =
            sqlx::query_as("SELECT id, amount, captured, refunded, state FROM ledger_holds")
                .fetch_all(self.store.db.pool())
                .await
                .unwrap();
        let transfers: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT hold_id, kind, amount, operation FROM ledger_transfers WHERE hold_id IS NOT NULL",
        )
        .fetch_all(self.store.db.pool())
        .await
        .unwrap();
        let mut sums: HashMap<(&str, &str), i64> = HashMap::new();
        let mut resolutions: HashMap<&str, HashSet<&str>> = HashMap::new();
        for (hold, kind, amount, operation) in &transfers {
            *sums.entry((hold, kind)).or_default() += amount;
            if ["capture_expert", "capture_platform", "release", "expire"].contains(&kind.as_str())
            {
                resolutions.entry(hold).or_default().insert(operation);
            }
        }
        for (id, amount, captured, refunded, state) in &holds {
            let sum = |kind: &str| sums.get(&(id.as_str(), kind)).copied().unwrap_or(0);
            let resolved = resolutions.get(id.as_str()).map_or(0, HashSet::len);
            assert!(resolved <= 1, "hold {id} resolved {resolved} times");
            assert_eq!(resolved == 1, state != "pending", "hold {id} is {state}");
            assert_eq!(sum("hold"), *amount, "hold {id} took its amount once");
            let (expert, platform) = (sum("capture_expert"), sum("capture_platform"));
            assert_eq!(
                expert + platform,
                *captured,
                "hold {id}: the capture is paid whole"
            );
            assert_eq!(
                platform,
                captured / 5,
                "hold {id}: the platform's 20%, rounded down"
            );
            let (expert_back, platform_back) = (sum("refund_expert"), sum("refund_platform"));
            assert_eq!(
                expert_back + platform_back,
                *refunded,
                "hold {id}: refunds are whole"
            );
            assert_eq!(
                platform_back,
                refunded / 5,
                "hold {id}: refunds take 20% back"
            );
            let returned = sum("release") + sum("expire");
            assert_eq!(
                returned + captured,
                if state == "pending" { 0 } else { *amount },
                "hold {id}: what is not captured goes back, once"
            );
        }
        self.assert_payouts_sound().await;
    }

    /// Each payout moved its amount once when requested and once when
    /// resolved: all of it to the bank and the state, or all of it back.
    async fn assert_payouts_sound(&self) {
        let payouts: Vec<(String, i64, i64, String)> =
            sqlx::query_as("SELECT id, amount, withheld, state FROM ledger_payouts")
                .fetch_all(self.store.db.pool())
                .await
                .unwrap();
        let transfers: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT reference, kind, amount, operation FROM ledger_transfers \
             WHERE kind LIKE 'payout%'",
        )
        .fetch_all(self.store.db.pool())
        .await
        .unwrap();
        let mut sums: HashMap<(&str, &str), i64> = HashMap::new();
        let mut operations: HashMap<(&str, &str), HashSet<&str>> = HashMap::new();
        for (reference, kind, amount, operation) in &transfers {
            let id = reference
                .strip_prefix("payout:")
                .expect("a payout's reference");
            let phase = if kind == "payout_requested" {
                "request"
            } else {
                "resolution"
            };
            *sums.entry((id, kind)).or_default() += amount;
            operations.entry((id, phase)).or_default().insert(operation);
        }
        for (id, amount, withheld, state) in &payouts {
            let sum = |kind: &str| sums.get(&(id.as_str(), kind)).copied().unwrap_or(0);
            let ops = |phase: &str| {
                operations
                    .get(&(id.as_str(), phase))
                    .map_or(0, HashSet::len)
            };
            assert_eq!(ops("request"), 1, "payout {id} was requested once");
            assert_eq!(
                sum("payout_requested"),
                *amount,
                "payout {id} took its amount"
            );
            assert_eq!(
                ops("resolution"),
                usize::from(state != "pending"),
                "payout {id} is {state} and resolved once"
            );
            let (paid, kept, returned) = (
                sum("payout_paid"),
                sum("payout_withheld"),
                sum("payout_returned"),
            );
            let expected = match state.as_str() {
                "pending" => (0, 0, 0),
                "settled" => (amount - withheld, *withheld, 0),
                _ => (0, 0, *amount),
            };
            assert_eq!((paid, kept, returned), expected, "payout {id} is {state}");
        }
    }
}

pub fn hold(payer: Uuid, payee: Uuid, amount: i64, expires_at: Option<i64>) -> Request {
    Request::Hold {
        payer,
        payee,
        amount,
        expires_at,
        reference: "message:test".into(),
        reason: "a paid message".into(),
    }
}

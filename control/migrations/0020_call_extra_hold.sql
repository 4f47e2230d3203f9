-- The ledger hold of a call's overrun (what it owed beyond its booking's hold, held from the
-- wallet and captured), kept when its capture is done so an administrator's refund can
-- return coins from it as well as from the booking's hold.
ALTER TABLE calls ADD COLUMN extra_hold_id TEXT;

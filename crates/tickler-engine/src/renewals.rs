//! Terms that start by themselves: an auto-renewing contract's next term when the current
//! one has ended and the customer did not decline, and an evergreen contract's next year.

use jiff::{SignedDuration, Timestamp};
use tickler_core::renewal::renews_at_end;
use tickler_store::{StoreError, contracts, customers};

use crate::{Actor, Engine, EngineError, contracts::NextTermSpec};

/// Contracts looked at per transaction.
const ROLL_BATCH: i64 = 100;

impl Engine {
    /// Starts the next term of every contract that renews by itself and whose term has ended
    /// in its customer's zone; several in a row for a contract whose dispatcher was down for
    /// more than a term. Two dispatchers racing start each term once. Returns how many.
    pub(crate) async fn roll_terms(&self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        // No zone is more than 14 hours ahead of UTC: a term whose end date is not before
        // UTC's date 14 hours from now has not ended anywhere.
        let horizon = now
            .saturating_add(SignedDuration::from_hours(14))
            .unwrap_or(now)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let mut renewed = 0;
        loop {
            let candidates =
                contracts::rolling_due(&mut *self.store.conn().await?, horizon, ROLL_BATCH).await?;
            let mut progressed = false;
            for id in &candidates {
                if self.roll_one(*id, now).await? {
                    renewed += 1;
                    progressed = true;
                }
            }
            // What is left has not ended in its customer's zone yet (candidates come in
            // end-date order, so those that have are taken first); a contract that just
            // renewed may be due again, after a long outage, and is taken by the next look.
            if !progressed {
                return Ok(renewed);
            }
        }
    }

    /// Starts one contract's next term if it is due; false if it was not (or another
    /// dispatcher did it first).
    async fn roll_one(&self, id: i64, now: Timestamp) -> Result<bool, EngineError> {
        let mut tx = self.store.begin().await?;
        let contract = contracts::get(&mut tx, id).await?;
        let declined = contract.answer == Some(tickler_core::renewal::Answer::Decline);
        if !renews_at_end(contract.renewal, declined, !contract.is_active()) {
            return Ok(false);
        }
        let customer = customers::get(&mut tx, contract.customer_id).await?;
        let today = now.to_zoned_datetime(self.customer_zone(&customer)).date();
        if today <= contract.end_date {
            return Ok(false);
        }
        match self
            .start_next_term(
                &mut tx,
                &contract,
                &NextTermSpec::default(),
                &Actor::system(),
                now,
            )
            .await
        {
            Ok(_) => {}
            Err(EngineError::Store(e) | EngineError::Unavailable(e)) if is_race(&e) => {
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        self.commit_schedule_change(tx).await?;
        Ok(true)
    }
}

fn is_race(e: &StoreError) -> bool {
    e.is_unique_violation()
}

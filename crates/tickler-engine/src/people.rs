//! The customers and contract owners a batch of work reads (a dispatcher's batch, a billing
//! run's): each read once per batch, however many of its contracts share them.

use std::collections::HashMap;

use tickler_core::{contract::Contract, customer::Customer, user::User};
use tickler_store::{Db, customers, users};

use crate::EngineError;

#[derive(Default)]
pub(crate) struct People {
    customers: HashMap<i64, Customer>,
    owners: HashMap<i64, User>,
}

impl People {
    /// Reads the customers and owners of `contracts` not read yet, with one query each.
    pub(crate) async fn read_for<'a>(
        &mut self,
        db: &mut Db,
        contracts: impl Iterator<Item = &'a Contract> + Clone,
    ) -> Result<(), EngineError> {
        let distinct = |ids: &mut Vec<i64>| {
            ids.sort_unstable();
            ids.dedup();
        };
        let mut customer_ids: Vec<i64> = contracts
            .clone()
            .map(|c| c.customer_id)
            .filter(|id| !self.customers.contains_key(id))
            .collect();
        distinct(&mut customer_ids);
        let mut owner_ids: Vec<i64> = contracts
            .filter_map(|c| c.owner_id)
            .filter(|id| !self.owners.contains_key(id))
            .collect();
        distinct(&mut owner_ids);
        if !customer_ids.is_empty() {
            for customer in customers::get_many(db, &customer_ids).await? {
                self.customers.insert(customer.id, customer);
            }
        }
        if !owner_ids.is_empty() {
            for owner in users::get_many(db, &owner_ids).await? {
                self.owners.insert(owner.id, owner);
            }
        }
        Ok(())
    }

    /// `contract`'s customer and owner, read now unless read before.
    pub(crate) async fn of(
        &mut self,
        db: &mut Db,
        contract: &Contract,
    ) -> Result<(Customer, Option<User>), EngineError> {
        let customer = match self.customers.get(&contract.customer_id) {
            Some(known) => known.clone(),
            None => {
                let read = customers::get(db, contract.customer_id).await?;
                self.customers.insert(read.id, read.clone());
                read
            }
        };
        let owner = match contract.owner_id {
            Some(id) => Some(match self.owners.get(&id) {
                Some(known) => known.clone(),
                None => {
                    let read = users::get(db, id).await?;
                    self.owners.insert(id, read.clone());
                    read
                }
            }),
            None => None,
        };
        Ok((customer, owner))
    }
}

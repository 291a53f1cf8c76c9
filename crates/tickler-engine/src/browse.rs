//! Reads for the web app's lists and detail pages: contracts and customers searched,
//! filtered, sorted and paged in the database; invoices with the names people know them by.

use serde::Serialize;
use tickler_store::{
    browse,
    invoices::{self, Invoice, InvoiceFilter},
    users,
};
// The query and view types that pages and commands name, so that front ends depend on the
// engine alone.
pub use tickler_store::{
    browse::{
        COUNT_CAP, ContractListRow, ContractQuery, ContractSort, Cursor, CustomerListRow,
        CustomerQuery, Page,
    },
    jobs::JobState,
    reminders::{ReminderFilter, ReminderOrder},
};
// The domain's entities, from core where they live.
pub use tickler_core::{
    contract::{Contract, ContractStatus},
    customer::Customer,
    user::User,
};

use crate::{Engine, EngineError};

// Pages print every capped count, of contracts or of reminders, through one helper.
const _: () = assert!(COUNT_CAP == tickler_store::reminders::COUNT_CAP);

/// One page of a list and how many rows match in all (up to [`COUNT_CAP`]).
#[derive(Debug)]
pub struct Listing<T> {
    pub page: Page<T>,
    pub total: i64,
}

impl<T> Listing<T> {
    /// Whether `total` stopped at the cap, so that the page says "more than".
    pub fn total_capped(&self) -> bool {
        self.total >= COUNT_CAP
    }
}

/// An invoice as a row of a list: with the names a person knows it by, and the contract's
/// owner, who (besides admins) may act on it.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceListRow {
    pub invoice: Invoice,
    pub contract_title: String,
    pub customer_name: String,
    pub owner_id: Option<i64>,
}

/// A customer with the first page of their contracts, soonest ending first.
#[derive(Debug)]
pub struct CustomerDetail {
    pub customer: Customer,
    pub contracts: Listing<ContractListRow>,
}

impl Engine {
    /// Contracts matching `query`: one keyset page and the count.
    pub async fn browse_contracts(
        &self,
        query: &ContractQuery,
    ) -> Result<Listing<ContractListRow>, EngineError> {
        let mut db = self.store.conn().await?;
        let page = browse::contracts(&mut db, query).await?;
        let total = browse::count_contracts(&mut db, query).await?;
        Ok(Listing { page, total })
    }

    /// Customers matching `query`: one keyset page and the count.
    pub async fn browse_customers(
        &self,
        query: &CustomerQuery,
    ) -> Result<Listing<CustomerListRow>, EngineError> {
        let mut db = self.store.conn().await?;
        let page = browse::customers(&mut db, query).await?;
        let total = browse::count_customers(&mut db, query).await?;
        Ok(Listing { page, total })
    }

    /// A customer and their first `limit` contracts.
    pub async fn browse_customer_detail(
        &self,
        id: i64,
        limit: i64,
    ) -> Result<CustomerDetail, EngineError> {
        let customer = self.customer(id).await?;
        let contracts = self
            .browse_contracts(&ContractQuery {
                customer_id: Some(id),
                limit,
                ..ContractQuery::default()
            })
            .await?;
        Ok(CustomerDetail {
            customer,
            contracts,
        })
    }

    /// The team, by name: who may own a contract.
    pub async fn browse_owners(&self) -> Result<Vec<User>, EngineError> {
        Ok(users::list(&mut *self.store.conn().await?).await?)
    }

    /// The names of the plans a contract may follow.
    pub async fn browse_plan_names(&self) -> Result<Vec<String>, EngineError> {
        Ok(browse::plan_names(&mut *self.store.conn().await?).await?)
    }

    /// Up to `limit` customers by name (id, name): the choices of a contract form.
    pub async fn browse_customer_choices(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, EngineError> {
        Ok(browse::customer_choices(&mut *self.store.conn().await?, limit).await?)
    }

    /// Invoices matching `filter` (in the order they bill), each with its contract's title
    /// and owner and its customer's name, in one query.
    pub async fn browse_invoices(
        &self,
        filter: &InvoiceFilter,
    ) -> Result<Vec<InvoiceListRow>, EngineError> {
        let mut db = self.store.conn().await?;
        Ok(invoices::list_with_parties(&mut db, filter)
            .await?
            .into_iter()
            .map(|listed| InvoiceListRow {
                invoice: listed.invoice,
                contract_title: listed.contract_title,
                customer_name: listed.customer_name,
                owner_id: listed.owner_id,
            })
            .collect())
    }
}

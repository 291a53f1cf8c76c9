//! `export contracts|customers|invoices`: the data as CSV, read page by page so that memory
//! does not grow with the database. Contracts are written in exactly the columns
//! `import contracts` reads (its custom fields as columns of their own), so that an export
//! imports again as the same contracts. Every cell is safe to open in a spreadsheet
//! ([`tickler_core::spreadsheet`]).

use std::{
    collections::{BTreeSet, HashMap},
    io::Write,
};

use tickler_core::{
    billing::{BillingTiming, InvoiceMode},
    contract::custom_field_text,
    money::Currency,
    renewal::RenewalType,
    spreadsheet::to_spreadsheet,
};
use tickler_store::{
    Db, billing,
    browse::{self, ContractQuery, Cursor, CustomerQuery},
    contracts, customers,
    invoices::{self, InvoiceFilter},
    plans, users,
};

use crate::{
    Engine, EngineError,
    import::{BILLING_COLUMNS, COLUMNS, RENEWAL_COLUMNS},
    invoice_view::line_text,
};

/// Contracts read at a time.
const PAGE: i64 = 1000;

/// Which contracts an export writes: those a list with these filters shows (its search,
/// status, owner, customer and end dates), in its order; cursor and page size are the
/// export's own.
#[derive(Debug, Clone, Default)]
pub struct ContractExport {
    pub filter: ContractQuery,
}

/// The contracts of a filter, a page at a time, as whole records in the list's order.
struct ContractPages {
    query: ContractQuery,
    done: bool,
}

impl ContractPages {
    fn new(filter: &ContractQuery) -> ContractPages {
        ContractPages {
            query: ContractQuery {
                cursor: None,
                limit: PAGE,
                ..filter.clone()
            },
            done: false,
        }
    }

    async fn next(&mut self, db: &mut Db) -> Result<Option<Vec<contracts::Contract>>, EngineError> {
        if self.done {
            return Ok(None);
        }
        let page = browse::contracts(db, &self.query).await?;
        self.done = !page.has_next;
        let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
        let Some(last) = ids.last() else {
            return Ok(None);
        };
        self.query.cursor = Some(Cursor::After(*last));
        let order: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut found = contracts::get_many(db, &ids).await?;
        found.sort_by_key(|c| order.get(&c.id).copied().unwrap_or(usize::MAX));
        Ok(Some(found))
    }
}

/// Writes CSV rows, each cell made safe for spreadsheets.
struct SafeCsv<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> SafeCsv<W> {
    fn new(out: W) -> Self {
        SafeCsv {
            out: csv::Writer::from_writer(out),
        }
    }

    fn row<I, S>(&mut self, cells: I) -> Result<(), EngineError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| to_spreadsheet(cell.as_ref()).into_owned())
            .collect();
        self.out.write_record(&cells).map_err(written)
    }

    fn finish(mut self) -> Result<(), EngineError> {
        self.out.flush().map_err(|e| written(e.into()))
    }
}

fn written(e: csv::Error) -> EngineError {
    EngineError::Internal(format!("cannot write the export: {e}"))
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

impl Engine {
    /// Writes the contracts `which` names as `import contracts` reads them; returns how
    /// many. A contract's current term is its start and end; an evergreen one has no end.
    pub async fn export_contracts(
        &self,
        out: impl Write,
        which: ContractExport,
    ) -> Result<u64, EngineError> {
        let mut db = self.store.conn().await?;
        let backend = self.store.backend();
        let owners: HashMap<i64, String> = users::list(&mut db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
        // First the custom fields' names, for the header row.
        let mut custom = BTreeSet::new();
        let mut pages = ContractPages::new(&which.filter);
        while let Some(page) = pages.next(&mut db).await? {
            for contract in &page {
                custom.extend(contract.custom_fields.keys().cloned());
            }
        }
        let mut csv = SafeCsv::new(out);
        csv.row(
            COLUMNS
                .iter()
                .chain(RENEWAL_COLUMNS.iter())
                .chain(BILLING_COLUMNS.iter())
                .map(|c| c.to_string())
                .chain(custom.iter().cloned()),
        )?;
        let mut written = 0;
        let mut pages = ContractPages::new(&which.filter);
        while let Some(page) = pages.next(&mut db).await? {
            let customer_ids: Vec<i64> = page.iter().map(|c| c.customer_id).collect();
            let customers: HashMap<i64, _> = customers::get_many(&mut db, &customer_ids)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
            let schedules = billing::schedules_of(&mut db, backend, &ids).await?;
            // A sale's lines are in its contract's currency (the first line's, when the
            // contract has no amount of its own: the lines give it).
            let currencies: HashMap<i64, Currency> = page
                .iter()
                .filter(|c| schedules.contains_key(&c.id))
                .filter_map(|c| Some((c.id, c.money()?.currency)))
                .collect();
            let lines = billing::lines_of(&mut db, backend, &currencies).await?;
            for contract in &page {
                let customer = customers.get(&contract.customer_id).ok_or_else(|| {
                    EngineError::Internal(format!(
                        "contract {} names customer {}, who is missing",
                        contract.id, contract.customer_id
                    ))
                })?;
                let mut row = vec![
                    customer.name.clone(),
                    customer.emails.first().cloned().unwrap_or_default(),
                    customer.language.code().to_string(),
                    customer.time_zone.clone().unwrap_or_default(),
                    contract.title.clone(),
                    contract.start_date.to_string(),
                    if contract.renewal == RenewalType::Evergreen {
                        String::new()
                    } else {
                        contract.end_date.to_string()
                    },
                    contract
                        .owner_id
                        .and_then(|id| owners.get(&id).cloned())
                        .unwrap_or_default(),
                    contract
                        .money()
                        .map(|m| m.to_decimal_string())
                        .unwrap_or_default(),
                    contract.currency.clone().unwrap_or_default(),
                    contract.renewal.as_str().to_string(),
                    contract
                        .notice_days
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                ];
                match schedules.get(&contract.id) {
                    Some(schedule) => row.extend([
                        schedule.interval.to_string(),
                        schedule.cycles.map(|c| c.to_string()).unwrap_or_default(),
                        lines
                            .get(&contract.id)
                            .map(|items| items.iter().map(line_text).collect::<Vec<_>>().join("\n"))
                            .unwrap_or_default(),
                        yes_no(schedule.timing == BillingTiming::InArrears).to_string(),
                        yes_no(schedule.invoice_mode == InvoiceMode::Draft).to_string(),
                        schedule.payment_days.to_string(),
                    ]),
                    None => row.extend(std::iter::repeat_n(String::new(), BILLING_COLUMNS.len())),
                }
                row.extend(custom.iter().map(|name| {
                    contract
                        .custom_fields
                        .get(name)
                        .map(custom_field_text)
                        .unwrap_or_default()
                }));
                csv.row(row)?;
                written += 1;
            }
        }
        csv.finish()?;
        Ok(written)
    }

    /// Writes every customer whose name or address contains `search` (every customer
    /// without one), in the list's order (by name): id, name, addresses (one per line of the
    /// cell), language, time zone and the plan their new contracts follow; returns how many.
    pub async fn export_customers(
        &self,
        out: impl Write,
        search: Option<&str>,
    ) -> Result<u64, EngineError> {
        let mut db = self.store.conn().await?;
        let mut csv = SafeCsv::new(out);
        csv.row([
            "id",
            "name",
            "emails",
            "language",
            "time_zone",
            "default_plan",
        ])?;
        let plans: HashMap<i64, String> = plans::list(&mut db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let defaults = customers::default_plans(&mut db).await?;
        let mut written = 0;
        let mut query = CustomerQuery {
            search: search.map(str::to_string),
            cursor: None,
            limit: PAGE,
        };
        loop {
            let listed = browse::customers(&mut db, &query).await?;
            let ids: Vec<i64> = listed.rows.iter().map(|c| c.id).collect();
            let Some(last) = ids.last() else { break };
            query.cursor = Some(Cursor::After(*last));
            let order: HashMap<i64, usize> =
                ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            let mut page = customers::get_many(&mut db, &ids).await?;
            page.sort_by_key(|c| order.get(&c.id).copied().unwrap_or(usize::MAX));
            for customer in page {
                let plan = defaults
                    .get(&customer.id)
                    .and_then(|plan| plans.get(plan))
                    .cloned()
                    .unwrap_or_default();
                csv.row([
                    customer.id.to_string(),
                    customer.name,
                    customer.emails.join("\n"),
                    customer.language.code().to_string(),
                    customer.time_zone.unwrap_or_default(),
                    plan,
                ])?;
                written += 1;
            }
            if !listed.has_next {
                break;
            }
        }
        csv.finish()?;
        Ok(written)
    }

    /// Writes the invoices `filter` lists (all of them, drafts and void ones too, with the
    /// default filter), with their amounts in their currency; returns how many.
    pub async fn export_invoices(
        &self,
        out: impl Write,
        filter: &InvoiceFilter,
    ) -> Result<u64, EngineError> {
        let mut db = self.store.conn().await?;
        let listed = invoices::list_with_parties(&mut db, filter).await?;
        let mut csv = SafeCsv::new(out);
        csv.row([
            "id",
            "number",
            "status",
            "customer",
            "contract_id",
            "contract",
            "period_start",
            "period_end",
            "issue_date",
            "due_date",
            "currency",
            "subtotal",
            "tax",
            "total",
            "paid",
            "balance",
        ])?;
        let mut written = 0;
        for entry in listed {
            let invoice = &entry.invoice;
            let amount = |minor: i64| invoice.money(minor).to_decimal_string();
            csv.row([
                invoice.id.to_string(),
                invoice.number.clone().unwrap_or_default(),
                invoice.status.as_str().to_string(),
                entry.customer_name.clone(),
                invoice.contract_id.to_string(),
                entry.contract_title.clone(),
                invoice.period_start.to_string(),
                invoice.period_end.to_string(),
                invoice.issue_date.to_string(),
                invoice.due_date.to_string(),
                invoice.currency.code().to_string(),
                amount(invoice.subtotal),
                amount(invoice.tax),
                amount(invoice.total),
                amount(invoice.paid),
                amount(invoice.balance()),
            ])?;
            written += 1;
        }
        csv.finish()?;
        Ok(written)
    }
}

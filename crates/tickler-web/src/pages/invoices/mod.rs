//! The invoices pages: the list with the drafts waiting for approval first, one invoice as a
//! printable page with what may be done to it (approve, record a payment or prepayment,
//! discard, void), and its PDF. Every action is an engine use case, the same the CLI's
//! `invoice` commands call; who may act follows the contract's rule: admins, and the
//! salesperson who owns the contract.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use jiff::civil::Date;
use serde::Deserialize;
use tickler_core::{
    access::Action,
    billing::{BillingInterval, IntervalUnit},
    invoice::{InvoiceStatus, LineItem},
    language::Language,
    money::Money,
};
use tickler_engine::{
    EngineError,
    browse::InvoiceListRow,
    invoice_view::InvoiceView,
    invoicing::{DraftChanges, Invoice, InvoiceDetail, InvoiceFilter},
};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    pages::{
        Layout,
        contracts::{days_between, given, today_in},
        csv_download, redirect_with_notice,
    },
};

mod detail;
mod list;
pub(crate) mod pdf;

use detail::*;
use list::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invoices", get(list))
        .route("/invoices.csv", get(list::list_csv))
        .route("/invoices/{id}", get(detail))
        .route("/invoices/{id}/pdf", get(pdf::pdf))
        .route("/invoices/{id}/approve", post(approve))
        .route("/invoices/{id}/edit", post(edit))
        .route("/invoices/{id}/payments", post(record_payment))
        .route("/invoices/{id}/discard", post(discard))
        .route("/invoices/{id}/void", post(void))
}

/// An amount of an invoice as an English reader expects it: "€1,240.00", "¥13,200".
pub(crate) fn amount(invoice: &Invoice, minor: i64) -> String {
    invoice.money(minor).format(Language::En)
}

/// "INV-2027-0001", or "Draft" before a number is given at issue.
pub(crate) fn number_text(invoice: &Invoice) -> String {
    invoice
        .number
        .clone()
        .unwrap_or_else(|| "Draft".to_string())
}

/// "1 month", "3 months", "2 weeks": a billing interval in words.
pub(crate) fn interval_text(interval: BillingInterval) -> String {
    let unit = match interval.unit {
        IntervalUnit::Days => "day",
        IntervalUnit::Weeks => "week",
        IntervalUnit::Months => "month",
        IntervalUnit::Years => "year",
    };
    if interval.count == 1 {
        format!("1 {unit}")
    } else {
        format!("{} {unit}s", interval.count)
    }
}

/// An invoice as a row of a table (the list, a contract's billing section).
pub(crate) struct InvoiceRow {
    pub id: i64,
    /// "INV-2027-0001" or "Draft".
    pub number: String,
    pub status: &'static str,
    pub contract_id: i64,
    pub contract_title: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub period: String,
    pub issue_date: String,
    pub due_date: String,
    pub total: String,
    pub paid: String,
    pub balance: String,
    /// The balance as typed in a payment form: "1240.00".
    pub balance_input: String,
    /// Days past its due date while issued and unpaid; 0 otherwise.
    pub days_overdue: i64,
    /// Whether the viewer may approve, pay, discard or void it.
    pub can_act: bool,
}

impl InvoiceRow {
    pub(crate) fn new(row: &InvoiceListRow, user: &CurrentUser, today: Date) -> InvoiceRow {
        let invoice = &row.invoice;
        let view = InvoiceView::from(invoice);
        InvoiceRow {
            id: invoice.id,
            number: number_text(invoice),
            status: invoice.status.as_str(),
            contract_id: invoice.contract_id,
            contract_title: row.contract_title.clone(),
            customer_id: invoice.customer_id,
            customer_name: row.customer_name.clone(),
            period: format!("{} to {}", invoice.period_start, invoice.period_end),
            issue_date: invoice.issue_date.to_string(),
            due_date: invoice.due_date.to_string(),
            total: amount(invoice, invoice.total),
            paid: amount(invoice, invoice.paid),
            balance: amount(invoice, invoice.balance()),
            balance_input: view.balance,
            days_overdue: days_overdue(invoice, today),
            can_act: user.viewer.may(Action::ChangeContract, row.owner_id),
        }
    }
}

/// Whole days an issued invoice is past its due date (0 when not overdue).
pub(crate) fn days_overdue(invoice: &Invoice, today: Date) -> i64 {
    if invoice.status == InvoiceStatus::Issued && invoice.balance() > 0 {
        days_between(invoice.due_date, today).max(0)
    } else {
        0
    }
}

/// One line of an invoice (or of a recurring sale's lines), its amounts formatted.
pub(crate) struct LineRow {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
}

impl LineRow {
    pub(crate) fn new(item: &LineItem, net: i64) -> LineRow {
        LineRow {
            description: item.description.clone(),
            quantity: item.quantity.to_string(),
            unit_price: item.unit_price.format(Language::En),
            tax_rate: item.tax_rate.to_string(),
            net: Money {
                minor: net,
                currency: item.unit_price.currency,
            }
            .format(Language::En),
        }
    }
}

/// Where an action returns to: the list it was started from (with its filters), else the
/// invoice's page. The list's address is rebuilt from the filters it may have, so that the
/// field can neither send anyone elsewhere nor put anything else in the redirect.
fn back_to(back: &str, id: i64) -> String {
    list_back(back.trim()).unwrap_or_else(|| format!("/invoices/{id}"))
}

fn list_back(back: &str) -> Option<String> {
    let query = match back.strip_prefix("/invoices")? {
        "" => "",
        rest => rest.strip_prefix('?')?,
    };
    let (mut status, mut contract) = (None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "status" => status = Some(Shown::parse(&value)?),
            "contract" => contract = Some(value.parse::<i64>().ok()?),
            _ => return None,
        }
    }
    Some(list_href(status, contract))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_return_only_to_the_list_or_the_invoice() {
        assert_eq!(back_to("/invoices", 7), "/invoices");
        assert_eq!(
            back_to("/invoices?status=draft&contract=3", 7),
            "/invoices?status=draft&contract=3"
        );
        assert_eq!(back_to("", 7), "/invoices/7");
        assert_eq!(back_to("https://evil.example/", 7), "/invoices/7");
        assert_eq!(back_to("//evil.example", 7), "/invoices/7");
        assert_eq!(back_to("/invoices?x=//evil.example", 7), "/invoices/7");
        assert_eq!(back_to("/invoicesx", 7), "/invoices/7");
        assert_eq!(back_to("/invoices?status=late", 7), "/invoices/7");
        assert_eq!(back_to("/invoices?contract=3%0d%0aX:1", 7), "/invoices/7");
        assert_eq!(back_to("/invoices?status=draft%0a", 7), "/invoices/7");
    }

    #[test]
    fn intervals_read_as_words() {
        let every = |text: &str| interval_text(BillingInterval::parse("every", text).unwrap());
        assert_eq!(every("1m"), "1 month");
        assert_eq!(every("3m"), "3 months");
        assert_eq!(every("2w"), "2 weeks");
        assert_eq!(every("1y"), "1 year");
        assert_eq!(every("10d"), "10 days");
    }
}

//! Quotes as the CLI's JSON, the web app and the API present them: amounts as decimal
//! strings in the quote's currency, like invoices' (see `invoice_view`).

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use tickler_store::{events::Event, quotes::Quote};

use crate::{
    invoice_view::{LineView, TaxBandView, line_view, tax_band_views},
    quotes::{QuoteDetail, QuoteLinks},
};

#[derive(Debug, Clone, Serialize)]
pub struct QuoteView {
    pub id: i64,
    /// "Q-7".
    pub number: String,
    pub contract_id: i64,
    pub status: &'static str,
    pub valid_until: Date,
    /// The next term offered.
    pub term_start: Date,
    pub term_end: Date,
    pub currency: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
    /// `None` without `TICKLER_PUBLIC_URL`.
    pub accept_url: Option<String>,
    pub decline_url: Option<String>,
    /// The term its acceptance started; `None` until accepted.
    pub next_term_id: Option<i64>,
}

impl QuoteView {
    pub fn new(quote: &Quote, links: Option<&QuoteLinks>) -> Self {
        let amount = |minor| quote.money(minor).to_decimal_string();
        QuoteView {
            id: quote.id,
            number: quote.number(),
            contract_id: quote.contract_id,
            status: quote.status.as_str(),
            valid_until: quote.valid_until,
            term_start: quote.start_date,
            term_end: quote.end_date,
            currency: quote.currency.code().to_string(),
            subtotal: amount(quote.subtotal),
            tax: amount(quote.tax),
            total: amount(quote.total),
            accept_url: links.map(|l| l.accept.clone()),
            decline_url: links.map(|l| l.decline.clone()),
            next_term_id: quote.next_term_id,
        }
    }
}

/// How the next term is invoiced, for a recurring sale.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteBillingView {
    /// "1m", "3m", "1y".
    pub every: String,
    pub timing: &'static str,
    pub invoice_mode: &'static str,
    pub payment_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuoteDetailView {
    #[serde(flatten)]
    pub quote: QuoteView,
    pub contract_title: String,
    pub customer_name: String,
    /// The term the quote renews.
    pub renews_term_id: i64,
    pub lines: Vec<LineView>,
    pub tax_bands: Vec<TaxBandView>,
    /// `None` for a contract that is not a recurring sale: the total is the term's amount.
    pub billing: Option<QuoteBillingView>,
    pub sent_at: Option<Timestamp>,
    pub decided_on: Option<Date>,
    pub decided_by: Option<String>,
    pub decline_reason: Option<String>,
    pub events: Vec<Event>,
}

impl From<&QuoteDetail> for QuoteDetailView {
    fn from(detail: &QuoteDetail) -> Self {
        let quote = &detail.quote;
        QuoteDetailView {
            quote: QuoteView::new(quote, detail.links.as_ref()),
            contract_title: detail.contract.title.clone(),
            customer_name: detail.customer.name.clone(),
            renews_term_id: quote.term_id,
            lines: detail
                .lines
                .iter()
                .map(|l| line_view(quote.currency, l))
                .collect(),
            tax_bands: tax_band_views(quote.currency, &detail.lines),
            billing: quote.billing.map(|b| QuoteBillingView {
                every: b.interval.to_string(),
                timing: b.timing.as_str(),
                invoice_mode: b.invoice_mode.as_str(),
                payment_days: b.payment_days,
            }),
            sent_at: quote.sent_at,
            decided_on: quote.decided_on,
            decided_by: quote.decided_by.clone(),
            decline_reason: quote.decline_reason.clone(),
            events: detail.events.clone(),
        }
    }
}

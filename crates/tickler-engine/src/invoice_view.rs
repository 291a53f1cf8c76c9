//! Invoices as the CLI's JSON, the web app and the API present them: amounts as decimal
//! strings in the invoice's currency ("124.00", "13200" for yen), never as floats.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use tickler_core::{
    invoice::{LineItem, totals},
    money::{Currency, Money},
};
use tickler_store::invoices::{Invoice, Payment, StoredLine};

use crate::invoicing::InvoiceDetail;

#[derive(Debug, Clone, Serialize)]
pub struct InvoiceView {
    pub id: i64,
    pub contract_id: i64,
    pub customer_id: i64,
    /// `None` for a draft.
    pub number: Option<String>,
    pub status: &'static str,
    pub period_start: Date,
    pub period_end: Date,
    pub issue_date: Date,
    pub due_date: Date,
    pub currency: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
    pub paid: String,
    pub balance: String,
    /// Why it was discarded or voided.
    pub void_reason: Option<String>,
}

impl From<&Invoice> for InvoiceView {
    fn from(invoice: &Invoice) -> Self {
        let amount = |minor| invoice.money(minor).to_decimal_string();
        InvoiceView {
            id: invoice.id,
            contract_id: invoice.contract_id,
            customer_id: invoice.customer_id,
            number: invoice.number.clone(),
            status: invoice.status.as_str(),
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            issue_date: invoice.issue_date,
            due_date: invoice.due_date,
            currency: invoice.currency.code().to_string(),
            subtotal: amount(invoice.subtotal),
            tax: amount(invoice.tax),
            total: amount(invoice.total),
            paid: amount(invoice.paid),
            balance: amount(invoice.balance()),
            void_reason: invoice.void_reason.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LineView {
    pub description: String,
    /// "2", "1.5".
    pub quantity: String,
    pub unit_price: String,
    /// Percent: "24", "6.5".
    pub tax_rate: String,
    pub net: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: i64,
    pub amount: String,
    pub date: Date,
    pub reference: Option<String>,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
}

/// Tax per rate, as the invoice states it.
#[derive(Debug, Clone, Serialize)]
pub struct TaxBandView {
    pub rate: String,
    pub net: String,
    pub tax: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvoiceDetailView {
    #[serde(flatten)]
    pub invoice: InvoiceView,
    pub contract_title: String,
    pub customer_name: String,
    pub lines: Vec<LineView>,
    pub tax_bands: Vec<TaxBandView>,
    pub payments: Vec<PaymentView>,
}

/// A line as a person types it: "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT".
pub fn line_text(item: &LineItem) -> String {
    format!(
        "{}|{}|{}|{}",
        item.description,
        item.quantity,
        item.unit_price.to_decimal_string(),
        item.tax_rate
    )
}

/// A stored line (an invoice's or a quote's) in its document's currency.
pub(crate) fn line_view(currency: Currency, line: &StoredLine) -> LineView {
    LineView {
        description: line.item.description.clone(),
        quantity: line.item.quantity.to_string(),
        unit_price: line.item.unit_price.to_decimal_string(),
        tax_rate: line.item.tax_rate.to_string(),
        net: Money {
            minor: line.net,
            currency,
        }
        .to_decimal_string(),
    }
}

/// Tax per rate of stored lines, by the rule that made their totals.
pub(crate) fn tax_band_views(currency: Currency, lines: &[StoredLine]) -> Vec<TaxBandView> {
    let money = |minor| Money { minor, currency }.to_decimal_string();
    let items: Vec<_> = lines.iter().map(|l| l.item.clone()).collect();
    totals(&items)
        .bands
        .iter()
        .map(|band| TaxBandView {
            rate: band.rate.to_string(),
            net: money(band.net),
            tax: money(band.tax),
        })
        .collect()
}

fn payment_view(invoice: &Invoice, payment: &Payment) -> PaymentView {
    PaymentView {
        id: payment.id,
        amount: invoice.money(payment.amount).to_decimal_string(),
        date: payment.paid_on,
        reference: payment.reference.clone(),
        recorded_by: payment.recorded_by.clone(),
        recorded_at: payment.recorded_at,
    }
}

impl From<&InvoiceDetail> for InvoiceDetailView {
    fn from(detail: &InvoiceDetail) -> Self {
        let invoice = &detail.invoice;
        InvoiceDetailView {
            invoice: InvoiceView::from(invoice),
            contract_title: detail.contract_title.clone(),
            customer_name: detail.customer.name.clone(),
            lines: detail
                .lines
                .iter()
                .map(|l| line_view(invoice.currency, l))
                .collect(),
            tax_bands: tax_band_views(invoice.currency, &detail.lines),
            payments: detail
                .payments
                .iter()
                .map(|p| payment_view(invoice, p))
                .collect(),
        }
    }
}

//! An invoice or a renewal quote as the document the customer receives: its PDF, in the
//! customer's language, both built from the same parties, lines and tax bands.

use tickler_core::{
    billing::{BillingTiming, IntervalUnit},
    customer::Customer,
    invoice::{InvoiceStatus, totals},
    language::Language,
    money::Currency,
    quote::QuoteStatus,
};
use tickler_documents::{
    DocumentLine, InvoiceDocument, Party, QuoteDocument, QuoteMark, TaxBand, render_invoice_pdf,
    render_quote_pdf,
};
use tickler_store::{invoices::StoredLine, quotes::QuoteBilling};

use crate::{Engine, EngineError, invoicing::InvoiceDetail, quotes::QuoteDetail};

impl Engine {
    /// The invoice's PDF, as its email carries it.
    pub async fn invoice_pdf(&self, id: i64) -> Result<Vec<u8>, EngineError> {
        let detail = self.invoice_detail(id).await?;
        self.render_pdf(&detail)
    }

    /// The file name of the invoice's PDF: its number, or its id while a draft.
    pub fn invoice_file_name(detail: &InvoiceDetail) -> String {
        match &detail.invoice.number {
            Some(number) => format!("{}.pdf", number.replace(['/', '\\'], "-")),
            None => format!("draft-invoice-{}.pdf", detail.invoice.id),
        }
    }

    pub(crate) fn render_pdf(&self, detail: &InvoiceDetail) -> Result<Vec<u8>, EngineError> {
        let started = std::time::Instant::now();
        let pdf = render_invoice_pdf(&self.invoice_document(detail)).map_err(|e| {
            EngineError::Internal(format!(
                "invoice {}: the PDF could not be made: {e}",
                detail.invoice.id
            ))
        })?;
        metrics::histogram!("tickler_invoice_pdf_seconds").record(started.elapsed().as_secs_f64());
        Ok(pdf)
    }

    /// The quote's PDF, as its email carries it.
    pub async fn quote_pdf(&self, id: i64) -> Result<Vec<u8>, EngineError> {
        let detail = self.quote_detail(id).await?;
        self.render_quote_pdf(&detail)
    }

    /// The file name of the quote's PDF: "Q-7.pdf".
    pub fn quote_file_name(detail: &QuoteDetail) -> String {
        format!("{}.pdf", detail.quote.number())
    }

    pub(crate) fn render_quote_pdf(&self, detail: &QuoteDetail) -> Result<Vec<u8>, EngineError> {
        render_quote_pdf(&self.quote_document(detail)).map_err(|e| {
            EngineError::Internal(format!(
                "quote {}: the PDF could not be made: {e}",
                detail.quote.number()
            ))
        })
    }

    fn organisation_party(&self) -> Party {
        let organisation = self.organisation();
        Party {
            name: self.settings.organisation_name.clone(),
            email: Some(self.settings.mail_from.address.to_string()),
            iban: organisation.bank_iban.as_ref().map(|iban| iban.grouped()),
            bank: organisation.bank_name.clone(),
        }
    }

    fn quote_document(&self, detail: &QuoteDetail) -> QuoteDocument {
        let quote = &detail.quote;
        let language = detail.customer.language;
        let (lines, tax_bands) = priced_lines(&detail.lines, quote.currency);
        let open = quote.status == QuoteStatus::Sent;
        QuoteDocument {
            language,
            organisation: self.organisation_party(),
            customer: customer_party(&detail.customer),
            number: quote.number(),
            status_mark: match quote.status {
                QuoteStatus::Draft => Some(QuoteMark::Draft),
                QuoteStatus::Sent => None,
                QuoteStatus::Accepted => Some(QuoteMark::Accepted),
                QuoteStatus::Declined => Some(QuoteMark::Declined),
                QuoteStatus::Expired => Some(QuoteMark::Expired),
            },
            issue_date: quote
                .sent_at
                .unwrap_or(quote.created_at)
                .to_zoned_datetime(self.settings.default_time_zone.tz().clone())
                .date(),
            valid_until: quote.valid_until,
            term_start: quote.start_date,
            term_end: quote.end_date,
            billing: quote.billing.map(|b| billing_words(b, language)),
            reference: Some(detail.contract.title.clone()),
            lines,
            tax_bands,
            subtotal: quote.money(quote.subtotal),
            tax: quote.money(quote.tax),
            total: quote.money(quote.total),
            accept_url: detail
                .links
                .as_ref()
                .filter(|_| open)
                .map(|l| l.accept.clone()),
            decline_url: detail
                .links
                .as_ref()
                .filter(|_| open)
                .map(|l| l.decline.clone()),
        }
    }

    fn invoice_document(&self, detail: &InvoiceDetail) -> InvoiceDocument {
        let invoice = &detail.invoice;
        let (lines, tax_bands) = priced_lines(&detail.lines, invoice.currency);
        InvoiceDocument {
            language: detail.customer.language,
            organisation: self.organisation_party(),
            customer: customer_party(&detail.customer),
            number: invoice.number.clone(),
            void: invoice.status == InvoiceStatus::Void,
            issue_date: invoice.issue_date,
            due_date: invoice.due_date,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            reference: Some(detail.contract_title.clone()),
            lines,
            tax_bands,
            subtotal: invoice.money(invoice.subtotal),
            tax: invoice.money(invoice.tax),
            total: invoice.money(invoice.total),
            paid: invoice.money(invoice.paid),
            balance: invoice.money(invoice.balance()),
        }
    }
}

fn customer_party(customer: &Customer) -> Party {
    Party {
        name: customer.name.clone(),
        email: customer.emails.first().cloned(),
        iban: None,
        bank: None,
    }
}

/// Stored lines as a document shows them, with the tax per rate from the same lines by the
/// rule that made the totals.
fn priced_lines(lines: &[StoredLine], currency: Currency) -> (Vec<DocumentLine>, Vec<TaxBand>) {
    let money = |minor| tickler_core::money::Money { minor, currency };
    let items: Vec<_> = lines.iter().map(|l| l.item.clone()).collect();
    let bands = totals(&items)
        .bands
        .iter()
        .map(|band| TaxBand {
            rate: band.rate.to_string(),
            net: money(band.net),
            tax: money(band.tax),
        })
        .collect();
    let lines = lines
        .iter()
        .map(|line| DocumentLine {
            description: line.item.description.clone(),
            quantity: line.item.quantity.to_string(),
            unit_price: line.item.unit_price,
            tax_rate: line.item.tax_rate.to_string(),
            net: money(line.net),
        })
        .collect();
    (lines, bands)
}

/// "Invoiced every 3 months, in advance", in the customer's language.
fn billing_words(billing: QuoteBilling, language: Language) -> String {
    let n = billing.interval.count;
    let advance = billing.timing == BillingTiming::InAdvance;
    match language {
        Language::En => {
            let unit = match billing.interval.unit {
                IntervalUnit::Days => "day",
                IntervalUnit::Weeks => "week",
                IntervalUnit::Months => "month",
                IntervalUnit::Years => "year",
            };
            let every = if n == 1 {
                unit.to_string()
            } else {
                format!("{n} {unit}s")
            };
            let when = if advance { "in advance" } else { "in arrears" };
            format!("Invoiced every {every}, {when}")
        }
        Language::El => {
            let unit = match (billing.interval.unit, n == 1) {
                (IntervalUnit::Days, true) => "ημέρα",
                (IntervalUnit::Days, false) => "ημέρες",
                (IntervalUnit::Weeks, true) => "εβδομάδα",
                (IntervalUnit::Weeks, false) => "εβδομάδες",
                (IntervalUnit::Months, true) => "μήνα",
                (IntervalUnit::Months, false) => "μήνες",
                (IntervalUnit::Years, true) => "έτος",
                (IntervalUnit::Years, false) => "έτη",
            };
            let every = if n == 1 {
                unit.to_string()
            } else {
                format!("{n} {unit}")
            };
            let when = if advance {
                "προκαταβολικά"
            } else {
                "εκ των υστέρων"
            };
            format!("Τιμολογείται κάθε {every}, {when}")
        }
        Language::Ja => {
            let unit = match billing.interval.unit {
                IntervalUnit::Days => "日",
                IntervalUnit::Weeks => "週間",
                IntervalUnit::Months => "か月",
                IntervalUnit::Years => "年",
            };
            let when = if advance { "前払い" } else { "後払い" };
            format!("{n}{unit}ごと、{when}にて請求")
        }
    }
}

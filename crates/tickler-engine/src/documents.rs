//! An invoice as the document the customer receives: its PDF, in the customer's language.

use tickler_core::invoice::InvoiceStatus;
use tickler_documents::{DocumentLine, InvoiceDocument, Party, TaxBand, render_invoice_pdf};

use crate::{Engine, EngineError, invoicing::InvoiceDetail};

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

    fn invoice_document(&self, detail: &InvoiceDetail) -> InvoiceDocument {
        let invoice = &detail.invoice;
        let organisation = self.organisation();
        InvoiceDocument {
            language: detail.customer.language,
            organisation: Party {
                name: self.settings.organisation_name.clone(),
                email: Some(self.settings.mail_from.address.to_string()),
                iban: organisation.bank_iban.as_ref().map(|iban| iban.grouped()),
                bank: organisation.bank_name.clone(),
            },
            customer: Party {
                name: detail.customer.name.clone(),
                email: detail.customer.emails.first().cloned(),
                iban: None,
                bank: None,
            },
            number: invoice.number.clone(),
            void: invoice.status == InvoiceStatus::Void,
            issue_date: invoice.issue_date,
            due_date: invoice.due_date,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            reference: Some(detail.contract_title.clone()),
            lines: detail
                .lines
                .iter()
                .map(|line| DocumentLine {
                    description: line.item.description.clone(),
                    quantity: line.item.quantity.to_string(),
                    unit_price: line.item.unit_price,
                    tax_rate: line.item.tax_rate.to_string(),
                    net: invoice.money(line.net),
                })
                .collect(),
            tax_bands: detail
                .tax_bands()
                .iter()
                .map(|band| TaxBand {
                    rate: band.rate.to_string(),
                    net: invoice.money(band.net),
                    tax: invoice.money(band.tax),
                })
                .collect(),
            subtotal: invoice.money(invoice.subtotal),
            tax: invoice.money(invoice.tax),
            total: invoice.money(invoice.total),
            paid: invoice.money(invoice.paid),
            balance: invoice.money(invoice.balance()),
        }
    }
}

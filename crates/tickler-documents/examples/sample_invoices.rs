//! Writes the sample invoices and quotes as PDF files to look at:
//!
//! ```sh
//! cargo run -p tickler-documents --example sample_invoices -- /tmp/invoices
//! ```
//!
//! Per language: an invoice, a draft and a void one, and one of 60 lines; a quote, an
//! expired one, and one of 60 lines.

use std::{error::Error, path::PathBuf};

use tickler_core::language::Language;
use tickler_documents::{
    QuoteMark, render_invoice_pdf, render_quote_pdf,
    sample::{invoice, quote, quote_with_lines, with_lines},
};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    for language in Language::ALL {
        let code = language.code();
        let mut draft = invoice(language);
        draft.number = None;
        let mut void = invoice(language);
        void.void = true;
        let documents = [
            (format!("invoice-{code}.pdf"), invoice(language)),
            (format!("invoice-{code}-draft.pdf"), draft),
            (format!("invoice-{code}-void.pdf"), void),
            (
                format!("invoice-{code}-60-lines.pdf"),
                with_lines(invoice(language), 60),
            ),
        ];
        let mut expired = quote(language);
        expired.status_mark = Some(QuoteMark::Expired);
        let quotes = [
            (format!("quote-{code}.pdf"), quote(language)),
            (format!("quote-{code}-expired.pdf"), expired),
            (
                format!("quote-{code}-60-lines.pdf"),
                quote_with_lines(quote(language), 60),
            ),
        ];
        let mut pdfs = Vec::new();
        for (name, doc) in documents {
            pdfs.push((name, render_invoice_pdf(&doc)?));
        }
        for (name, doc) in quotes {
            pdfs.push((name, render_quote_pdf(&doc)?));
        }
        for (name, bytes) in pdfs {
            let path = dir.join(name);
            std::fs::write(&path, bytes)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}

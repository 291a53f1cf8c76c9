//! Writes the sample invoices as PDF files to look at:
//!
//! ```sh
//! cargo run -p tickler-documents --example sample_invoices -- /tmp/invoices
//! ```
//!
//! One per language, a draft and a void one, and one of 60 lines.

use std::{error::Error, path::PathBuf};

use tickler_core::language::Language;
use tickler_documents::{
    render_invoice_pdf,
    sample::{invoice, with_lines},
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
        for (name, doc) in documents {
            let path = dir.join(name);
            std::fs::write(&path, render_invoice_pdf(&doc)?)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}

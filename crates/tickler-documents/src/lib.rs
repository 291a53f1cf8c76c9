//! Tickler's documents: an invoice, or a renewal quote, rendered as an A4 PDF in English,
//! Greek or Japanese.
//!
//! Pure, like tickler-core: an [`InvoiceDocument`] or a [`QuoteDocument`] in, the PDF's bytes
//! out; no I/O, no clock, no async. The caller (the engine) gathers the document, its lines and
//! its parties and decides where the bytes go.
//!
//! Text is set in one bundled font family, Tickler Invoice Gothic (Latin, Greek with tonos,
//! Japanese; `fonts/README.md`), and the PDF embeds only the glyphs it uses, with a ToUnicode
//! map so that the text can be searched and copied. The same input gives the same bytes.
//! krilla writes the PDF; docs/documents.md says why krilla and why this font.
//!
//! Layout (one sheet for both documents, `layout.rs`): the seller and the document's number and
//! dates at the top, then the customer, the lines, the tax per rate and the totals, and at the
//! bottom of the last page the payment instructions (an invoice) or how to accept (a quote,
//! with its links clickable). Lines flow onto further pages, each repeating the table's header;
//! every page has the seller's name and "Page n of m" at its foot. A status (a draft, a void
//! invoice, an accepted, declined or expired quote) carries a mark by the title and a large
//! pale one across every page.

mod fonts;
mod invoice;
mod labels;
mod layout;
mod pdf;
mod quote;
pub mod sample;
mod text;

use jiff::civil::Date;
use tickler_core::{language::Language, money::Money};

pub use fonts::has_glyph;

/// What an invoice's PDF shows, already computed (the document adds nothing up: amounts are
/// shown as given, so the PDF can never disagree with the stored invoice).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceDocument {
    /// Labels, dates and amounts are written in this language.
    pub language: Language,
    /// The seller.
    pub organisation: Party,
    /// The buyer.
    pub customer: Party,
    /// None for a draft, which shows a "DRAFT" mark instead.
    pub number: Option<String>,
    /// Shows a "VOID" mark.
    pub void: bool,
    pub issue_date: Date,
    pub due_date: Date,
    pub period_start: Date,
    /// Inclusive.
    pub period_end: Date,
    /// E.g. the contract's title.
    pub reference: Option<String>,
    pub lines: Vec<DocumentLine>,
    /// Tax per rate.
    pub tax_bands: Vec<TaxBand>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub paid: Money,
    pub balance: Money,
}

/// What a renewal quote's PDF shows: the next term offered to the customer, its lines and
/// totals already computed (as for an invoice, nothing is added up here), and how to accept.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteDocument {
    /// Labels, dates and amounts are written in this language.
    pub language: Language,
    /// The seller.
    pub organisation: Party,
    /// The buyer.
    pub customer: Party,
    /// E.g. "Q-12".
    pub number: String,
    /// Where the quote is no longer simply open; None for a sent quote awaiting an answer.
    pub status_mark: Option<QuoteMark>,
    pub issue_date: Date,
    /// The last day the quote may be accepted.
    pub valid_until: Date,
    /// The first day of the term offered.
    pub term_start: Date,
    /// Inclusive.
    pub term_end: Date,
    /// How the term is invoiced, worded by the caller: "Invoiced every month, in advance".
    pub billing: Option<String>,
    /// E.g. the contract's title.
    pub reference: Option<String>,
    pub lines: Vec<DocumentLine>,
    /// Tax per rate.
    pub tax_bands: Vec<TaxBand>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    /// The signed link that accepts the quote; shown as text and clickable.
    pub accept_url: Option<String>,
    /// The signed link that declines it.
    pub decline_url: Option<String>,
}

/// A quote's status as its mark shows it (like an invoice's DRAFT and VOID). A quote that is
/// accepted, declined or expired no longer says how to accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteMark {
    Draft,
    Accepted,
    Declined,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub email: Option<String>,
    /// Only the organisation's is shown (in the payment instructions).
    pub iban: Option<String>,
    /// Only the organisation's is shown (in the payment instructions).
    pub bank: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentLine {
    pub description: String,
    /// As the user entered it: "2", "1.5".
    pub quantity: String,
    pub unit_price: Money,
    /// Percent: "24".
    pub tax_rate: String,
    pub net: Money,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaxBand {
    /// Percent: "24".
    pub rate: String,
    pub net: Money,
    pub tax: Money,
}

/// Why a document could not be rendered; `field` says which text ("customer name",
/// "line 3 description"), so that the user knows what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error(
        "{field}: the invoice font has no glyph for {character:?} (U+{code:04X}) in \"{text}\"",
        code = u32::from(*.character)
    )]
    MissingGlyph {
        field: String,
        character: char,
        text: String,
    },
    #[error("{field}: \"{text}\" is too long to fit its place on the page")]
    DoesNotFit { field: String, text: String },
    /// krilla refused to write the document: a bug here rather than anything in the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// Renders `doc` as an A4 PDF.
pub fn render_invoice_pdf(doc: &InvoiceDocument) -> Result<Vec<u8>, DocumentError> {
    render(&invoice::form(doc))
}

/// Renders `doc` as an A4 PDF, on the same sheet as an invoice.
pub fn render_quote_pdf(doc: &QuoteDocument) -> Result<Vec<u8>, DocumentError> {
    render(&quote::form(doc))
}

fn render(form: &layout::Form<'_>) -> Result<Vec<u8>, DocumentError> {
    pdf::write(form, &layout::lay_out(form)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character any invoice's fixed text uses, and sample names, in both weights.
    #[test]
    fn the_font_covers_every_label_and_sample_text() {
        let mut texts: Vec<String> = Language::ALL
            .iter()
            .flat_map(|&language| labels::every_text(language))
            .collect();
        for language in Language::ALL {
            for currency in ["EUR", "USD", "GBP", "JPY", "CHF", "KWD"] {
                let currency = tickler_core::money::Currency::parse("currency", currency).unwrap();
                let money = Money {
                    minor: -123_456_789,
                    currency,
                };
                texts.push(money.format(language));
            }
        }
        texts.extend(
            [
                // Greek: every letter, every tonos and dialytika, final sigma.
                "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ αβγδεζηθικλμνξοπρσςτυφχψω",
                "ά έ ή ί ό ύ ώ ΐ ΰ ϊ ϋ Ά Έ Ή Ί Ό Ύ Ώ Ϊ Ϋ ; ·",
                "Αλφα Ηλεκτρονική Α.Ε. Συντήρηση κλιματισμού, Θεσσαλονίκη",
                // Japanese: kana, punctuation, common kanji of invoices and addresses.
                "株式会社サンプル 御中 東京都千代田区丸の内一丁目 〒100-0005",
                "あいうえおかきくけこがぎぐげごぱぴぷぺぽゃゅょっー ヴァヰヱ",
                "保守点検費用（令和9年3月分）、消耗品・交換部品。「年間契約」※税込",
                "振込手数料はお客様のご負担でお願いいたします。",
                "𠮟 塡 剝 頰",
                // Latin-1 and Extended-A names, symbols.
                "Müller & Söhne GmbH, Łódź, Čapek, Ærøskøbing, façade, Ångström",
                "€ ¥ £ $ № ™ © ® ° ± × ÷ – — ‘ ’ “ ” … • ½",
                "ＡＢＣ１２３！？",
            ]
            .map(String::from),
        );
        let mut missing = Vec::new();
        for text in &texts {
            for ch in text.chars().filter(|ch| !has_glyph(*ch)) {
                missing.push(format!("{ch:?} (U+{:04X}) in {text:?}", u32::from(ch)));
            }
        }
        assert!(missing.is_empty(), "no glyph for:\n{}", missing.join("\n"));
    }

    /// Subsetting keeps a one-page invoice small although the fonts are 3.7 MB.
    #[test]
    fn a_one_page_invoice_is_a_small_pdf() {
        for language in Language::ALL {
            let bytes = render_invoice_pdf(&sample::invoice(language)).unwrap();
            assert!(bytes.starts_with(b"%PDF-"));
            println!("{language}: {} bytes", bytes.len());
            assert!(bytes.len() < 1_000_000, "{language}: {} bytes", bytes.len());
        }
    }

    #[test]
    fn the_same_invoice_gives_the_same_bytes() {
        let doc = sample::with_lines(sample::invoice(Language::Ja), 30);
        assert_eq!(
            render_invoice_pdf(&doc).unwrap(),
            render_invoice_pdf(&doc).unwrap()
        );
    }

    #[test]
    fn the_font_has_no_glyph_for_what_it_leaves_out() {
        for ch in ['☃', '🎉', '한', '\u{0301}'] {
            assert!(!has_glyph(ch), "{ch:?}");
        }
    }
}

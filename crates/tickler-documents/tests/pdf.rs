//! The PDFs as a reader's tools see them: text extracted with Debian's `pdftotext` and pages
//! counted with `pdfinfo` (package poppler-utils, which scripts/test installs). Without those
//! tools the checks are skipped with a note, except under CI (`CI` set), where they fail.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use tickler_core::language::Language;
use tickler_documents::{
    DocumentError, InvoiceDocument, render_invoice_pdf,
    sample::{invoice, with_lines},
};

/// Whether poppler's tools are here; false (after a note) where a developer lacks them.
fn tools_present() -> bool {
    let present = Command::new("pdftotext").arg("-v").output().is_ok()
        && Command::new("pdfinfo").arg("-v").output().is_ok();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "pdftotext and pdfinfo are missing (Debian package poppler-utils; scripts/test installs it)"
        );
        eprintln!("skipped: pdftotext or pdfinfo is missing (apt-get install poppler-utils)");
    }
    present
}

/// Renders `doc` into a file of its own (tests run in parallel).
fn render_to_file(doc: &InvoiceDocument, dir: &Path, name: &str) -> PathBuf {
    let bytes = render_invoice_pdf(doc).expect("the sample renders");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp dir is writable");
    path
}

fn run(tool: &str, args: &[&str], path: &Path) -> String {
    let mut command = Command::new(tool);
    command.args(args).arg(path);
    if tool == "pdftotext" {
        // To standard output.
        command.arg("-");
    }
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{tool}: {err}"));
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("poppler writes UTF-8")
}

fn text_of(doc: &InvoiceDocument, name: &str) -> Option<String> {
    if !tools_present() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = render_to_file(doc, dir.path(), name);
    Some(run("pdftotext", &["-enc", "UTF-8"], &path))
}

fn assert_contains(text: &str, wanted: &[&str]) {
    for want in wanted {
        assert!(
            text.contains(want),
            "{want:?} not in the PDF's text:\n{text}"
        );
    }
}

#[test]
fn an_english_invoice_reads_back_its_number_total_customer_and_iban() {
    let doc = invoice(Language::En);
    let Some(text) = text_of(&doc, "en.pdf") else {
        return;
    };
    let total = doc.total.format(Language::En);
    assert_eq!(total, "£894.00");
    assert_contains(
        &text,
        &[
            "Invoice",
            "2027-0042",
            &total,
            "Acme Widgets Ltd",
            "Tickler Demo Ltd",
            "GB33 BUKB 2020 1555 5555 55",
            "Example Bank plc, London",
            "1 March 2027 –",
            "Balance due",
            "Replacement filters, class F7",
            "Page 1 of 1",
        ],
    );
}

#[test]
fn a_greek_invoice_reads_back_greek_with_tonos() {
    let doc = invoice(Language::El);
    let Some(text) = text_of(&doc, "el.pdf") else {
        return;
    };
    let total = doc.total.format(Language::El);
    assert_eq!(total, "924,60 €");
    assert_contains(
        &text,
        &[
            "Τιμολόγιο",
            "2027-0042",
            &total,
            "Αλφα Ηλεκτρονική Α.Ε.",
            "Ημερομηνία έκδοσης",
            "1 Απριλίου 2027",
            "Καθαρή αξία",
            "Υπόλοιπο",
            "GR16 0110 1250 0000 0001 2300 695",
            "Σελίδα 1 από 1",
        ],
    );
}

#[test]
fn a_japanese_invoice_reads_back_japanese() {
    let doc = invoice(Language::Ja);
    let Some(text) = text_of(&doc, "ja.pdf") else {
        return;
    };
    let total = doc.total.format(Language::Ja);
    assert_eq!(total, "¥107,121");
    assert_contains(
        &text,
        &[
            "請求書",
            "2027-0042",
            &total,
            "株式会社サンプル",
            "お支払期限",
            "2027年4月30日",
            "消費税",
            "お振込先",
            "みずほ銀行 丸の内支店 普通預金 1234567",
        ],
    );
}

#[test]
fn a_draft_shows_its_mark_and_no_number() {
    for (language, mark) in [
        (Language::En, "DRAFT"),
        (Language::El, "ΠΡΟΣΧΕΔΙΟ"),
        (Language::Ja, "下書き"),
    ] {
        let mut doc = invoice(language);
        doc.number = None;
        let Some(text) = text_of(&doc, "draft.pdf") else {
            return;
        };
        assert_contains(&text, &[mark]);
        assert!(
            !text.contains("2027-0042"),
            "a draft shows a number:\n{text}"
        );
    }
}

#[test]
fn a_void_invoice_shows_its_mark_and_asks_for_nothing() {
    let mut doc = invoice(Language::En);
    doc.void = true;
    let Some(text) = text_of(&doc, "void.pdf") else {
        return;
    };
    assert_contains(&text, &["VOID", "2027-0042", "Nothing is due"]);
    assert!(!text.contains("Please transfer"), "{text}");
}

#[test]
fn sixty_lines_flow_onto_further_pages() {
    if !tools_present() {
        return;
    }
    let doc = with_lines(invoice(Language::En), 60);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = render_to_file(&doc, dir.path(), "sixty.pdf");
    let info = run("pdfinfo", &[], &path);
    let pages: usize = info
        .lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in:\n{info}"));
    assert!(pages >= 2, "{pages} page(s)");
    let page_two = run("pdftotext", &["-f", "2", "-l", "2", "-enc", "UTF-8"], &path);
    assert_contains(
        &page_two,
        &[
            "Invoice 2027-0042 (continued)",
            "Description",
            &format!("Page 2 of {pages}"),
        ],
    );
    let all = run("pdftotext", &["-enc", "UTF-8"], &path);
    for n in [1, 30, 60] {
        assert_contains(&all, &[&format!("Service item {n}")]);
    }
    assert_contains(&all, &[&doc.total.format(Language::En)]);
}

#[test]
fn a_character_the_font_lacks_is_an_error_naming_the_field() {
    let mut doc = invoice(Language::En);
    doc.customer.name = "Snowman ☃ Ltd".into();
    let err = render_invoice_pdf(&doc).unwrap_err();
    assert!(
        matches!(&err, DocumentError::MissingGlyph { field, character: '☃', .. } if field == "customer name"),
        "{err:?}"
    );
    assert!(err.to_string().contains("U+2603"), "{err}");
}

#[test]
fn an_amount_too_wide_for_its_column_is_an_error() {
    let mut doc = invoice(Language::En);
    doc.lines[0].net.minor = i64::MAX;
    let err = render_invoice_pdf(&doc).unwrap_err();
    assert!(
        matches!(&err, DocumentError::DoesNotFit { field, .. } if field == "line 1 net amount"),
        "{err:?}"
    );
}

#[test]
fn long_names_and_descriptions_are_wrapped_or_cut_not_an_error() {
    let mut doc = invoice(Language::El);
    doc.organisation.name = "Τίκλερ Υπηρεσίες ".repeat(20);
    doc.customer.name = "Αλφα Ηλεκτρονική ".repeat(30);
    doc.reference = Some("Σύμβαση ".repeat(100));
    doc.lines[0].description = "Συντήρηση\n".repeat(40) + &"χωρίςκενά".repeat(40);
    let bytes = render_invoice_pdf(&doc).expect("long texts render");
    assert!(bytes.starts_with(b"%PDF-"));
}

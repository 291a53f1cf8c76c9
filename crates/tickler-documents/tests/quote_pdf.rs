//! Renewal quotes as a reader's tools see them: the text `pdftotext` extracts
//! (`tickler_testkit::pdf_text`) and the links `pdfinfo -url` finds (both from Debian's
//! poppler-utils; without them the checks are skipped, except under CI).

use std::process::Command;

use tickler_core::{language::Language, locale::format_date};
use tickler_documents::{
    DocumentError, QuoteDocument, QuoteMark, render_quote_pdf,
    sample::{quote, quote_with_lines},
};
use tickler_testkit::pdf_text;

fn text_of(doc: &QuoteDocument) -> Option<String> {
    pdf_text(&render_quote_pdf(doc).expect("the quote renders"))
}

/// The URLs of the PDF's link annotations, one per link area (a wrapped URL has several).
fn link_urls(pdf: &[u8]) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("quote.pdf");
    std::fs::write(&path, pdf).expect("temp dir is writable");
    let output = match Command::new("pdfinfo").arg("-url").arg(&path).output() {
        Ok(output) => output,
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: pdfinfo is missing (apt-get install poppler-utils)");
            return None;
        }
        Err(err) => panic!("pdfinfo: {err}"),
    };
    assert!(output.status.success(), "pdfinfo refused the PDF");
    // "Page  Type  URL", then "   1  Annotation    https://...".
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    Some(
        listing
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().nth(2).map(str::to_string))
            .collect(),
    )
}

/// The error rendering `doc` gives; a rendered PDF fails the test without printing its bytes.
fn error_of(doc: &QuoteDocument) -> DocumentError {
    match render_quote_pdf(doc) {
        Ok(_) => panic!("the quote rendered"),
        Err(err) => err,
    }
}

fn assert_contains(text: &str, wanted: &[&str]) {
    for want in wanted {
        assert!(
            text.contains(want),
            "{want:?} not in the PDF's text:\n{text}"
        );
    }
}

/// Text as `pdftotext -layout` keeps it: a space may grow into several between columns.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn each_language_reads_back_number_dates_lines_totals_and_links() {
    for (language, title, valid_until, how) in [
        (Language::En, "Quote", "Valid until", "How to accept"),
        (
            Language::El,
            "Προσφορά",
            "Ισχύει έως",
            "Αποδοχή της προσφοράς",
        ),
        (Language::Ja, "見積書", "有効期限", "ご承諾の方法"),
    ] {
        let doc = quote(language);
        let Some(text) = text_of(&doc) else {
            return;
        };
        let text = squeezed(&text);
        let dates = [
            doc.issue_date,
            doc.valid_until,
            doc.term_start,
            doc.term_end,
        ]
        .map(|date| format_date(date, language));
        let amounts = [doc.subtotal, doc.tax, doc.total].map(|amount| amount.format(language));
        let (accept, decline) = (doc.accept_url.as_ref(), doc.decline_url.as_ref());
        let fixed = [
            title,
            valid_until,
            how,
            "Q-12",
            doc.billing.as_deref().expect("the sample has a billing"),
            accept.expect("the sample has links"),
            decline.expect("the sample has links"),
        ];
        assert_contains(&text, &fixed);
        assert_contains(&text, &dates.each_ref().map(String::as_str));
        assert_contains(&text, &amounts.each_ref().map(String::as_str));
        for line in &doc.lines {
            // The first words: a long description wraps.
            let start: String = line.description.chars().take(12).collect();
            assert_contains(&text, &[start.trim_end(), &line.net.format(language)]);
        }
    }
}

#[test]
fn the_links_are_clickable_and_lead_to_the_whole_url() {
    let mut doc = quote(Language::En);
    // A signed token as long as a real one: the URL wraps onto a second line.
    let long = format!(
        "https://tickler.example/answer/quote/12/accept?t={}",
        "eyJxIjoxMiwiYSI6ImFjY2VwdCJ9".repeat(4)
    );
    doc.accept_url = Some(long.clone());
    let pdf = render_quote_pdf(&doc).expect("renders");
    let Some(urls) = link_urls(&pdf) else {
        return;
    };
    let decline = doc.decline_url.clone().expect("the sample has links");
    assert!(urls.contains(&decline), "{urls:?}");
    let areas = urls.iter().filter(|url| **url == long).count();
    assert!(
        areas >= 2,
        "the wrapped URL has {areas} link areas: {urls:?}"
    );
    let Some(text) = pdf_text(&pdf) else {
        return;
    };
    // Broken across lines, but whole: no character lost, no "…".
    let joined: String = text.split_whitespace().collect();
    assert!(joined.contains(&long), "{text}");
    assert!(!text.contains('…'), "{text}");
}

#[test]
fn without_links_the_quote_says_to_reply() {
    let mut doc = quote(Language::En);
    doc.accept_url = None;
    doc.decline_url = None;
    let pdf = render_quote_pdf(&doc).expect("renders");
    let Some(text) = pdf_text(&pdf) else {
        return;
    };
    assert_contains(
        &squeezed(&text),
        &["To accept this quote, reply by 2 June 2027 to the email it came with."],
    );
    assert!(!text.contains("https://"), "{text}");
    assert_eq!(link_urls(&pdf), Some(Vec::new()));
}

#[test]
fn each_mark_shows_and_a_decided_quote_no_longer_says_how_to_accept() {
    let marks = [
        (QuoteMark::Draft, "DRAFT", "How to accept"),
        (QuoteMark::Accepted, "ACCEPTED", "has been accepted"),
        (QuoteMark::Declined, "DECLINED", "has been declined"),
        (QuoteMark::Expired, "EXPIRED", "can no longer be accepted"),
    ];
    for (mark, word, says) in marks {
        let mut doc = quote(Language::En);
        doc.status_mark = Some(mark);
        let Some(text) = text_of(&doc) else {
            return;
        };
        assert_contains(&text, &[word, says, "Q-12"]);
        let open = mark == QuoteMark::Draft;
        assert_eq!(text.contains("https://"), open, "{mark:?}:\n{text}");
    }
    for (language, word) in [(Language::El, "ΕΛΗΞΕ"), (Language::Ja, "期限切れ")] {
        let mut doc = quote(language);
        doc.status_mark = Some(QuoteMark::Expired);
        let Some(text) = text_of(&doc) else {
            return;
        };
        assert_contains(&text, &[word]);
    }
}

#[test]
fn sixty_lines_flow_onto_further_pages() {
    let doc = quote_with_lines(quote(Language::En), 60);
    let Some(text) = text_of(&doc) else {
        return;
    };
    let pages = text.matches("Page ").count();
    assert!(pages >= 2, "{pages} page(s):\n{text}");
    assert_contains(
        &text,
        &[
            "Quote Q-12 (continued)",
            &format!("Page 2 of {pages}"),
            &doc.total.format(Language::En),
            doc.accept_url.as_deref().expect("the sample has links"),
        ],
    );
    for n in 1..=60 {
        assert_contains(&text, &[&format!("Service item {n}")]);
    }
    assert_eq!(text.matches("How to accept").count(), 1, "{text}");
}

#[test]
fn a_character_the_font_lacks_is_an_error_naming_the_field() {
    let mut doc = quote(Language::El);
    doc.billing = Some("Κάθε μήνα ☃".into());
    let err = error_of(&doc);
    assert!(
        matches!(&err, DocumentError::MissingGlyph { field, character: '☃', .. } if field == "billing"),
        "{err:?}"
    );
    let mut doc = quote(Language::Ja);
    doc.customer.name = "株式会社☃".into();
    let err = error_of(&doc);
    assert!(
        matches!(&err, DocumentError::MissingGlyph { field, .. } if field == "customer name"),
        "{err:?}"
    );
}

#[test]
fn a_link_or_amount_too_long_to_show_whole_is_an_error_not_a_cut_one() {
    let mut doc = quote(Language::En);
    doc.decline_url = Some(format!("https://tickler.example/{}", "x".repeat(2_000)));
    let err = error_of(&doc);
    assert!(
        matches!(&err, DocumentError::DoesNotFit { field, .. } if field == "decline link"),
        "{err:?}"
    );
    let mut doc = quote(Language::En);
    doc.lines[0].net.minor = i64::MAX;
    let err = error_of(&doc);
    assert!(
        matches!(&err, DocumentError::DoesNotFit { field, .. } if field == "line 1 net amount"),
        "{err:?}"
    );
}

#[test]
fn the_same_quote_gives_the_same_bytes() {
    let doc = quote_with_lines(quote(Language::Ja), 30);
    assert_eq!(
        render_quote_pdf(&doc).expect("renders"),
        render_quote_pdf(&doc).expect("renders")
    );
}

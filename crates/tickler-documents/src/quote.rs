//! A renewal quote as a [`Form`]: the invoice's sheet, with the term offered instead of the
//! period billed, and how to accept instead of how to pay.

use tickler_core::locale::format_date;

use crate::{
    QuoteDocument, QuoteMark,
    labels::{self, labels, quote_labels},
    layout::{Closing, Fact, Form, Note, Row, Sentence, Total, Value},
};

pub(crate) fn form<'a>(doc: &'a QuoteDocument) -> Form<'a> {
    let l = labels(doc.language);
    let q = quote_labels(doc.language);
    let mark = doc.status_mark.map(|mark| match mark {
        QuoteMark::Draft => l.draft,
        QuoteMark::Accepted => q.accepted,
        QuoteMark::Declined => q.declined,
        QuoteMark::Expired => q.expired,
    });
    let date = |date| Value::Whole(format_date(date, doc.language).into());
    let note = |label, text: Option<&'a str>, field| text.map(|text| Note { label, text, field });
    Form {
        language: doc.language,
        title: q.title,
        number: Some(&doc.number),
        mark,
        organisation: &doc.organisation,
        customer: &doc.customer,
        customer_label: q.prepared_for,
        opening: q.opening,
        facts: vec![
            Fact {
                label: q.number,
                value: Value::Whole(doc.number.as_str().into()),
                field: "quote number",
            },
            Fact {
                label: l.issue_date,
                value: date(doc.issue_date),
                field: "issue date",
            },
            Fact {
                label: q.valid_until,
                value: date(doc.valid_until),
                field: "valid until",
            },
            Fact {
                label: q.term,
                value: Value::Period(doc.term_start, doc.term_end),
                field: "term",
            },
        ],
        notes: [
            note(l.reference, doc.reference.as_deref(), "reference"),
            note(q.billing, doc.billing.as_deref(), "billing"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        lines: &doc.lines,
        tax_bands: &doc.tax_bands,
        totals: Total::sums(l, doc.subtotal, doc.tax, doc.total),
        closing: Some(closing(doc)),
    }
}

/// How to accept (and decline) an open quote; a one-line notice once it is decided or expired,
/// since its links then change nothing.
fn closing<'a>(doc: &'a QuoteDocument) -> Closing<'a> {
    let q = quote_labels(doc.language);
    match doc.status_mark {
        Some(QuoteMark::Accepted) => return Closing::notice(q.accepted_notice, "accepted notice"),
        Some(QuoteMark::Declined) => return Closing::notice(q.declined_notice, "declined notice"),
        Some(QuoteMark::Expired) => return Closing::notice(q.expired_notice, "expired notice"),
        Some(QuoteMark::Draft) | None => {}
    }
    let link = |label, url: Option<&'a str>, field| {
        url.map(|value| Row {
            label,
            value,
            field,
            link: true,
        })
    };
    Closing {
        heading: Some(q.how_to_accept),
        before: vec![Sentence {
            text: labels::how_to_accept(doc.language, doc.valid_until, doc.accept_url.is_some()),
            field: "acceptance instructions",
        }],
        rows: [
            link(q.accept, doc.accept_url.as_deref(), "accept link"),
            link(q.decline, doc.decline_url.as_deref(), "decline link"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        after: Vec::new(),
    }
}

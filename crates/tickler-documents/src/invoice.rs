//! An invoice as a [`Form`]: what it says in each place of the shared sheet.

use tickler_core::locale::format_date;

use crate::{
    InvoiceDocument,
    labels::{self, labels},
    layout::{Closing, Fact, Form, Note, Row, Sentence, Total, Value},
};

pub(crate) fn form(doc: &InvoiceDocument) -> Form<'_> {
    let l = labels(doc.language);
    let mark = if doc.void {
        Some(l.void)
    } else if doc.number.is_none() {
        Some(l.draft)
    } else {
        None
    };
    let mut facts = Vec::new();
    if let Some(number) = &doc.number {
        facts.push(Fact {
            label: l.number,
            value: Value::Whole(number.into()),
            field: "invoice number",
        });
    }
    facts.extend([
        Fact {
            label: l.issue_date,
            value: Value::Whole(format_date(doc.issue_date, doc.language).into()),
            field: "issue date",
        },
        Fact {
            label: l.due_date,
            value: Value::Whole(format_date(doc.due_date, doc.language).into()),
            field: "due date",
        },
        Fact {
            label: l.period,
            value: Value::Period(doc.period_start, doc.period_end),
            field: "period",
        },
    ]);
    Form {
        language: doc.language,
        title: l.title,
        number: doc.number.as_deref(),
        mark,
        organisation: &doc.organisation,
        customer: &doc.customer,
        customer_label: l.bill_to,
        opening: l.opening,
        facts,
        notes: doc
            .reference
            .iter()
            .map(|text| Note {
                label: l.reference,
                text,
                field: "reference",
            })
            .collect(),
        lines: &doc.lines,
        tax_bands: &doc.tax_bands,
        totals: totals(doc),
        closing: closing(doc),
    }
}

/// The sums, then what is paid and what is still due.
fn totals(doc: &InvoiceDocument) -> Vec<Total> {
    let l = labels(doc.language);
    let mut totals = Total::sums(l, doc.subtotal, doc.tax, doc.total);
    totals.push(Total::new(l.paid, doc.paid, "paid", false));
    totals.push(Total::new(l.balance, doc.balance, "balance", true));
    totals
}

/// Payment instructions: how much, by when, to which account; or why nothing is asked.
fn closing(doc: &InvoiceDocument) -> Option<Closing<'_>> {
    let l = labels(doc.language);
    let org = &doc.organisation;
    if doc.void {
        return Some(Closing::notice(l.void_notice, "void notice"));
    }
    if doc.balance.minor <= 0 {
        // A credit note (nothing paid, nothing due) asks for nothing and thanks no one.
        return (doc.paid.minor > 0).then(|| Closing::notice(l.paid_in_full, "paid notice"));
    }
    if org.iban.is_none() && org.bank.is_none() {
        return None;
    }
    let balance = doc.balance.format(doc.language);
    let rows = [
        (l.beneficiary, Some(&org.name), "organisation name"),
        (l.iban, org.iban.as_ref(), "IBAN"),
        (l.bank, org.bank.as_ref(), "bank"),
    ];
    Some(Closing {
        heading: Some(l.payment),
        before: vec![Sentence {
            text: labels::please_pay(doc.language, &balance, doc.due_date),
            field: "payment instructions",
        }],
        rows: rows
            .into_iter()
            .filter_map(|(label, value, field)| {
                value.map(|value| Row {
                    label,
                    value,
                    field,
                    link: false,
                })
            })
            .collect(),
        after: doc
            .number
            .iter()
            .map(|number| Sentence {
                text: labels::payment_reference(doc.language, number),
                field: "invoice number",
            })
            .collect(),
    })
}

//! The words of an invoice in each language, as a business there writes them.

use jiff::civil::Date;
use tickler_core::{language::Language, locale::format_date};

pub(crate) struct Labels {
    pub title: &'static str,
    pub number: &'static str,
    pub issue_date: &'static str,
    pub due_date: &'static str,
    pub period: &'static str,
    pub bill_to: &'static str,
    /// A line under the customer where custom asks for one (Japanese invoices open so).
    pub opening: Option<&'static str>,
    pub reference: &'static str,
    pub description: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub tax_rate: &'static str,
    pub net: &'static str,
    pub tax_by_rate: &'static str,
    pub band_rate: &'static str,
    pub band_net: &'static str,
    pub band_tax: &'static str,
    pub subtotal: &'static str,
    pub tax: &'static str,
    pub total: &'static str,
    pub paid: &'static str,
    pub balance: &'static str,
    pub payment: &'static str,
    pub beneficiary: &'static str,
    pub iban: &'static str,
    pub bank: &'static str,
    pub paid_in_full: &'static str,
    pub void_notice: &'static str,
    pub draft: &'static str,
    pub void: &'static str,
    pub continued: &'static str,
}

const EN: Labels = Labels {
    title: "Invoice",
    number: "Invoice number",
    issue_date: "Issue date",
    due_date: "Due date",
    period: "Period",
    bill_to: "Bill to",
    opening: None,
    reference: "Reference",
    description: "Description",
    quantity: "Quantity",
    unit_price: "Unit price",
    tax_rate: "Tax rate",
    net: "Net amount",
    tax_by_rate: "Tax by rate",
    band_rate: "Rate",
    band_net: "Net",
    band_tax: "Tax",
    subtotal: "Subtotal",
    tax: "Tax",
    total: "Total",
    paid: "Paid",
    balance: "Balance due",
    payment: "Payment details",
    beneficiary: "Account holder",
    iban: "IBAN",
    bank: "Bank",
    paid_in_full: "This invoice has been paid in full. Thank you.",
    void_notice: "This invoice has been cancelled. Nothing is due.",
    draft: "DRAFT",
    void: "VOID",
    continued: "continued",
};

const EL: Labels = Labels {
    title: "Τιμολόγιο",
    number: "Αριθμός",
    issue_date: "Ημερομηνία έκδοσης",
    due_date: "Προθεσμία πληρωμής",
    period: "Περίοδος",
    bill_to: "Πελάτης",
    opening: None,
    reference: "Αφορά",
    description: "Περιγραφή",
    quantity: "Ποσότητα",
    unit_price: "Τιμή μονάδας",
    tax_rate: "ΦΠΑ",
    net: "Καθαρή αξία",
    tax_by_rate: "Ανάλυση ΦΠΑ",
    band_rate: "Συντελεστής",
    band_net: "Καθαρή αξία",
    band_tax: "ΦΠΑ",
    subtotal: "Σύνολο καθαρής αξίας",
    tax: "Σύνολο ΦΠΑ",
    total: "Σύνολο",
    paid: "Πληρωμένο",
    balance: "Υπόλοιπο",
    payment: "Στοιχεία πληρωμής",
    beneficiary: "Δικαιούχος",
    iban: "IBAN",
    bank: "Τράπεζα",
    paid_in_full: "Το τιμολόγιο έχει εξοφληθεί. Σας ευχαριστούμε.",
    void_notice: "Το τιμολόγιο έχει ακυρωθεί. Δεν οφείλεται κανένα ποσό.",
    draft: "ΠΡΟΣΧΕΔΙΟ",
    void: "ΑΚΥΡΟ",
    continued: "συνέχεια",
};

const JA: Labels = Labels {
    title: "請求書",
    number: "請求書番号",
    issue_date: "発行日",
    due_date: "お支払期限",
    period: "対象期間",
    bill_to: "請求先",
    opening: Some("下記のとおりご請求申し上げます。"),
    reference: "件名",
    description: "品目",
    quantity: "数量",
    unit_price: "単価",
    tax_rate: "税率",
    net: "金額",
    tax_by_rate: "税率別内訳",
    band_rate: "税率",
    band_net: "対象金額",
    band_tax: "消費税",
    subtotal: "小計",
    tax: "消費税",
    total: "合計",
    paid: "お支払済額",
    balance: "残高",
    payment: "お振込先",
    beneficiary: "口座名義",
    iban: "IBAN",
    bank: "銀行名",
    paid_in_full: "お支払いは完了しております。ありがとうございました。",
    void_notice: "この請求書は無効です。お支払いの必要はありません。",
    draft: "下書き",
    void: "無効",
    continued: "続き",
};

pub(crate) fn labels(language: Language) -> &'static Labels {
    match language {
        Language::En => &EN,
        Language::El => &EL,
        Language::Ja => &JA,
    }
}

/// "1 March 2027 – 31 March 2027", "2027年3月1日〜2027年3月31日".
pub(crate) fn period(language: Language, start: Date, end: Date) -> String {
    let [first, second] = period_lines(language, start, end);
    match language {
        Language::En | Language::El => format!("{first} {second}"),
        Language::Ja => format!("{first}{second}"),
    }
}

/// The period on two lines, broken after the dash, so that no date is split:
/// "1 March 2027 –" and "31 March 2027".
pub(crate) fn period_lines(language: Language, start: Date, end: Date) -> [String; 2] {
    let (start, end) = (format_date(start, language), format_date(end, language));
    match language {
        Language::En | Language::El => [format!("{start} –"), end],
        Language::Ja => [format!("{start}〜"), end],
    }
}

/// A tax rate as a column shows it: "24%".
pub(crate) fn rate(rate: &str) -> String {
    format!("{}%", rate.trim())
}

/// The sentence that asks for the balance.
pub(crate) fn please_pay(language: Language, amount: &str, due: Date) -> String {
    let due = format_date(due, language);
    match language {
        Language::En => format!("Please transfer {amount} by {due} to:"),
        Language::El => format!("Παρακαλούμε καταθέστε {amount} έως τις {due} στον λογαριασμό:"),
        Language::Ja => format!("{due}までに{amount}を下記口座へお振込みください。"),
    }
}

/// The sentence that asks for the invoice number on the transfer.
pub(crate) fn payment_reference(language: Language, number: &str) -> String {
    match language {
        Language::En => format!("Please quote invoice number {number} as the payment reference."),
        Language::El => {
            format!("Στην αιτιολογία της κατάθεσης αναγράψτε τον αριθμό τιμολογίου {number}.")
        }
        Language::Ja => format!("お振込みの際は、請求書番号{number}をご記入ください。"),
    }
}

/// "Page 2 of 3".
pub(crate) fn page(language: Language, page: usize, pages: usize) -> String {
    match language {
        Language::En => format!("Page {page} of {pages}"),
        Language::El => format!("Σελίδα {page} από {pages}"),
        Language::Ja => format!("{page} / {pages} ページ"),
    }
}

/// Every fixed word and sentence an invoice in `language` can show, for the font's coverage
/// test: the sentences with sample values in place.
#[cfg(test)]
pub(crate) fn every_text(language: Language) -> Vec<String> {
    let l = labels(language);
    let mut texts: Vec<String> = [
        l.title,
        l.number,
        l.issue_date,
        l.due_date,
        l.period,
        l.bill_to,
        l.opening.unwrap_or(""),
        l.reference,
        l.description,
        l.quantity,
        l.unit_price,
        l.tax_rate,
        l.net,
        l.tax_by_rate,
        l.band_rate,
        l.band_net,
        l.band_tax,
        l.subtotal,
        l.tax,
        l.total,
        l.paid,
        l.balance,
        l.payment,
        l.beneficiary,
        l.iban,
        l.bank,
        l.paid_in_full,
        l.void_notice,
        l.draft,
        l.void,
        l.continued,
    ]
    .map(String::from)
    .to_vec();
    // Every month's name, through the period's both ends.
    for month in 1..=12 {
        let date = jiff::civil::date(2027, month, 28);
        texts.push(period(language, date, date));
    }
    let amount = "1,234.50";
    texts.push(please_pay(language, amount, jiff::civil::date(2027, 5, 31)));
    texts.push(payment_reference(language, "2027-0042"));
    texts.push(page(language, 1, 2));
    texts.push(rate("24"));
    texts
}

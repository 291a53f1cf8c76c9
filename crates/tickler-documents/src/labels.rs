//! The words of an invoice and of a quote in each language, as a business there writes them.
//! [`Labels`] holds the invoice's words and those both documents share (the table, the
//! totals); [`QuoteLabels`] only what a quote says differently.

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

/// A quote's own words; the table's and the totals' come from [`Labels`].
pub(crate) struct QuoteLabels {
    pub title: &'static str,
    pub number: &'static str,
    pub valid_until: &'static str,
    pub term: &'static str,
    pub prepared_for: &'static str,
    pub opening: Option<&'static str>,
    pub billing: &'static str,
    pub how_to_accept: &'static str,
    pub accept: &'static str,
    pub decline: &'static str,
    pub accepted: &'static str,
    pub declined: &'static str,
    pub expired: &'static str,
    pub accepted_notice: &'static str,
    pub declined_notice: &'static str,
    pub expired_notice: &'static str,
}

const EN_QUOTE: QuoteLabels = QuoteLabels {
    title: "Quote",
    number: "Quote number",
    valid_until: "Valid until",
    term: "Term offered",
    prepared_for: "Prepared for",
    opening: None,
    billing: "Billing",
    how_to_accept: "How to accept",
    accept: "Accept",
    decline: "Decline",
    accepted: "ACCEPTED",
    declined: "DECLINED",
    expired: "EXPIRED",
    accepted_notice: "This quote has been accepted. Thank you.",
    declined_notice: "This quote has been declined.",
    expired_notice: "This quote has expired and can no longer be accepted.",
};

const EL_QUOTE: QuoteLabels = QuoteLabels {
    title: "Προσφορά",
    number: "Αριθμός",
    valid_until: "Ισχύει έως",
    term: "Περίοδος σύμβασης",
    prepared_for: "Πελάτης",
    opening: None,
    billing: "Τιμολόγηση",
    how_to_accept: "Αποδοχή της προσφοράς",
    accept: "Αποδοχή",
    decline: "Απόρριψη",
    accepted: "ΕΓΚΡΙΘΗΚΕ",
    declined: "ΑΠΟΡΡΙΦΘΗΚΕ",
    expired: "ΕΛΗΞΕ",
    accepted_notice: "Η προσφορά έγινε αποδεκτή. Σας ευχαριστούμε.",
    declined_notice: "Η προσφορά απορρίφθηκε.",
    expired_notice: "Η προσφορά έληξε και δεν μπορεί πλέον να γίνει αποδεκτή.",
};

const JA_QUOTE: QuoteLabels = QuoteLabels {
    title: "見積書",
    number: "見積番号",
    valid_until: "有効期限",
    term: "契約期間",
    prepared_for: "宛先",
    opening: Some("下記のとおりお見積り申し上げます。"),
    billing: "請求方法",
    how_to_accept: "ご承諾の方法",
    accept: "承諾",
    decline: "辞退",
    accepted: "承諾済",
    declined: "辞退",
    expired: "期限切れ",
    accepted_notice: "本見積書はご承諾いただきました。ありがとうございました。",
    declined_notice: "本見積書は辞退されました。",
    expired_notice: "本見積書は有効期限を過ぎたため、ご承諾いただけません。",
};

pub(crate) fn quote_labels(language: Language) -> &'static QuoteLabels {
    match language {
        Language::En => &EN_QUOTE,
        Language::El => &EL_QUOTE,
        Language::Ja => &JA_QUOTE,
    }
}

/// The sentence that says how a quote is accepted: by its link where it has one, or by a
/// reply to its email, before it expires.
pub(crate) fn how_to_accept(language: Language, valid_until: Date, link: bool) -> String {
    let date = format_date(valid_until, language);
    match (language, link) {
        (Language::En, true) => format!(
            "To accept this quote by {date}, open the link below or reply to the email it came with."
        ),
        (Language::En, false) => {
            format!("To accept this quote, reply by {date} to the email it came with.")
        }
        (Language::El, true) => format!(
            "Για να αποδεχθείτε την προσφορά έως τις {date}, ανοίξτε τον παρακάτω σύνδεσμο \
             ή απαντήστε στο email με το οποίο τη λάβατε."
        ),
        (Language::El, false) => format!(
            "Για να αποδεχθείτε την προσφορά, απαντήστε έως τις {date} στο email με το οποίο \
             τη λάβατε."
        ),
        (Language::Ja, true) => format!(
            "{date}までに、下記のリンク、または本見積書をお送りしたメールへのご返信にてご承諾ください。"
        ),
        (Language::Ja, false) => {
            format!("{date}までに、本見積書をお送りしたメールへのご返信にてご承諾ください。")
        }
    }
}

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

/// Every fixed word and sentence an invoice or a quote in `language` can show, for the font's coverage
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
    let q = quote_labels(language);
    texts.extend(
        [
            q.title,
            q.number,
            q.valid_until,
            q.term,
            q.prepared_for,
            q.opening.unwrap_or(""),
            q.billing,
            q.how_to_accept,
            q.accept,
            q.decline,
            q.accepted,
            q.declined,
            q.expired,
            q.accepted_notice,
            q.declined_notice,
            q.expired_notice,
        ]
        .map(String::from),
    );
    for link in [true, false] {
        texts.push(how_to_accept(
            language,
            jiff::civil::date(2027, 5, 31),
            link,
        ));
    }
    texts
}

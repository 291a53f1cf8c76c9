//! Sample invoices and quotes in each language, with amounts that add up: for tests, the
//! benchmark and anything that shows what a document looks like before a real one exists.

use std::collections::BTreeMap;

use jiff::civil::date;
use tickler_core::{
    language::Language,
    money::{Currency, Money},
};

use crate::{DocumentLine, InvoiceDocument, Party, QuoteDocument, TaxBand};

/// A line from whole-number inputs: `hundredths` is the quantity × 100, `rate` the percent.
fn line(description: &str, hundredths: i64, price: Money, rate: i64) -> DocumentLine {
    let quantity = if hundredths % 100 == 0 {
        (hundredths / 100).to_string()
    } else {
        format!("{}", hundredths as f64 / 100.0)
    };
    DocumentLine {
        description: description.to_string(),
        quantity,
        unit_price: price,
        tax_rate: rate.to_string(),
        net: Money {
            minor: round_div(hundredths * price.minor, 100),
            currency: price.currency,
        },
    }
}

/// Rounded half away from zero, as invoices round.
fn round_div(numerator: i64, denominator: i64) -> i64 {
    let half = denominator / 2;
    if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    }
}

/// Sets a document's tax bands, subtotal, tax and total from its lines: tax per rate on the
/// sum of that rate's nets.
fn set_totals(
    lines: &[DocumentLine],
    currency: Currency,
    tax_bands: &mut Vec<TaxBand>,
    [subtotal, tax, total]: [&mut Money; 3],
) {
    let mut bands: BTreeMap<i64, i64> = BTreeMap::new();
    for line in lines {
        let rate = line.tax_rate.parse::<i64>().unwrap_or(0);
        *bands.entry(rate).or_default() += line.net.minor;
    }
    let money = |minor| Money { minor, currency };
    *tax_bands = bands
        .iter()
        .rev()
        .map(|(&rate, &net)| TaxBand {
            rate: rate.to_string(),
            net: money(net),
            tax: money(round_div(net * rate, 100)),
        })
        .collect();
    let sum: i64 = bands.values().sum();
    let taxes: i64 = tax_bands.iter().map(|b| b.tax.minor).sum();
    *subtotal = money(sum);
    *tax = money(taxes);
    *total = money(sum + taxes);
}

/// Sets the invoice's tax bands and totals from its lines, with `paid` already paid.
fn invoice_totals(mut doc: InvoiceDocument, currency: Currency, paid: i64) -> InvoiceDocument {
    let amounts = [&mut doc.subtotal, &mut doc.tax, &mut doc.total];
    set_totals(&doc.lines, currency, &mut doc.tax_bands, amounts);
    doc.paid = Money {
        minor: paid,
        currency,
    };
    doc.balance = Money {
        minor: doc.total.minor - paid,
        currency,
    };
    doc
}

/// Sets the quote's tax bands and totals from its lines.
fn quote_totals(mut doc: QuoteDocument, currency: Currency) -> QuoteDocument {
    let amounts = [&mut doc.subtotal, &mut doc.tax, &mut doc.total];
    set_totals(&doc.lines, currency, &mut doc.tax_bands, amounts);
    doc
}

/// A maintenance contract's parties and lines in `language`: pounds in English, euros in
/// Greek, yen in Japanese.
struct Contract {
    currency: Currency,
    organisation: Party,
    customer: Party,
    reference: &'static str,
    lines: Vec<DocumentLine>,
}

fn contract(language: Language) -> Contract {
    let (currency, organisation, customer, reference, lines) = match language {
        Language::En => {
            let gbp = |minor| Money {
                minor,
                currency: Currency::GBP,
            };
            (
                Currency::GBP,
                Party {
                    name: "Tickler Demo Ltd".into(),
                    email: Some("billing@tickler.example".into()),
                    iban: Some("GB33 BUKB 2020 1555 5555 55".into()),
                    bank: Some("Example Bank plc, London".into()),
                },
                Party {
                    name: "Acme Widgets Ltd".into(),
                    email: Some("accounts@acme.example".into()),
                    iban: None,
                    bank: None,
                },
                "Maintenance contract 2027 – building B",
                vec![
                    line(
                        "Monthly maintenance, ventilation and heating",
                        100,
                        gbp(45_000),
                        20,
                    ),
                    line("On-site visit (hours)", 150, gbp(8_000), 20),
                    line(
                        "Replacement filters, class F7, for the air handling units on the \
                         third and fourth floors, including disposal of the old filters",
                        1200,
                        gbp(1_250),
                        20,
                    ),
                    line("Printed manuals", 200, gbp(1_500), 0),
                ],
            )
        }
        Language::El => {
            let eur = |minor| Money {
                minor,
                currency: Currency::EUR,
            };
            (
                Currency::EUR,
                Party {
                    name: "Τίκλερ Υπηρεσίες Μ.Ι.Κ.Ε.".into(),
                    email: Some("logistirio@tickler.example".into()),
                    iban: Some("GR16 0110 1250 0000 0001 2300 695".into()),
                    bank: Some("Τράπεζα Παράδειγμα Α.Ε., κατάστημα Θεσσαλονίκης".into()),
                },
                Party {
                    name: "Αλφα Ηλεκτρονική Α.Ε.".into(),
                    email: Some("oikonomiko@alfa.example".into()),
                    iban: None,
                    bank: None,
                },
                "Σύμβαση συντήρησης 2027 – κτίριο Β",
                vec![
                    line(
                        "Μηνιαία συντήρηση κλιματισμού και θέρμανσης",
                        100,
                        eur(45_000),
                        24,
                    ),
                    line("Επίσκεψη τεχνικού (ώρες)", 150, eur(8_000), 24),
                    line(
                        "Ανταλλακτικά φίλτρα κατηγορίας F7 για τις κλιματιστικές μονάδες του \
                         τρίτου και τέταρτου ορόφου, με απόσυρση των παλαιών φίλτρων",
                        1200,
                        eur(1_250),
                        24,
                    ),
                    line("Έντυπα εγχειρίδια χρήσης", 200, eur(1_500), 6),
                ],
            )
        }
        Language::Ja => {
            let jpy = |minor| Money {
                minor,
                currency: Currency::JPY,
            };
            (
                Currency::JPY,
                Party {
                    name: "ティックラー合同会社".into(),
                    email: Some("seikyu@tickler.example".into()),
                    iban: None,
                    bank: Some("みずほ銀行 丸の内支店 普通預金 1234567".into()),
                },
                Party {
                    name: "株式会社サンプル".into(),
                    email: Some("keiri@sample.example".into()),
                    iban: None,
                    bank: None,
                },
                "2027年度 空調設備保守契約（B棟）",
                vec![
                    line("空調・暖房設備の月次保守点検", 100, jpy(55_000), 10),
                    line("技術者派遣（時間）", 150, jpy(9_800), 10),
                    line(
                        "交換用フィルター（F7クラス）、3階および4階の空調機用。旧フィルターの回収・処分を含む。",
                        1200,
                        jpy(1_600),
                        10,
                    ),
                    line("会議用弁当（軽減税率対象）", 800, jpy(1_080), 8),
                ],
            )
        }
    };
    Contract {
        currency,
        organisation,
        customer,
        reference,
        lines,
    }
}

/// An issued invoice (number 2027-0042) of a few lines in `language`: pounds in English,
/// euros in Greek, yen in Japanese.
pub fn invoice(language: Language) -> InvoiceDocument {
    let contract = contract(language);
    let currency = contract.currency;
    let money = |minor| Money { minor, currency };
    let doc = InvoiceDocument {
        language,
        organisation: contract.organisation,
        customer: contract.customer,
        number: Some("2027-0042".into()),
        void: false,
        issue_date: date(2027, 4, 1),
        due_date: date(2027, 4, 30),
        period_start: date(2027, 3, 1),
        period_end: date(2027, 3, 31),
        reference: Some(contract.reference.into()),
        lines: contract.lines,
        tax_bands: Vec::new(),
        subtotal: money(0),
        tax: money(0),
        total: money(0),
        paid: money(0),
        balance: money(0),
    };
    invoice_totals(doc, currency, 0)
}

/// A sent renewal quote (number Q-12) for the next year of the sample invoice's contract, with
/// its accept and decline links, in `language`.
pub fn quote(language: Language) -> QuoteDocument {
    let contract = contract(language);
    let currency = contract.currency;
    let billing = match language {
        Language::En => "Invoiced every month, in advance",
        Language::El => "Τιμολογείται κάθε μήνα, προκαταβολικά",
        Language::Ja => "毎月前払いにて請求",
    };
    let money = |minor| Money { minor, currency };
    let link =
        |action| format!("https://tickler.example/answer/quote/12/{action}?t=Kq3vZ8xLw2NfR7pT");
    let doc = QuoteDocument {
        language,
        organisation: contract.organisation,
        customer: contract.customer,
        number: "Q-12".into(),
        status_mark: None,
        issue_date: date(2027, 5, 3),
        valid_until: date(2027, 6, 2),
        term_start: date(2028, 1, 1),
        term_end: date(2028, 12, 31),
        billing: Some(billing.into()),
        reference: Some(contract.reference.into()),
        lines: contract.lines,
        tax_bands: Vec::new(),
        subtotal: money(0),
        tax: money(0),
        total: money(0),
        accept_url: Some(link("accept")),
        decline_url: Some(link("decline")),
    };
    quote_totals(doc, currency)
}

/// `doc` with `count` lines instead of its own, every seventh long enough to wrap.
pub fn with_lines(mut doc: InvoiceDocument, count: usize) -> InvoiceDocument {
    let currency = doc.total.currency;
    doc.lines = numbered_lines(doc.language, currency, count);
    let paid = doc.paid.minor;
    invoice_totals(doc, currency, paid)
}

/// `doc` with `count` lines instead of its own, every seventh long enough to wrap.
pub fn quote_with_lines(mut doc: QuoteDocument, count: usize) -> QuoteDocument {
    let currency = doc.total.currency;
    doc.lines = numbered_lines(doc.language, currency, count);
    quote_totals(doc, currency)
}

/// "Service item 1" to "Service item `count`", in `language`.
fn numbered_lines(language: Language, currency: Currency, count: usize) -> Vec<DocumentLine> {
    let (item, detail, rate) = match language {
        Language::En => (
            "Service item",
            "monthly inspection of the fire doors, emergency lighting and sprinkler valves, \
             with a written report for the building's safety file",
            20,
        ),
        Language::El => (
            "Υπηρεσία",
            "μηνιαίος έλεγχος πυράντοχων θυρών, φωτισμού ασφαλείας και βανών καταιονισμού, \
             με γραπτή αναφορά για τον φάκελο ασφαλείας του κτιρίου",
            24,
        ),
        Language::Ja => (
            "サービス項目",
            "防火扉、非常用照明およびスプリンクラー弁の月次点検と、建物の安全記録用の報告書作成",
            10,
        ),
    };
    let price = if currency.minor_digits() == 0 {
        1_200
    } else {
        2_500
    };
    (1..=count)
        .map(|n| {
            let description = if n % 7 == 0 {
                format!("{item} {n} – {detail}")
            } else {
                format!("{item} {n}")
            };
            let hundredths = 100 * (1 + (n as i64 % 4));
            line(
                &description,
                hundredths,
                Money {
                    minor: price * (1 + n as i64 % 5),
                    currency,
                },
                rate,
            )
        })
        .collect()
}

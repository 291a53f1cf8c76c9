//! Invoices: lines and how their totals are rounded, numbers, and the rules of an invoice's
//! money state (draft → issued → paid, or void). See DESIGN.md "Money and invoices".

use std::{collections::BTreeMap, fmt, str::FromStr};

use jiff::{Span, civil::Date};
use serde::{Deserialize, Serialize};

use crate::{
    ValidationError,
    money::{Currency, DecimalError, Money, parse_scaled},
    plan::text_enum,
};

/// `value` / 10^`decimals` with the trailing zeros of the fraction dropped: "2", "1.5".
fn write_scaled(f: &mut fmt::Formatter<'_>, value: u64, decimals: u32) -> fmt::Result {
    let scale = 10u64.pow(decimals);
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return write!(f, "{whole}");
    }
    let digits = format!("{fraction:0width$}", width = decimals as usize);
    write!(f, "{whole}.{}", digits.trim_end_matches('0'))
}

/// How many of a thing a line bills: more than 0, with up to 3 decimals (hours, kilograms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(i64);

impl Quantity {
    pub const ONE: Quantity = Quantity(1000);

    /// "2", "1.5", "0.125": digits and an optional dot, up to 3 decimals, more than 0.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        let refuse = |why: String| ValidationError::new(field, format!("\"{text}\" {why}"));
        let value = parse_scaled(text, 3, false).map_err(|e| {
            refuse(match e {
                DecimalError::NotANumber => {
                    "is not a number (use digits and an optional dot: 2 or 1.5)".to_string()
                }
                DecimalError::Negative => "must be more than 0".to_string(),
                DecimalError::TooManyDecimals => "has more than 3 decimals".to_string(),
                DecimalError::TooLarge => "is too large".to_string(),
            })
        })?;
        if value == 0 {
            return Err(refuse("must be more than 0".to_string()));
        }
        let thousandths = i64::try_from(value).map_err(|_| refuse("is too large".to_string()))?;
        Ok(Self(thousandths))
    }

    pub fn thousandths(self) -> i64 {
        self.0
    }

    /// None unless more than 0.
    pub fn from_thousandths(thousandths: i64) -> Option<Self> {
        (thousandths > 0).then_some(Self(thousandths))
    }
}

impl TryFrom<i64> for Quantity {
    type Error = String;

    fn try_from(thousandths: i64) -> Result<Self, Self::Error> {
        Self::from_thousandths(thousandths).ok_or_else(|| {
            format!("a quantity must be more than 0 (got {thousandths} thousandths)")
        })
    }
}

impl From<Quantity> for i64 {
    fn from(quantity: Quantity) -> i64 {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.0.unsigned_abs(), 3)
    }
}

/// A tax rate in percent, 0 to 100 with up to 2 decimals. Ordered by rate, so that an
/// invoice's tax bands list from the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct TaxRate(u32);

/// 100% in hundredths of a percent.
const FULL_RATE: u32 = 10_000;

impl TaxRate {
    pub const ZERO: TaxRate = TaxRate(0);

    /// "24", "6.5", "0", optionally followed by "%".
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        let number = text.strip_suffix('%').unwrap_or(text).trim_end();
        let refuse = |why: &str| ValidationError::new(field, format!("\"{text}\" {why}"));
        let value = parse_scaled(number, 2, false).map_err(|e| {
            refuse(match e {
                DecimalError::NotANumber => {
                    "is not a percent (use digits and an optional dot: 24 or 6.5)"
                }
                DecimalError::Negative => "is below 0%",
                DecimalError::TooManyDecimals => "has more than 2 decimals",
                DecimalError::TooLarge => "is more than 100%",
            })
        })?;
        match u32::try_from(value) {
            Ok(hundredths) if hundredths <= FULL_RATE => Ok(Self(hundredths)),
            _ => Err(refuse("is more than 100%")),
        }
    }

    /// 24% is 2400.
    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// None above 100%.
    pub fn from_hundredths(hundredths: u32) -> Option<Self> {
        (hundredths <= FULL_RATE).then_some(Self(hundredths))
    }
}

impl TryFrom<u32> for TaxRate {
    type Error = String;

    fn try_from(hundredths: u32) -> Result<Self, Self::Error> {
        Self::from_hundredths(hundredths).ok_or_else(|| {
            format!("a tax rate is at most 100% (got {hundredths} hundredths of a percent)")
        })
    }
}

impl From<TaxRate> for u32 {
    fn from(rate: TaxRate) -> u32 {
        rate.0
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, u64::from(self.0), 2)
    }
}

/// Rounds `numerator / denominator` to the nearest integer, halves away from zero (2.5 → 3,
/// -2.5 → -3), as invoices in every currency Tickler knows are rounded.
///
/// # Panics
/// When `denominator` is not positive: callers divide by fixed scales (1000, 10 000).
pub fn round_half_away_from_zero(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator > 0, "rounding needs a positive denominator");
    let quotient = numerator / denominator;
    let remainder = (numerator % denominator).unsigned_abs();
    // remainder >= denominator - remainder is 2 × remainder >= denominator without overflow.
    if remainder >= denominator.unsigned_abs() - remainder {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub description: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
}

impl LineItem {
    /// Quantity × unit price in minor units, rounded half away from zero; exact, whatever
    /// its size, so that totals add exact values.
    fn exact_net(&self) -> i128 {
        // Both factors are i64, so the product fits an i128.
        let thousandths =
            i128::from(self.quantity.thousandths()) * i128::from(self.unit_price.minor);
        round_half_away_from_zero(thousandths, 1000)
    }

    /// Quantity × unit price, rounded half away from zero to the minor unit. A line built
    /// by hand whose net does not fit an i64 saturates; [`parse_line`] refuses such lines,
    /// and [`LineItem::checked_net`] says None.
    pub fn net(&self) -> i64 {
        saturate(self.exact_net())
    }

    pub fn checked_net(&self) -> Option<i64> {
        i64::try_from(self.exact_net()).ok()
    }
}

fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The longest line description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

const LINE_SHAPE: &str = "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT";

/// Parses "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT" (the CLI's --line); `field` says
/// where it came from ("--line 2") and each message names the part that is wrong.
///
/// A negative unit price is allowed: a discount line lowers its tax band's net, which is how
/// a discount is taxed. An invoice whose total ends up negative is refused at approval.
pub fn parse_line(
    field: &str,
    text: &str,
    currency: Currency,
) -> Result<LineItem, ValidationError> {
    let refuse = |message: String| ValidationError::new(field, message);
    let parts: Vec<&str> = text.split('|').collect();
    let [description, quantity, unit_price, tax] = parts[..] else {
        let count = parts.len();
        let hint = if count > 4 {
            " (a description cannot contain \"|\")"
        } else {
            ""
        };
        let plural = if count == 1 { "" } else { "s" };
        return Err(refuse(format!(
            "expected {LINE_SHAPE}, got {count} part{plural}{hint}"
        )));
    };
    let description = description.trim();
    if description.is_empty() {
        return Err(refuse("the description is empty".to_string()));
    }
    let length = description.chars().count();
    if length > MAX_DESCRIPTION_CHARS {
        return Err(refuse(format!(
            "the description is too long ({length} characters, at most {MAX_DESCRIPTION_CHARS})"
        )));
    }
    if let Some(control) = description.chars().find(|c| c.is_control()) {
        return Err(refuse(format!(
            "the description contains a control character (U+{:04X})",
            u32::from(control)
        )));
    }
    let in_part = |part: &'static str| {
        move |err: ValidationError| ValidationError::new(field, format!("{part} {}", err.message))
    };
    let quantity = Quantity::parse("quantity", quantity).map_err(in_part("quantity"))?;
    let unit_price =
        Money::parse("unit price", unit_price, currency).map_err(in_part("unit price"))?;
    let tax_rate = TaxRate::parse("tax", tax).map_err(in_part("tax"))?;
    let line = LineItem {
        description: description.to_string(),
        quantity,
        unit_price,
        tax_rate,
    };
    if line.checked_net().is_none() {
        return Err(refuse(format!(
            "{quantity} × {} {} is too large for one line",
            unit_price.to_decimal_string(),
            currency.code()
        )));
    }
    Ok(line)
}

/// The lines of one tax rate: their nets summed, and the tax on that sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBand {
    pub rate: TaxRate,
    pub net: i64,
    pub tax: i64,
}

/// An invoice's totals in minor units of its lines' currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    /// One per distinct rate, from the lowest.
    pub bands: Vec<TaxBand>,
}

/// The same figures before they are narrowed to i64.
struct ExactTotals {
    subtotal: i128,
    tax: i128,
    bands: Vec<(TaxRate, i128, i128)>,
}

fn exact_totals(lines: &[LineItem]) -> ExactTotals {
    debug_assert!(
        lines
            .windows(2)
            .all(|pair| pair[0].unit_price.currency == pair[1].unit_price.currency),
        "an invoice's lines share one currency"
    );
    let mut nets: BTreeMap<TaxRate, i128> = BTreeMap::new();
    for line in lines {
        *nets.entry(line.tax_rate).or_default() += line.exact_net();
    }
    let bands: Vec<(TaxRate, i128, i128)> = nets
        .into_iter()
        .map(|(rate, net)| {
            let tax = round_half_away_from_zero(
                net * i128::from(rate.hundredths()),
                i128::from(FULL_RATE),
            );
            (rate, net, tax)
        })
        .collect();
    ExactTotals {
        subtotal: bands.iter().map(|(_, net, _)| net).sum(),
        tax: bands.iter().map(|(_, _, tax)| tax).sum(),
        bands,
    }
}

/// DESIGN.md's rounding: each line's net is rounded; the tax of each rate is computed on the
/// sum of that rate's nets and rounded once (three lines of 0.05 at 10% owe 0.02, not
/// 0.03); subtotal = Σ nets, tax = Σ band taxes, total = subtotal + tax.
///
/// Figures beyond an i64 (±92 quadrillion minor units) saturate; where the number of lines
/// is not bounded, [`checked_totals`] refuses them instead.
pub fn totals(lines: &[LineItem]) -> Totals {
    let exact = exact_totals(lines);
    Totals {
        subtotal: saturate(exact.subtotal),
        tax: saturate(exact.tax),
        total: saturate(exact.subtotal + exact.tax),
        bands: exact
            .bands
            .into_iter()
            .map(|(rate, net, tax)| TaxBand {
                rate,
                net: saturate(net),
                tax: saturate(tax),
            })
            .collect(),
    }
}

/// [`totals`], or None when any figure does not fit an i64.
pub fn checked_totals(lines: &[LineItem]) -> Option<Totals> {
    let exact = exact_totals(lines);
    let narrow = |value: i128| i64::try_from(value).ok();
    let bands = exact
        .bands
        .into_iter()
        .map(|(rate, net, tax)| {
            Some(TaxBand {
                rate,
                net: narrow(net)?,
                tax: narrow(tax)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Totals {
        subtotal: narrow(exact.subtotal)?,
        tax: narrow(exact.tax)?,
        total: narrow(exact.subtotal + exact.tax)?,
        bands,
    })
}

/// Where an invoice is in its life: `draft → issued → paid`, or `void`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Awaiting approval; no number yet, may take prepayments.
    Draft,
    /// Numbered and sent; awaiting payment.
    Issued,
    Paid,
    /// Cancelled after issue; keeps its number, takes no payment.
    Void,
}

text_enum!(InvoiceStatus, "status", {
    InvoiceStatus::Draft => "draft",
    InvoiceStatus::Issued => "issued",
    InvoiceStatus::Paid => "paid",
    InvoiceStatus::Void => "void",
});

impl InvoiceStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [InvoiceStatus; 4] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
    ];

    /// "a draft", "issued", "paid", "void": to follow "this invoice is".
    fn described(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "a draft",
            other => other.as_str(),
        }
    }
}

/// "INV-2027-0001": the prefix, the issue year and the year's sequence, at least 4 digits
/// (INV-2027-12345 once a year passes 9999). A prefix that already ends in a separator
/// ("INV/") or an empty one gets no "-" of its own.
pub fn invoice_number(prefix: &str, year: i16, sequence: i64) -> String {
    let separator = if prefix.is_empty() || prefix.ends_with(['-', '_', '/', '.']) {
        ""
    } else {
        "-"
    };
    format!("{prefix}{separator}{year:04}-{sequence:04}")
}

/// The longest number prefix, in characters.
pub const MAX_PREFIX_CHARS: usize = 20;

/// Checks a number prefix typed in settings: at most 20 characters, ASCII letters, digits,
/// '-', '_', '/', '.'; may be empty. ASCII only, because the number travels as a payment
/// reference, which banks restrict to Latin characters.
pub fn validate_number_prefix(field: &str, prefix: &str) -> Result<(), ValidationError> {
    let length = prefix.chars().count();
    if length > MAX_PREFIX_CHARS {
        return Err(ValidationError::new(
            field,
            format!(
                "\"{prefix}\" is too long for a number prefix ({length} characters, at most {MAX_PREFIX_CHARS})"
            ),
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.');
    if let Some(bad) = prefix.chars().find(|&c| !allowed(c)) {
        return Err(ValidationError::new(
            field,
            format!(
                "\"{prefix}\" contains \"{}\": a number prefix may use only letters A-Z, digits and - _ / .",
                bad.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// An invoice's money state, for the rules below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceState {
    pub status: InvoiceStatus,
    /// Minor units.
    pub total: i64,
    /// Minor units received so far, prepayments included.
    pub paid: i64,
}

impl InvoiceState {
    /// What is still owed.
    pub fn balance(&self) -> i64 {
        self.total.saturating_sub(self.paid)
    }
}

/// Why a change to an invoice is refused; its message is shown to users as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvoiceRuleError {
    pub message: String,
}

fn refuse<T>(message: impl Into<String>) -> Result<T, InvoiceRuleError> {
    Err(InvoiceRuleError {
        message: message.into(),
    })
}

/// Records a payment of `amount` minor units: the status after it. A draft stays a draft
/// (a prepayment); an issued invoice whose balance reaches 0 becomes paid.
pub fn after_payment(
    state: InvoiceState,
    amount: i64,
    currency: Currency,
) -> Result<InvoiceStatus, InvoiceRuleError> {
    let shown = |minor: i64| {
        format!(
            "{} {}",
            Money { minor, currency }.to_decimal_string(),
            currency.code()
        )
    };
    match state.status {
        InvoiceStatus::Void => return refuse("invoice is void: a void invoice takes no payment"),
        InvoiceStatus::Paid => {
            return refuse("invoice is already paid: a paid invoice takes no further payment");
        }
        InvoiceStatus::Draft | InvoiceStatus::Issued => {}
    }
    if amount <= 0 {
        return refuse(format!(
            "a payment must be more than 0 (got {})",
            shown(amount)
        ));
    }
    let balance = state.balance();
    if amount > balance {
        return refuse(format!(
            "the payment of {} exceeds the balance of {}",
            shown(amount),
            shown(balance)
        ));
    }
    Ok(match state.status {
        InvoiceStatus::Issued if amount == balance => InvoiceStatus::Paid,
        status => status,
    })
}

/// Approving issues a draft: issued, or paid when prepayments already cover the total (a
/// total of 0 is paid at once). A negative total (discounts above the charges) is refused:
/// an invoice cannot ask for less than nothing.
pub fn after_approval(state: InvoiceState) -> Result<InvoiceStatus, InvoiceRuleError> {
    if state.status != InvoiceStatus::Draft {
        return refuse(format!(
            "only a draft can be approved; this invoice is {}",
            state.status.described()
        ));
    }
    if state.total < 0 {
        return refuse(
            "the total is below 0: an invoice cannot ask for less than nothing (lower the discount lines)",
        );
    }
    Ok(if state.paid >= state.total {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::Issued
    })
}

/// Only a draft can be discarded (its period is then never billed again), and only one
/// without prepayments, whose record would go with it.
pub fn check_discard(state: InvoiceState) -> Result<(), InvoiceRuleError> {
    match state.status {
        InvoiceStatus::Draft if state.paid != 0 => refuse(
            "this draft has prepayments recorded: discarding it would lose them (approve it instead)",
        ),
        InvoiceStatus::Draft => Ok(()),
        InvoiceStatus::Issued => {
            refuse("only a draft can be discarded; this invoice is issued (void it instead)")
        }
        status => refuse(format!(
            "only a draft can be discarded; this invoice is {}",
            status.described()
        )),
    }
}

/// Only an issued invoice can be voided (a draft is discarded; a paid one stays paid). A
/// void invoice keeps its number, so the sequence has no gap.
pub fn check_void(state: InvoiceState) -> Result<(), InvoiceRuleError> {
    match state.status {
        InvoiceStatus::Issued => Ok(()),
        InvoiceStatus::Draft => refuse(
            "only an issued invoice can be voided; this invoice is a draft (discard it instead)",
        ),
        InvoiceStatus::Paid => refuse("only an issued invoice can be voided; this invoice is paid"),
        InvoiceStatus::Void => refuse("this invoice is already void"),
    }
}

/// The day payment is due: the issue date + `payment_days` calendar days, or 9999-12-31
/// when that is beyond the calendar.
pub fn due_date(issue_date: Date, payment_days: u32) -> Date {
    Span::new()
        .try_days(i64::from(payment_days))
        .ok()
        .and_then(|span| issue_date.checked_add(span).ok())
        .unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    fn qty(text: &str) -> Quantity {
        Quantity::parse("quantity", text).unwrap()
    }

    fn rate(text: &str) -> TaxRate {
        TaxRate::parse("tax", text).unwrap()
    }

    fn line(quantity: &str, price: &str, tax: &str, currency: Currency) -> LineItem {
        LineItem {
            description: "Service".to_string(),
            quantity: qty(quantity),
            unit_price: Money::parse("price", price, currency).unwrap(),
            tax_rate: rate(tax),
        }
    }

    fn eur(quantity: &str, price: &str, tax: &str) -> LineItem {
        line(quantity, price, tax, Currency::EUR)
    }

    fn jpy(quantity: &str, price: &str, tax: &str) -> LineItem {
        line(quantity, price, tax, Currency::JPY)
    }

    fn line_err(text: &str) -> String {
        let err = parse_line("--line 2", text, Currency::EUR).unwrap_err();
        assert_eq!(err.field, "--line 2");
        err.message
    }

    fn state(status: InvoiceStatus, total: i64, paid: i64) -> InvoiceState {
        InvoiceState {
            status,
            total,
            paid,
        }
    }

    fn rule_err<T: fmt::Debug>(result: Result<T, InvoiceRuleError>) -> String {
        result.unwrap_err().to_string()
    }

    // --- quantities and rates ---------------------------------------------------------

    #[test]
    fn quantities_have_up_to_three_decimals_and_print_without_trailing_zeros() {
        assert_eq!(qty("2").thousandths(), 2000);
        assert_eq!(qty(" 1.5 ").thousandths(), 1500);
        assert_eq!(qty("0.125").thousandths(), 125);
        assert_eq!(qty("0.001").thousandths(), 1);
        assert_eq!(qty("2.500").thousandths(), 2500);
        assert_eq!(qty("2").to_string(), "2");
        assert_eq!(qty("1.50").to_string(), "1.5");
        assert_eq!(qty("0.125").to_string(), "0.125");
        assert_eq!(qty("10.010").to_string(), "10.01");
        assert_eq!(Quantity::from_thousandths(1), Some(qty("0.001")));
        assert_eq!(Quantity::from_thousandths(0), None);
        assert_eq!(Quantity::from_thousandths(-1000), None);
        assert_eq!(Quantity::ONE, qty("1"));
    }

    #[test]
    fn quantity_errors_quote_the_text() {
        let err = |text: &str| {
            let err = Quantity::parse("qty", text).unwrap_err();
            assert_eq!(err.field, "qty");
            err.message
        };
        for bad in ["", "abc", "1,5", ".5", "5.", "1e3", "+1", "1 000"] {
            assert_eq!(
                err(bad),
                format!("\"{bad}\" is not a number (use digits and an optional dot: 2 or 1.5)")
            );
        }
        assert_eq!(err("0"), "\"0\" must be more than 0");
        assert_eq!(err("0.000"), "\"0.000\" must be more than 0");
        assert_eq!(err("-1"), "\"-1\" must be more than 0");
        assert_eq!(err("1.2345"), "\"1.2345\" has more than 3 decimals");
        assert_eq!(err("9223372036854776"), "\"9223372036854776\" is too large");
        assert_eq!(qty("9223372036854775.807").thousandths(), i64::MAX);
        assert!(err(&"9".repeat(60)).ends_with("is too large"));
    }

    #[test]
    fn tax_rates_are_percentages_up_to_100_with_two_decimals() {
        assert_eq!(rate("24").hundredths(), 2400);
        assert_eq!(rate("6.5").hundredths(), 650);
        assert_eq!(rate("24%").hundredths(), 2400);
        assert_eq!(rate(" 13 % ").hundredths(), 1300);
        assert_eq!(rate("0").hundredths(), 0);
        assert_eq!(rate("100").hundredths(), 10_000);
        assert_eq!(rate("24").to_string(), "24");
        assert_eq!(rate("6.50").to_string(), "6.5");
        assert_eq!(rate("0.25").to_string(), "0.25");
        assert_eq!(rate("0").to_string(), "0");
        assert!(rate("6.5") < rate("24"));
        assert_eq!(TaxRate::from_hundredths(10_000), Some(rate("100")));
        assert_eq!(TaxRate::from_hundredths(10_001), None);
        assert_eq!(TaxRate::ZERO, rate("0"));
    }

    #[test]
    fn tax_rate_errors_quote_the_text() {
        let err = |text: &str| {
            let err = TaxRate::parse("tax", text).unwrap_err();
            assert_eq!(err.field, "tax");
            err.message
        };
        assert_eq!(
            err("VAT"),
            "\"VAT\" is not a percent (use digits and an optional dot: 24 or 6.5)"
        );
        assert_eq!(
            err(""),
            "\"\" is not a percent (use digits and an optional dot: 24 or 6.5)"
        );
        assert_eq!(err("100.01"), "\"100.01\" is more than 100%");
        assert_eq!(err("250%"), "\"250%\" is more than 100%");
        assert_eq!(
            err(&"9".repeat(50)),
            format!("\"{}\" is more than 100%", "9".repeat(50))
        );
        assert_eq!(err("-5"), "\"-5\" is below 0%");
        assert_eq!(err("6.125"), "\"6.125\" has more than 2 decimals");
    }

    #[test]
    fn quantities_and_rates_are_checked_when_read_back() {
        assert_eq!(serde_json::to_string(&qty("1.5")).unwrap(), "1500");
        assert_eq!(
            serde_json::from_str::<Quantity>("1500").unwrap(),
            qty("1.5")
        );
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert_eq!(serde_json::to_string(&rate("24")).unwrap(), "2400");
        assert_eq!(serde_json::from_str::<TaxRate>("650").unwrap(), rate("6.5"));
        assert!(serde_json::from_str::<TaxRate>("10001").is_err());
    }

    // --- rounding and nets ------------------------------------------------------------

    #[test]
    fn halves_round_away_from_zero() {
        let r = round_half_away_from_zero;
        assert_eq!(r(5, 2), 3);
        assert_eq!(r(-5, 2), -3);
        assert_eq!(r(4, 3), 1);
        assert_eq!(r(5, 3), 2);
        assert_eq!(r(-4, 3), -1);
        assert_eq!(r(-5, 3), -2);
        assert_eq!(r(1499, 1000), 1);
        assert_eq!(r(1500, 1000), 2);
        assert_eq!(r(-1500, 1000), -2);
        assert_eq!(r(0, 7), 0);
        assert_eq!(r(i128::MAX, i128::MAX), 1);
        assert_eq!(r(i128::MIN, i128::MAX), -1);
        assert_eq!(r(i128::MAX, 2), i128::MAX / 2 + 1);
    }

    #[test]
    #[should_panic(expected = "positive denominator")]
    fn rounding_by_zero_is_a_programming_error() {
        round_half_away_from_zero(1, 0);
    }

    #[test]
    fn a_lines_net_is_rounded_to_the_minor_unit() {
        assert_eq!(eur("3", "19.99", "24").net(), 5997);
        assert_eq!(eur("0.333", "1", "24").net(), 33);
        assert_eq!(eur("0.5", "0.01", "24").net(), 1, "0.005 rounds up");
        assert_eq!(eur("0.5", "-0.01", "24").net(), -1, "-0.005 rounds down");
        assert_eq!(eur("0.125", "0.02", "24").net(), 0, "0.0025");
        assert_eq!(jpy("1.5", "333", "10").net(), 500, "499.5");
        assert_eq!(jpy("0.001", "499", "10").net(), 0);
        assert_eq!(jpy("0.001", "500", "10").net(), 1);
    }

    #[test]
    fn a_hand_built_line_too_large_saturates_or_says_none() {
        let huge = LineItem {
            quantity: qty("2"),
            unit_price: Money {
                minor: i64::MAX,
                currency: Currency::EUR,
            },
            ..eur("1", "1", "24")
        };
        assert_eq!(huge.net(), i64::MAX);
        assert_eq!(huge.checked_net(), None);
        let negative = LineItem {
            unit_price: Money {
                minor: i64::MIN,
                currency: Currency::EUR,
            },
            ..huge
        };
        assert_eq!(negative.net(), i64::MIN);
    }

    // --- parsing lines ----------------------------------------------------------------

    #[test]
    fn lines_parse_from_the_cli_format() {
        let parsed = parse_line(
            "--line 1",
            " Maintenance, March | 1.5 | 120.00 | 24 ",
            Currency::EUR,
        );
        assert_eq!(
            parsed,
            Ok(LineItem {
                description: "Maintenance, March".to_string(),
                quantity: qty("1.5"),
                unit_price: Money {
                    minor: 12_000,
                    currency: Currency::EUR
                },
                tax_rate: rate("24"),
            })
        );
        let yen = parse_line("--line 1", "保守|2|1200|10%", Currency::JPY).unwrap();
        assert_eq!(yen.net(), 2400);
        assert_eq!(yen.tax_rate, rate("10"));
        // A discount line.
        let discount = parse_line("--line 3", "Loyalty discount|1|-20|24", Currency::EUR).unwrap();
        assert_eq!(discount.net(), -2000);
        let free = parse_line("--line 4", "Setup|1|0|24", Currency::EUR).unwrap();
        assert_eq!(free.net(), 0);
    }

    #[test]
    fn line_errors_name_the_part_that_is_wrong() {
        assert_eq!(
            line_err("Support|1|50"),
            "expected DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT, got 3 parts"
        );
        assert_eq!(
            line_err(""),
            "expected DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT, got 1 part"
        );
        assert_eq!(
            line_err("A|B|1|50|24"),
            "expected DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT, got 5 parts (a description cannot contain \"|\")"
        );
        assert_eq!(line_err("  |1|50|24"), "the description is empty");
        assert_eq!(
            line_err(&format!("{}|1|50|24", "é".repeat(501))),
            "the description is too long (501 characters, at most 500)"
        );
        assert!(parse_line("l", &format!("{}|1|50|24", "é".repeat(500)), Currency::EUR).is_ok());
        assert_eq!(
            line_err("Support\tplan|1|50|24"),
            "the description contains a control character (U+0009)"
        );
        assert_eq!(
            line_err("Support|two|50|24"),
            "quantity \"two\" is not a number (use digits and an optional dot: 2 or 1.5)"
        );
        assert_eq!(
            line_err("Support|0|50|24"),
            "quantity \"0\" must be more than 0"
        );
        assert_eq!(
            line_err("Support|-2|50|24"),
            "quantity \"-2\" must be more than 0"
        );
        assert_eq!(
            line_err("Support|1.2345|50|24"),
            "quantity \"1.2345\" has more than 3 decimals"
        );
        assert_eq!(
            line_err("Support|1|50,00|24"),
            "unit price \"50,00\" is not an amount (use digits and an optional dot: 1234.50)"
        );
        assert_eq!(
            line_err("Support|1|50.001|24"),
            "unit price \"50.001\" has more decimals than EUR allows (2)"
        );
        assert_eq!(
            line_err("Support|1|50|VAT"),
            "tax \"VAT\" is not a percent (use digits and an optional dot: 24 or 6.5)"
        );
        assert_eq!(
            line_err("Support|1|50|101"),
            "tax \"101\" is more than 100%"
        );
        assert_eq!(
            line_err("Support|2|92233720368547758.07|24"),
            "2 × 92233720368547758.07 EUR is too large for one line"
        );
        let err = parse_line("--line 1", "Support|1|50.5|10", Currency::JPY).unwrap_err();
        assert_eq!(
            err.message,
            "unit price \"50.5\" has more decimals than JPY allows (0)"
        );
    }

    // --- totals -----------------------------------------------------------------------

    #[test]
    fn tax_is_computed_per_rate_on_the_sum_not_per_line() {
        let lines = vec![
            eur("1", "0.05", "10"),
            eur("1", "0.05", "10"),
            eur("1", "0.05", "10"),
        ];
        // Per line: 0.005 → 0.01 each, 0.03. Per band: 10% of 0.15 = 0.015 → 0.02.
        let per_line: i64 = lines
            .iter()
            .map(|l| round_half_away_from_zero(i128::from(l.net()) * 1000, 10_000) as i64)
            .sum();
        assert_eq!(per_line, 3);
        assert_eq!(
            totals(&lines),
            Totals {
                subtotal: 15,
                tax: 2,
                total: 17,
                bands: vec![TaxBand {
                    rate: rate("10"),
                    net: 15,
                    tax: 2
                }],
            }
        );
    }

    #[test]
    fn each_lines_net_is_rounded_before_it_is_summed() {
        // Three lines of 0.333 × 1.00: each 0.33, so 0.99, not 1.00.
        let lines = vec![eur("0.333", "1", "24"); 3];
        let t = totals(&lines);
        assert_eq!(t.subtotal, 99);
        // 24% of 0.99 = 0.2376.
        assert_eq!(t.tax, 24);
        assert_eq!(t.total, 123);
        // One line of 0.999 × 1.00 is 1.00.
        let t = totals(&[eur("0.999", "1", "24")]);
        assert_eq!((t.subtotal, t.tax, t.total), (100, 24, 124));
    }

    #[test]
    fn several_rates_make_ascending_bands() {
        let lines = vec![
            eur("3", "19.99", "24"),
            eur("1", "12.50", "6.5"),
            eur("2", "4.99", "13"),
            eur("1", "7.77", "24"),
            eur("1", "100", "0"),
        ];
        let t = totals(&lines);
        assert_eq!(
            t.bands,
            vec![
                TaxBand {
                    rate: rate("0"),
                    net: 10_000,
                    tax: 0
                },
                // 6.5% of 12.50 = 0.8125.
                TaxBand {
                    rate: rate("6.5"),
                    net: 1250,
                    tax: 81
                },
                // 13% of 9.98 = 1.2974.
                TaxBand {
                    rate: rate("13"),
                    net: 998,
                    tax: 130
                },
                // 24% of 59.97 + 7.77 = 67.74 is 16.2576.
                TaxBand {
                    rate: rate("24"),
                    net: 6774,
                    tax: 1626
                },
            ]
        );
        assert_eq!(t.subtotal, 10_000 + 1250 + 998 + 6774);
        assert_eq!(t.tax, 81 + 130 + 1626);
        assert_eq!(t.total, t.subtotal + t.tax);
    }

    #[test]
    fn yen_totals_round_to_whole_yen() {
        let lines = vec![
            jpy("1.5", "333", "10"),
            jpy("3", "105", "8"),
            jpy("1", "99", "8"),
        ];
        let t = totals(&lines);
        // 8% of 315 + 99 = 414 is 33.12; 10% of 500 is 50.
        assert_eq!(
            t.bands,
            vec![
                TaxBand {
                    rate: rate("8"),
                    net: 414,
                    tax: 33
                },
                TaxBand {
                    rate: rate("10"),
                    net: 500,
                    tax: 50
                },
            ]
        );
        assert_eq!((t.subtotal, t.tax, t.total), (914, 83, 997));
    }

    #[test]
    fn a_discount_lowers_its_bands_tax() {
        let lines = vec![eur("1", "100", "24"), eur("1", "-10.05", "24")];
        let t = totals(&lines);
        // 24% of 89.95 = 21.588.
        assert_eq!((t.subtotal, t.tax, t.total), (8995, 2159, 11_154));
        // A negative band's tax rounds away from zero too: 24% of -0.05 = -0.012.
        let t = totals(&[eur("1", "-0.05", "24")]);
        assert_eq!((t.subtotal, t.tax), (-5, -1));
    }

    #[test]
    fn no_lines_no_totals() {
        assert_eq!(
            totals(&[]),
            Totals {
                subtotal: 0,
                tax: 0,
                total: 0,
                bands: vec![]
            }
        );
    }

    #[test]
    fn totals_beyond_an_i64_are_refused_or_saturate() {
        let max = eur("1", "92233720368547758.07", "0");
        assert_eq!(
            checked_totals(std::slice::from_ref(&max)).map(|t| t.total),
            Some(i64::MAX)
        );
        let two = vec![max.clone(), max];
        assert_eq!(checked_totals(&two), None);
        let t = totals(&two);
        assert_eq!((t.subtotal, t.total), (i64::MAX, i64::MAX));
        let taxed = vec![eur("1", "92233720368547758.07", "24")];
        assert_eq!(
            checked_totals(&taxed),
            None,
            "the tax pushes the total over"
        );
        assert_eq!(totals(&taxed).total, i64::MAX);
    }

    // --- statuses, numbers, dates -----------------------------------------------------

    #[test]
    fn statuses_round_trip_through_text() {
        for status in InvoiceStatus::ALL {
            assert_eq!(status.as_str().parse::<InvoiceStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        let err = "overdue".parse::<InvoiceStatus>().unwrap_err();
        assert!(err.message.contains("draft, issued, paid, void"), "{err}");
    }

    #[test]
    fn invoice_numbers_are_prefix_year_and_padded_sequence() {
        assert_eq!(invoice_number("INV", 2027, 1), "INV-2027-0001");
        assert_eq!(invoice_number("INV", 2027, 9999), "INV-2027-9999");
        assert_eq!(invoice_number("INV", 2027, 12_345), "INV-2027-12345");
        assert_eq!(invoice_number("", 2027, 42), "2027-0042");
        assert_eq!(invoice_number("INV/", 2027, 7), "INV/2027-0007");
        assert_eq!(invoice_number("ACME-", 2028, 7), "ACME-2028-0007");
        assert_eq!(invoice_number("T.", 2028, 7), "T.2028-0007");
    }

    #[test]
    fn number_prefixes_are_short_and_plain() {
        for good in ["", "INV", "inv_2", "A/B.C-D", &"X".repeat(20)] {
            assert_eq!(validate_number_prefix("prefix", good), Ok(()), "{good}");
        }
        let err = validate_number_prefix("prefix", &"X".repeat(21)).unwrap_err();
        assert_eq!(err.field, "prefix");
        assert_eq!(
            err.message,
            format!(
                "\"{}\" is too long for a number prefix (21 characters, at most 20)",
                "X".repeat(21)
            )
        );
        let err = validate_number_prefix("prefix", "INV 2").unwrap_err();
        assert_eq!(
            err.message,
            "\"INV 2\" contains \" \": a number prefix may use only letters A-Z, digits and - _ / ."
        );
        for bad in ["ΤΙΜ", "請求", "A#", "A\n", "€"] {
            assert!(validate_number_prefix("prefix", bad).is_err(), "{bad}");
        }
        let err = validate_number_prefix("prefix", "A\n").unwrap_err();
        assert!(err.message.contains("\"\\n\""), "{err}");
    }

    #[test]
    fn payment_is_due_after_the_payment_days() {
        assert_eq!(due_date(date(2027, 1, 31), 30), date(2027, 3, 2));
        assert_eq!(due_date(date(2028, 2, 15), 14), date(2028, 2, 29));
        assert_eq!(due_date(date(2027, 5, 1), 0), date(2027, 5, 1));
        assert_eq!(due_date(date(9999, 12, 1), 60), Date::MAX);
        assert_eq!(due_date(date(2027, 5, 1), u32::MAX), Date::MAX);
    }

    // --- payments and transitions -----------------------------------------------------

    #[test]
    fn payments_on_issued_invoices() {
        let issued = state(InvoiceStatus::Issued, 12_400, 0);
        assert_eq!(
            after_payment(issued, 4000, Currency::EUR),
            Ok(InvoiceStatus::Issued)
        );
        assert_eq!(
            after_payment(issued, 12_400, Currency::EUR),
            Ok(InvoiceStatus::Paid)
        );
        let partly = state(InvoiceStatus::Issued, 12_400, 4000);
        assert_eq!(partly.balance(), 8400);
        assert_eq!(
            after_payment(partly, 8400, Currency::EUR),
            Ok(InvoiceStatus::Paid)
        );
        assert_eq!(
            rule_err(after_payment(partly, 8401, Currency::EUR)),
            "the payment of 84.01 EUR exceeds the balance of 84.00 EUR"
        );
        assert_eq!(
            rule_err(after_payment(issued, 20_000, Currency::JPY)),
            "the payment of 20000 JPY exceeds the balance of 12400 JPY"
        );
    }

    #[test]
    fn payments_must_be_positive() {
        let issued = state(InvoiceStatus::Issued, 12_400, 0);
        assert_eq!(
            rule_err(after_payment(issued, 0, Currency::EUR)),
            "a payment must be more than 0 (got 0.00 EUR)"
        );
        assert_eq!(
            rule_err(after_payment(issued, -500, Currency::EUR)),
            "a payment must be more than 0 (got -5.00 EUR)"
        );
    }

    #[test]
    fn void_and_paid_invoices_take_no_payment() {
        assert_eq!(
            rule_err(after_payment(
                state(InvoiceStatus::Void, 12_400, 0),
                100,
                Currency::EUR
            )),
            "invoice is void: a void invoice takes no payment"
        );
        assert_eq!(
            rule_err(after_payment(
                state(InvoiceStatus::Paid, 12_400, 12_400),
                100,
                Currency::EUR
            )),
            "invoice is already paid: a paid invoice takes no further payment"
        );
    }

    #[test]
    fn a_prepaid_draft_stays_a_draft_until_approved_then_is_paid() {
        let draft = state(InvoiceStatus::Draft, 12_400, 0);
        assert_eq!(
            after_payment(draft, 12_400, Currency::EUR),
            Ok(InvoiceStatus::Draft)
        );
        let prepaid = state(InvoiceStatus::Draft, 12_400, 12_400);
        assert_eq!(
            rule_err(after_payment(prepaid, 1, Currency::EUR)),
            "the payment of 0.01 EUR exceeds the balance of 0.00 EUR"
        );
        assert_eq!(after_approval(prepaid), Ok(InvoiceStatus::Paid));
        assert_eq!(
            after_approval(state(InvoiceStatus::Draft, 12_400, 5000)),
            Ok(InvoiceStatus::Issued)
        );
    }

    #[test]
    fn approval_issues_drafts_only() {
        assert_eq!(
            after_approval(state(InvoiceStatus::Draft, 12_400, 0)),
            Ok(InvoiceStatus::Issued)
        );
        assert_eq!(
            after_approval(state(InvoiceStatus::Draft, 0, 0)),
            Ok(InvoiceStatus::Paid),
            "nothing to pay"
        );
        assert_eq!(
            rule_err(after_approval(state(InvoiceStatus::Issued, 12_400, 0))),
            "only a draft can be approved; this invoice is issued"
        );
        assert_eq!(
            rule_err(after_approval(state(InvoiceStatus::Paid, 12_400, 12_400))),
            "only a draft can be approved; this invoice is paid"
        );
        assert_eq!(
            rule_err(after_approval(state(InvoiceStatus::Void, 12_400, 0))),
            "only a draft can be approved; this invoice is void"
        );
        assert_eq!(
            rule_err(after_approval(state(InvoiceStatus::Draft, -1, 0))),
            "the total is below 0: an invoice cannot ask for less than nothing (lower the discount lines)"
        );
    }

    #[test]
    fn only_drafts_without_prepayments_are_discarded() {
        assert_eq!(
            check_discard(state(InvoiceStatus::Draft, 12_400, 0)),
            Ok(())
        );
        assert_eq!(
            rule_err(check_discard(state(InvoiceStatus::Draft, 12_400, 100))),
            "this draft has prepayments recorded: discarding it would lose them (approve it instead)"
        );
        assert_eq!(
            rule_err(check_discard(state(InvoiceStatus::Issued, 12_400, 0))),
            "only a draft can be discarded; this invoice is issued (void it instead)"
        );
        assert_eq!(
            rule_err(check_discard(state(InvoiceStatus::Paid, 12_400, 12_400))),
            "only a draft can be discarded; this invoice is paid"
        );
        assert_eq!(
            rule_err(check_discard(state(InvoiceStatus::Void, 12_400, 0))),
            "only a draft can be discarded; this invoice is void"
        );
    }

    #[test]
    fn only_issued_invoices_are_voided() {
        assert_eq!(check_void(state(InvoiceStatus::Issued, 12_400, 0)), Ok(()));
        assert_eq!(
            check_void(state(InvoiceStatus::Issued, 12_400, 400)),
            Ok(())
        );
        assert_eq!(
            rule_err(check_void(state(InvoiceStatus::Draft, 12_400, 0))),
            "only an issued invoice can be voided; this invoice is a draft (discard it instead)"
        );
        assert_eq!(
            rule_err(check_void(state(InvoiceStatus::Paid, 12_400, 12_400))),
            "only an issued invoice can be voided; this invoice is paid"
        );
        assert_eq!(
            rule_err(check_void(state(InvoiceStatus::Void, 12_400, 0))),
            "this invoice is already void"
        );
    }

    // --- properties -------------------------------------------------------------------

    fn any_rate() -> impl Strategy<Value = TaxRate> {
        prop_oneof![
            proptest::sample::select(vec![0u32, 500, 650, 800, 1000, 1300, 2400, 10_000]),
            0u32..=10_000,
        ]
        .prop_map(|h| TaxRate::from_hundredths(h).unwrap())
    }

    fn any_line(currency: Currency) -> impl Strategy<Value = LineItem> {
        (
            prop_oneof![1i64..=5_000, 1i64..=100_000_000],
            prop_oneof![-1_000i64..=1_000, -10_000_000i64..=1_000_000_000],
            any_rate(),
        )
            .prop_map(move |(thousandths, minor, tax_rate)| LineItem {
                description: "x".to_string(),
                quantity: Quantity::from_thousandths(thousandths).unwrap(),
                unit_price: Money { minor, currency },
                tax_rate,
            })
    }

    fn any_lines() -> impl Strategy<Value = Vec<LineItem>> {
        proptest::sample::select(vec![Currency::EUR, Currency::JPY])
            .prop_flat_map(|currency| proptest::collection::vec(any_line(currency), 0..12))
    }

    /// True when `rounded` is `exact_numerator / denominator` rounded half away from zero,
    /// checked from the definition rather than by recomputing it.
    fn is_rounding_of(rounded: i128, numerator: i128, denominator: i128) -> bool {
        let miss = (numerator - rounded * denominator).abs() * 2;
        miss < denominator
            || (miss == denominator
                && rounded.signum() == numerator.signum()
                && (rounded * denominator).abs() > numerator.abs())
    }

    proptest! {
        #[test]
        fn rounding_follows_its_definition(numerator in -10i128.pow(30)..10i128.pow(30), denominator in 1i128..10i128.pow(6)) {
            let rounded = round_half_away_from_zero(numerator, denominator);
            prop_assert!(is_rounding_of(rounded, numerator, denominator));
            prop_assert_eq!(round_half_away_from_zero(-numerator, denominator), -rounded);
        }

        #[test]
        fn totals_add_up(lines in any_lines()) {
            let t = totals(&lines);
            prop_assert_eq!(checked_totals(&lines), Some(t.clone()));
            for l in &lines {
                let exact = i128::from(l.quantity.thousandths()) * i128::from(l.unit_price.minor);
                prop_assert!(is_rounding_of(i128::from(l.net()), exact, 1000));
            }
            prop_assert_eq!(t.subtotal, lines.iter().map(LineItem::net).sum::<i64>());
            prop_assert_eq!(t.total, t.subtotal + t.tax);
            prop_assert_eq!(t.tax, t.bands.iter().map(|b| b.tax).sum::<i64>());
            prop_assert_eq!(t.subtotal, t.bands.iter().map(|b| b.net).sum::<i64>());
            for pair in t.bands.windows(2) {
                prop_assert!(pair[0].rate < pair[1].rate);
            }
            for band in &t.bands {
                let nets: i64 = lines.iter().filter(|l| l.tax_rate == band.rate).map(LineItem::net).sum();
                prop_assert_eq!(band.net, nets);
                // Within half a minor unit of the exact tax on the band's nets.
                let exact = i128::from(nets) * i128::from(band.rate.hundredths());
                prop_assert!(is_rounding_of(i128::from(band.tax), exact, 10_000));
            }
            let rates: std::collections::BTreeSet<TaxRate> = lines.iter().map(|l| l.tax_rate).collect();
            prop_assert_eq!(rates.len(), t.bands.len());
        }

        #[test]
        fn the_order_of_lines_does_not_change_the_totals(
            (lines, shuffled) in any_lines().prop_flat_map(|lines| {
                let shuffled = Just(lines.clone()).prop_shuffle();
                (Just(lines), shuffled)
            })
        ) {
            prop_assert_eq!(totals(&lines), totals(&shuffled));
        }

        #[test]
        fn quantities_round_trip_through_text(thousandths in prop_oneof![1i64..100_000, 1i64..=i64::MAX]) {
            let q = Quantity::from_thousandths(thousandths).unwrap();
            let text = q.to_string();
            prop_assert!(!text.contains('.') || !text.ends_with('0'));
            prop_assert_eq!(Quantity::parse("quantity", &text), Ok(q));
        }

        #[test]
        fn rates_round_trip_through_text(rate in any_rate()) {
            prop_assert_eq!(TaxRate::parse("tax", &rate.to_string()), Ok(rate));
            prop_assert_eq!(TaxRate::parse("tax", &format!("{rate}%")), Ok(rate));
        }

        #[test]
        fn arbitrary_line_text_never_panics(text in "\\PC{0,40}", japanese in any::<bool>()) {
            let currency = if japanese { Currency::JPY } else { Currency::EUR };
            match parse_line("--line 1", &text, currency) {
                Ok(line) => {
                    prop_assert!(line.checked_net().is_some());
                    prop_assert!(!line.description.is_empty());
                }
                Err(err) => prop_assert_eq!(err.field, "--line 1"),
            }
        }

        #[test]
        fn valid_lines_parse_back_from_their_parts(line in any_line(Currency::EUR)) {
            let text = format!(
                "{}|{}|{}|{}",
                line.description,
                line.quantity,
                line.unit_price.to_decimal_string(),
                line.tax_rate
            );
            prop_assert_eq!(parse_line("--line 1", &text, Currency::EUR), Ok(line));
        }

        #[test]
        fn no_payments_make_paid_exceed_the_total(
            total in 0i64..1_000_000,
            issued in any::<bool>(),
            actions in proptest::collection::vec(prop_oneof![
                (-100i64..1_000_000).prop_map(Some),
                Just(None),
            ], 0..20),
        ) {
            // An issued invoice always owes something: one of 0 is paid at approval.
            let (status, total) = if issued {
                (InvoiceStatus::Issued, total.max(1))
            } else {
                (InvoiceStatus::Draft, total)
            };
            let mut s = state(status, total, 0);
            for action in actions {
                match action {
                    Some(amount) => match after_payment(s, amount, Currency::EUR) {
                        Ok(status) => {
                            prop_assert!(amount > 0 && amount <= s.balance());
                            prop_assert!(matches!(s.status, InvoiceStatus::Draft | InvoiceStatus::Issued));
                            s = state(status, s.total, s.paid + amount);
                        }
                        Err(_) => {
                            let payable = matches!(s.status, InvoiceStatus::Draft | InvoiceStatus::Issued);
                            prop_assert!(!payable || amount <= 0 || amount > s.balance());
                        }
                    },
                    None => match after_approval(s) {
                        Ok(status) => {
                            prop_assert_eq!(s.status, InvoiceStatus::Draft);
                            s.status = status;
                        }
                        Err(_) => prop_assert_ne!(s.status, InvoiceStatus::Draft),
                    },
                }
                prop_assert!(0 <= s.paid && s.paid <= s.total);
                // Paid exactly when issued and settled; a draft stays a draft whatever it received.
                match s.status {
                    InvoiceStatus::Paid => prop_assert_eq!(s.balance(), 0),
                    InvoiceStatus::Issued => prop_assert!(s.balance() > 0),
                    InvoiceStatus::Draft => prop_assert!(!issued),
                    InvoiceStatus::Void => return Err(TestCaseError::fail("nothing here voids")),
                }
            }
        }

        #[test]
        fn a_draft_paid_in_full_then_approved_is_paid(
            total in 0i64..1_000_000_000,
            parts in proptest::collection::vec(1u32..100, 1..6),
        ) {
            // Split the total into prepayments proportional to `parts`.
            let weight: i64 = parts.iter().map(|&p| i64::from(p)).sum();
            let mut s = state(InvoiceStatus::Draft, total, 0);
            let mut given = 0i64;
            for (i, &p) in parts.iter().enumerate() {
                let amount = if i + 1 == parts.len() {
                    total - given
                } else {
                    total * i64::from(p) / weight
                };
                given += amount;
                if amount > 0 {
                    prop_assert_eq!(after_payment(s, amount, Currency::EUR), Ok(InvoiceStatus::Draft));
                    s.paid += amount;
                }
            }
            prop_assert_eq!(s.paid, total);
            prop_assert_eq!(after_approval(s), Ok(InvoiceStatus::Paid));
        }
    }
}

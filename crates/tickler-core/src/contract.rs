//! Contracts: the service sold for a term, who owns it, what it costs, and the fields a firm
//! adds of its own. The store maps rows to these at its edge; everything else uses them.

use std::{fmt, str::FromStr};

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};

use crate::{
    ValidationError,
    money::{Currency, Money},
    plan::text_enum,
    renewal::{Answer, Renewal, RenewalType},
};

/// Whether a contract still runs: a terminated one sends nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractStatus {
    Active,
    Terminated,
}

text_enum!(ContractStatus, "status", {
    ContractStatus::Active => "active",
    ContractStatus::Terminated => "terminated",
});

/// A firm's own fields on a contract (`site`, `po_number`...): names to text values.
pub type CustomFields = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    pub id: i64,
    pub customer_id: i64,
    pub title: String,
    pub owner_id: Option<i64>,
    pub plan_id: i64,
    pub status: ContractStatus,
    /// The current term: 1 for the first, +1 at each renewal.
    pub term_number: i32,
    pub start_date: Date,
    pub end_date: Date,
    /// The amount in minor units of `currency`; see [`Contract::money`].
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub custom_fields: CustomFields,
    /// What happens at the end of the current term.
    pub renewal: RenewalType,
    /// With `auto`: days before the end date by which the customer must cancel.
    pub notice_days: Option<u32>,
    /// The customer's latest answer about renewing (of the current term, or of the term
    /// whose renewal started it).
    pub answer: Option<Answer>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Contract {
    /// The contract's amount, if it has one (and a currency Tickler knows).
    /// The contract's version as stored, for a client that must not overwrite a change it
    /// has not seen (the API's `ETag` and `If-Match`): it changes with every write.
    pub fn version(&self) -> String {
        format!("{}-{}", self.id, self.updated_at.as_millisecond())
    }

    pub fn money(&self) -> Option<Money> {
        money_of(self.amount_minor, self.currency.as_deref())
    }

    pub fn is_active(&self) -> bool {
        self.status == ContractStatus::Active
    }

    /// The renewal type with its notice period.
    pub fn renewal_terms(&self) -> Renewal {
        Renewal {
            kind: self.renewal,
            notice_days: self.notice_days,
        }
    }

    /// The last day the customer can cancel the current term of an auto-renewing contract.
    pub fn notice_date(&self) -> Option<Date> {
        self.renewal_terms().notice_date(self.end_date)
    }
}

/// An amount stored as minor units and a currency code, as money.
pub fn money_of(minor: Option<i64>, currency: Option<&str>) -> Option<Money> {
    let currency = Currency::parse("currency", currency?).ok()?;
    Some(Money {
        minor: minor?,
        currency,
    })
}

/// An amount and a currency as typed (blank is absent) as money: both or neither.
pub fn money_from_input(
    amount: Option<&str>,
    currency: Option<&str>,
) -> Result<Option<Money>, ValidationError> {
    fn present(text: Option<&str>) -> Option<&str> {
        text.map(str::trim).filter(|t| !t.is_empty())
    }
    match (present(amount), present(currency)) {
        (Some(amount), Some(currency)) => Ok(Some(Money::parse(
            "amount",
            amount,
            Currency::parse("currency", currency)?,
        )?)),
        (Some(_), None) => Err(ValidationError::new(
            "currency",
            "an amount needs a currency (e.g. EUR)",
        )),
        (None, Some(_)) => Err(ValidationError::new(
            "amount",
            "a currency was given without an amount",
        )),
        (None, None) => Ok(None),
    }
}

/// The money of a contract after an edit that may change its amount, its currency, both or
/// neither (`None` keeps what `current` has; blank text removes it).
pub fn edited_money(
    current: Option<Money>,
    amount: Option<&str>,
    currency: Option<&str>,
) -> Result<Option<Money>, ValidationError> {
    if amount.is_none() && currency.is_none() {
        return Ok(current);
    }
    let current_amount = current.map(|m| m.to_decimal_string());
    let current_code = current.map(|m| m.currency.code().to_string());
    money_from_input(
        amount.or(current_amount.as_deref()),
        currency.or(current_code.as_deref()),
    )
}

/// Adds one custom field, refusing an empty name or a name given twice: the one rule every
/// way of entering fields (the form, the CLI's `--field`, an import's extra columns) follows.
pub fn add_custom_field(fields: &mut CustomFields, name: &str, value: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("a custom field needs a name before =".to_string());
    }
    if fields.contains_key(name) {
        return Err(format!("the custom field \"{name}\" is given twice"));
    }
    fields.insert(
        name.to_string(),
        serde_json::Value::String(value.trim().to_string()),
    );
    Ok(())
}

/// `name=value` items as custom fields (`field` names the input in errors, `item` counts
/// from 1). Blank items are skipped.
pub fn parse_custom_fields<'a>(
    field: &str,
    items: impl IntoIterator<Item = &'a str>,
    item: &str,
) -> Result<CustomFields, ValidationError> {
    let mut fields = CustomFields::new();
    for (n, text) in items.into_iter().enumerate() {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let problem =
            |message: String| ValidationError::new(field, format!("{item} {}: {message}", n + 1));
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| problem(format!("\"{text}\" is not name=value")))?;
        add_custom_field(&mut fields, name, value).map_err(problem)?;
    }
    Ok(fields)
}

/// A custom field's value as text, as forms and lists show it.
pub fn custom_field_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for status in [ContractStatus::Active, ContractStatus::Terminated] {
            assert_eq!(status.as_str().parse::<ContractStatus>(), Ok(status));
        }
        assert!("ended".parse::<ContractStatus>().is_err());
    }

    #[test]
    fn money_needs_an_amount_and_a_known_currency() {
        assert_eq!(
            money_of(Some(12_000), Some("EUR")).map(|m| m.to_decimal_string()),
            Some("120.00".to_string())
        );
        assert_eq!(money_of(None, Some("EUR")), None);
        assert_eq!(money_of(Some(1), None), None);
        assert_eq!(money_of(Some(1), Some("EURO")), None);
    }

    #[test]
    fn money_is_typed_as_both_or_neither() {
        let eur = money_of(Some(120_000), Some("EUR"));
        assert_eq!(money_from_input(Some("1200"), Some("eur")), Ok(eur));
        assert_eq!(money_from_input(Some(" "), None), Ok(None));
        assert_eq!(
            money_from_input(Some("5"), None).unwrap_err().field,
            "currency"
        );
        assert_eq!(
            money_from_input(None, Some("EUR")).unwrap_err().field,
            "amount"
        );
    }

    #[test]
    fn an_edit_changes_only_what_it_names() {
        let eur = money_of(Some(120_000), Some("EUR"));
        assert_eq!(edited_money(eur, None, None), Ok(eur));
        assert_eq!(
            edited_money(eur, Some("99.50"), None),
            Ok(money_of(Some(9_950), Some("EUR")))
        );
        assert_eq!(
            edited_money(eur, None, Some("USD")),
            Ok(money_of(Some(120_000), Some("USD")))
        );
        // The amount is kept as written, so a currency without cents asks for a new one.
        assert_eq!(
            edited_money(eur, None, Some("JPY")).unwrap_err().field,
            "amount"
        );
        assert_eq!(edited_money(eur, Some(""), Some("")), Ok(None));
        assert_eq!(
            edited_money(None, None, Some("EUR")).unwrap_err().field,
            "amount"
        );
    }

    #[test]
    fn custom_fields_refuse_empty_and_repeated_names() {
        let fields = parse_custom_fields("fields", ["site = Building 2", "", "po=17"], "line")
            .expect("valid");
        assert_eq!(fields["site"], "Building 2");
        assert_eq!(fields["po"], "17");
        let err = parse_custom_fields("fields", ["po=1", "po=2"], "line").unwrap_err();
        assert_eq!(err.field, "fields");
        assert!(
            err.message.contains("line 2") && err.message.contains("twice"),
            "{err}"
        );
        let err = parse_custom_fields("--field", ["=x"], "item").unwrap_err();
        assert!(err.message.contains("needs a name"), "{err}");
        let err = parse_custom_fields("--field", ["site"], "item").unwrap_err();
        assert!(err.message.contains("not name=value"), "{err}");
    }
}

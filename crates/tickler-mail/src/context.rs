//! What a template may refer to: raw values, formatted for the message's language only when
//! rendered (so one context serves every language and the fallback to English).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tickler_core::{email::EmailAddress, language::Language, money::Money};

/// Everything a notice template can use. `owner` and `failure` may be absent: templates test
/// them with `{% if owner %}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateContext {
    pub customer: CustomerView,
    pub contract: ContractView,
    pub owner: Option<OwnerView>,
    pub organisation: OrganisationView,
    pub step: StepView,
    /// Days from the send date to the contract's end date; negative after expiry.
    pub days_left: i64,
    /// Only for the `delivery_failed` notice.
    pub failure: Option<FailureView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerView {
    pub name: String,
    pub emails: Vec<EmailAddress>,
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractView {
    pub title: String,
    pub start_date: Date,
    pub end_date: Date,
    pub amount: Option<Money>,
    /// The contract's custom fields, by name.
    pub custom: serde_json::Map<String, serde_json::Value>,
}

/// The salesperson responsible for the contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerView {
    pub name: String,
    pub email: Option<EmailAddress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganisationView {
    pub name: String,
    pub email: EmailAddress,
    /// Bank details for payment by transfer (the organisation's settings), if given.
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub bank: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub key: String,
    pub label: String,
}

/// Why a reminder could not be delivered, for the notice to its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureView {
    /// The SMTP server's reply, e.g. "550 5.1.1 No such user".
    pub reply: String,
    /// The subject of the reminder that failed.
    pub subject: String,
    pub recipients: Vec<EmailAddress>,
}

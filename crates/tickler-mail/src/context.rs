//! What a template may refer to: raw values, formatted for the message's language only when
//! rendered (so one context serves every language and the fallback to English).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tickler_core::{email::EmailAddress, language::Language, money::Money};

/// Everything a notice template can use. `owner` and `failure` may be absent: templates test
/// them with `{% if owner %}`. `invoice` is there only for messages about an invoice, whose
/// templates use it without testing.
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
    /// Only for messages about an invoice (issued, upcoming or unpaid).
    #[serde(default)]
    pub invoice: Option<InvoiceView>,
    /// The customer's one-click answers to a renewal email; absent without a public URL,
    /// when templates ask for an answer by reply instead.
    #[serde(default)]
    pub links: Option<AnswerLinksView>,
    /// Only for messages about a renewal quote.
    #[serde(default)]
    pub quote: Option<QuoteView>,
}

/// Signed links that answer a renewal email in one click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerLinksView {
    pub renew: String,
    pub decline: String,
    pub quote: String,
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
    /// The last day to cancel an auto-renewing contract's current term.
    #[serde(default)]
    pub notice_date: Option<Date>,
    /// The contract's custom fields, by name.
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// What the contract's plan calls it ("maintenance contract", "subscription"), else
    /// "contract": the word the English templates use.
    #[serde(default = "default_noun")]
    pub noun: String,
}

/// The English templates' word for a contract whose plan names none.
pub const DEFAULT_NOUN: &str = "contract";

fn default_noun() -> String {
    DEFAULT_NOUN.to_string()
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

/// The invoice a message is about: the one about to be issued, just issued, or still unpaid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceView {
    /// None before the invoice is issued (the notice of an upcoming invoice): drafts have no
    /// number.
    pub number: Option<String>,
    /// The period invoiced, both days included.
    pub period_start: Date,
    pub period_end: Date,
    pub issue_date: Date,
    pub due_date: Date,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    /// Payments recorded so far, a prepayment included.
    pub paid: Money,
    pub balance: Money,
    /// What a bank transfer should quote so the payment can be matched: the number once
    /// issued, before that something like "Acme support 2027-03".
    pub reference: String,
    /// Days from the due date to the send date; negative before the due date.
    pub days_overdue: i64,
}

/// The renewal quote a message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteView {
    /// E.g. "Q-7".
    pub number: String,
    /// The last day it may be accepted.
    pub valid_until: Date,
    /// The next term offered.
    pub term_start: Date,
    pub term_end: Date,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    /// The signed links; `None` without a public URL, and the text then asks for a reply.
    pub accept_url: Option<String>,
    pub decline_url: Option<String>,
}

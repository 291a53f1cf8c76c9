//! Rendering templates into a subject and a body, sandboxed: templates may be edited by users,
//! so they can read only the context they are given, cannot reach files or the network, and
//! cannot run or grow without bound.

use std::io;

use minijinja::{
    AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value, syntax::SyntaxConfig,
};
use serde::Serialize;
use tickler_core::language::Language;

pub use crate::context::{
    AnswerLinksView, ContractView, CustomerView, FailureView, InvoiceView, OrganisationView,
    OwnerView, QuoteView, StepView, TemplateContext,
};
use crate::templates;
use tickler_core::locale::format_date;

/// Template instructions one render may execute: far more than any sensible notice needs
/// (a built-in one takes a few hundred), far less than a runaway loop.
const FUEL: u64 = 200_000;

/// Longest subject or body a render may produce; a notice is a page, not a book.
pub const MAX_OUTPUT_BYTES: usize = 100 * 1024;

/// A rendered message text. `language` is the one actually used, which differs from the one
/// asked for when a template fell back to English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("there is no built-in template \"{0}\"")]
    UnknownTemplate(String),
    #[error("template {name}, line {line}: {message}")]
    Template {
        name: String,
        line: usize,
        message: String,
    },
    #[error("template {name} produces more than {limit} bytes")]
    TooLong { name: String, limit: usize },
}

/// A fault in a user-edited subject or body, located for an editor to point at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SourceError {
    /// `subject` or `body`.
    pub part: String,
    /// 1-based line and column (counted in characters) of the fault, when it has a place;
    /// output that grows too long has none.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl SourceError {
    fn describe(&self) -> String {
        match self.position {
            Some((line, column)) => {
                format!(
                    "{}, line {line}, column {column}: {}",
                    self.part, self.message
                )
            }
            None => format!("{}: {}", self.part, self.message),
        }
    }
}

/// Renders built-in and user-edited templates. Build one and share it: it holds the compiled
/// built-in templates.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        // No loader is set, so `{% include %}` and `{% extends %}` can reach only the
        // templates added here, never a file.
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Block tags on their own lines leave no blank lines behind: plain-text mail shows them.
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        for language in Language::ALL {
            for key in templates::KEYS {
                if let Some(builtin) = templates::builtin(key, language) {
                    env.add_template_owned(subject_name(builtin.file), builtin.subject)
                        .and_then(|()| {
                            env.add_template_owned(body_name(builtin.file), builtin.body)
                        })
                        .unwrap_or_else(|e| panic!("built-in template {}: {e}", builtin.file));
                }
            }
        }
        Self { env }
    }

    /// Renders the built-in template `template_key` in `language`, or in English when that
    /// language has no such template.
    pub fn render_builtin(
        &self,
        template_key: &str,
        language: Language,
        ctx: &TemplateContext,
    ) -> Result<Rendered, RenderError> {
        let (builtin, language) = match templates::builtin(template_key, language) {
            Some(builtin) => (builtin, language),
            None => templates::builtin(template_key, Language::En)
                .map(|builtin| (builtin, Language::En))
                .ok_or_else(|| RenderError::UnknownTemplate(template_key.to_string()))?,
        };
        let value = context_value(ctx, language);
        let subject = self
            .env
            .get_template(&subject_name(builtin.file))
            .map_err(|e| template_error(builtin.file, 0, &e))
            .and_then(|t| render_bounded(&t, value.clone(), builtin.file, 0))?;
        let body_offset = templates::Builtin::BODY_FIRST_LINE - 1;
        let body = self
            .env
            .get_template(&body_name(builtin.file))
            .map_err(|e| template_error(builtin.file, body_offset, &e))
            .and_then(|t| render_bounded(&t, value, builtin.file, body_offset))?;
        Ok(Rendered {
            subject: one_line(&subject),
            body,
            language,
        })
    }

    /// Renders a user-edited subject and body. Errors name them `subject` and `body`.
    pub fn render_source(
        &self,
        subject_source: &str,
        body_source: &str,
        language: Language,
        ctx: &TemplateContext,
    ) -> Result<Rendered, RenderError> {
        let value = context_value(ctx, language);
        let subject = self.render_str("subject", subject_source, value.clone())?;
        let body = self.render_str("body", body_source, value)?;
        Ok(Rendered {
            subject: one_line(&subject),
            body,
            language,
        })
    }

    /// Renders a user-edited subject and body like [`Renderer::render_source`], telling the
    /// line and column of a fault, for an editor to check text before it is saved.
    pub fn check_source(
        &self,
        subject_source: &str,
        body_source: &str,
        language: Language,
        ctx: &TemplateContext,
    ) -> Result<Rendered, SourceError> {
        let value = context_value(ctx, language);
        let subject = self.render_located("subject", subject_source, value.clone())?;
        let body = self.render_located("body", body_source, value)?;
        Ok(Rendered {
            subject: one_line(&subject),
            body,
            language,
        })
    }

    fn render_located(
        &self,
        name: &str,
        source: &str,
        value: Value,
    ) -> Result<String, SourceError> {
        let template = self
            .env
            .template_from_named_str(name, source)
            .map_err(|e| located_error(name, source, &e))?;
        let mut out = BoundedBuffer::default();
        match template.render_captured_to(value, &mut out) {
            Ok(_) => {}
            Err(_) if out.overflowed => {
                return Err(SourceError {
                    part: name.to_string(),
                    position: None,
                    message: format!(
                        "the text it produces is longer than {MAX_OUTPUT_BYTES} bytes"
                    ),
                });
            }
            Err(e) => return Err(located_error(name, source, &e)),
        }
        String::from_utf8(out.bytes).map_err(|_| SourceError {
            part: name.to_string(),
            position: None,
            message: "the output is not valid UTF-8".to_string(),
        })
    }

    fn render_str(&self, name: &str, source: &str, value: Value) -> Result<String, RenderError> {
        let template = self
            .env
            .template_from_named_str(name, source)
            .map_err(|e| template_error(name, 0, &e))?;
        render_bounded(&template, value, name, 0)
    }
}

fn subject_name(file: &str) -> String {
    format!("{file}#subject")
}

fn body_name(file: &str) -> String {
    format!("{file}#body")
}

/// Renders into a buffer that refuses to grow past [`MAX_OUTPUT_BYTES`]; fuel bounds the
/// time, this bounds the memory.
fn render_bounded(
    template: &minijinja::Template<'_, '_>,
    value: Value,
    name: &str,
    line_offset: usize,
) -> Result<String, RenderError> {
    let mut out = BoundedBuffer::default();
    match template.render_captured_to(value, &mut out) {
        Ok(_) => {}
        Err(_) if out.overflowed => {
            return Err(RenderError::TooLong {
                name: name.to_string(),
                limit: MAX_OUTPUT_BYTES,
            });
        }
        Err(e) => return Err(template_error(name, line_offset, &e)),
    }
    String::from_utf8(out.bytes).map_err(|_| RenderError::Template {
        name: name.to_string(),
        line: line_offset + 1,
        message: "the output is not valid UTF-8".to_string(),
    })
}

#[derive(Default)]
struct BoundedBuffer {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for BoundedBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("template output too long"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn template_error(name: &str, line_offset: usize, error: &minijinja::Error) -> RenderError {
    let message = match (error.kind(), error.detail()) {
        (ErrorKind::OutOfFuel, _) => {
            "the template takes too many steps to render (an endless or very long loop?)"
                .to_string()
        }
        (kind, Some(detail)) => format!("{kind}: {detail}"),
        (kind, None) => kind.to_string(),
    };
    RenderError::Template {
        name: name.to_string(),
        line: error.line().unwrap_or(1) + line_offset,
        message,
    }
}

/// The error with its line and column in `source`: the column comes from the byte range
/// minijinja gives, else the error is placed at the start of its line.
fn located_error(name: &str, source: &str, error: &minijinja::Error) -> SourceError {
    let message = match template_error(name, 0, error) {
        RenderError::Template { message, .. } => message,
        other => other.to_string(),
    };
    let position = match error.range().filter(|r| r.start <= source.len()) {
        Some(range) => position_of(source, range.start),
        None => (error.line().unwrap_or(1), 1),
    };
    SourceError {
        part: name.to_string(),
        position: Some(position),
        message,
    }
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
fn position_of(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// Subjects are one line; a template's trailing newline or a stray line break must not leak
/// into the header (message building would blank it anyway).
fn one_line(subject: &str) -> String {
    subject.trim().to_string()
}

/// The context as templates see it: dates and money already written for the language.
fn context_value(ctx: &TemplateContext, language: Language) -> Value {
    Value::from(minijinja::value::Serde(FormattedContext::new(
        ctx, language,
    )))
}

#[derive(Serialize)]
struct FormattedContext<'a> {
    customer: &'a CustomerView,
    contract: FormattedContract<'a>,
    owner: &'a Option<OwnerView>,
    organisation: &'a OrganisationView,
    step: &'a StepView,
    days_left: i64,
    failure: &'a Option<FailureView>,
    invoice: Option<FormattedInvoice<'a>>,
    links: &'a Option<AnswerLinksView>,
    quote: Option<FormattedQuote<'a>>,
    language: &'static str,
}

#[derive(Serialize)]
struct FormattedQuote<'a> {
    number: &'a str,
    valid_until: String,
    term_start: String,
    term_end: String,
    valid_until_iso: String,
    term_start_iso: String,
    term_end_iso: String,
    subtotal: String,
    tax: String,
    total: String,
    accept_url: Option<&'a str>,
    decline_url: Option<&'a str>,
}

impl<'a> FormattedQuote<'a> {
    fn new(quote: &'a QuoteView, language: Language) -> Self {
        FormattedQuote {
            number: &quote.number,
            valid_until: format_date(quote.valid_until, language),
            term_start: format_date(quote.term_start, language),
            term_end: format_date(quote.term_end, language),
            valid_until_iso: quote.valid_until.to_string(),
            term_start_iso: quote.term_start.to_string(),
            term_end_iso: quote.term_end.to_string(),
            subtotal: quote.subtotal.format(language),
            tax: quote.tax.format(language),
            total: quote.total.format(language),
            accept_url: quote.accept_url.as_deref(),
            decline_url: quote.decline_url.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct FormattedContract<'a> {
    title: &'a str,
    start_date: String,
    end_date: String,
    start_date_iso: String,
    end_date_iso: String,
    notice_date: Option<String>,
    notice_date_iso: Option<String>,
    amount: Option<String>,
    custom: &'a serde_json::Map<String, serde_json::Value>,
    noun: &'a str,
}

#[derive(Serialize)]
struct FormattedInvoice<'a> {
    number: Option<&'a str>,
    reference: &'a str,
    period_start: String,
    period_end: String,
    issue_date: String,
    due_date: String,
    period_start_iso: String,
    period_end_iso: String,
    issue_date_iso: String,
    due_date_iso: String,
    subtotal: String,
    tax: String,
    total: String,
    paid: String,
    balance: String,
    // Formatted amounts cannot be compared in a template, so the two questions templates ask
    // about them are answered here.
    has_payments: bool,
    fully_paid: bool,
    days_overdue: i64,
    // Templates before the due date read better counting down than with a negative number.
    days_to_due: i64,
}

impl<'a> FormattedInvoice<'a> {
    fn new(invoice: &'a InvoiceView, language: Language) -> Self {
        FormattedInvoice {
            number: invoice.number.as_deref(),
            reference: &invoice.reference,
            period_start: format_date(invoice.period_start, language),
            period_end: format_date(invoice.period_end, language),
            issue_date: format_date(invoice.issue_date, language),
            due_date: format_date(invoice.due_date, language),
            period_start_iso: invoice.period_start.to_string(),
            period_end_iso: invoice.period_end.to_string(),
            issue_date_iso: invoice.issue_date.to_string(),
            due_date_iso: invoice.due_date.to_string(),
            subtotal: invoice.subtotal.format(language),
            tax: invoice.tax.format(language),
            total: invoice.total.format(language),
            paid: invoice.paid.format(language),
            balance: invoice.balance.format(language),
            has_payments: invoice.paid.minor != 0,
            fully_paid: invoice.balance.minor <= 0,
            days_overdue: invoice.days_overdue,
            days_to_due: invoice.days_overdue.saturating_neg(),
        }
    }
}

impl<'a> FormattedContext<'a> {
    fn new(ctx: &'a TemplateContext, language: Language) -> Self {
        let contract = &ctx.contract;
        FormattedContext {
            customer: &ctx.customer,
            contract: FormattedContract {
                title: &contract.title,
                start_date: format_date(contract.start_date, language),
                end_date: format_date(contract.end_date, language),
                start_date_iso: contract.start_date.to_string(),
                end_date_iso: contract.end_date.to_string(),
                notice_date: contract.notice_date.map(|d| format_date(d, language)),
                notice_date_iso: contract.notice_date.map(|d| d.to_string()),
                amount: contract.amount.map(|money| money.format(language)),
                custom: &contract.custom,
                noun: &contract.noun,
            },
            owner: &ctx.owner,
            organisation: &ctx.organisation,
            step: &ctx.step,
            days_left: ctx.days_left,
            failure: &ctx.failure,
            invoice: ctx
                .invoice
                .as_ref()
                .map(|invoice| FormattedInvoice::new(invoice, language)),
            links: &ctx.links,
            quote: ctx
                .quote
                .as_ref()
                .map(|quote| FormattedQuote::new(quote, language)),
            language: language.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use tickler_core::email::EmailAddress;

    use super::*;

    fn context() -> TemplateContext {
        let address = |a: &str| EmailAddress::parse("email", a).expect("address");
        TemplateContext {
            customer: CustomerView {
                name: "Kanto Precision".to_string(),
                emails: vec![address("it@kanto.example")],
                language: Language::En,
            },
            contract: ContractView {
                title: "SM-2041".to_string(),
                start_date: date(2026, 4, 1),
                end_date: date(2027, 3, 31),
                amount: None,
                notice_date: None,
                noun: "maintenance contract".to_string(),
                custom: serde_json::Map::new(),
            },
            owner: None,
            organisation: OrganisationView {
                name: "Acme".to_string(),
                email: address("office@acme.example"),
                iban: Some("DE89 3704 0044 0532 0130 00".to_string()),
                bank: Some("Example Bank".to_string()),
            },
            step: StepView {
                key: "before_60".to_string(),
                label: "Renewal".to_string(),
            },
            days_left: 60,
            failure: None,
            invoice: None,
            links: None,
            quote: None,
        }
    }

    #[test]
    fn positions_count_characters_from_one() {
        assert_eq!(position_of("abc", 0), (1, 1));
        assert_eq!(position_of("ab\ncd", 4), (2, 2));
        assert_eq!(position_of("日本\nx", 3), (1, 2));
        assert_eq!(position_of("x", 99), (1, 2));
    }

    #[test]
    fn undefined_values_are_located_by_line_and_column() {
        let err = Renderer::new()
            .check_source(
                "ok",
                "Dear all,\n  Ends {{ contract.nonexistent }}\n",
                Language::En,
                &context(),
            )
            .unwrap_err();
        assert_eq!(err.part, "body");
        let (line, column) = err.position.expect("a position");
        assert_eq!(line, 2);
        assert!((8..=12).contains(&column), "column {column}: {err}");
        assert!(
            err.to_string().starts_with("body, line 2, column "),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_are_located_by_line_and_column() {
        let err = Renderer::new()
            .check_source("Hi {% if %}", "x", Language::En, &context())
            .unwrap_err();
        assert_eq!(err.part, "subject");
        let (line, column) = err.position.expect("a position");
        assert_eq!(line, 1);
        assert!(column > 1, "{err}");
    }

    #[test]
    fn runaway_and_huge_templates_are_refused() {
        let renderer = Renderer::new();
        let started = std::time::Instant::now();
        let err = renderer
            .check_source(
                "s",
                "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
                Language::En,
                &context(),
            )
            .unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{err}"
        );
        let err = renderer
            .check_source("s", "{{ 'x' * 200000 }}", Language::En, &context())
            .unwrap_err();
        assert_eq!(err.position, None, "{err}");
        let ok = renderer
            .check_source(
                "Hi {{ customer.name }}",
                "{{ contract.title }}",
                Language::En,
                &context(),
            )
            .expect("renders");
        assert_eq!(ok.subject, "Hi Kanto Precision");
    }
}

//! Turns a reminder and its contract into the message that goes out: the person's wording
//! if they edited it, else the step's template in the customer's language (the team's
//! rewritten text when there is one, else the built-in).

use jiff::Timestamp;
use tickler_core::{
    ValidationError,
    email::EmailAddress,
    language::Language,
    subject::{SubjectKind, SubjectRef, TermSubject},
};
use tickler_core::{
    contract::{Contract, ContractStatus},
    customer::Customer,
    user::User,
};
use tickler_mail::{
    OutgoingMessage, Rendered, TemplateContext,
    context::{ContractView, CustomerView, FailureView, OrganisationView, OwnerView, StepView},
};
use tickler_store::{
    Db,
    contracts::{self, ContractTerm},
    customers,
    reminders::Reminder,
    template_overrides::{self, TemplateOverride},
    users,
};

use crate::{Engine, EngineError};

/// A reminder's subject with the records its message is made from.
pub(crate) struct Subject {
    /// The contract term the reminder is about (the only kind of subject planned so far).
    pub term: ContractTerm,
    pub contract: Contract,
    pub customer: Customer,
    pub owner: Option<User>,
    /// The team's rewritten templates in the customer's language and in English.
    pub overrides: Vec<TemplateOverride>,
}

impl Subject {
    pub(crate) async fn load(db: &mut Db, subject: SubjectRef) -> Result<Subject, EngineError> {
        SubjectLoader::default().load(db, subject).await
    }

    /// The subject of a contract's current term.
    pub(crate) async fn of_current_term(
        db: &mut Db,
        contract_id: i64,
    ) -> Result<Subject, EngineError> {
        let contract = contracts::get(db, contract_id).await?;
        let term = contracts::current_term(db, &contract).await?;
        SubjectLoader::default().load_term(db, term, contract).await
    }

    pub(crate) fn reference(&self) -> SubjectRef {
        SubjectRef::contract_term(self.term.id)
    }

    /// The term as the core's rules see it: its anchor dates and its stop rules.
    pub(crate) fn term_subject(&self) -> TermSubject {
        TermSubject {
            term_number: self.term.term_number,
            start_date: self.term.start_date,
            end_date: self.term.end_date,
            current_term_number: self.contract.term_number,
            contract_terminated: self.contract.status == ContractStatus::Terminated,
        }
    }
}

/// Loads the subjects of many reminders (a list page) reading each customer, owner and
/// language's templates once, not once per row.
#[derive(Default)]
pub(crate) struct SubjectLoader {
    customers: std::collections::HashMap<i64, Customer>,
    owners: std::collections::HashMap<i64, User>,
    overrides: std::collections::HashMap<tickler_core::language::Language, Vec<TemplateOverride>>,
}

impl SubjectLoader {
    pub(crate) async fn load(
        &mut self,
        db: &mut Db,
        subject: SubjectRef,
    ) -> Result<Subject, EngineError> {
        match subject.kind {
            SubjectKind::ContractTerm => {
                let term = contracts::term(db, subject.id).await?;
                let contract = contracts::get(db, term.contract_id).await?;
                self.load_term(db, term, contract).await
            }
            other => Err(EngineError::Store(tickler_store::StoreError::Corrupt(
                format!(
                    "a reminder is about {other} {}, which this version of Tickler does not send",
                    subject.id
                ),
            ))),
        }
    }

    async fn load_term(
        &mut self,
        db: &mut Db,
        term: ContractTerm,
        contract: Contract,
    ) -> Result<Subject, EngineError> {
        let customer = match self.customers.get(&contract.customer_id) {
            Some(customer) => customer.clone(),
            None => {
                let customer = customers::get(db, contract.customer_id).await?;
                self.customers.insert(customer.id, customer.clone());
                customer
            }
        };
        let owner = match contract.owner_id {
            Some(id) => Some(match self.owners.get(&id) {
                Some(owner) => owner.clone(),
                None => {
                    let owner = users::get(db, id).await?;
                    self.owners.insert(id, owner.clone());
                    owner
                }
            }),
            None => None,
        };
        let overrides = match self.overrides.get(&customer.language) {
            Some(overrides) => overrides.clone(),
            None => {
                let overrides = template_overrides::for_language(db, customer.language).await?;
                self.overrides.insert(customer.language, overrides.clone());
                overrides
            }
        };
        Ok(Subject {
            term,
            contract,
            customer,
            owner,
            overrides,
        })
    }
}

impl Engine {
    pub(crate) fn template_context(
        &self,
        reminder: &Reminder,
        subject: &Subject,
        failure: Option<FailureView>,
    ) -> TemplateContext {
        self.context_for(
            subject,
            StepView {
                key: reminder.step_key.clone(),
                label: reminder.label.clone(),
            },
            reminder.send_at,
            failure,
        )
    }

    /// The context of a message about `subject`'s contract for `step`, sent at `send_at`.
    pub(crate) fn context_for(
        &self,
        subject: &Subject,
        step: StepView,
        send_at: Timestamp,
        failure: Option<FailureView>,
    ) -> TemplateContext {
        let contract = &subject.contract;
        let money = contract.money();
        let send_date = send_at
            .to_zoned_datetime(self.customer_zone(&subject.customer))
            .date();
        let days_left = i64::from(
            send_date
                .until(subject.term.end_date)
                .map(|span| span.get_days())
                .unwrap_or(0),
        );
        TemplateContext {
            customer: CustomerView {
                name: subject.customer.name.clone(),
                emails: valid_addresses(&subject.customer.emails),
                language: subject.customer.language,
            },
            contract: ContractView {
                title: contract.title.clone(),
                start_date: subject.term.start_date,
                end_date: subject.term.end_date,
                amount: money,
                custom: contract.custom_fields.clone(),
            },
            owner: subject.owner.as_ref().map(|o| OwnerView {
                name: o.name.clone(),
                email: EmailAddress::parse("owner", &o.email).ok(),
            }),
            organisation: OrganisationView {
                name: self.settings.organisation_name.clone(),
                email: self.settings.mail_from.address.clone(),
                iban: self
                    .organisation()
                    .bank_iban
                    .as_ref()
                    .map(|iban| iban.grouped()),
                bank: self.organisation().bank_name.clone(),
            },
            step,
            days_left,
            failure,
            invoice: None,
        }
    }

    /// Subject and body as they will be sent.
    pub(crate) fn render(
        &self,
        reminder: &Reminder,
        subject: &Subject,
    ) -> Result<Rendered, EngineError> {
        let language = subject.customer.language;
        if let (Some(s), Some(b)) = (&reminder.subject, &reminder.body) {
            return Ok(Rendered {
                subject: s.clone(),
                body: b.clone(),
                language,
            });
        }
        let ctx = self.template_context(reminder, subject, None);
        let mut rendered = self.render_template(&reminder.template, language, subject, &ctx)?;
        if let Some(s) = &reminder.subject {
            rendered.subject = s.clone();
        }
        if let Some(b) = &reminder.body {
            rendered.body = b.clone();
        }
        Ok(rendered)
    }

    /// Renders `template` in `language`: the team's text in that language, else the built-in
    /// one, else the team's English text, else the built-in English one.
    pub(crate) fn render_template(
        &self,
        template: &str,
        language: Language,
        subject: &Subject,
        ctx: &TemplateContext,
    ) -> Result<Rendered, EngineError> {
        let find = |language: Language| {
            subject
                .overrides
                .iter()
                .find(|o| o.template == template && o.language == language)
        };
        let chosen = find(language).or_else(|| {
            if tickler_mail::templates::builtin(template, language).is_some() {
                None
            } else {
                find(Language::En)
            }
        });
        Ok(match chosen {
            Some(o) => self
                .renderer
                .render_source(&o.subject, &o.body, o.language, ctx)?,
            None => self.renderer.render_builtin(template, language, ctx)?,
        })
    }

    pub(crate) fn outgoing(
        &self,
        reminder: &Reminder,
        rendered: Rendered,
        date: Timestamp,
    ) -> Result<OutgoingMessage, ValidationError> {
        let parse_all = |field: &str, list: &[String]| {
            list.iter()
                .map(|a| EmailAddress::parse(field, a))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(OutgoingMessage {
            message_id: reminder.message_id.clone(),
            from: self.settings.mail_from.clone(),
            to: parse_all("to", &reminder.to)?,
            cc: parse_all("cc", &reminder.cc)?,
            subject: rendered.subject,
            body: rendered.body,
            language: rendered.language,
            date,
            attachments: Vec::new(),
        })
    }
}

pub(crate) fn failure_view(reminder: &Reminder, subject_line: &str, reply: &str) -> FailureView {
    FailureView {
        reply: reply.to_string(),
        subject: subject_line.to_string(),
        recipients: valid_addresses(&reminder.to),
    }
}

/// Addresses were checked when stored; one that no longer parses is left out of templates
/// rather than failing them.
fn valid_addresses(list: &[String]) -> Vec<EmailAddress> {
    list.iter()
        .filter_map(|a| EmailAddress::parse("email", a).ok())
        .collect()
}

//! The built-in templates in every language, and the sandbox around user-edited ones.

use jiff::civil::date;
use tickler_core::{
    email::EmailAddress,
    language::Language,
    money::{Currency, Money},
};
use tickler_mail::{
    RenderError, Renderer, TemplateContext,
    context::{
        AnswerLinksView, ContractView, CustomerView, FailureView, InvoiceView, OrganisationView,
        OwnerView, QuoteView, StepView,
    },
    templates,
};

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse("email", text).unwrap()
}

fn eur(minor: i64) -> Money {
    Money {
        minor,
        currency: Currency::EUR,
    }
}

/// The second monthly invoice of a support subscription, partly prepaid, a week overdue.
fn invoice() -> InvoiceView {
    InvoiceView {
        number: Some("INV-2027-0042".to_string()),
        period_start: date(2027, 3, 1),
        period_end: date(2027, 3, 31),
        issue_date: date(2027, 3, 1),
        due_date: date(2027, 3, 15),
        subtotal: eur(250_000),
        tax: eur(60_000),
        total: eur(310_000),
        paid: eur(100_000),
        balance: eur(210_000),
        reference: "INV-2027-0042".to_string(),
        days_overdue: 7,
    }
}

fn quote() -> QuoteView {
    let eur = |minor| Money {
        minor,
        currency: Currency::EUR,
    };
    QuoteView {
        number: "Q-12".to_string(),
        valid_until: date(2027, 3, 1),
        term_start: date(2027, 4, 1),
        term_end: date(2028, 3, 31),
        subtotal: eur(100_000),
        tax: eur(24_000),
        total: eur(124_000),
        accept_url: Some("https://tickler.example/answer/ACCEPT-TOKEN".to_string()),
        decline_url: Some("https://tickler.example/answer/DECLINE-TOKEN".to_string()),
    }
}

fn full_context() -> TemplateContext {
    let mut custom = serde_json::Map::new();
    custom.insert("site".into(), "Osaka plant, building 2".into());
    custom.insert("units".into(), 3.into());
    TemplateContext {
        customer: CustomerView {
            name: "Kanto Precision Ltd".to_string(),
            emails: vec![address("it@kanto.example"), address("office@kanto.example")],
            language: Language::Ja,
        },
        contract: ContractView {
            title: "Server maintenance SM-2041".to_string(),
            start_date: date(2026, 4, 1),
            end_date: date(2027, 3, 31),
            amount: Some(Money {
                minor: 123_450,
                currency: Currency::parse("currency", "EUR").unwrap(),
            }),
            notice_date: Some(date(2027, 3, 1)),
            custom,
            noun: "maintenance contract".to_string(),
        },
        owner: Some(OwnerView {
            name: "Hana Sato".to_string(),
            email: Some(address("sato@acme.example")),
        }),
        organisation: OrganisationView {
            name: "Acme Maintenance".to_string(),
            email: address("office@acme.example"),
            iban: Some("DE89 3704 0044 0532 0130 00".to_string()),
            bank: Some("Example Bank".to_string()),
        },
        step: StepView {
            key: "before_60".to_string(),
            label: "Acknowledgement of renewal".to_string(),
        },
        days_left: 60,
        failure: Some(FailureView {
            reply: "550 5.1.1 No such user".to_string(),
            subject: "Acknowledgement of renewal".to_string(),
            recipients: vec![address("it@kanto.example")],
        }),
        invoice: Some(invoice()),
        links: Some(AnswerLinksView {
            renew: "https://tickler.acme.example/answer/AQEA.renew".to_string(),
            decline: "https://tickler.acme.example/answer/AQIA.decline".to_string(),
            quote: "https://tickler.acme.example/answer/AQMA.quote".to_string(),
        }),
        quote: Some(quote()),
    }
}

#[test]
fn renewal_emails_carry_the_answer_links_or_ask_for_a_reply() {
    let renderer = Renderer::new();
    let with_links = full_context();
    let without_links = TemplateContext {
        links: None,
        ..full_context()
    };
    for language in Language::ALL {
        for key in ["before_60", "before_30", "before_7", "sale_ending"] {
            let body = renderer
                .render_builtin(key, language, &with_links)
                .expect("renders")
                .body;
            for url in ["AQEA.renew", "AQIA.decline", "AQMA.quote"] {
                assert!(body.contains(url), "{language}/{key} lacks {url}: {body}");
            }
            let body = renderer
                .render_builtin(key, language, &without_links)
                .expect("renders")
                .body;
            assert!(!body.contains("/answer/"), "{language}/{key}");
            assert!(
                !body.contains("\n\n\n"),
                "{language}/{key} has a gap: {body}"
            );
        }
        let body = renderer
            .render_builtin("auto_renewal_notice", language, &with_links)
            .expect("renders")
            .body;
        assert!(body.contains("AQIA.decline"), "{language}: {body}");
        assert!(
            !body.contains("AQEA.renew"),
            "{language}: renewing needs no click"
        );
    }
}

#[test]
fn every_builtin_renders_in_every_language_with_a_full_context() {
    let renderer = Renderer::new();
    let ctx = full_context();
    for language in Language::ALL {
        for key in templates::KEYS {
            let rendered = renderer
                .render_builtin(key, language, &ctx)
                .unwrap_or_else(|e| panic!("{language}/{key}: {e}"));
            assert_eq!(rendered.language, language);
            assert!(!rendered.subject.is_empty());
            assert!(!rendered.subject.contains('\n'), "{language}/{key}");
            assert!(
                rendered.body.contains("Kanto Precision Ltd"),
                "{language}/{key}"
            );
            assert!(!rendered.body.contains("{{"), "{language}/{key}");
            assert!(!rendered.body.contains("{%"), "{language}/{key}");
            assert!(
                !rendered.body.contains("\n\n\n"),
                "{language}/{key} has stray blank lines:\n{}",
                rendered.body
            );
        }
    }
}

#[test]
fn dates_amounts_and_politeness_are_in_the_readers_language() {
    let renderer = Renderer::new();
    let ctx = full_context();

    let en = renderer
        .render_builtin("before_60", Language::En, &ctx)
        .unwrap();
    assert_eq!(
        en.subject,
        "Renewal notice: please renew Server maintenance SM-2041"
    );
    assert!(en.body.starts_with("Dear Kanto Precision Ltd,"));
    assert!(en.body.contains("expires on 31 March 2027, in 60 days."));
    assert!(
        en.body
            .contains(&ctx.contract.amount.unwrap().format(Language::En))
    );
    assert!(en.body.contains("Yours sincerely,"));

    let ja = renderer
        .render_builtin("before_60", Language::Ja, &ctx)
        .unwrap();
    assert!(ja.subject.contains("ご契約更新のお願い"));
    assert!(ja.body.contains("平素より格別のご高配を賜り"));
    assert!(ja.body.contains("2027年3月31日をもちまして"));
    assert!(ja.body.contains("（あと60日）"));
    assert!(
        ja.body
            .contains(&ctx.contract.amount.unwrap().format(Language::Ja))
    );

    let el = renderer
        .render_builtin("before_7", Language::El, &ctx)
        .unwrap();
    assert!(el.body.starts_with("Αγαπητέ/ή Kanto Precision Ltd,"));
    assert!(el.body.contains("λήγει στις 31 Μαρτίου 2027"));
    assert!(el.body.contains("Με εκτίμηση,"));
    assert!(
        el.body
            .contains(&ctx.contract.amount.unwrap().format(Language::El))
    );

    let failed = renderer
        .render_builtin("delivery_failed", Language::En, &ctx)
        .unwrap();
    assert!(failed.body.contains("Server reply: 550 5.1.1 No such user"));
    assert!(failed.body.contains("site: Osaka plant, building 2"));
    assert!(failed.body.contains("Recipients: it@kanto.example"));
}

#[test]
fn optional_parts_disappear_when_absent() {
    let renderer = Renderer::new();
    let mut ctx = full_context();
    ctx.contract.amount = None;
    ctx.owner = None;
    ctx.failure = None;
    for language in Language::ALL {
        for key in ["before_60", "before_30", "before_7", "after_7"] {
            let rendered = renderer.render_builtin(key, language, &ctx).unwrap();
            assert!(!rendered.body.contains("Hana Sato"), "{language}/{key}");
            assert!(!rendered.body.contains("1,234"), "{language}/{key}");
            assert!(!rendered.body.contains("1.234"), "{language}/{key}");
        }
    }
    // The failure notice without a failure is a caller's mistake, reported, not a blank.
    assert!(matches!(
        renderer.render_builtin("delivery_failed", Language::En, &ctx),
        Err(RenderError::Template { .. })
    ));
}

#[test]
fn after_expiry_the_final_notice_speaks_in_the_past() {
    let renderer = Renderer::new();
    let mut ctx = full_context();
    ctx.days_left = -2;
    let en = renderer
        .render_builtin("before_7", Language::En, &ctx)
        .unwrap();
    assert!(
        en.body.contains("which expired on 31 March 2027."),
        "{}",
        en.body
    );
    ctx.days_left = 1;
    let en = renderer
        .render_builtin("before_7", Language::En, &ctx)
        .unwrap();
    assert!(
        en.body.contains("expires on 31 March 2027, tomorrow."),
        "{}",
        en.body
    );
}

#[test]
fn unknown_templates_are_named() {
    let err = Renderer::new()
        .render_builtin("before_90", Language::Ja, &full_context())
        .unwrap_err();
    assert_eq!(err, RenderError::UnknownTemplate("before_90".to_string()));
    assert!(err.to_string().contains("before_90"));
}

#[test]
fn strict_undefined_errors_name_the_template_and_line() {
    let renderer = Renderer::new();
    let ctx = full_context();
    let err = renderer
        .render_source(
            "Hello {{ customer.name }}",
            "Line one\nLine two\nDear {{ customer.nmae }}\n",
            Language::En,
            &ctx,
        )
        .unwrap_err();
    match &err {
        RenderError::Template {
            name,
            line,
            message,
        } => {
            assert_eq!(name, "body");
            assert_eq!(*line, 3);
            assert!(message.contains("undefined"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().starts_with("template body, line 3:"),
        "{err}"
    );

    let err = renderer
        .render_source("{{ nothing }}", "x", Language::En, &ctx)
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::Template { name, line: 1, .. } if name == "subject"),
        "{err:?}"
    );

    // An undefined value in a condition is an error too, not a silent false.
    let err = renderer
        .render_source(
            "x",
            "a\n{% if contract.discount %}y{% endif %}",
            Language::En,
            &ctx,
        )
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Template { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn syntax_errors_name_the_template_and_line() {
    let err = Renderer::new()
        .render_source("ok", "one\ntwo {% if %}\n", Language::En, &full_context())
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::Template { name, line: 2, .. } if name == "body"),
        "{err:?}"
    );
}

#[test]
fn runaway_templates_run_out_of_fuel_instead_of_hanging() {
    let renderer = Renderer::new();
    let ctx = full_context();
    let started = std::time::Instant::now();
    for body in [
        "{% for i in range(100000000) %}x{% endfor %}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    ] {
        let err = renderer
            .render_source("s", body, Language::En, &ctx)
            .unwrap_err();
        assert!(matches!(err, RenderError::Template { .. }), "{err:?}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn huge_output_is_refused() {
    let err = Renderer::new()
        .render_source("s", "{{ 'x' * 200000 }}", Language::En, &full_context())
        .unwrap_err();
    assert!(matches!(err, RenderError::TooLong { .. }), "{err:?}");
}

#[test]
fn no_file_access_and_no_html_escaping() {
    let renderer = Renderer::new();
    let ctx = full_context();
    let err = renderer
        .render_source("s", "{% include '/etc/passwd' %}", Language::En, &ctx)
        .unwrap_err();
    assert!(matches!(err, RenderError::Template { .. }));
    let mut ctx = ctx;
    ctx.customer.name = "Smith & Sons <Ltd>".to_string();
    let rendered = renderer
        .render_source(
            "{{ customer.name }}",
            "{{ customer.name }}",
            Language::En,
            &ctx,
        )
        .unwrap();
    assert_eq!(rendered.body, "Smith & Sons <Ltd>");
}

#[test]
fn user_templates_see_formatted_and_iso_dates() {
    let rendered = Renderer::new()
        .render_source(
            "{{ contract.end_date }}",
            "{{ contract.end_date_iso }} {{ contract.start_date }} {{ step.key }} {{ days_left }}",
            Language::El,
            &full_context(),
        )
        .unwrap();
    assert_eq!(rendered.subject, "31 Μαρτίου 2027");
    assert_eq!(rendered.body, "2027-03-31 1 Απριλίου 2026 before_60 60");
}

#[test]
fn user_templates_see_the_invoice_formatted_and_raw() {
    let rendered = Renderer::new()
        .render_source(
            "{{ invoice.number }}",
            "{{ invoice.total }} {{ invoice.balance }} {{ invoice.due_date }} \
             {{ invoice.due_date_iso }} {{ invoice.period_start_iso }}..{{ invoice.period_end_iso }} \
             {{ invoice.days_overdue }} {{ invoice.days_to_due }} \
             {% if invoice.has_payments %}part{% endif %}{% if invoice.fully_paid %}paid{% endif %} \
             {{ invoice.reference }}",
            Language::El,
            &full_context(),
        )
        .unwrap();
    assert_eq!(rendered.subject, "INV-2027-0042");
    assert_eq!(
        rendered.body,
        "3.100,00 € 2.100,00 € 15 Μαρτίου 2027 2027-03-15 2027-03-01..2027-03-31 7 -7 part \
         INV-2027-0042"
    );
    let ja = Renderer::new()
        .render_source(
            "x",
            "{{ invoice.subtotal }} + {{ invoice.tax }} = {{ invoice.total }}, {{ invoice.issue_date }}",
            Language::Ja,
            &full_context(),
        )
        .unwrap();
    assert_eq!(
        ja.body,
        "2,500.00 EUR + 600.00 EUR = 3,100.00 EUR, 2027年3月1日"
    );
}

#[test]
fn a_context_without_an_invoice_loads_from_json() {
    // A context written as JSON by anything that knows nothing of invoices (or before they
    // existed) has no `invoice` key; it loads, and only a template that needs one fails.
    let mut json = serde_json::to_value(full_context()).unwrap();
    json.as_object_mut().unwrap().remove("invoice");
    let ctx: TemplateContext = serde_json::from_value(json).unwrap();
    assert_eq!(ctx.invoice, None);
    let err = Renderer::new()
        .render_source("x", "{{ invoice.total }}", Language::En, &ctx)
        .unwrap_err();
    assert!(matches!(err, RenderError::Template { .. }), "{err:?}");
}

/// The templates of the subscription and dunning plans and the issued invoice.
const INVOICE_KEYS: [&str; 9] = [
    "invoice_upcoming",
    "sale_ending",
    "sale_ended",
    "payment_due_soon",
    "payment_overdue_7",
    "payment_overdue_21",
    "payment_overdue_30_task",
    "payment_overdue_30_team",
    templates::INVOICE_ISSUED,
];

/// The context a step of the subscription or dunning plan is rendered with: the invoice as
/// it stands on that step's day.
fn context_for(key: &str) -> TemplateContext {
    let mut ctx = full_context();
    ctx.failure = None;
    let invoice = ctx
        .invoice
        .as_mut()
        .expect("the full context has an invoice");
    match key {
        "invoice_upcoming" => {
            invoice.number = None;
            invoice.reference = "Acme support 2027-03".to_string();
            invoice.paid = eur(0);
            invoice.balance = invoice.total;
            invoice.days_overdue = -21;
        }
        "payment_due_soon" => invoice.days_overdue = -3,
        "payment_overdue_7" => invoice.days_overdue = 7,
        "payment_overdue_21" => invoice.days_overdue = 21,
        "payment_overdue_30_task" | "payment_overdue_30_team" => invoice.days_overdue = 30,
        "invoice_issued" => invoice.days_overdue = -14,
        "sale_ending" => ctx.days_left = 30,
        "sale_ended" => ctx.days_left = 0,
        _ => {}
    }
    ctx
}

/// What each rendered template must show, whatever the language: the facts a reader acts on.
fn expected_facts(key: &str, ctx: &TemplateContext, language: Language) -> Vec<String> {
    let invoice = ctx.invoice.as_ref().expect("an invoice");
    let number = || invoice.number.clone().expect("an issued invoice");
    let iban = || ctx.organisation.iban.clone().expect("an IBAN");
    let money = |m: Money| m.format(language);
    match key {
        "invoice_upcoming" => vec![
            money(invoice.total),
            invoice.reference.clone(),
            iban(),
            tickler_core::locale::format_date(invoice.issue_date, language),
        ],
        "sale_ending" | "sale_ended" => vec![
            ctx.contract.title.clone(),
            tickler_core::locale::format_date(ctx.contract.end_date, language),
        ],
        "payment_due_soon" | "invoice_issued" => vec![
            number(),
            money(invoice.total),
            money(invoice.balance),
            iban(),
            tickler_core::locale::format_date(invoice.due_date, language),
        ],
        "payment_overdue_7" | "payment_overdue_21" => {
            vec![number(), money(invoice.balance), iban()]
        }
        "payment_overdue_30_task" => vec![
            number(),
            money(invoice.balance),
            invoice.days_overdue.to_string(),
        ],
        "payment_overdue_30_team" => {
            vec![number(), money(invoice.balance), "Hana Sato".to_string()]
        }
        other => panic!("no expectations for {other}"),
    }
}

#[test]
fn invoice_templates_render_in_every_language_with_their_facts() {
    let renderer = Renderer::new();
    for key in INVOICE_KEYS {
        let ctx = context_for(key);
        for language in Language::ALL {
            let rendered = renderer
                .render_builtin(key, language, &ctx)
                .unwrap_or_else(|e| panic!("{language}/{key}: {e}"));
            assert_eq!(rendered.language, language);
            assert!(!rendered.subject.is_empty(), "{language}/{key}");
            assert!(!rendered.subject.contains('\n'), "{language}/{key}");
            for fact in expected_facts(key, &ctx, language) {
                assert!(
                    rendered.body.contains(&fact),
                    "{language}/{key} lacks {fact:?}:\n{}",
                    rendered.body
                );
            }
            for text in [&rendered.subject, &rendered.body] {
                assert!(
                    !text.contains("{{") && !text.contains("{%"),
                    "{language}/{key}"
                );
                // An absent number must never print as minijinja's "none".
                assert!(!text.contains("none"), "{language}/{key}: {text}");
            }
            assert!(
                !rendered.body.contains("\n\n\n"),
                "{language}/{key} has stray blank lines:\n{}",
                rendered.body
            );
        }
    }
}

#[test]
fn invoice_subjects_name_the_invoice() {
    let renderer = Renderer::new();
    for key in INVOICE_KEYS {
        let ctx = context_for(key);
        let invoice = ctx.invoice.as_ref().unwrap();
        for language in Language::ALL {
            let subject = renderer
                .render_builtin(key, language, &ctx)
                .unwrap()
                .subject;
            // Before an invoice has a number, and for the sale itself, the title names it.
            let names_it = match (&invoice.number, key.starts_with("sale_")) {
                (Some(number), false) => subject.contains(number.as_str()),
                _ => subject.contains(&ctx.contract.title),
            };
            assert!(names_it, "{language}/{key}: {subject}");
        }
    }
}

#[test]
fn the_iban_block_disappears_without_an_iban() {
    let renderer = Renderer::new();
    for key in INVOICE_KEYS {
        let mut ctx = context_for(key);
        ctx.organisation.iban = None;
        for language in Language::ALL {
            let rendered = renderer
                .render_builtin(key, language, &ctx)
                .unwrap_or_else(|e| panic!("{language}/{key}: {e}"));
            assert!(!rendered.body.contains("IBAN"), "{language}/{key}");
            assert!(!rendered.body.contains("Example Bank"), "{language}/{key}");
            assert!(
                !rendered.body.contains("Acme support 2027-03"),
                "{language}/{key}: the reference is only for a transfer"
            );
            assert!(
                !rendered.body.contains("\n\n\n"),
                "{language}/{key} has stray blank lines:\n{}",
                rendered.body
            );
        }
    }
}

#[test]
fn greek_and_japanese_invoice_texts_have_no_english_left() {
    let renderer = Renderer::new();
    // Latin words the translations keep on purpose: the bank's term, the file type, the
    // currency code that Japanese amounts carry, and the product's name.
    let allowed = ["IBAN", "PDF", "EUR", "Tickler"];
    for key in INVOICE_KEYS {
        let ctx = context_for(key);
        let invoice = ctx.invoice.as_ref().unwrap();
        let mut values: Vec<String> = vec![
            ctx.customer.name.clone(),
            ctx.contract.title.clone(),
            ctx.organisation.name.clone(),
            ctx.organisation.email.to_string(),
            ctx.organisation.iban.clone().unwrap(),
            ctx.organisation.bank.clone().unwrap(),
            invoice.reference.clone(),
        ];
        values.extend(ctx.customer.emails.iter().map(ToString::to_string));
        values.extend(invoice.number.clone());
        if let Some(links) = &ctx.links {
            values.extend([
                links.renew.clone(),
                links.decline.clone(),
                links.quote.clone(),
            ]);
        }
        if let Some(owner) = &ctx.owner {
            values.push(owner.name.clone());
            values.extend(owner.email.as_ref().map(ToString::to_string));
        }
        // Longest first, so that no value is cut by a shorter one inside it.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for language in [Language::Ja, Language::El] {
            let rendered = renderer.render_builtin(key, language, &ctx).unwrap();
            let mut text = format!("{}\n{}", rendered.subject, rendered.body);
            for value in &values {
                text = text.replace(value.as_str(), " ");
            }
            let english: Vec<&str> = text
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|word| word.len() > 1 && !allowed.contains(word))
                .collect();
            assert!(
                english.is_empty(),
                "{language}/{key} has English words {english:?}:\n{}",
                rendered.body
            );
        }
    }
}

#[test]
fn the_issued_invoice_reads_as_paid_partly_paid_or_due() {
    let renderer = Renderer::new();
    let key = templates::INVOICE_ISSUED;

    let mut paid = context_for(key);
    let invoice = paid.invoice.as_mut().unwrap();
    invoice.paid = invoice.total;
    invoice.balance = eur(0);
    let mut unpaid = context_for(key);
    let invoice = unpaid.invoice.as_mut().unwrap();
    invoice.paid = eur(0);
    invoice.balance = invoice.total;

    let en = |ctx: &TemplateContext| {
        renderer
            .render_builtin(key, Language::En, ctx)
            .unwrap()
            .body
    };
    let body = en(&paid);
    assert!(
        body.contains("This invoice is fully paid: thank you."),
        "{body}"
    );
    assert!(!body.contains("Due date"), "{body}");
    assert!(!body.contains("IBAN"), "nothing to transfer: {body}");
    assert!(
        body.contains("attached to this email as a PDF file"),
        "{body}"
    );

    let body = en(&context_for(key));
    assert!(
        body.contains("Paid so far: €1,000.00\nBalance due: €2,100.00\n"),
        "{body}"
    );
    assert!(
        body.contains("Please pay the balance of €2,100.00 by 15 March 2027."),
        "{body}"
    );

    let body = en(&unpaid);
    assert!(!body.contains("Paid so far"), "{body}");
    assert!(
        body.contains("Please pay the total of €3,100.00 by 15 March 2027."),
        "{body}"
    );

    for (language, thanks) in [
        (Language::Ja, "全額お支払いいただいております"),
        (Language::El, "έχει εξοφληθεί πλήρως"),
    ] {
        let body = renderer.render_builtin(key, language, &paid).unwrap().body;
        assert!(body.contains(thanks), "{language}: {body}");
        assert!(!body.contains("IBAN"), "{language}: {body}");
        assert!(body.contains("PDF"), "{language}: {body}");
    }
}

#[test]
fn reminders_count_the_days_to_and_past_the_due_date() {
    let renderer = Renderer::new();
    let mut ctx = context_for("payment_due_soon");
    let render = |key: &str, language, ctx: &TemplateContext| {
        renderer.render_builtin(key, language, ctx).unwrap().body
    };
    for (language, phrase) in [
        (Language::En, "is due on 15 March 2027, in 3 days."),
        (Language::Ja, "2027年3月15日でございます（あと3日）。"),
        (
            Language::El,
            "λήγει στις 15 Μαρτίου 2027, δηλαδή σε 3 ημέρες.",
        ),
    ] {
        let body = render("payment_due_soon", language, &ctx);
        assert!(body.contains(phrase), "{language}: {body}");
    }
    ctx.invoice.as_mut().unwrap().days_overdue = 0;
    let body = render("payment_due_soon", Language::En, &ctx);
    assert!(body.contains("is due on 15 March 2027, today."), "{body}");

    let ctx = context_for("payment_overdue_30_task");
    for (language, phrase) in [
        (Language::En, "is 30 days overdue"),
        (Language::Ja, "お支払期限から30日が経過"),
        (Language::El, "ληξιπρόθεσμο κατά 30 ημέρες"),
    ] {
        let body = render("payment_overdue_30_task", language, &ctx);
        assert!(body.contains(phrase), "{language}: {body}");
    }
}

#[test]
fn the_upcoming_invoice_quotes_its_reference_before_it_has_a_number() {
    let renderer = Renderer::new();
    let ctx = context_for("invoice_upcoming");
    for (language, line) in [
        (Language::En, "Reference: Acme support 2027-03\n"),
        (Language::Ja, "参照番号：Acme support 2027-03\n"),
        (Language::El, "Αιτιολογία: Acme support 2027-03\n"),
    ] {
        let body = renderer
            .render_builtin("invoice_upcoming", language, &ctx)
            .unwrap()
            .body;
        assert!(body.contains(line), "{language}: {body}");
        assert!(!body.contains("INV-"), "{language}: {body}");
    }
}

#[test]
fn invoice_templates_without_an_owner_or_amount_still_read_well() {
    let renderer = Renderer::new();
    for key in INVOICE_KEYS {
        let mut ctx = context_for(key);
        ctx.owner = None;
        ctx.contract.amount = None;
        for language in Language::ALL {
            let rendered = renderer
                .render_builtin(key, language, &ctx)
                .unwrap_or_else(|e| panic!("{language}/{key}: {e}"));
            assert!(!rendered.body.contains("Hana Sato"), "{language}/{key}");
            assert!(!rendered.body.contains("1,234"), "{language}/{key}");
            assert!(!rendered.body.contains("1.234"), "{language}/{key}");
            assert!(
                !rendered.body.contains("\n\n\n"),
                "{language}/{key} has stray blank lines:\n{}",
                rendered.body
            );
        }
    }
}

#[test]
fn exactly_the_templates_that_need_an_invoice_fail_without_one() {
    let renderer = Renderer::new();
    let mut ctx = full_context();
    ctx.invoice = None;
    ctx.quote = None;
    for key in templates::KEYS {
        for language in Language::ALL {
            let result = renderer.render_builtin(key, language, &ctx);
            assert_eq!(
                result.is_err(),
                templates::NEEDS_INVOICE.contains(&key) || templates::NEEDS_QUOTE.contains(&key),
                "{language}/{key}: {result:?}"
            );
        }
    }
}

#[test]
#[ignore = "prints every built-in template for a human to read"]
fn show_all() {
    let renderer = Renderer::new();
    let mut ctx = full_context();
    for language in Language::ALL {
        for key in templates::KEYS {
            let step_ctx = if INVOICE_KEYS.contains(&key) {
                context_for(key)
            } else {
                ctx.clone()
            };
            let r = renderer.render_builtin(key, language, &step_ctx).unwrap();
            println!(
                "===== {language}/{key}\nSubject: {}\n\n{}",
                r.subject, r.body
            );
        }
    }
    ctx.owner = None;
    ctx.contract.amount = None;
    let r = renderer
        .render_builtin("before_60", Language::Ja, &ctx)
        .unwrap();
    println!("===== ja/before_60 without owner and amount\n{}", r.body);
}

#[test]
fn a_quote_email_carries_its_links_or_asks_for_a_reply() {
    let renderer = Renderer::new();
    let mut ctx = full_context();
    for language in Language::ALL {
        let r = renderer
            .render_builtin(templates::QUOTE_SENT, language, &ctx)
            .unwrap();
        assert!(r.subject.contains("Q-12"), "{language}: {}", r.subject);
        for fact in ["Q-12", "ACCEPT-TOKEN", "DECLINE-TOKEN"] {
            assert!(r.body.contains(fact), "{language}: {fact} in\n{}", r.body);
        }
    }
    let quote = ctx.quote.as_mut().unwrap();
    quote.accept_url = None;
    quote.decline_url = None;
    let en = renderer
        .render_builtin(templates::QUOTE_SENT, Language::En, &ctx)
        .unwrap();
    assert!(!en.body.contains("/answer/"), "{}", en.body);
    assert!(en.body.contains("reply to this email"), "{}", en.body);
    assert!(
        en.body.contains("1,240.00") || en.body.contains("1240.00"),
        "{}",
        en.body
    );
}

//! Plans and templates over real HTTP: viewing, editing steps (with reminders following),
//! editing templates with a checked preview, and what the dispatcher then sends.

mod support;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use support::{TestApp, get, location, post};
use tickler_core::{clock::FixedClock, user::Role};
use tickler_engine::{Actor, browse::ReminderFilter};
use tickler_testkit::SmtpTestServer;
use tickler_web::WebConfig;

async fn plan_id(app: &TestApp) -> i64 {
    app.renewal_plan_id().await
}

async fn overrides(app: &TestApp) -> usize {
    app.engine.template_overrides().await.expect("list").len()
}

/// The fields of the default plan's edit form, as the page fills them in, with `change`
/// applied to step `index`'s fields.
fn steps_form(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let steps = [
        ("before_60", "Renewal notice", "-60"),
        ("before_30", "Reminder", "-30"),
        ("before_7", "Final notice", "-7"),
        ("after_7", "Thank you", "7"),
    ];
    let mut form = Vec::new();
    for (i, (key, label, offset)) in steps.iter().enumerate() {
        for (name, value) in [
            ("key", *key),
            ("label", *label),
            ("anchor", "end_date"),
            ("offset", *offset),
            ("unit", "calendar_days"),
            ("time", "09:00"),
            ("mode", "auto"),
            ("template", *key),
            ("to_customer", "1"),
            ("cc_owner", "1"),
        ] {
            form.push((format!("{name}_{i}"), value.to_string()));
        }
    }
    // The blank row for a new step.
    form.push(("key_4".to_string(), String::new()));
    for (name, value) in changes {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => form.push((name.to_string(), value.to_string())),
        }
    }
    form
}

async fn post_owned(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(client, app, "/plans", path, &borrowed).await
}

async fn setup() -> (TestApp, reqwest::Client, i64) {
    let app = TestApp::start().await;
    app.user("admin@firm.example", Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    app.user("vera@firm.example", Role::Viewer).await;
    let customer = app
        .customer("Kanto Precision", "it@kanto.example", "en", "Asia/Tokyo")
        .await;
    let contract = app
        .contract(
            customer,
            "Server maintenance SM-2041",
            "2028-06-30",
            Some("sam@firm.example"),
        )
        .await;
    let admin = app.login("admin@firm.example").await;
    (app, admin, contract)
}

async fn send_at_of(app: &TestApp, contract: i64, step: &str) -> jiff::Timestamp {
    app.reminder_of(contract, step).await.send_at
}

#[tokio::test]
async fn everyone_sees_plans_and_templates_and_only_admins_get_forms() {
    let (app, admin, _) = setup().await;
    let id = plan_id(&app).await;
    for email in [
        "admin@firm.example",
        "sam@firm.example",
        "vera@firm.example",
    ] {
        let client = app.login(email).await;
        let (status, html) = get(&client, &app, "/plans").await;
        assert_eq!(status, StatusCode::OK, "{email}: {html}");
        assert!(html.contains("renewal") && html.contains("60 days before the end date"));
        assert!(html.contains("/templates/before_60/ja"), "{html}");
        let (status, html) = get(&client, &app, &format!("/plans/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Final notice"));
        assert_eq!(
            html.contains("Save steps"),
            email.starts_with("admin"),
            "{email}"
        );
        let (status, html) = get(&client, &app, "/templates/before_60/ja").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("contract.end_date"),
            "the variables are listed"
        );
        assert_eq!(html.contains("Save template"), email.starts_with("admin"));
    }
    let (status, _) = get(&admin, &app, "/plans/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&admin, &app, "/templates/before_60/xx").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&admin, &app, "/templates/Bad..Name/en").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A template the team has not written yet opens empty, ready to write.
    let (status, html) = get(&admin, &app, "/templates/call_notice/en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("A new template"), "{html}");
}

#[tokio::test]
async fn templates_preview_save_and_reset() {
    let (app, admin, contract) = setup().await;
    let subject = "Renewal of {{ contract.title }}";
    let body = "Dear {{ customer.name }},\nyour contract ends on {{ contract.end_date }}.\n";

    // The script's preview: a fragment, against the chosen contract.
    let contract_field = contract.to_string();
    let response = post(
        &admin,
        &app,
        "/templates/before_60/en",
        "/templates/before_60/en/preview",
        &[
            ("subject", subject),
            ("body", body),
            ("contract_id", &contract_field),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert!(!html.contains("<html"), "a fragment: {html}");
    assert!(
        html.contains("Renewal of Server maintenance SM-2041"),
        "{html}"
    );
    assert!(html.contains("Dear Kanto Precision"), "{html}");
    // The Preview button without the script: the whole editor, with what was typed.
    let response = post(
        &admin,
        &app,
        "/templates/before_60/en",
        "/templates/before_60/en/preview?page=1",
        &[("subject", subject), ("body", body), ("contract_id", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("<html") && html.contains("with sample values"),
        "{html}"
    );
    assert!(
        html.contains("Renewal of {{ contract.title }}"),
        "typed text kept"
    );
    assert_eq!(overrides(&app).await, 0, "a preview saves nothing");

    let response = post(
        &admin,
        &app,
        "/templates/before_60/en",
        "/templates/before_60/en",
        &[("subject", subject), ("body", body), ("contract_id", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/templates/before_60/en");
    let text = app
        .engine
        .template("before_60", "en")
        .await
        .expect("template");
    assert!(text.overridden);
    assert_eq!(text.subject, subject);
    let (_, html) = get(&admin, &app, "/templates/before_60/en").await;
    assert!(html.contains("Edited by your team") && html.contains("admin@firm.example"));
    // The review queue shows the new wording already.
    let view = app
        .engine
        .list_reminders(&ReminderFilter {
            contract_id: Some(contract),
            ..ReminderFilter::default()
        })
        .await
        .expect("reminders")
        .into_iter()
        .find(|r| r.step == "before_60")
        .expect("before_60");
    assert_eq!(view.subject, "Renewal of Server maintenance SM-2041");

    let response = post(
        &admin,
        &app,
        "/templates/before_60/en",
        "/templates/before_60/en/reset",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(overrides(&app).await, 0);
    let text = app
        .engine
        .template("before_60", "en")
        .await
        .expect("template");
    assert!(!text.overridden);
}

#[tokio::test]
async fn faulty_templates_are_refused_with_line_and_column_and_nothing_is_saved() {
    let (app, admin, _) = setup().await;
    let cases = [
        (
            "Hello",
            "Dear {{ customer.name }},\n  ends {{ contract.nonexistent }}\n",
            "line 2, column",
        ),
        ("Hello", "one\ntwo {% if %}\n", "line 2, column"),
        (
            "Hi {{ nothing_here }}",
            "body",
            "subject has an error at line 1, column",
        ),
    ];
    for (subject, body, expected) in cases {
        let response = post(
            &admin,
            &app,
            "/templates/before_30/en",
            "/templates/before_30/en",
            &[("subject", subject), ("body", body), ("contract_id", "")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let html = response.text().await.expect("body");
        assert!(html.contains(expected), "{expected} in {html}");
        let typed = body.replace('<', "&lt;").replace('>', "&gt;");
        assert!(
            html.contains(&typed) || html.contains(body),
            "the typed text is kept: {html}"
        );
        // The preview says the same.
        let response = post(
            &admin,
            &app,
            "/templates/before_30/en",
            "/templates/before_30/en/preview",
            &[("subject", subject), ("body", body), ("contract_id", "")],
        )
        .await;
        let html = response.text().await.expect("body");
        assert!(html.contains(expected), "{html}");
    }
    assert_eq!(overrides(&app).await, 0);

    let started = Instant::now();
    let response = post(
        &admin,
        &app,
        "/templates/before_30/en",
        "/templates/before_30/en",
        &[
            ("subject", "Loop"),
            (
                "body",
                "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
            ),
            ("contract_id", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(started.elapsed() < Duration::from_secs(5), "bounded");
    let html = response.text().await.expect("body");
    assert!(
        html.contains("too many steps") || html.contains("longer than"),
        "{html}"
    );
    assert_eq!(overrides(&app).await, 0);
}

#[tokio::test]
async fn a_saved_template_is_what_the_dispatcher_sends() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    app.user("admin@firm.example", Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    let customer = app
        .customer("Kanto Precision", "it@kanto.example", "ja", "Asia/Tokyo")
        .await;
    let contract = app
        .contract(customer, "SM-2041", "2028-06-30", Some("sam@firm.example"))
        .await;
    let admin = app.login("admin@firm.example").await;
    let response = post(
        &admin,
        &app,
        "/templates/before_60/ja",
        "/templates/before_60/ja",
        &[
            ("subject", "【更新】{{ contract.title }}"),
            (
                "body",
                "{{ customer.name }} 様\r\n\r\n契約は{{ contract.end_date }}に満了します。\r\n",
            ),
            ("contract_id", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // 60 days before 2028-06-30 is 2028-05-01, 09:00 in Tokyo = 00:00 UTC.
    let before = send_at_of(&app, contract, "before_60").await;
    assert_eq!(before, "2028-05-01T00:00:00Z".parse().expect("instant"));
    let after: jiff::Timestamp = "2028-05-01T00:05:00Z".parse().expect("instant");
    let report = app
        .engine
        .with_clock(Arc::new(FixedClock(after)))
        .dispatch_due()
        .await
        .expect("dispatch");
    assert!(format!("{report:?}").contains('1'), "{report:?}");
    let messages = smtp.wait_for_messages(1, Duration::from_secs(10));
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject, "【更新】SM-2041");
    assert!(
        messages[0].body.contains("Kanto Precision 様"),
        "{}",
        messages[0].body
    );
    assert!(
        messages[0]
            .body
            .contains("契約は2028年6月30日に満了します。"),
        "{}",
        messages[0].body
    );
    let stored = app
        .engine
        .template("before_60", "ja")
        .await
        .expect("template");
    assert!(!stored.body.contains('\r'), "stored with LF line ends");
}

#[tokio::test]
async fn a_steps_reply_to_address_overrides_the_owner_in_what_the_dispatcher_sends() {
    let smtp = SmtpTestServer::start();
    let app = TestApp::start_with(Some(smtp.url()), WebConfig::default()).await;
    app.user("admin@firm.example", Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    let customer = app
        .customer("Kanto Precision", "it@kanto.example", "en", "UTC")
        .await;
    let contract = app
        .contract(customer, "SM-2041", "2028-06-30", Some("sam@firm.example"))
        .await;
    let admin = app.login("admin@firm.example").await;
    let id = plan_id(&app).await;
    let form = steps_form(&[("reply_to_0", " renewals@firm.example ")]);
    let response = post_owned(&admin, &app, &format!("/plans/{id}/steps"), &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&admin, &app, &format!("/plans/{id}")).await;
    assert!(html.contains("replies to renewals@firm.example"), "{html}");
    assert!(html.contains("value=\"renewals@firm.example\""), "{html}");
    let plan = app.engine.plan(id).await.expect("plan").plan;
    assert_eq!(
        plan.steps[0].reply_to.as_ref().map(|a| a.as_str()),
        Some("renewals@firm.example")
    );
    assert_eq!(plan.steps[1].reply_to, None);

    // before_60 (the step's address), then before_30 (the owner's).
    for (sent, (step, expected)) in [
        ("before_60", "renewals@firm.example"),
        ("before_30", "sam@firm.example"),
    ]
    .into_iter()
    .enumerate()
    {
        let at = send_at_of(&app, contract, step).await;
        app.engine
            .with_clock(Arc::new(FixedClock(at)))
            .dispatch_due()
            .await
            .expect("dispatch");
        let messages = smtp.wait_for_messages(sent + 1, Duration::from_secs(10));
        let message = &messages[sent];
        assert_eq!(message.to, ["it@kanto.example"], "{step}");
        assert_eq!(
            message.header("Reply-To").as_deref(),
            Some(expected),
            "{step}"
        );
    }
}

#[tokio::test]
async fn editing_a_step_moves_the_scheduled_reminders_of_active_contracts() {
    let (app, admin, contract) = setup().await;
    let id = plan_id(&app).await;
    let before_30 = send_at_of(&app, contract, "before_30").await;
    let before_7 = send_at_of(&app, contract, "before_7").await;

    let form = steps_form(&[("offset_1", "-45"), ("time_1", "10:30")]);
    let response = post_owned(&admin, &app, &format!("/plans/{id}/steps"), &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/plans/{id}"));

    let moved = send_at_of(&app, contract, "before_30").await;
    // 2028-06-30 - 45 days = 2028-05-16, 10:30 in Tokyo = 01:30 UTC.
    assert_eq!(moved, "2028-05-16T01:30:00Z".parse().expect("instant"));
    assert_ne!(moved, before_30);
    assert_eq!(send_at_of(&app, contract, "before_7").await, before_7);
    let plan = app.engine.plan(id).await.expect("plan");
    assert_eq!(plan.plan.steps[1].offset.days, -45);

    // A new step is added to the contracts, a removed one cancelled.
    let mut form = steps_form(&[("remove_3", "1")]);
    form.retain(|(k, _)| k != "key_4");
    for (name, value) in [
        ("key_4", "before_14"),
        ("label_4", "Two weeks left"),
        ("anchor_4", "end_date"),
        ("offset_4", "-10"),
        ("unit_4", "business_days"),
        ("time_4", "09:00"),
        ("mode_4", "approval"),
        ("template_4", "before_7"),
        ("to_customer_4", "1"),
    ] {
        form.push((name.to_string(), value.to_string()));
    }
    let response = post_owned(&admin, &app, &format!("/plans/{id}/steps"), &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let list = app
        .engine
        .list_reminders(&ReminderFilter {
            contract_id: Some(contract),
            ..ReminderFilter::default()
        })
        .await
        .expect("reminders");
    let after_7 = list.iter().find(|r| r.step == "after_7").expect("after_7");
    assert_eq!(after_7.status.as_str(), "cancelled");
    let added = list.iter().find(|r| r.step == "before_14").expect("added");
    assert_eq!(added.status.as_str(), "scheduled");
    assert_eq!(added.mode.as_str(), "approval");
    let (_, html) = get(&admin, &app, &format!("/plans/{id}")).await;
    assert!(
        html.contains("10 business days before the end date"),
        "{html}"
    );
}

#[tokio::test]
async fn invalid_steps_are_refused_with_what_was_typed() {
    let (app, admin, contract) = setup().await;
    let id = plan_id(&app).await;
    let before = app.engine.plan(id).await.expect("plan").plan;
    let before_30 = send_at_of(&app, contract, "before_30").await;
    for (changes, expected) in [
        (vec![("offset_1", "-4000")], "Step 2, offset"),
        (vec![("key_2", "before_60")], "Step 3, key"),
        (vec![("time_0", "25:99")], "Step 1, send time"),
        (vec![("template_0", "no_such_template")], "Step 1, template"),
        (vec![("mode_0", "sometimes")], "Step 1, mode"),
        (vec![("offset_0", "soon")], "Step 1, offset"),
        (vec![("reply_to_1", "renewals at firm")], "Step 2, reply to"),
        // Anchors are chosen from a list, as modes are: an unknown one is named in the error.
        (
            vec![("anchor_2", "expiry_date")],
            "Step 3, anchor: unknown anchor",
        ),
    ] {
        let form = steps_form(&changes);
        let response = post_owned(&admin, &app, &format!("/plans/{id}/steps"), &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{changes:?}");
        let html = response.text().await.expect("body");
        assert!(html.contains(expected), "{expected} in {html}");
        assert!(
            html.contains(&format!("value=\"{}\"", changes[0].1))
                || changes[0].0.starts_with("mode")
                || changes[0].0.starts_with("anchor"),
            "typed value kept"
        );
    }
    assert_eq!(app.engine.plan(id).await.expect("plan").plan, before);
    assert_eq!(send_at_of(&app, contract, "before_30").await, before_30);
}

#[tokio::test]
async fn every_anchor_a_subject_has_is_offered() {
    let (app, admin, _) = setup().await;
    let id = plan_id(&app).await;
    let (_, html) = get(&admin, &app, &format!("/plans/{id}")).await;
    for anchor in [
        "start_date",
        "notice_date",
        "next_invoice_date",
        "invoice_due_date",
    ] {
        assert!(
            html.contains(&format!("<option value=\"{anchor}\"")),
            "{anchor} offered: {html}"
        );
    }
    assert!(!html.contains("is never sent"));
}

#[tokio::test]
async fn sales_and_viewers_cannot_change_plans_or_templates() {
    let (app, _admin, contract) = setup().await;
    let id = plan_id(&app).await;
    let before = app.engine.plan(id).await.expect("plan").plan;
    let before_30 = send_at_of(&app, contract, "before_30").await;
    app.engine
        .save_template("before_7", "en", "Ours", "Our text", &Actor::system())
        .await
        .expect("saved");
    for email in ["sam@firm.example", "vera@firm.example"] {
        let client = app.login(email).await;
        let form = steps_form(&[("offset_1", "-45")]);
        let response = post_owned(&client, &app, &format!("/plans/{id}/steps"), &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{email}");
        for path in [
            "/templates/before_60/en",
            "/templates/before_60/en/preview",
            "/templates/before_7/en/reset",
        ] {
            let response = post(
                &client,
                &app,
                "/plans",
                path,
                &[("subject", "Mine"), ("body", "Mine"), ("contract_id", "")],
            )
            .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{email} {path}");
        }
    }
    assert_eq!(app.engine.plan(id).await.expect("plan").plan, before);
    assert_eq!(send_at_of(&app, contract, "before_30").await, before_30);
    assert_eq!(overrides(&app).await, 1);
    let text = app
        .engine
        .template("before_7", "en")
        .await
        .expect("template");
    assert_eq!(
        (text.subject.as_str(), text.body.as_str()),
        ("Ours", "Our text")
    );
}

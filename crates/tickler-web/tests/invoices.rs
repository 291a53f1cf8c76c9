//! The invoices pages over real HTTP: the list with the drafts waiting for approval first,
//! an invoice's page and its actions (approve, prepayment and payment, discard, void), a
//! recurring sale's billing on its contract's page and entered through the contract form,
//! and who may do which. The invoices are made by the engine's billing run on a clock
//! stopped at a chosen instant, as the dispatcher makes them.

mod support;

use reqwest::StatusCode;
use support::{TestApp, get, location, post};
use tickler_core::{billing::InvoiceMode, invoice::InvoiceStatus, user::Role};
use tickler_engine::{
    Actor,
    billing::BillingInput,
    contracts::ContractInput,
    invoicing::{InvoiceDetail, InvoiceFilter},
    settings::SettingsInput,
};

/// Monday 1 March 2027, 14:00 in Athens: three monthly periods from 1 January are due.
const NOW: &str = "2027-03-01T12:00:00Z";

const OWNER: &str = "sam@firm.example";

/// Each invoice: 150.00 at 24% and 1,000.00 at 13%; 1,150.00 + 36.00 + 130.00 tax.
const LINES: [&str; 3] = [
    "Managed backup|1|100.00|24",
    "Support hours|2|25.00|24",
    "Training|1|1000.00|13",
];
const TOTAL: &str = "€1,316.00";

async fn app() -> TestApp {
    let app = TestApp::start_at(NOW.parse().expect("instant")).await;
    app.user("ada@firm.example", Role::Admin).await;
    app.user(OWNER, Role::Sales).await;
    app
}

/// A monthly recurring sale from 1 January 2027 for 12 cycles, owned by Sam, paid within
/// 14 days; its invoices are drafts to approve when `drafts`, else issued at once.
async fn sale(app: &TestApp, customer: &str, title: &str, drafts: bool) -> i64 {
    let customer = app
        .customer(
            customer,
            &format!(
                "billing@{}.example",
                customer.to_lowercase().replace(' ', "")
            ),
            "en",
            "Europe/Athens",
        )
        .await;
    app.engine
        .add_contract(
            ContractInput {
                customer_id: customer,
                title: title.to_string(),
                start: "2027-01-01".to_string(),
                end: String::new(),
                owner_email: Some(OWNER.to_string()),
                currency: Some("EUR".to_string()),
                billing: Some(BillingInput {
                    every: "1m".to_string(),
                    cycles: Some("12".to_string()),
                    lines: LINES.iter().map(|l| l.to_string()).collect(),
                    in_arrears: false,
                    draft_invoices: drafts,
                    payment_days: Some("14".to_string()),
                }),
                ..ContractInput::default()
            },
            &Actor::system(),
        )
        .await
        .expect("add a recurring sale")
}

/// Runs the billing as the dispatcher does at the app's now; returns how many invoices it made.
async fn bill(app: &TestApp) -> usize {
    app.engine.bill_due().await.expect("billing run").invoiced
}

/// The contract's invoices, oldest period first.
async fn invoices_of(app: &TestApp, contract: i64) -> Vec<i64> {
    app.engine
        .list_invoices(&InvoiceFilter {
            contract_id: Some(contract),
            ..InvoiceFilter::default()
        })
        .await
        .expect("invoices")
        .iter()
        .map(|i| i.id)
        .collect()
}

async fn detail(app: &TestApp, id: i64) -> InvoiceDetail {
    app.engine.invoice_detail(id).await.expect("invoice")
}

/// The part of the invoices list in the section `key` (draft, overdue, issued, paid, void).
fn section<'a>(page: &'a str, key: &str) -> &'a str {
    page.split(&format!("<section aria-labelledby=\"section-{key}\""))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no section {key} in:\n{page}"))
}

/// How many invoice rows a part of a page has.
fn rows(html: &str) -> usize {
    html.matches("<td><a href=\"/invoices/").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_shows_the_drafts_to_approve_first_then_overdue_issued_paid_and_void() {
    let app = app().await;
    let drafts = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    let issued = sale(&app, "Globex", "Cloud backup", false).await;
    assert_eq!(bill(&app).await, 6, "January to March of both sales");
    let globex = invoices_of(&app, issued).await;
    app.engine
        .pay_invoice(globex[0], "1316.00", None, None, &Actor::system())
        .await
        .expect("pay");
    let admin = app.login("ada@firm.example").await;

    let (status, page) = get(&admin, &app, "/invoices").await;
    assert_eq!(status, StatusCode::OK);
    // The same view as CSV: every invoice, or those of one status.
    assert!(page.contains("href=\"/invoices.csv\""), "{page}");
    let csv = |path: &'static str| {
        let admin = admin.clone();
        let url = app.url(path);
        async move {
            admin
                .get(url)
                .send()
                .await
                .expect("download")
                .text()
                .await
                .expect("csv")
        }
    };
    let all = csv("/invoices.csv").await;
    assert!(all.starts_with("id,number,status,"), "{all}");
    assert_eq!(all.lines().count(), 1 + 6, "{all}");
    let paid = csv("/invoices.csv?status=paid").await;
    assert_eq!(paid.lines().count(), 1 + 1, "{paid}");
    assert!(
        page.contains("<a href=\"/invoices\" aria-current=\"page\">Invoices</a>"),
        "the navigation marks the page"
    );
    let order: Vec<usize> = ["draft", "overdue", "issued", "paid", "void"]
        .iter()
        .map(|key| {
            page.find(&format!("section-{key}\""))
                .unwrap_or_else(|| panic!("{key}"))
        })
        .collect();
    assert!(
        order.is_sorted(),
        "drafts first, then overdue, issued, paid, void: {order:?}"
    );

    let queue = section(&page, "draft");
    assert_eq!(rows(queue), 3, "{queue}");
    for period in [
        "2027-01-01 to 2027-01-31",
        "2027-02-01 to 2027-02-28",
        "2027-03-01 to 2027-03-31",
    ] {
        assert!(queue.contains(period), "{period}: {queue}");
    }
    assert!(queue.contains("Acme Copiers") && queue.contains("Copier fleet care"));
    assert!(
        queue.contains(&format!("<td class=\"num\">{TOTAL}</td>")),
        "totals right-aligned with thousands: {queue}"
    );
    assert!(
        queue.contains("<td class=\"num\">€0.00</td>"),
        "nothing paid yet"
    );
    assert_eq!(queue.matches(">Approve</button>").count(), 3);
    assert_eq!(
        queue
            .matches("<summary>Record prepayment</summary>")
            .count(),
        3
    );
    assert_eq!(queue.matches("<summary>Discard</summary>").count(), 3);
    assert!(!queue.contains("INV-2027"), "drafts have no number");

    // February's is 14 days past its due date of 15 February; January's was paid.
    let overdue = section(&page, "overdue");
    assert_eq!(rows(overdue), 1, "{overdue}");
    assert!(overdue.contains("INV-2027-0002") && overdue.contains("2027-02-15"));
    assert!(
        overdue.contains("<tr class=\"overdue\">"),
        "highlighted: {overdue}"
    );
    assert!(
        overdue.contains("<strong>14</strong>"),
        "days overdue: {overdue}"
    );
    let waiting = section(&page, "issued");
    assert_eq!(rows(waiting), 1, "{waiting}");
    assert!(waiting.contains("INV-2027-0003") && waiting.contains("2027-03-15"));
    let paid = section(&page, "paid");
    assert!(paid.contains("INV-2027-0001"), "{paid}");
    assert!(section(&page, "void").contains("None."));

    // Filters: a status, the overdue ones, one contract; nonsense is refused, named.
    let (_, only_overdue) = get(&admin, &app, "/invoices?status=overdue").await;
    assert!(!only_overdue.contains("section-draft\""));
    assert_eq!(rows(section(&only_overdue, "overdue")), 1);
    let (_, issued_tab) = get(&admin, &app, "/invoices?status=issued").await;
    let all_issued = section(&issued_tab, "issued");
    assert_eq!(rows(all_issued), 2, "overdue ones too: {all_issued}");
    assert!(all_issued.contains("<tr class=\"overdue\">"));
    let (_, one_contract) = get(&admin, &app, &format!("/invoices?contract={drafts}")).await;
    assert_eq!(rows(section(&one_contract, "draft")), 3);
    assert!(
        !one_contract.contains("INV-2027"),
        "only that contract's: {one_contract}"
    );
    assert!(one_contract.contains("Only the invoices of"));
    for (path, word) in [
        ("/invoices?status=late", "status"),
        ("/invoices?contract=x", "contract"),
    ] {
        let (status, page) = get(&admin, &app, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.contains(word), "{path}: {page}");
    }
    assert_eq!(
        get(&admin, &app, "/invoices?contract=999").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_a_draft_issues_it_with_a_number() {
    let app = app().await;
    let contract = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    bill(&app).await;
    let january = invoices_of(&app, contract).await[0];
    let sam = app.login(OWNER).await;

    let (status, page) = get(&sam, &app, &format!("/invoices/{january}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("Draft invoice #{january}")),
        "{page}"
    );
    assert!(page.contains("Draft (numbered when approved)"));
    assert!(page.contains("Approve and issue"));

    let path = format!("/invoices/{january}/approve");
    let response = post(&sam, &app, &format!("/invoices/{january}"), &path, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/invoices/{january}"));
    let issued = detail(&app, january).await.invoice;
    assert_eq!(issued.status, InvoiceStatus::Issued);
    assert_eq!(issued.number.as_deref(), Some("INV-2027-0001"));
    assert_eq!(issued.issue_date.to_string(), "2027-03-01", "issued today");
    assert_eq!(issued.due_date.to_string(), "2027-03-15");

    let (_, page) = get(&sam, &app, &location(&response)).await;
    assert!(
        page.contains("Invoice INV-2027-0001 issued, due 2027-03-15"),
        "{page}"
    );
    assert!(page.contains("<p class=\"sheet-number\">INV-2027-0001</p>"));
    assert!(!page.contains("Approve and issue"), "issued: no approval");
    assert!(page.contains("Record payment") && page.contains("Void invoice"));

    // Approving it again is a conflict, said on the page, and changes nothing.
    let again = post(&sam, &app, &format!("/invoices/{january}"), &path, &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("only a draft can be approved")
    );
    assert_eq!(
        detail(&app, january).await.invoice.number.as_deref(),
        Some("INV-2027-0001")
    );

    // From the list, the action returns to the list with its filter.
    let february = invoices_of(&app, contract).await[1];
    let response = post(
        &sam,
        &app,
        "/invoices",
        &format!("/invoices/{february}/approve"),
        &[("back", "/invoices?status=draft")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/invoices?status=draft");
    let (_, list) = get(&sam, &app, &location(&response)).await;
    assert!(list.contains("Invoice INV-2027-0002"), "the notice: {list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_page_is_the_document_with_its_payments() {
    let app = app().await;
    app.engine
        .save_settings(
            &SettingsInput {
                organisation_name: "Firm Maintenance Ltd".to_string(),
                mail_from: "Renewals <renewals@firm.example>".to_string(),
                default_time_zone: "Europe/Athens".to_string(),
                default_send_time: "09:00".to_string(),
                bank_iban: "GR16 0110 1250 0000 0001 2300 695".to_string(),
                bank_name: "Piraeus Bank".to_string(),
                invoice_prefix: String::new(),
                payment_days: String::new(),
                brand_color: String::new(),
            },
            &Actor::system(),
        )
        .await
        .expect("settings");
    let contract = sale(&app, "Globex", "Cloud backup", false).await;
    bill(&app).await;
    let february = invoices_of(&app, contract).await[1];
    let admin = app.login("ada@firm.example").await;

    let (status, page) = get(&admin, &app, &format!("/invoices/{february}")).await;
    assert_eq!(status, StatusCode::OK);
    for part in [
        "<p class=\"sheet-org\">Firm Maintenance Ltd</p>",
        "renewals@firm.example",
        "Globex",
        "billing@globex.example",
        "<p class=\"sheet-number\">INV-2027-0002</p>",
        "<dt>Issue date</dt><dd>2027-02-01</dd>",
        "<dt>Due date</dt><dd>2027-02-15</dd>",
        "<dt>Period</dt><dd>2027-02-01 to 2027-02-28</dd>",
        "<dt>Reference</dt><dd>Cloud backup</dd>",
        "<td>Support hours</td><td class=\"num\">2</td><td class=\"num\">€25.00</td><td class=\"num\">24</td><td class=\"num\">€50.00</td>",
        "<th>Subtotal</th><td class=\"num\">€1,150.00</td>",
        "<th>Tax 13% on €1,000.00</th><td class=\"num\">€130.00</td>",
        "<th>Tax 24% on €150.00</th><td class=\"num\">€36.00</td>",
        "<th>Tax</th><td class=\"num\">€166.00</td>",
        "<th>Total (EUR)</th><td class=\"num\">€1,316.00</td>",
        "GR16 0110 1250 0000 0001 2300 695",
        "Piraeus Bank",
        "14 days overdue",
        "No payment recorded.",
    ] {
        assert!(page.contains(part), "{part}:\n{page}");
    }
    let (_, css) = get(&admin, &app, "/static/app.css").await;
    assert!(css.contains("@page { size: A4"), "A4 print styles");
    assert!(
        page.find("Tax 13%") < page.find("Tax 24%"),
        "tax bands by rate"
    );
    assert!(
        page.contains("<div class=\"no-print\">"),
        "the actions are kept off the paper"
    );

    // The PDF the invoice's email carries, from the link on the page.
    assert!(page.contains(&format!("href=\"/invoices/{february}/pdf\"")));
    let response = admin
        .get(app.url(&format!("/invoices/{february}/pdf")))
        .send()
        .await
        .expect("GET the PDF");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(
        header("content-disposition"),
        "inline; filename=\"INV-2027-0002.pdf\""
    );
    let bytes = response.bytes().await.expect("the PDF's bytes");
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = tickler_testkit::pdf_text(&bytes) {
        assert!(text.contains("INV-2027-0002"), "{text}");
        assert!(text.contains("€1,316.00"), "{text}");
    }
    let (status, _) = get(&admin, &app, "/invoices/999/pdf").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_payments_until_the_invoice_is_paid() {
    let app = app().await;
    let contract = sale(&app, "Globex", "Cloud backup", false).await;
    bill(&app).await;
    let march = invoices_of(&app, contract).await[2];
    let page_path = format!("/invoices/{march}");
    let path = format!("/invoices/{march}/payments");
    let sam = app.login(OWNER).await;

    let (_, page) = get(&sam, &app, &page_path).await;
    assert!(
        page.contains("name=\"amount\" inputmode=\"decimal\" required value=\"1316.00\""),
        "the balance offered: {page}"
    );
    let part = post(
        &sam,
        &app,
        &page_path,
        &path,
        &[
            ("amount", "316.00"),
            ("date", "2027-02-27"),
            ("reference", "TRX-1"),
        ],
    )
    .await;
    assert_eq!(part.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&sam, &app, &location(&part)).await;
    assert!(
        page.contains("Payment of €316.00 recorded; €1,000.00 still to pay."),
        "{page}"
    );
    assert!(page.contains("<td>2027-02-27</td><td class=\"num\">€316.00</td><td>TRX-1</td>"));
    assert!(page.contains("<th>Balance due</th><td class=\"num\">€1,000.00</td>"));
    assert_eq!(
        detail(&app, march).await.invoice.status,
        InvoiceStatus::Issued
    );

    let rest = post(
        &sam,
        &app,
        &page_path,
        &path,
        &[("amount", "1000"), ("reference", "TRX-2")],
    )
    .await;
    assert_eq!(rest.status(), StatusCode::SEE_OTHER);
    let paid = detail(&app, march).await;
    assert_eq!(paid.invoice.status, InvoiceStatus::Paid);
    assert_eq!(paid.invoice.paid, 131_600);
    assert_eq!(paid.payments.len(), 2);
    assert_eq!(
        paid.payments[1].paid_on.to_string(),
        "2027-03-01",
        "empty date: today"
    );
    let (_, page) = get(&sam, &app, &location(&rest)).await;
    assert!(
        page.contains("Payment of €1,000.00 recorded; invoice INV-2027-0003 is paid."),
        "{page}"
    );
    assert!(page.contains("<span class=\"status invoice-paid\">paid</span>"));
    assert!(page.contains("Paid in full."), "no transfer asked for");
    assert!(!page.contains("Record payment"), "nothing left to do");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_payment_comes_back_with_the_error_and_what_was_typed() {
    let app = app().await;
    let contract = sale(&app, "Globex", "Cloud backup", false).await;
    bill(&app).await;
    let march = invoices_of(&app, contract).await[2];
    let page_path = format!("/invoices/{march}");
    let path = format!("/invoices/{march}/payments");
    let admin = app.login("ada@firm.example").await;

    for (amount, date, status, field, message) in [
        (
            "2000.00",
            "",
            StatusCode::CONFLICT,
            "amount",
            "the payment of 2000.00 EUR exceeds the balance of 1316.00 EUR",
        ),
        (
            "0",
            "",
            StatusCode::CONFLICT,
            "amount",
            "a payment must be more than 0",
        ),
        (
            "12,50",
            "",
            StatusCode::BAD_REQUEST,
            "amount",
            "Not recorded: amount: ",
        ),
        (
            "100.00",
            "2027-02-30",
            StatusCode::BAD_REQUEST,
            "date",
            "Not recorded: date: ",
        ),
    ] {
        let response = post(
            &admin,
            &app,
            &page_path,
            &path,
            &[
                ("amount", amount),
                ("date", date),
                ("reference", "TRX-typed"),
            ],
        )
        .await;
        assert_eq!(response.status(), status, "{amount} {date}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{message}:\n{page}");
        let error = page
            .find("id=\"pay-error\"")
            .expect("the error in the payment form");
        let form = page.find("action=\"/invoices/").expect("a form");
        assert!(
            error > form,
            "the error sits in the form, next to its fields"
        );
        assert!(
            page.contains(&format!("value=\"{amount}\"")),
            "keeps the amount typed"
        );
        assert!(page.contains("value=\"TRX-typed\""), "keeps the reference");
        assert!(
            page.contains(&format!(
                "id=\"{field}\" name=\"{field}\"{}",
                if field == "date" {
                    format!(" type=\"date\" value=\"{date}\" aria-invalid=\"true\"")
                } else {
                    format!(
                        " inputmode=\"decimal\" required value=\"{amount}\" aria-invalid=\"true\""
                    )
                }
            )),
            "marks {field}:\n{page}"
        );
    }
    let unchanged = detail(&app, march).await;
    assert_eq!(unchanged.invoice.paid, 0);
    assert!(unchanged.payments.is_empty());
    assert_eq!(unchanged.invoice.status, InvoiceStatus::Issued);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prepayment_then_approval_makes_a_paid_invoice() {
    let app = app().await;
    let contract = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    bill(&app).await;
    let january = invoices_of(&app, contract).await[0];
    let admin = app.login("ada@firm.example").await;

    // From the list's approval queue, back to the queue.
    let response = post(
        &admin,
        &app,
        "/invoices",
        &format!("/invoices/{january}/payments"),
        &[
            ("amount", "1316.00"),
            ("date", "2026-12-20"),
            ("reference", "advance"),
            ("back", "/invoices?status=draft"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, &location(&response)).await;
    assert!(
        page.contains("Prepayment of €1,316.00 recorded; it counts when the draft is approved."),
        "{page}"
    );
    let queue = section(&page, "draft");
    assert!(
        queue.contains("<td class=\"num\">€1,316.00</td>\n      <td class=\"num\">€1,316.00</td>"),
        "paid shown: {queue}"
    );
    assert_eq!(
        detail(&app, january).await.invoice.status,
        InvoiceStatus::Draft
    );

    let response = post(
        &admin,
        &app,
        &format!("/invoices/{january}"),
        &format!("/invoices/{january}/approve"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let paid = detail(&app, january).await.invoice;
    assert_eq!(paid.status, InvoiceStatus::Paid);
    assert_eq!(paid.number.as_deref(), Some("INV-2027-0001"));
    let (_, page) = get(&admin, &app, &location(&response)).await;
    assert!(
        page.contains("Invoice INV-2027-0001 issued, already paid by its prepayments."),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discarding_a_draft_and_voiding_an_issued_invoice() {
    let app = app().await;
    let drafts = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    let issued = sale(&app, "Globex", "Cloud backup", false).await;
    bill(&app).await;
    let draft = invoices_of(&app, drafts).await[0];
    let invoice = invoices_of(&app, issued).await[0];
    let admin = app.login("ada@firm.example").await;

    // Voiding a draft, or discarding an issued invoice, is a conflict that says what to do.
    let wrong = post(
        &admin,
        &app,
        "/invoices",
        &format!("/invoices/{draft}/void"),
        &[("reason", "typed reason")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    let page = wrong.text().await.unwrap();
    assert!(page.contains("discard it instead"), "{page}");
    let wrong = post(
        &admin,
        &app,
        "/invoices",
        &format!("/invoices/{invoice}/discard"),
        &[("reason", "typed reason")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    let page = wrong.text().await.unwrap();
    assert!(page.contains("void it instead"), "{page}");
    // A prepaid draft is not discarded (the prepayment would be lost): the reason stays typed.
    let prepaid = invoices_of(&app, drafts).await[1];
    app.engine
        .pay_invoice(prepaid, "100.00", None, None, &Actor::system())
        .await
        .expect("prepay");
    let wrong = post(
        &admin,
        &app,
        "/invoices",
        &format!("/invoices/{prepaid}/discard"),
        &[("reason", "typed reason")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    let page = wrong.text().await.unwrap();
    assert!(
        page.contains("Not discarded: this draft has prepayments"),
        "{page}"
    );
    assert!(
        page.contains("name=\"reason\" maxlength=\"200\" value=\"typed reason\""),
        "{page}"
    );
    assert_eq!(
        detail(&app, prepaid).await.invoice.status,
        InvoiceStatus::Draft
    );

    let discarded = post(
        &admin,
        &app,
        "/invoices",
        &format!("/invoices/{draft}/discard"),
        &[("reason", "billed by hand"), ("back", "/invoices")],
    )
    .await;
    assert_eq!(discarded.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&discarded), "/invoices");
    let (_, list) = get(&admin, &app, "/invoices").await;
    assert!(list.contains("Draft discarded"), "the notice: {list}");
    let gone = detail(&app, draft).await.invoice;
    assert_eq!(gone.status, InvoiceStatus::Void);
    assert_eq!(gone.number, None);
    assert!(
        gone.void_reason
            .as_deref()
            .is_some_and(|r| r.contains("billed by hand")),
        "{gone:?}"
    );

    let voided = post(
        &admin,
        &app,
        &format!("/invoices/{invoice}"),
        &format!("/invoices/{invoice}/void"),
        &[("reason", "wrong customer")],
    )
    .await;
    assert_eq!(voided.status(), StatusCode::SEE_OTHER);
    let void = detail(&app, invoice).await.invoice;
    assert_eq!(void.status, InvoiceStatus::Void);
    assert_eq!(
        void.number.as_deref(),
        Some("INV-2027-0001"),
        "keeps its number"
    );
    let (_, page) = get(&admin, &app, &location(&voided)).await;
    assert!(page.contains("Invoice INV-2027-0001 voided"), "{page}");
    assert!(page.contains("Voided: wrong customer"), "{page}");
    assert!(page.contains("<p class=\"sheet-kind\">Void invoice</p>"));
    assert!(
        !page.contains("Record payment"),
        "a void invoice takes no payment"
    );

    let (_, list) = get(&admin, &app, "/invoices").await;
    let void_section = section(&list, "void");
    assert_eq!(rows(void_section), 2, "{void_section}");
    assert!(void_section.contains("discarded") && void_section.contains("voided"));
    assert!(void_section.contains("INV-2027-0001"));
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_and_other_salespeople_read_but_cannot_act() {
    let app = app().await;
    app.user("vic@firm.example", Role::Viewer).await;
    app.user("sue@firm.example", Role::Sales).await;
    let drafts = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    let issued = sale(&app, "Globex", "Cloud backup", false).await;
    bill(&app).await;
    let draft = invoices_of(&app, drafts).await[0];
    let invoice = invoices_of(&app, issued).await[2];
    let posts = |id: i64| {
        [
            (format!("/invoices/{id}/approve"), vec![]),
            (format!("/invoices/{id}/payments"), vec![("amount", "1.00")]),
            (format!("/invoices/{id}/discard"), vec![("reason", "no")]),
            (format!("/invoices/{id}/void"), vec![("reason", "no")]),
        ]
    };
    let snapshot = || async {
        let (a, b) = (detail(&app, draft).await, detail(&app, invoice).await);
        (
            a.invoice.status,
            a.invoice.paid,
            b.invoice.status,
            b.invoice.paid,
        )
    };
    let before = snapshot().await;

    for email in ["vic@firm.example", "sue@firm.example"] {
        let client = app.login(email).await;
        let (status, list) = get(&client, &app, "/invoices").await;
        assert_eq!(status, StatusCode::OK, "{email} reads the list");
        assert!(list.contains("Copier fleet care"));
        assert!(!list.contains(">Approve</button>"), "{email}: {list}");
        assert!(!list.contains("Record prepayment"), "{email}");
        assert!(!list.contains("action=\"/invoices/"), "{email}: no forms");
        assert!(list.contains("view only"));
        for id in [draft, invoice] {
            let (status, page) = get(&client, &app, &format!("/invoices/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{email} reads invoice {id}");
            assert!(!page.contains("action=\"/invoices/"), "{email}: {page}");
            assert!(!page.contains("<h2>Actions</h2>"));
            for (path, fields) in posts(id) {
                let refused = post(&client, &app, "/invoices", &path, &fields).await;
                assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{email}: {path}");
            }
        }
    }
    assert_eq!(snapshot().await, before, "nothing changed");

    // The owner may.
    let sam = app.login(OWNER).await;
    let (_, list) = get(&sam, &app, "/invoices").await;
    assert_eq!(list.matches(">Approve</button>").count(), 3);
    let paid = post(
        &sam,
        &app,
        "/invoices",
        &format!("/invoices/{invoice}/payments"),
        &[("amount", "1.00")],
    )
    .await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(detail(&app, invoice).await.invoice.paid, 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recurring_sales_contract_page_shows_its_billing() {
    let app = app().await;
    let contract = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    let customer = app
        .customer("Plain Ltd", "ops@plain.example", "en", "Europe/Athens")
        .await;
    let plain = app
        .contract(customer, "Plain maintenance", "2027-12-31", None)
        .await;
    bill(&app).await;
    let invoices = invoices_of(&app, contract).await;
    let admin = app.login("ada@firm.example").await;

    let (status, page) = get(&admin, &app, &format!("/contracts/{contract}")).await;
    assert_eq!(status, StatusCode::OK);
    let billing = page
        .split("<section class=\"card\" aria-labelledby=\"billing-h\" id=\"billing\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no billing section:\n{page}"));
    for part in [
        "<dt>Every</dt><dd>1 month (1m), in advance",
        "<dt>Invoices</dt><dd>made as drafts, issued when someone approves them</dd>",
        "<dt>Payment</dt><dd>due 14 days after issue</dd>",
        "<dt>Cycles</dt><dd>12</dd>",
        "<td>Training</td><td class=\"num\">1</td><td class=\"num\">€1,000.00</td><td class=\"num\">13</td><td class=\"num\">€1,000.00</td>",
        "<td class=\"num\">12</td><td>2027-12-01</td><td>2027-12-31</td><td>2027-12-01</td>",
    ] {
        assert!(billing.contains(part), "{part}:\n{billing}");
    }
    // Twelve periods: three invoiced (each linking to its draft), nine pending.
    assert_eq!(
        billing
            .matches("<span class=\"status\">invoiced</span>")
            .count(),
        3
    );
    assert_eq!(
        billing
            .matches("<span class=\"status\">pending</span>")
            .count(),
        9
    );
    for id in &invoices {
        assert!(
            billing.contains(&format!("<a href=\"/invoices/{id}\">Draft</a>")),
            "period links to invoice {id}:\n{billing}"
        );
        assert!(billing.contains(&format!("<a href=\"/invoices/{id}\">Draft #{id}</a>")));
    }
    assert_eq!(
        billing
            .matches(&format!(
                "<td class=\"num\">{TOTAL}</td><td class=\"num\">€0.00</td><td class=\"num\">{TOTAL}</td>"
            ))
            .count(),
        3,
        "each invoice's total, paid and balance:\n{billing}"
    );
    assert!(billing.contains(&format!("/invoices?contract={contract}")));

    let (_, plain_page) = get(&admin, &app, &format!("/contracts/{plain}")).await;
    assert!(
        !plain_page.contains("id=\"billing\""),
        "not a recurring sale"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_form_enters_a_recurring_sale() {
    let app = app().await;
    let customer = app
        .customer("Acme Copiers", "ops@acme.example", "en", "Europe/Athens")
        .await
        .to_string();
    let sam = app.login(OWNER).await;
    let (_, form) = get(&sam, &app, "/contracts/new").await;
    for field in [
        "id=\"bill_every\"",
        "id=\"cycles\"",
        "id=\"lines\"",
        "id=\"in_arrears\"",
        "id=\"draft_invoices\"",
        "id=\"payment_days\"",
    ] {
        assert!(form.contains(field), "{field}");
    }
    let fields = |bill_every: &'static str, lines: &'static str| {
        vec![
            ("customer", customer.clone()),
            ("title", "Managed print".to_string()),
            ("start", "2027-04-01".to_string()),
            ("end", String::new()),
            ("currency", "EUR".to_string()),
            ("bill_every", bill_every.to_string()),
            ("cycles", "6".to_string()),
            ("lines", lines.to_string()),
            ("in_arrears", "on".to_string()),
            ("draft_invoices", "on".to_string()),
            ("payment_days", "30".to_string()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let sam = sam.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&sam, app, "/contracts/new", "/contracts", &fields).await
        }
    };

    // A bad line is named by its number in the box, and nothing is entered.
    let refused = send(fields("1m", "Printer lease|1|80.00|24\nToner|2|ten|24\n")).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(page.contains("line 2: unit price"), "{page}");
    assert!(page.contains("Toner|2|ten|24"), "keeps the lines typed");
    assert!(page.contains("name=\"lines\" rows=\"4\" placeholder=\"Managed backup|1|120.00|24\" aria-invalid=\"true\""), "{page}");
    assert!(
        page.contains("id=\"lines-error\">line 2: unit price"),
        "beside the box: {page}"
    );
    assert!(page.contains("id=\"in_arrears\" name=\"in_arrears\" checked"));
    let refused = send(fields("monthly", "Printer lease|1|80.00|24")).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("id=\"bill_every-error\""),
        "beside the field: {page}"
    );
    assert!(page.contains("id=\"bill_every\" name=\"bill_every\" value=\"monthly\" placeholder=\"1m\" aria-invalid=\"true\""), "{page}");
    assert!(
        app.engine
            .browse_contracts(&Default::default())
            .await
            .unwrap()
            .total
            == 0,
        "nothing entered"
    );

    let entered = send(fields("1m", "Printer lease|1|80.00|24\nToner|2|15.50|24")).await;
    assert_eq!(entered.status(), StatusCode::SEE_OTHER);
    let id: i64 = location(&entered)
        .strip_prefix("/contracts/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .expect("the new contract's page");
    let detail = app.engine.contract_detail(id).await.unwrap();
    assert_eq!(detail.plan, "subscription", "a sale's default plan");
    assert_eq!(
        detail.contract.end_date.to_string(),
        "2027-09-30",
        "six monthly cycles"
    );
    assert_eq!(
        detail.contract.money().map(|m| m.to_decimal_string()),
        Some("137.64".to_string()),
        "one invoice's total: (80.00 + 31.00) × 1.24"
    );
    let billing = app
        .engine
        .billing_view(&detail.contract)
        .await
        .unwrap()
        .expect("a recurring sale");
    assert_eq!(billing.every, "1m");
    assert_eq!(billing.schedule.cycles, Some(6));
    assert_eq!(billing.schedule.payment_days, 30);
    assert_eq!(billing.schedule.invoice_mode, InvoiceMode::Draft);
    assert_eq!(
        billing.schedule.timing,
        tickler_core::billing::BillingTiming::InArrears
    );
    assert_eq!(billing.lines.len(), 2);
    assert_eq!(billing.periods.len(), 6);
    let (_, page) = get(&sam, &app, &location(&entered)).await;
    assert!(page.contains("Recurring sale entered"), "{page}");
    assert!(page.contains("id=\"billing\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_edited_through_its_form_before_approval() {
    let app = app().await;
    let contract = sale(&app, "Acme Copiers", "Copier fleet care", true).await;
    bill(&app).await;
    let january = invoices_of(&app, contract).await[0];
    let admin = app.login("ada@firm.example").await;
    let page_path = format!("/invoices/{january}");

    let (_, page) = get(&admin, &app, &page_path).await;
    assert!(
        page.contains(
            "Managed backup|1|100.00|24\nSupport hours|2|25.00|24\nTraining|1|1000.00|13"
        ),
        "the form starts with the draft's lines:\n{page}"
    );

    // A bad second line: refused, the box marked, what was typed kept, nothing changed.
    let typed = "Managed backup|1|100.00|24\nDiscount|1|ten|24";
    let response = post(
        &admin,
        &app,
        &page_path,
        &format!("/invoices/{january}/edit"),
        &[
            ("lines", typed),
            ("issue_date", "2027-01-01"),
            ("due_date", "2027-01-31"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("page");
    assert!(page.contains("Not saved: line 2: unit price"), "{page}");
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"edit-error\">Managed backup|1|100.00|24\nDiscount|1|ten|24</textarea>"), "{page}");
    assert_eq!(detail(&app, january).await.invoice.total, 131_600);

    let response = post(
        &admin,
        &app,
        &page_path,
        &format!("/invoices/{january}/edit"),
        &[
            ("lines", "Managed backup|1|100.00|24\nDiscount|1|-10|24\n"),
            ("issue_date", "2027-01-01"),
            ("due_date", "2027-01-31"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&admin, &app, &location(&response)).await;
    assert!(
        page.contains("Draft saved: total €111.60, due 2027-01-31."),
        "{page}"
    );
    let edited = detail(&app, january).await;
    assert_eq!(edited.invoice.total, 11_160);
    assert_eq!(edited.lines.len(), 2);
    assert_eq!(edited.invoice.status, InvoiceStatus::Draft);

    // A viewer may not edit it.
    app.user("vera@firm.example", Role::Viewer).await;
    let viewer = app.login("vera@firm.example").await;
    let (_, page) = get(&viewer, &app, &page_path).await;
    assert!(!page.contains("Save draft"));
    let response = post(
        &viewer,
        &app,
        &page_path,
        &format!("/invoices/{january}/edit"),
        &[("lines", "Free|1|0|0")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(detail(&app, january).await.invoice.total, 11_160);
}

//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` and the
//! body types' `ToSchema`, so that it describes what the code does rather than what
//! someone remembered to write down. Served at `GET /api/v1/openapi.json`, without a token:
//! a client generator needs it before it has one.

use std::sync::LazyLock;

use axum::Json;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        self as oa,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{
    actions, error, history, invoices, plans, quotes, reminders, resources, tasks, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tickler API",
        version = env!("CARGO_PKG_VERSION"),
        description = "Customers and contracts of a Tickler instance, for other programs. \
                       Each request carries `Authorization: Bearer TOKEN` (`tickler token \
                       create`) and acts as the token's user, with their role. Every refusal \
                       has one shape: `{\"error\": {\"code\", \"message\", \"field\"}}`.",
    ),
    servers((url = "/")),
    paths(
        serve,
        super::me,
        resources::list_customers,
        resources::customer,
        resources::create_customer,
        resources::list_contracts,
        resources::contract,
        resources::create_contract,
        resources::update_contract,
        history::contract_events,
        actions::renew,
        actions::decline,
        actions::terminate,
        reminders::list_reminders,
        reminders::reminder,
        reminders::update_reminder,
        reminders::send_now,
        reminders::skip,
        invoices::list_invoices,
        invoices::invoice,
        invoices::invoice_pdf,
        invoices::approve,
        invoices::record_payment,
        invoices::void,
        webhooks::list,
        webhooks::create,
        webhooks::get_one,
        webhooks::remove,
        webhooks::deliveries,
        webhooks::redeliver,
        tasks::list_tasks,
        tasks::done,
        quotes::list_quotes,
        quotes::quote,
        quotes::accept,
        quotes::decline,
        plans::list_plans,
        plans::list_templates,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, error::ErrorCode)),
    modifiers(&BearerScheme, &AlwaysSentHeaders),
    tags(
        (name = "account", description = "Who the token acts as"),
        (name = "customers", description = "Who receives the notices"),
        (name = "contracts", description = "Services sold for a term, and their timed emails"),
        (name = "reminders", description = "Timed emails: read, changed, sent at once or skipped"),
        (name = "invoices", description = "Invoices of recurring sales: read, approved, paid, voided"),
        (name = "webhooks", description = "Receivers told of events by signed POSTs (admins)"),
        (name = "tasks", description = "The team's to-dos: listed, marked done"),
        (name = "quotes", description = "Renewal quotes: read, accepted or declined"),
        (name = "plans", description = "The plans contracts follow, with their steps (read only)"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The bearer token every operation but this document's asks for.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut oa::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token made with `tickler token create` or on the account page",
                    ))
                    .build(),
            ),
        );
    }
}

/// Response headers the API sends with every response that documents them (the others,
/// such as `Idempotent-Replayed`, only sometimes).
const ALWAYS_SENT_HEADERS: [&str; 2] = ["ETag", "Location"];

/// Marks [`ALWAYS_SENT_HEADERS`] `required` wherever they are documented. utoipa's Header
/// has no `required` field, so it goes in through the header's extensions, which are
/// serialized flat into the Header Object, where OpenAPI defines `required`.
struct AlwaysSentHeaders;

impl Modify for AlwaysSentHeaders {
    fn modify(&self, openapi: &mut oa::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    let oa::RefOr::T(response) = response else {
                        continue;
                    };
                    for (name, header) in response.headers.iter_mut() {
                        if let oa::RefOr::T(header) = header
                            && ALWAYS_SENT_HEADERS.contains(&name.as_str())
                        {
                            header
                                .extensions
                                .get_or_insert_with(Default::default)
                                .insert("required".to_string(), serde_json::Value::Bool(true));
                        }
                    }
                }
            }
        }
    }
}

/// The document, built once: it cannot change while the process runs.
static DOCUMENT: LazyLock<oa::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The API's OpenAPI document (also for tests that check responses against it).
pub fn document() -> &'static oa::OpenApi {
    &DOCUMENT
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "get_openapi",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API",
               content_type = "application/json", body = Object)),
)]
pub(super) async fn serve() -> Json<&'static oa::OpenApi> {
    Json(document())
}

// The values of the API's text fields that come from a fixed list, for the document only:
// the responses carry the core's `as_str()` of the matching types, and a test below holds
// these lists to the core's parsers.

/// A user's role.
#[derive(ToSchema)]
#[schema(as = Role)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum RoleName {
    admin,
    sales,
    viewer,
}

/// A language of notices (ISO 639-1).
#[derive(ToSchema)]
#[schema(as = Language)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum LanguageCode {
    en,
    ja,
    el,
}

/// A contract's status.
#[derive(ToSchema)]
#[schema(as = ContractStatus)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum ContractStatusName {
    active,
    terminated,
}

/// How a contract's term ends: `expires` unless renewed, `auto` renews unless cancelled by
/// its notice date, `evergreen` has no end.
#[derive(ToSchema)]
#[schema(as = Renewal)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum RenewalName {
    expires,
    auto,
    evergreen,
}

/// The customer's answer through a one-click link.
#[derive(ToSchema)]
#[schema(as = Answer)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum AnswerName {
    renew,
    decline,
    quote,
}

/// Where a reminder is in its life cycle.
#[derive(ToSchema)]
#[schema(as = ReminderStatus)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum ReminderStatusName {
    scheduled,
    sending,
    sent,
    failed,
    skipped,
    cancelled,
    superseded,
}

/// How a reminder goes out: `auto` at its time unless someone acts first, `approval` never
/// without approval, `internal` a notice to the team only, `task` a to-do for the owner.
#[derive(ToSchema)]
#[schema(as = ReminderMode)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum ReminderModeName {
    auto,
    approval,
    internal,
    task,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn document_json() -> Value {
        serde_json::to_value(document()).expect("the document serializes")
    }

    /// The (method, path) pairs the document has operations for.
    fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
        let paths = doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("a path item")
                    .keys()
                    .filter(|key| {
                        matches!(
                            key.as_str(),
                            "get"
                                | "put"
                                | "post"
                                | "delete"
                                | "options"
                                | "head"
                                | "patch"
                                | "trace"
                        )
                    })
                    .map(|method| (method.to_uppercase(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn the_document_lists_every_route_of_the_api_router_and_no_other() {
        let routed: BTreeSet<(String, String)> = super::super::api_routes()
            .endpoints
            .iter()
            .map(|(method, path)| (method.to_string(), path.to_string()))
            .collect();
        let documented = documented_operations(&document_json());
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routes without #[utoipa::path] (or not in ApiDoc's paths): {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented operations the router does not answer: {unrouted:?}"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_a_bearer_scheme() {
        let doc = document_json();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "Tickler API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["servers"][0]["url"], "/");
        let bearer = &doc["components"]["securitySchemes"]["bearer"];
        assert_eq!(bearer["type"], "http");
        assert_eq!(bearer["scheme"], "bearer");
        // Every operation but the document's own asks for the token, and says what a
        // request without one gets.
        for (method, path) in documented_operations(&doc) {
            let operation = &doc["paths"][&path][method.to_lowercase()];
            if path == "/api/v1/openapi.json" {
                assert!(operation.get("security").is_none(), "{operation}");
                continue;
            }
            assert_eq!(
                operation["security"],
                serde_json::json!([{"bearer": []}]),
                "{method} {path}"
            );
            assert!(
                operation["responses"].get("401").is_some(),
                "{method} {path} documents no 401"
            );
        }
        let etag =
            &doc["paths"]["/api/v1/contracts/{id}"]["get"]["responses"]["200"]["headers"]["ETag"];
        assert_eq!(etag["required"], true, "{etag}");
    }

    #[test]
    fn the_documented_value_lists_are_the_ones_the_core_reads() {
        use tickler_core::{
            contract::ContractStatus, language::Language, renewal::Answer, renewal::RenewalType,
            user::Role,
        };
        let doc = document_json();
        let values = |schema: &str| -> Vec<String> {
            doc["components"]["schemas"][schema]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{schema} has no enum"))
                .iter()
                .map(|v| v.as_str().expect("a text value").to_string())
                .collect()
        };
        for value in values("Role") {
            let parsed: Role = value.parse().expect("a role");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("Language") {
            assert_eq!(
                Language::parse("language", &value).map(|l| l.code()),
                Ok(value.as_str())
            );
        }
        for value in values("ContractStatus") {
            let parsed: ContractStatus = value.parse().expect("a status");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("Renewal") {
            let parsed: RenewalType = value.parse().expect("a renewal type");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("ReminderStatus") {
            let parsed: tickler_core::reminder::ReminderStatus = value.parse().expect("a status");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("ReminderMode") {
            let parsed: tickler_core::plan::Mode = value.parse().expect("a mode");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("InvoiceStatus") {
            let parsed: tickler_core::invoice::InvoiceStatus = value.parse().expect("a status");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("TaskStatus") {
            let parsed: tickler_core::task::TaskStatus = value.parse().expect("a status");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("QuoteStatus") {
            let parsed: tickler_core::quote::QuoteStatus = value.parse().expect("a status");
            assert_eq!(parsed.as_str(), value);
        }
        for value in values("Answer") {
            let parsed: Answer = value.parse().expect("an answer");
            assert_eq!(parsed.as_str(), value);
        }
    }
}

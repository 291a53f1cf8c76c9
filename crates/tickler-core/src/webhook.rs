//! Webhooks: the events other programs can subscribe to, and the signature that lets a
//! receiver check that a delivery came from this Tickler and was not replayed.
//!
//! A delivery's body is signed with HMAC-SHA256 under the endpoint's secret, over
//! `"{timestamp}.{body}"` (the timestamp in Unix seconds), and sent as
//! `Tickler-Signature: t={timestamp},v1={hex digest}`. Binding the timestamp into the MAC
//! lets a receiver refuse old deliveries (a replay window) without trusting any other header.

use std::{fmt, str::FromStr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{ValidationError, plan::text_enum};

/// What happened, as a webhook names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEvent {
    ReminderScheduled,
    ReminderSent,
    ReminderFailed,
    ReminderSkipped,
    ContractCreated,
    ContractRenewed,
    ContractDeclined,
    ContractExpired,
    InvoiceDrafted,
    InvoiceIssued,
    InvoicePaid,
    InvoiceOverdue,
    QuoteAccepted,
    QuoteDeclined,
    CustomerAnswered,
    TaskCreated,
}

text_enum!(WebhookEvent, "event", {
    WebhookEvent::ReminderScheduled => "reminder.scheduled",
    WebhookEvent::ReminderSent => "reminder.sent",
    WebhookEvent::ReminderFailed => "reminder.failed",
    WebhookEvent::ReminderSkipped => "reminder.skipped",
    WebhookEvent::ContractCreated => "contract.created",
    WebhookEvent::ContractRenewed => "contract.renewed",
    WebhookEvent::ContractDeclined => "contract.declined",
    WebhookEvent::ContractExpired => "contract.expired",
    WebhookEvent::InvoiceDrafted => "invoice.drafted",
    WebhookEvent::InvoiceIssued => "invoice.issued",
    WebhookEvent::InvoicePaid => "invoice.paid",
    WebhookEvent::InvoiceOverdue => "invoice.overdue",
    WebhookEvent::QuoteAccepted => "quote.accepted",
    WebhookEvent::QuoteDeclined => "quote.declined",
    WebhookEvent::CustomerAnswered => "customer.answered",
    WebhookEvent::TaskCreated => "task.created",
});

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 16] = [
        WebhookEvent::ReminderScheduled,
        WebhookEvent::ReminderSent,
        WebhookEvent::ReminderFailed,
        WebhookEvent::ReminderSkipped,
        WebhookEvent::ContractCreated,
        WebhookEvent::ContractRenewed,
        WebhookEvent::ContractDeclined,
        WebhookEvent::ContractExpired,
        WebhookEvent::InvoiceDrafted,
        WebhookEvent::InvoiceIssued,
        WebhookEvent::InvoicePaid,
        WebhookEvent::InvoiceOverdue,
        WebhookEvent::QuoteAccepted,
        WebhookEvent::QuoteDeclined,
        WebhookEvent::CustomerAnswered,
        WebhookEvent::TaskCreated,
    ];

    /// One line for the list of events a person picks from.
    pub fn describe(self) -> &'static str {
        match self {
            WebhookEvent::ReminderScheduled => "a timed email was planned",
            WebhookEvent::ReminderSent => "a timed email went out",
            WebhookEvent::ReminderFailed => "a timed email could not be delivered",
            WebhookEvent::ReminderSkipped => "someone skipped a timed email",
            WebhookEvent::ContractCreated => "a contract was entered",
            WebhookEvent::ContractRenewed => "a contract's next term started",
            WebhookEvent::ContractDeclined => "the customer or the team declined the renewal",
            WebhookEvent::ContractExpired => "a contract's last term ended without renewal",
            WebhookEvent::InvoiceDrafted => "an invoice was drafted for approval",
            WebhookEvent::InvoiceIssued => "an invoice was issued (it has its number)",
            WebhookEvent::InvoicePaid => "an invoice was paid in full",
            WebhookEvent::InvoiceOverdue => "an invoice's due date passed unpaid",
            WebhookEvent::QuoteAccepted => "a quote was accepted",
            WebhookEvent::QuoteDeclined => "a quote was declined",
            WebhookEvent::CustomerAnswered => "a customer answered a renewal email",
            WebhookEvent::TaskCreated => "a task was opened for someone",
        }
    }
}

/// The events of a comma-separated list such as `reminder.sent,contract.created`, or every
/// event for `*`; each named once, in the canonical order.
pub fn parse_event_list(list: &str) -> Result<Vec<WebhookEvent>, ValidationError> {
    if list.trim() == "*" {
        return Ok(WebhookEvent::ALL.to_vec());
    }
    let mut events = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let event: WebhookEvent = name.parse().map_err(|_| {
            ValidationError::new(
                "events",
                format!(
                    "unknown event \"{name}\" (expected * or some of {})",
                    WebhookEvent::ALL.map(WebhookEvent::as_str).join(", ")
                ),
            )
        })?;
        events.push(event);
    }
    if events.is_empty() {
        return Err(ValidationError::new(
            "events",
            "name at least one event, or * for all of them",
        ));
    }
    events.sort();
    events.dedup();
    Ok(events)
}

/// The list as stored and shown: comma-separated, canonical order.
pub fn event_list_text(events: &[WebhookEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A receiver's address, checked: `http://` or `https://`, a host, no user name or password
/// (they would be logged and shown), no fragment, at most 2,000 characters.
pub fn check_endpoint_url(url: &str) -> Result<String, ValidationError> {
    let url = url.trim();
    let refuse = |why: &str| ValidationError::new("url", why.to_string());
    if url.len() > 2000 {
        return Err(refuse("is longer than 2,000 characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("contains spaces or control characters"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| refuse("must start with https:// (or http://)"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(refuse("names no host"));
    }
    if authority.contains('@') {
        return Err(refuse(
            "must not carry a user name or password: the receiver checks the signature instead",
        ));
    }
    if url.contains('#') {
        return Err(refuse("must not have a #fragment"));
    }
    Ok(url.to_string())
}

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = signed(secret, timestamp, body).finalize().into_bytes();
    hex(&digest)
}

/// The `Tickler-Signature` header's value for a delivery sent at `timestamp`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=` part, or a timestamp that is not a number.
    Malformed,
    /// Signed more than the tolerance away from now: an old delivery replayed, or a clock off.
    OutsideWindow { age_seconds: i64 },
    /// No `v1` signature matches the body under the secret.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Malformed => f.write_str("the signature header is malformed"),
            SignatureError::OutsideWindow { age_seconds } => write!(
                f,
                "the delivery was signed {age_seconds} s from now, outside the replay window"
            ),
            SignatureError::Mismatch => f.write_str("the signature does not match the body"),
        }
    }
}

/// Checks a `Tickler-Signature` header as a receiver should: the timestamp within
/// `tolerance_seconds` of `now` (Unix seconds), and one of the `v1` signatures (there may be
/// several while a secret is being replaced) matching, compared in constant time.
pub fn verify_signature(
    header: &str,
    secret: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(i64::from_str(value).map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", value)) => candidates.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = now.saturating_sub(timestamp);
    if age.abs() > tolerance_seconds {
        return Err(SignatureError::OutsideWindow { age_seconds: age });
    }
    let matches = candidates.iter().any(|candidate| {
        unhex(candidate)
            .is_some_and(|bytes| signed(secret, timestamp, body).verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn signed(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // The same figure as `printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac whsec`
        // prints: the recipe in the README computes exactly this.
        assert_eq!(
            signature("whsec", 1_700_000_000, b"{}"),
            "7d44587dddbaf4c7f70fef20f48cd594834ffea1641e3ac227b84408298738af"
        );
        let header = signature_header("whsec", 1_700_000_000, b"{}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
    }

    #[test]
    fn a_receiver_refuses_old_tampered_and_malformed_deliveries() {
        let body = br#"{"id":"evt_1"}"#;
        let header = signature_header("s3cret", 1000, body);
        assert_eq!(verify_signature(&header, "s3cret", body, 1200, 300), Ok(()));
        assert_eq!(
            verify_signature(&header, "s3cret", body, 1400, 300),
            Err(SignatureError::OutsideWindow { age_seconds: 400 })
        );
        assert_eq!(
            verify_signature(&header, "other", body, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, "s3cret", br#"{"id":"evt_2"}"#, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=1000", "v1=abcd", "t=x,v1=ab"] {
            assert_eq!(
                verify_signature(bad, "s3cret", body, 1000, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        // A second signature (a secret being replaced) is accepted if one matches.
        let both = format!("{header},v1={}", "00".repeat(32));
        assert_eq!(verify_signature(&both, "s3cret", body, 1000, 300), Ok(()));
    }

    #[test]
    fn event_lists_parse_to_the_canonical_order() {
        assert_eq!(
            parse_event_list(" reminder.sent , contract.created,reminder.sent").unwrap(),
            vec![WebhookEvent::ReminderSent, WebhookEvent::ContractCreated]
        );
        assert_eq!(parse_event_list("*").unwrap().len(), 16);
        let refused = parse_event_list("reminder.sent,contract.exploded").unwrap_err();
        assert!(
            refused.to_string().contains("contract.exploded"),
            "{refused}"
        );
        assert!(parse_event_list(" , ").is_err());
        for event in WebhookEvent::ALL {
            assert_eq!(event.as_str().parse::<WebhookEvent>().unwrap(), event);
        }
    }

    #[test]
    fn endpoint_urls_are_http_without_credentials() {
        assert_eq!(
            check_endpoint_url(" https://hooks.example.com/tickler?x=1 ").unwrap(),
            "https://hooks.example.com/tickler?x=1"
        );
        assert!(check_endpoint_url("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "ftp://example.com/",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com/a b",
            "https://example.com/#x",
            "example.com",
        ] {
            assert!(check_endpoint_url(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_signed_body_verifies_and_any_change_does_not(
            secret in "[ -~]{1,40}",
            body in proptest::collection::vec(any::<u8>(), 0..200),
            timestamp in 0i64..4_000_000_000,
            flip in any::<prop::sample::Index>(),
        ) {
            let header = signature_header(&secret, timestamp, &body);
            prop_assert_eq!(verify_signature(&header, &secret, &body, timestamp, 0), Ok(()));
            if !body.is_empty() {
                let mut changed = body.clone();
                let at = flip.index(changed.len());
                changed[at] ^= 1;
                prop_assert_eq!(
                    verify_signature(&header, &secret, &changed, timestamp, 0),
                    Err(SignatureError::Mismatch)
                );
            }
        }
    }
}

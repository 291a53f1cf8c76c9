//! The real dispatcher against a real TLS SMTP server (aiosmtpd, with a certificate from a
//! CA made for the test). A certificate Tickler does not trust holds the due emails as a
//! configuration problem, logged once at error level, instead of retrying them into failure;
//! once `TICKLER_SMTP_CA_FILE` names the CA they go out, the login only ever over TLS. A
//! login sent in the clear because the URL says `tls=none` is warned about; a CA file that
//! cannot be used stops the start, naming the setting and the file.

mod support;

use serde_json::Value;
use support::{Tickler, field};
use tickler_testkit::{ServerTls, SmtpTestServer, TestCertificates};

const LOGIN: &str = "mailer:s3cret-pw";
/// The contracts' `before_60` emails are all due at this instant.
const FIRST_RUN: &str = "2027-05-02T12:00:00Z";
const CONTRACTS: usize = 5;

fn step_reminders(t: &Tickler) -> Vec<Value> {
    match t.json(&["reminder", "list", "--json"]) {
        Value::Array(list) => list
            .into_iter()
            .filter(|r| r["step"] == "before_60")
            .collect(),
        other => panic!("not a list: {other}"),
    }
}

/// A STARTTLS server requiring [`LOGIN`], its certificate from a CA made for the test (which
/// the system does not trust), and the folder of the CA's file.
fn starttls_server() -> (SmtpTestServer, TestCertificates, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::issue(dir.path(), "IP:127.0.0.1");
    let smtp =
        SmtpTestServer::start_secured(Some((ServerTls::StartTls, &certificates)), Some(LOGIN));
    (smtp, certificates, dir)
}

#[test]
fn an_untrusted_certificate_holds_the_emails_until_the_ca_file_names_its_issuer() {
    let (smtp, certificates, _dir) = starttls_server();
    let mut t = Tickler::new(Some(format!("smtp://{LOGIN}@127.0.0.1:{}", smtp.port())));
    support::import_contracts_due_together(&t, CONTRACTS);

    let log = t.dispatch_at(FIRST_RUN);
    let problem = "SMTP TLS: certificate of 127.0.0.1 not trusted (unknown issuer";
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one error for the whole batch:\n{log}");
    assert!(errors[0].contains(problem), "{log}");
    assert!(
        log.contains(&format!(
            "claimed {CONTRACTS}, sent 0, retrying {CONTRACTS}, failed 0"
        )),
        "{log}"
    );
    assert!(!log.contains("s3cret"), "{log}");
    for r in step_reminders(&t) {
        assert_eq!(field(&r, "status"), "scheduled", "{r}");
        assert!(
            field(&r, "last_error").starts_with(&format!("held: {problem}")),
            "{r}"
        );
    }
    assert!(smtp.logins().is_empty(), "{:?}", smtp.logins());
    assert!(smtp.messages().is_empty());

    // The admin names the CA; the held emails go out at the next look, five minutes on.
    t.set_env(
        "TICKLER_SMTP_CA_FILE",
        certificates.ca_file.to_str().expect("a UTF-8 path"),
    );
    let log = t.dispatch_at("2027-05-02T12:05:00Z");
    assert!(
        log.contains(&format!("claimed {CONTRACTS}, sent {CONTRACTS}")),
        "{log}"
    );
    assert!(
        step_reminders(&t)
            .iter()
            .all(|r| field(r, "status") == "sent")
    );
    assert_eq!(smtp.messages().len(), CONTRACTS);
    let logins = smtp.logins();
    assert!(!logins.is_empty());
    assert!(logins.iter().all(|l| l.tls && l.accepted), "{logins:?}");
}

#[test]
fn a_login_sent_in_the_clear_because_the_url_says_so_is_warned_about() {
    let smtp = SmtpTestServer::start_secured(None, Some(LOGIN));
    let t = Tickler::new(Some(format!(
        "smtp://{LOGIN}@127.0.0.1:{}?tls=none",
        smtp.port()
    )));
    support::import_contracts_due_together(&t, 1);
    let log = t.dispatch_at(FIRST_RUN);
    assert!(log.contains("claimed 1, sent 1"), "{log}");
    let warning = format!(
        "the SMTP URL says tls=none: the login mailer and its password go to 127.0.0.1:{} \
         unencrypted",
        smtp.port()
    );
    assert!(log.contains(&warning), "{log}");
    assert!(!log.contains("s3cret"), "{log}");
    assert_eq!(smtp.logins().len(), 1);
    assert!(!smtp.logins()[0].tls);
}

#[test]
fn a_ca_file_that_cannot_be_used_stops_the_start_naming_it() {
    let mut t = Tickler::new(Some("smtp://mailer:s3cret-pw@smtp.example".to_string()));
    let missing = t.dir().join("missing-ca.pem");
    let not_pem = t.dir().join("not-a-ca.pem");
    std::fs::write(&not_pem, "a private key, perhaps\n").unwrap();
    for (file, reason) in [
        (&missing, "cannot be read"),
        (&not_pem, "holds no certificate"),
    ] {
        t.set_env("TICKLER_SMTP_CA_FILE", file.to_str().expect("a UTF-8 path"));
        let err = t.fails(&["dispatch", "--once"]);
        assert!(
            err.contains(&format!(
                "TICKLER_SMTP_CA_FILE: CA file {} {reason}",
                file.display()
            )),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }
}

#[test]
fn holds_do_not_use_up_the_retries_of_a_temporary_failure_after_the_fix() {
    let (smtp, certificates, _dir) = starttls_server();
    let mut t = Tickler::new(Some(format!("smtp://{LOGIN}@127.0.0.1:{}", smtp.port())));
    support::import_contracts_due_together(&t, 1);
    let first: jiff::Timestamp = FIRST_RUN.parse().unwrap();
    let at = |minutes: i64| {
        first
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap()
            .to_string()
    };
    // Held for longer than the retry budget (12 attempts): one hold every five minutes.
    let holds = 14;
    for hold in 0..holds {
        t.dispatch_at(&at(5 * hold));
    }
    let [reminder] = &step_reminders(&t)[..] else {
        panic!("one reminder")
    };
    assert_eq!(reminder["attempts"], serde_json::json!(holds), "{reminder}");
    assert!(field(reminder, "last_error").starts_with("held: "));

    // Fixed, but the server is busy once: an ordinary retry, not "gave up".
    t.set_env(
        "TICKLER_SMTP_CA_FILE",
        certificates.ca_file.to_str().expect("a UTF-8 path"),
    );
    smtp.set_faults(serde_json::json!({"data_reply": "421 4.3.2 Service busy", "remaining": 1}));
    let log = t.dispatch_at(&at(5 * holds));
    assert!(
        log.contains("claimed 1, sent 0, retrying 1, failed 0"),
        "{log}"
    );
    let [reminder] = &step_reminders(&t)[..] else {
        panic!("one reminder")
    };
    assert_eq!(field(reminder, "status"), "scheduled", "{reminder}");
    assert!(
        field(reminder, "last_error").starts_with("421"),
        "{reminder}"
    );
    let log = t.dispatch_at(&at(5 * holds + 60));
    assert!(log.contains("claimed 1, sent 1"), "{log}");
    assert_eq!(smtp.messages().len(), 1);
}

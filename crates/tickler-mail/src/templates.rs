//! The built-in templates of the default plans (renewal, subscription, dunning) and of the
//! system's own messages, in every language Tickler ships.
//!
//! Each is a file `templates/{language}/{key}.txt`: a first line `Subject: ...`, a blank line,
//! then the body. They are compiled into the binary so a deployment cannot lose them.

use tickler_core::language::Language;

/// The steps of the default plans (a step's key is its template's name), plus the messages
/// the system sends by itself: the notices to a contract's owner and the issued invoice.
pub const KEYS: [&str; 22] = [
    // renewal
    "before_60",
    "before_30",
    "before_7",
    "after_7",
    "call_customer",
    // auto renewal
    "auto_renewal_notice",
    "auto_renewal_owner",
    // subscription
    "invoice_upcoming",
    "sale_ending",
    "sale_ended",
    // dunning
    "payment_due_soon",
    "payment_overdue_7",
    "payment_overdue_21",
    "payment_overdue_30_task",
    "payment_overdue_30_team",
    // the system's own
    "delivery_failed",
    "owner_alert",
    ANSWER_RECEIVED,
    TASK_ESCALATED,
    INVOICE_ISSUED,
    QUOTE_SENT,
    CUSTOMER_REDIRECTED,
];

/// A built-in template's name as people read it ("Final notice, 7 days before"); `None` for
/// a template the team wrote, which is known by its key.
pub fn template_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "before_60" => "Renewal notice, 60 days before",
        "before_30" => "Reminder, 30 days before",
        "before_7" => "Final notice, 7 days before",
        "after_7" => "Thank you, 7 days after",
        "call_customer" => "Call the customer (the owner's task)",
        "auto_renewal_notice" => "Automatic renewal notice",
        "auto_renewal_owner" => "Automatic renewal, to the owner",
        "invoice_upcoming" => "Upcoming invoice",
        "sale_ending" => "Recurring sale ending",
        "sale_ended" => "Recurring sale ended",
        "payment_due_soon" => "Payment due soon",
        "payment_overdue_7" => "Payment overdue, 7 days",
        "payment_overdue_21" => "Payment overdue, 21 days",
        "payment_overdue_30_task" => "Payment overdue, 30 days (the owner's task)",
        "payment_overdue_30_team" => "Payment overdue, 30 days, to the team",
        DELIVERY_FAILED => "Delivery failed, to the owner",
        OWNER_ALERT => "Waiting for the owner",
        ANSWER_RECEIVED => "The customer answered, to the owner",
        TASK_ESCALATED => "Task escalated",
        CUSTOMER_REDIRECTED => "Customer's address changed",
        INVOICE_ISSUED => "Invoice issued",
        QUOTE_SENT => "Quote sent",
        _ => return None,
    })
}

/// The templates that read `invoice` without testing for it: render them only with a
/// context that has one (a check against a contract alone fails on them).
pub const NEEDS_INVOICE: [&str; 7] = [
    "invoice_upcoming",
    "payment_due_soon",
    "payment_overdue_7",
    "payment_overdue_21",
    "payment_overdue_30_task",
    "payment_overdue_30_team",
    INVOICE_ISSUED,
];

/// The internal notice to a contract's owner that a reminder could not be delivered.
pub const DELIVERY_FAILED: &str = "delivery_failed";

/// The internal notice to a contract's owner that a step in `approval` or `task` mode is due
/// and waits for them.
pub const OWNER_ALERT: &str = "owner_alert";

/// The internal notice to a contract's owner of the customer's answer (renew, decline,
/// quote) to a renewal email.
pub const ANSWER_RECEIVED: &str = "answer_received";
/// The internal notice to the admins that a task is still open 3 business days after its
/// due date.
pub const TASK_ESCALATED: &str = "task_escalated";

/// The internal notice to a contract's owner that someone else changed the customer's
/// addresses, so the contract's reminders now go elsewhere.
pub const CUSTOMER_REDIRECTED: &str = "customer_redirected";

/// The message that carries an issued invoice, its PDF attached, to the customer.
pub const INVOICE_ISSUED: &str = "invoice_issued";

/// The message that carries a renewal quote, its PDF attached and its accept/decline links
/// (or, without them, how to answer by reply), to the customer.
pub const QUOTE_SENT: &str = "quote_sent";

/// The templates that read `quote` without testing for it.
pub const NEEDS_QUOTE: [&str; 1] = [QUOTE_SENT];

/// One built-in template, split into its subject and body sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// The file it came from, e.g. `ja/before_60.txt`, for error messages.
    pub file: &'static str,
    pub subject: &'static str,
    pub body: &'static str,
}

impl Builtin {
    /// The file line the body starts on (after the subject line and the blank line), so
    /// errors point at the file's own line numbers.
    pub const BODY_FIRST_LINE: usize = 3;
}

macro_rules! files {
    ($($lang:ident $code:literal),+) => {
        [$(
            files!(@one $lang $code "before_60"),
            files!(@one $lang $code "before_30"),
            files!(@one $lang $code "before_7"),
            files!(@one $lang $code "after_7"),
            files!(@one $lang $code "call_customer"),
            files!(@one $lang $code "auto_renewal_notice"),
            files!(@one $lang $code "auto_renewal_owner"),
            files!(@one $lang $code "invoice_upcoming"),
            files!(@one $lang $code "sale_ending"),
            files!(@one $lang $code "sale_ended"),
            files!(@one $lang $code "payment_due_soon"),
            files!(@one $lang $code "payment_overdue_7"),
            files!(@one $lang $code "payment_overdue_21"),
            files!(@one $lang $code "payment_overdue_30_task"),
            files!(@one $lang $code "payment_overdue_30_team"),
            files!(@one $lang $code "delivery_failed"),
            files!(@one $lang $code "owner_alert"),
            files!(@one $lang $code "answer_received"),
            files!(@one $lang $code "task_escalated"),
            files!(@one $lang $code "invoice_issued"),
            files!(@one $lang $code "quote_sent"),
            files!(@one $lang $code "customer_redirected"),
        )+]
    };
    (@one $lang:ident $code:literal $key:literal) => {
        (
            Language::$lang,
            $key,
            concat!($code, "/", $key, ".txt"),
            include_str!(concat!("../templates/", $code, "/", $key, ".txt")),
        )
    };
}

/// (language, key, file name, text) of every built-in template.
const FILES: [(Language, &str, &str, &str); KEYS.len() * Language::ALL.len()] =
    files!(En "en", Ja "ja", El "el");

/// The template `key` in `language`, or None when that language has no such template.
pub fn builtin(key: &str, language: Language) -> Option<Builtin> {
    let (_, _, file, text) = FILES
        .iter()
        .find(|(lang, k, _, _)| *lang == language && *k == key)?;
    let (subject, body) = split(text)?;
    Some(Builtin {
        file,
        subject,
        body,
    })
}

/// The subject line and the body of a template file; None if it does not start with
/// `Subject:` and a blank line.
pub fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first, rest) = text.split_once('\n')?;
    let subject = first.strip_prefix("Subject:")?.trim();
    let body = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    Some((subject, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_exists_in_every_language_and_splits() {
        for language in Language::ALL {
            for key in KEYS {
                let builtin = builtin(key, language)
                    .unwrap_or_else(|| panic!("{language}/{key}.txt is missing or malformed"));
                assert!(!builtin.subject.is_empty(), "{}", builtin.file);
                assert!(!builtin.body.trim().is_empty(), "{}", builtin.file);
                assert_eq!(builtin.file, format!("{language}/{key}.txt"));
            }
        }
        assert!(builtin("nope", Language::En).is_none());
    }

    #[test]
    fn the_file_list_holds_every_key_once_per_language() {
        // FILES is written out by hand in the macro; KEYS is what the renderer loads.
        for language in Language::ALL {
            let mut keys: Vec<_> = FILES
                .iter()
                .filter(|(lang, ..)| *lang == language)
                .map(|(_, key, ..)| *key)
                .collect();
            keys.sort_unstable();
            let mut expected = KEYS.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{language}");
        }
        assert!(NEEDS_INVOICE.iter().all(|key| KEYS.contains(key)));
    }

    #[test]
    fn no_line_ends_in_a_block_tag_after_text() {
        // trim_blocks eats the newline after a block tag: fine on a line of its own, but after
        // text it would glue the next line (or paragraph) on.
        for (_, _, file, text) in FILES {
            for (n, line) in text.lines().enumerate() {
                let own_line = line.starts_with("{%") && line.matches("{%").count() == 1;
                assert!(
                    own_line || !line.trim_end().ends_with("%}"),
                    "{file} line {}: ends in a block tag after text",
                    n + 1
                );
            }
        }
    }

    #[test]
    fn split_needs_a_subject_line_and_a_blank_line() {
        assert_eq!(split("Subject: Hi\n\nBody\n"), Some(("Hi", "Body\n")));
        assert_eq!(split("Subject: Hi\r\n\r\nBody"), Some(("Hi", "Body")));
        assert_eq!(split("Hi\n\nBody"), None);
        assert_eq!(split("Subject: Hi\nBody"), None);
    }

    #[test]
    fn every_built_in_template_has_a_name() {
        for key in KEYS {
            assert!(template_name(key).is_some(), "{key}");
        }
        assert_eq!(template_name("our_own"), None);
    }
}

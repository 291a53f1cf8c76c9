//! The built-in templates of the default renewal plan, in every language Tickler ships.
//!
//! Each is a file `templates/{language}/{key}.txt`: a first line `Subject: ...`, a blank line,
//! then the body. They are compiled into the binary so a deployment cannot lose them.

use tickler_core::language::Language;

/// The reminder steps of the default plan, plus the internal notices to a contract's owner.
pub const KEYS: [&str; 6] = [
    "before_60",
    "before_30",
    "before_7",
    "after_7",
    "delivery_failed",
    "owner_alert",
];

/// The internal notice to a contract's owner that a reminder could not be delivered.
pub const DELIVERY_FAILED: &str = "delivery_failed";

/// The internal notice to a contract's owner that a step in `approval` or `task` mode is due
/// and waits for them.
pub const OWNER_ALERT: &str = "owner_alert";

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
            files!(@one $lang $code "delivery_failed"),
            files!(@one $lang $code "owner_alert"),
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
const FILES: [(Language, &str, &str, &str); 18] = files!(En "en", Ja "ja", El "el");

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
}

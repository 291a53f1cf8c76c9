//! Where a login sends the browser back to: only a page of this site, never another one.
//!
//! The `next` parameter comes from a link anyone can craft, so it is read the way a browser
//! will read the `Location` header it ends up in: tabs and newlines dropped, backslashes taken
//! for slashes, `.` and `..` segments resolved. Only what still lands on this origin is kept,
//! and the browser is given that normalised path, never the text as typed.

use url::{Position, Url};

/// Stands for this site while resolving `next`; only its origin matters.
const THIS_SITE: &str = "http://tickler.invalid/";

/// The path (with query) a login may redirect to for `next`; `/` for anything that is not a
/// path on this site.
pub fn after_login(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".to_string();
    };
    let Ok(base) = Url::parse(THIS_SITE) else {
        return "/".to_string();
    };
    let Ok(resolved) = base.join(next) else {
        return "/".to_string();
    };
    let path = &resolved[Position::BeforePath..];
    // `/.//host` resolves to the path `//host`, which a browser would read as another site.
    if resolved.origin() != base.origin() || path.starts_with("//") || path.starts_with("/\\") {
        return "/".to_string();
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_this_site_are_kept() {
        assert_eq!(after_login(Some("/")), "/");
        assert_eq!(after_login(Some("/contracts/7")), "/contracts/7");
        assert_eq!(
            after_login(Some("/review?status=failed&page=2")),
            "/review?status=failed&page=2"
        );
        assert_eq!(after_login(Some("/a/../contracts")), "/contracts");
        assert_eq!(after_login(None), "/");
    }

    #[test]
    fn anything_that_a_browser_would_take_to_another_site_goes_home() {
        for next in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "https:evil.example",
            "https://evil.example/login",
            "HTTPS://evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/.//evil.example",
            "/..//evil.example",
            "///evil.example",
            " //evil.example",
            "//evil.example@tickler.invalid",
        ] {
            assert_eq!(after_login(Some(next)), "/", "{next:?}");
        }
    }

    #[test]
    fn encoded_tricks_stay_on_this_site() {
        // What a query string decodes to arrives here already decoded (the tab of
        // `/%09/evil.example` is a real tab above); still-encoded text stays an encoded path.
        for (next, stays) in [
            ("/%09/evil.example", "/%09/evil.example"),
            ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
            ("/%5C%5Cevil.example", "/%5C%5Cevil.example"),
        ] {
            let target = after_login(Some(next));
            assert_eq!(target, stays, "{next:?}");
        }
        let decoded: String = form_urlencoded::parse(b"next=/%09/evil.example")
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(after_login(Some(&decoded)), "/");
    }

    #[test]
    fn the_target_is_always_a_valid_header_value() {
        let target = after_login(Some("/contracts?q=a b\r\nSet-Cookie: x=1"));
        assert!(target.starts_with("/contracts?q="), "{target}");
        assert!(!target.contains(['\r', '\n', ' ']), "{target}");
    }
}

//! Which pages may open the WebSocket: the server's own, the origins in
//! `http.allowed_origins` (or any, with `*`), and clients that are no
//! browser (they send no `Origin`). A page elsewhere would otherwise act
//! as whoever opens it, with the network position of their browser.

/// Whether a WebSocket upgrade with `origin` (the `Origin` header) and
/// `host` (the `Host` header) is allowed under `allowed`.
pub(super) fn allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin.map(str::trim) else {
        return true;
    };
    let listed = allowed.iter().any(|a| {
        a == "*"
            || a.trim_end_matches('/')
                .eq_ignore_ascii_case(origin.trim_end_matches('/'))
    });
    listed || host.is_some_and(|host| same_origin(origin, host))
}

/// Whether `origin` (`scheme://host[:port]`) names the server reached as
/// `host` (`host[:port]`), the scheme's default port written or not.
fn same_origin(origin: &str, host: &str) -> bool {
    let (default_port, authority) = if let Some(a) = origin.strip_prefix("http://") {
        ("80", a)
    } else if let Some(a) = origin.strip_prefix("https://") {
        ("443", a)
    } else {
        // `null` (a sandboxed page, a file) and anything else.
        return false;
    };
    let host = host.trim();
    if authority.is_empty() || host.is_empty() || authority.contains(['/', '@']) {
        return false;
    }
    let with_default = |a: &str| {
        if has_port(a) {
            a.to_owned()
        } else {
            format!("{a}:{default_port}")
        }
    };
    with_default(authority).eq_ignore_ascii_case(&with_default(host))
}

/// Whether `authority` ends in a port (`[::1]` has none, `[::1]:80` one).
fn has_port(authority: &str) -> bool {
    match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_page_and_non_browsers_are_allowed() {
        let none: &[String] = &[];
        let cases = [
            (None, Some("chat.example:8080"), true),
            (
                Some("http://chat.example:8080"),
                Some("chat.example:8080"),
                true,
            ),
            (
                Some("http://CHAT.example:8080"),
                Some("chat.example:8080"),
                true,
            ),
            (Some("https://chat.example"), Some("chat.example"), true),
            (Some("https://chat.example"), Some("chat.example:443"), true),
            (Some("http://chat.example:80"), Some("chat.example"), true),
            (Some("http://[::1]:8080"), Some("[::1]:8080"), true),
            (Some("http://[::1]"), Some("[::1]:80"), true),
            // Another port, host or scheme's default port is another origin.
            (
                Some("http://chat.example:8081"),
                Some("chat.example:8080"),
                false,
            ),
            (
                Some("http://evil.example:8080"),
                Some("chat.example:8080"),
                false,
            ),
            (Some("https://chat.example"), Some("chat.example:80"), false),
            (Some("null"), Some("chat.example"), false),
            (Some("file://"), Some("chat.example"), false),
            (Some("http://a@chat.example"), Some("chat.example"), false),
            (Some("http://chat.example:8080"), None, false),
        ];
        for (origin, host, want) in cases {
            assert_eq!(allowed(origin, host, none), want, "{origin:?} {host:?}");
        }
    }

    #[test]
    fn listed_origins_are_allowed_too() {
        let list = vec!["https://app.example/".to_owned()];
        assert!(allowed(
            Some("https://app.example"),
            Some("chat.example"),
            &list
        ));
        assert!(!allowed(
            Some("https://app.example:444"),
            Some("chat.example"),
            &list
        ));
        assert!(allowed(
            Some("http://chat.example"),
            Some("chat.example"),
            &list
        ));
        let any = vec!["*".to_owned()];
        assert!(allowed(Some("null"), Some("chat.example"), &any));
    }
}

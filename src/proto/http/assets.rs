//! The web client's files, embedded in the binary (no build step, nothing
//! read from disk at run time), and the headers a page is served with.

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::http::response::Builder;

/// One embedded file.
pub(super) struct Asset {
    /// The route it is served at.
    path: &'static str,
    /// Its `Content-Type`.
    content_type: &'static str,
    /// Its bytes.
    pub(super) body: &'static [u8],
}

/// The web client: one line per file of `web/`.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../../web/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/app.js"),
    },
    Asset {
        path: "/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../web/app.css"),
    },
    Asset {
        path: "/proto.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/proto.js"),
    },
    Asset {
        path: "/conn.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/conn.js"),
    },
    Asset {
        path: "/convs.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/convs.js"),
    },
    Asset {
        path: "/view.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/view.js"),
    },
    Asset {
        path: "/forms.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/forms.js"),
    },
];

/// The asset served at `path`, if any.
pub(super) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The page's Content-Security-Policy: everything from the server itself,
/// the WebSocket back to it (`host`, the `Host` it was reached as, when it
/// is a plain `host[:port]`), images also from `blob:`/`data:` URLs (a
/// preview before an upload). No inline script, no plugins, no framing.
pub(super) fn content_security_policy(host: Option<&str>) -> String {
    let sockets = host
        .filter(|h| is_plain_host(h))
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' blob: data:; connect-src 'self'{sockets}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Whether `host` is only a host name or address and a port: nothing that
/// could end a CSP source or add one.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

impl Asset {
    /// The response head of this asset: type, length, no stale copies
    /// (`no-cache` revalidates, so a new binary's client is used at once),
    /// and the page's policy.
    pub(super) fn head(&self, host: Option<&str>) -> Builder {
        let builder = hyper::Response::builder()
            .header(CONTENT_TYPE, self.content_type)
            .header(CONTENT_LENGTH, self.body.len())
            .header(CACHE_CONTROL, "no-cache")
            .header("x-frame-options", "DENY");
        match HeaderValue::from_str(&content_security_policy(host)) {
            Ok(csp) => builder.header("content-security-policy", csp),
            Err(_) => builder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_one_asset() {
        for path in ["/", "/app.js", "/app.css"] {
            assert!(find(path).is_some_and(|a| !a.body.is_empty()), "{path}");
        }
        for path in [
            "/index.html",
            "/web/app.js",
            "/../Cargo.toml",
            "",
            "/app.js/",
        ] {
            assert!(find(path).is_none(), "{path}");
        }
    }

    #[test]
    fn the_policy_names_the_socket_only_for_a_plain_host() {
        let csp = content_security_policy(Some("chat.example:8080"));
        assert!(
            csp.contains("connect-src 'self' ws://chat.example:8080 wss://chat.example:8080;"),
            "{csp}"
        );
        for bad in ["a; script-src *", "a b", "", "x\"y"] {
            let csp = content_security_policy(Some(bad));
            assert!(csp.contains("connect-src 'self';"), "{bad:?}: {csp}");
        }
        assert!(content_security_policy(None).contains("script-src 'self';"));
    }
}

//! The HTTP listener with a plain HTTP client: the web client's page and
//! assets, file links (`LINK`, then `GET /files/<id>?token=…`) with
//! ranges and their refusals, and what no route answers.

mod common;

use common::http::get;
use common::start;

#[test]
fn the_page_and_its_assets_are_served_with_their_policy() {
    let s = start("[history]\nenabled = false");
    let addr = s.http_addr();
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.body, include_bytes!("../web/index.html"));
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let csp = page.header("content-security-policy").expect("a policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{addr} wss://{addr};")),
        "{csp}"
    );
    let js = get(addr, "/app.js");
    assert_eq!(js.status, 200);
    assert_eq!(js.body, include_bytes!("../web/app.js"));
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let css = get(addr, "/app.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.body, include_bytes!("../web/app.css"));
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

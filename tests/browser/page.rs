//! What the browser tests read in the page and do in it, as a person
//! would: its chat lines and notices, logging in, joining, saying.
// Shared by several test binaries, each using part of it.
#![allow(dead_code)]

use serde_json::json;

use super::driver::Browser;

/// The chat lines of conversation `arguments[0]`, as [from, text] pairs.
pub const LINES: &str = r#"
const sec = [...document.querySelectorAll("section.conv")].find((s) => s.conv && s.conv.name === arguments[0]);
if (!sec) return null;
return [...sec.querySelectorAll("li.msg:not(.board)")].map((li) => [
  li.querySelector(".from").textContent,
  li.querySelector(".text").textContent,
]);
"#;

/// Whether conversation `arguments[0]` has the chat line
/// [`arguments[1]`, `arguments[2]`], sent (not pending) if it is ours.
pub const HAS_LINE: &str = r#"
const sec = [...document.querySelectorAll("section.conv")].find((s) => s.conv && s.conv.name === arguments[0]);
if (!sec) return false;
return [...sec.querySelectorAll("li.msg")].some((li) =>
  li.querySelector(".from")?.textContent === arguments[1] &&
  li.querySelector(".text")?.textContent === arguments[2] &&
  !li.classList.contains("pending"));
"#;

/// The texts of conversation `arguments[0]`'s notices.
pub const NOTICES: &str = r#"
const sec = [...document.querySelectorAll("section.conv")].find((s) => s.conv && s.conv.name === arguments[0]);
if (!sec) return [];
return [...sec.querySelectorAll("li.notice .text")].map((n) => n.textContent);
"#;

/// Whether the conversation shown is `arguments[0]`.
pub const SHOWN: &str = r#"
const sec = document.querySelector("section.conv:not([hidden])");
return sec !== null && sec.conv.name === arguments[0];
"#;

/// Clicks the sidebar tab of conversation `arguments[0]`.
pub const CLICK_TAB: &str = r#"
const li = [...document.querySelectorAll(".tabs > li")].find((li) => li.conv.name === arguments[0]);
li.querySelector("button").click();
return true;
"#;

/// The chat lines of `conv`, as (from, text) pairs.
pub async fn lines(browser: &Browser, conv: &str) -> Vec<(String, String)> {
    let got = browser.js(LINES, vec![json!(conv)]).await;
    serde_json::from_value::<Option<Vec<(String, String)>>>(got)
        .expect("[from, text] pairs")
        .unwrap_or_default()
}

/// Waits until `conv` shows `text` from `from`, sent.
pub async fn wait_line(browser: &Browser, conv: &str, from: &str, text: &str) {
    browser
        .wait(
            &format!("{conv}: <{from}> {text}"),
            HAS_LINE,
            vec![json!(conv), json!(from), json!(text)],
        )
        .await;
}

/// Waits until `conv` is the conversation shown.
pub async fn wait_shown(browser: &Browser, conv: &str) {
    browser
        .wait(&format!("{conv} shown"), SHOWN, vec![json!(conv)])
        .await;
}

/// Waits until `conv` shows the notice `text`.
pub async fn wait_notice(browser: &Browser, conv: &str, text: &str) {
    let script = format!("{NOTICES}\n;");
    let check = format!("const all = (() => {{ {script} }})(); return all.includes(arguments[1]);");
    browser
        .wait(
            &format!("{conv}: notice {text:?}"),
            &check,
            vec![json!(conv), json!(text)],
        )
        .await;
}

/// Opens the page, and picks `nick`.
pub async fn log_in(browser: &Browser, url: &str, nick: &str) {
    browser.goto(url).await;
    browser.enter("#nick-input", nick).await;
    browser
        .wait(
            "the chat after the nickname",
            "return !document.getElementById('app').hidden && document.getElementById('me-nick').textContent === arguments[0]",
            vec![json!(nick)],
        )
        .await;
}

/// Joins `room` with the sidebar's form (`#` may be left out, as a
/// person would), with `key` for a private room; waits until it is shown.
pub async fn join(browser: &Browser, room: &str, key: Option<&str>) {
    match key {
        None => browser.enter("#join-room", room).await,
        Some(key) => {
            browser.type_into("#join-room", room).await;
            browser.enter("#join-key", key).await;
        }
    }
    let shown = if room.starts_with('#') {
        room.to_string()
    } else {
        format!("#{room}")
    };
    wait_shown(browser, &shown).await;
}

/// Says `text` in the conversation shown.
pub async fn say(browser: &Browser, text: &str) {
    browser.enter("#composer-input", text).await;
}

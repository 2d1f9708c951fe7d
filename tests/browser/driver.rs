//! Real Chromium driven over WebDriver (chromedriver, fantoccini): a
//! chromedriver of the test's own on a free port, in a process group of its
//! own so that it and every browser it started are gone when the test ends,
//! pass or fail; one WebDriver session per browser user; polls with a
//! deadline instead of sleeps.
// Shared by several test binaries, each using part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a browser gets to show what a test waits for.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const EVERY: Duration = Duration::from_millis(100);

/// A chromedriver process; killed, with its browsers, when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it answers.
    pub fn start(dir: &Path) -> Driver {
        let port = free_port();
        let log = dir.join("chromedriver.log");
        let out = std::fs::File::create(&log).expect("chromedriver log");
        let err = out.try_clone().expect("chromedriver log");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                // Its own group: the browsers it starts are killed with it.
                .process_group(0)
                .spawn()
                .expect("chromedriver starts")
        };
        let mut driver = Driver { child, port, log };
        let deadline = Instant::now() + DEADLINE;
        while driver.http_get("/status").is_none() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited ({status}):\n{}", driver.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not up within {DEADLINE:?}:\n{}",
                driver.log_text()
            );
            std::thread::sleep(EVERY);
        }
        driver
    }

    /// Its WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    // A plain GET: whether something answered it with an HTTP status line
    // (chromedriver keeps the connection open: the first bytes do).
    fn http_get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut head = [0u8; 256];
        let n = stream.read(&mut head).ok()?;
        let answer = String::from_utf8_lossy(&head[..n]).into_owned();
        answer.starts_with("HTTP/").then_some(answer)
    }

    /// A new browser (its own WebDriver session and profile), headless,
    /// its viewport `width` × `height`.
    pub async fn browser(&self, name: &str, width: u32, height: u32) -> Browser {
        self.browser_with(name, width, height, &[]).await
    }

    /// [`Driver::browser`] with more Chromium switches, e.g. to trust the
    /// test server's self-signed certificate.
    pub async fn browser_with(
        &self,
        name: &str,
        width: u32,
        height: u32,
        extra_args: &[&str],
    ) -> Browser {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-extensions".into(),
            "--disable-background-networking".into(),
            "--force-device-scale-factor=1".into(),
            format!("--window-size={width},{height}"),
        ];
        args.extend(extra_args.iter().map(|a| a.to_string()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium_binary(),
                "args": args,
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url())
            .await
            .unwrap_or_else(|e| panic!("[{name}] no browser session: {e}\n{}", self.log_text()));
        let browser = Browser {
            client,
            name: name.to_string(),
        };
        browser.resize(width, height).await;
        browser
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver closes its browsers on /shutdown; whatever is left
        // of its group after that is killed.
        let _ = self.http_get("/shutdown");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(EVERY);
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Chromium executable chromedriver is to start.
fn chromium_binary() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "chromium".into())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// One browser user: a WebDriver session.
pub struct Browser {
    /// The session.
    pub client: Client,
    /// Who it is, for messages.
    pub name: String,
}

impl Browser {
    /// Makes the page's viewport `width` × `height` (the window around it
    /// is bigger by whatever the browser's frame takes).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]", vec![])
            .await;
        let (w, h) = (
            inner[0].as_u64().unwrap_or(0) as u32,
            inner[1].as_u64().unwrap_or(0) as u32,
        );
        if (w, h) != (width, height) {
            self.client
                .set_window_size(
                    width + (width - w.min(width)),
                    height + (height - h.min(height)),
                )
                .await
                .expect("resize");
        }
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    /// Runs `script` (a function body; `arguments` are `args`).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("[{}] script failed: {e}\n{script}", self.name))
    }

    /// Polls `script` until it returns something other than null, false or
    /// undefined, and returns that; panics after [`DEADLINE`] with `what`
    /// and the page's state.
    pub async fn wait(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let got = self.js(script, args.clone()).await;
            if !matches!(got, Value::Null | Value::Bool(false)) {
                return got;
            }
            if Instant::now() > deadline {
                let state = self.js(DIAGNOSE, vec![]).await;
                panic!(
                    "[{}] {what}: not seen within {DEADLINE:?}\npage: {state:#}",
                    self.name
                );
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// Types `text` into the element `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.send_keys(text).await.unwrap_or_else(|e| {
            panic!("[{}] typing into {css}: {e}", self.name);
        });
    }

    /// Clears the field `css`, types `text` and presses Enter.
    pub async fn enter(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field
            .send_keys(&format!(
                "{text}{}",
                char::from(fantoccini::key::Key::Enter)
            ))
            .await
            .unwrap_or_else(|e| panic!("[{}] typing into {css}: {e}", self.name));
    }

    /// Clicks the element `css` (once it is there).
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| {
            panic!("[{}] clicking {css}: {e}", self.name);
        });
    }

    /// The element `css`, waiting for it to be there.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("[{}] no {css}: {e}", self.name))
    }

    /// Saves a screenshot of the page as `dir/name.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }

    /// Ends the session (its browser closes).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

// What a failed wait shows of the page.
const DIAGNOSE: &str = r#"
const conv = document.querySelector("section.conv:not([hidden])");
return {
  status: document.getElementById("status")?.textContent,
  login: !document.getElementById("login").hidden,
  nickError: document.getElementById("nick-error")?.textContent,
  tabs: [...document.querySelectorAll(".tab")].map((t) => t.getAttribute("aria-label")),
  shown: conv?.getAttribute("aria-label") ?? null,
  lines: conv ? [...conv.querySelectorAll("li")].slice(-15).map((li) => li.textContent) : [],
};
"#;

//! The configuration as the running server sees it: one value swapped
//! whole on reload (SIGHUP), read where each setting applies.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::motd::Motd;
use super::Config;

/// The configuration in force and the MOTD read with it. Clones share
/// it: a reload seen by one is seen by all.
///
/// Read a setting when it applies (`live.get().limits.max_clients`), never
/// keep a copy in long-lived state: a copy misses the next reload.
#[derive(Clone)]
pub struct SharedConfig(Arc<Inner>);

struct Inner {
    config: ArcSwap<Config>,
    motd: ArcSwap<Motd>,
    on_replace: Mutex<Vec<OnReplace>>,
}

/// Told the new configuration at each reload: for a setting held by a
/// part that cannot read the configuration itself (the transport's).
type OnReplace = Box<dyn Fn(&Config) + Send + Sync>;

impl SharedConfig {
    /// `config` in force, with no MOTD.
    pub fn new(config: Config) -> Self {
        Self::with_motd(config, Motd::default())
    }

    /// `config` in force, with the MOTD it names ([`Motd::of`], read
    /// now: a file that cannot be read is logged, and no MOTD).
    pub fn reading_motd(config: Config) -> Self {
        let motd = Motd::of(&config);
        Self::with_motd(config, motd)
    }

    /// `config` in force, with `motd`.
    pub fn with_motd(config: Config, motd: Motd) -> Self {
        SharedConfig(Arc::new(Inner {
            config: ArcSwap::from_pointee(config),
            motd: ArcSwap::from_pointee(motd),
            on_replace: Mutex::new(Vec::new()),
        }))
    }

    /// The configuration in force now (a snapshot: a reload does not
    /// change what it holds).
    pub fn get(&self) -> Arc<Config> {
        self.0.config.load_full()
    }

    /// The configuration in force now, without touching a reference
    /// count: for a read on a hot path, not to be kept.
    pub fn load(&self) -> arc_swap::Guard<Arc<Config>> {
        self.0.config.load()
    }

    /// The MOTD in force now.
    pub fn motd(&self) -> Arc<Motd> {
        self.0.motd.load_full()
    }

    /// Puts `config` and `motd` in force (what a reload does once both are
    /// checked).
    pub fn replace(&self, config: Config, motd: Motd) {
        let config = Arc::new(config);
        self.0.config.store(Arc::clone(&config));
        self.0.motd.store(Arc::new(motd));
        let hooks = self.0.on_replace.lock().unwrap_or_else(|e| e.into_inner());
        for hook in hooks.iter() {
            hook(&config);
        }
    }

    /// Calls `hook` with the new configuration at every reload from now.
    pub fn on_replace(&self, hook: impl Fn(&Config) + Send + Sync + 'static) {
        let mut hooks = self.0.on_replace.lock().unwrap_or_else(|e| e.into_inner());
        hooks.push(Box::new(hook));
    }
}

impl std::fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedConfig").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_see_a_replacement() {
        let live = SharedConfig::new(Config::default());
        let other = live.clone();
        let before = live.get();
        let mut next = Config::default();
        next.limits.max_clients = 7;
        other.replace(next, Motd::from_text("hi"));
        assert_eq!(live.get().limits.max_clients, 7);
        assert_eq!(live.motd().lines(), ["hi"]);
        // A snapshot taken before keeps what it held.
        assert_eq!(before.limits.max_clients, 16_000);
    }
}

//! The checks of the abuse limits' keys: connections per address, the
//! password-hash gate, and the files' quotas.

use super::{Config, ConfigError, IpPrefix};

/// `limits.exempt_ips` by default: loopback. Tests, benchmarks and a
/// reverse proxy on the same host connect from there, and a local user
/// could use the server's machine anyway; a public client never comes
/// from it.
pub(super) fn default_exempt() -> Vec<IpPrefix> {
    ["127.0.0.0/8", "::1"]
        .into_iter()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn invalid(key: &'static str, why: String) -> ConfigError {
    ConfigError::Invalid { key, why }
}

fn positive(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(invalid(key, "must be at least 1".into()));
    }
    Ok(())
}

impl Config {
    /// Checks `limits.max_clients_per_ip` and the other abuse limits.
    pub(super) fn validate_abuse_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        positive("limits.max_clients_per_ip", l.max_clients_per_ip as u64)?;
        if !(l.connects_per_ip_per_sec > 0.0 && l.connects_per_ip_per_sec.is_finite()) {
            return Err(invalid(
                "limits.connects_per_ip_per_sec",
                format!("{} must be a positive number", l.connects_per_ip_per_sec),
            ));
        }
        positive(
            "limits.connects_per_ip_burst",
            u64::from(l.connects_per_ip_burst),
        )?;
        positive(
            "limits.max_concurrent_hashes",
            l.max_concurrent_hashes as u64,
        )?;
        positive(
            "limits.guess_failures_per_conn",
            u64::from(l.guess_failures_per_conn),
        )?;
        positive(
            "limits.guess_failures_per_ip",
            u64::from(l.guess_failures_per_ip),
        )?;
        positive(
            "limits.guess_failures_per_target",
            u64::from(l.guess_failures_per_target),
        )?;
        positive("limits.guess_backoff_ms", l.guess_backoff_ms)?;
        positive("limits.guess_backoff_max_secs", l.guess_backoff_max_secs)?;
        if l.guess_backoff_ms > l.guess_backoff_max_secs.saturating_mul(1000) {
            return Err(invalid(
                "limits.guess_backoff_ms",
                format!(
                    "{} is above limits.guess_backoff_max_secs ({} s)",
                    l.guess_backoff_ms, l.guess_backoff_max_secs
                ),
            ));
        }
        let f = &self.files;
        if f.max_total_bytes < f.max_bytes {
            return Err(invalid(
                "files.max_total_bytes",
                format!(
                    "{} is below files.max_bytes ({}): no file that large could be kept",
                    f.max_total_bytes, f.max_bytes
                ),
            ));
        }
        positive("files.upload_quota_bytes", f.upload_quota_bytes)?;
        positive("files.upload_quota_window_secs", f.upload_quota_window_secs)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_abuse_limits_name_the_key() {
        let cases = [
            (
                "[limits]\nmax_clients_per_ip = 0",
                "limits.max_clients_per_ip",
            ),
            (
                "[limits]\nconnects_per_ip_per_sec = 0",
                "limits.connects_per_ip_per_sec",
            ),
            (
                "[limits]\nconnects_per_ip_burst = 0",
                "limits.connects_per_ip_burst",
            ),
            ("[limits]\nexempt_ips = [\"localhost\"]", "exempt_ips"),
            ("[limits]\nexempt_ips = [\"10.0.0.0/40\"]", "exempt_ips"),
            (
                "[limits]\nmax_concurrent_hashes = 0",
                "limits.max_concurrent_hashes",
            ),
            (
                "[limits]\nguess_failures_per_conn = 0",
                "limits.guess_failures_per_conn",
            ),
            (
                "[limits]\nguess_backoff_ms = 5000\nguess_backoff_max_secs = 2",
                "limits.guess_backoff_ms",
            ),
            (
                "[files]\nmax_bytes = 100\nmax_total_bytes = 99",
                "files.max_total_bytes",
            ),
            (
                "[files]\nupload_quota_bytes = 0",
                "files.upload_quota_bytes",
            ),
            (
                "[files]\nupload_quota_window_secs = 0",
                "files.upload_quota_window_secs",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err:?}");
        }
        let c =
            Config::from_toml("[limits]\nexempt_ips = [\"10.0.0.0/8\", \"2001:db8::1\"]").unwrap();
        assert_eq!(c.limits.exempt_ips.len(), 2);
        assert!(c.limits.exempt_ips[0].contains([10, 1, 2, 3].into()));
    }
}

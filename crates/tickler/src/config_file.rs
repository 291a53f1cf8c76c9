//! The optional TOML configuration file: the same settings as the `TICKLER_*` environment
//! variables, written as lower-case keys without the prefix (`smtp_url = "smtp://..."`).
//! Precedence: command-line flags, then the environment, then the file, then defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

/// Keys the file may hold, and the variable each stands for.
const KEYS: &[&str] = &[
    "database_url",
    "database_max_connections",
    "smtp_url",
    "mail_from",
    "outbox",
    "organisation",
    "time_zone",
    "listen",
    "public_url",
    "public_rate_per_minute",
    "metrics_token",
    "trusted_proxies",
    "session_idle_seconds",
    "session_max_seconds",
    "smtp_timeout_seconds",
    "smtp_ca_file",
    "dkim_selector",
    "dkim_key_file",
    "send_concurrency",
    "batch_size",
    "lease_seconds",
    "poll_seconds",
    "log",
    "log_format",
    "backup_dir",
    "backup_keep",
    "backup_time",
];

const DEFAULT_FILE: &str = "tickler.toml";

/// The file named by `--config FILE`, `TICKLER_CONFIG`, or `./tickler.toml` if it exists.
fn chosen_file(args: &[String]) -> Option<(PathBuf, bool)> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(|f| (PathBuf::from(f), true));
        }
        if let Some(file) = arg.strip_prefix("--config=") {
            return Some((PathBuf::from(file), true));
        }
    }
    if let Ok(file) = std::env::var("TICKLER_CONFIG")
        && !file.is_empty()
    {
        return Some((PathBuf::from(file), true));
    }
    Path::new(DEFAULT_FILE)
        .is_file()
        .then(|| (PathBuf::from(DEFAULT_FILE), false))
}

/// Reads the settings of a configuration file as (variable, value) pairs.
pub fn read(file: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        anyhow!("{}: {}", file.display(), e.to_string().trim_end())
    })?;
    let mut pairs = Vec::new();
    for (key, value) in table {
        if !KEYS.contains(&key.as_str()) {
            bail!(
                "{}: unknown setting \"{key}\" (known: {})",
                file.display(),
                KEYS.join(", ")
            );
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            other => bail!(
                "{}: {key} must be a string or a number, not {}",
                file.display(),
                other.type_str()
            ),
        };
        pairs.push((format!("TICKLER_{}", key.to_uppercase()), value));
    }
    Ok(pairs)
}

/// Loads the configuration file, if any, into the environment where a variable is not
/// already set, so that the environment and flags keep precedence. Must run before any
/// other thread starts.
pub fn load(args: &[String]) -> Result<()> {
    let Some((file, named)) = chosen_file(args) else {
        return Ok(());
    };
    if !named && !file.is_file() {
        return Ok(());
    }
    for (name, value) in read(&file)? {
        if std::env::var_os(&name).is_none() {
            // SAFETY: called from `main` before the runtime or any other thread exists.
            unsafe { std::env::set_var(&name, value) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_variables_and_unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "smtp_url = \"smtp://mail:25\"\nbatch_size = 50\n").unwrap();
        let pairs = read(&file).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("TICKLER_BATCH_SIZE".to_string(), "50".to_string()),
                ("TICKLER_SMTP_URL".to_string(), "smtp://mail:25".to_string())
            ]
        );
        std::fs::write(&file, "smtp_ulr = \"x\"\n").unwrap();
        let err = read(&file).unwrap_err().to_string();
        assert!(err.contains("unknown setting \"smtp_ulr\""), "{err}");
        std::fs::write(&file, "smtp_url = \n").unwrap();
        let err = read(&file).unwrap_err().to_string();
        assert!(err.contains("t.toml") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn the_file_is_named_by_flag() {
        let args: Vec<String> = ["tickler", "--config", "a.toml", "serve"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(chosen_file(&args), Some((PathBuf::from("a.toml"), true)));
        let args: Vec<String> = ["tickler", "--config=b.toml"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(chosen_file(&args), Some((PathBuf::from("b.toml"), true)));
    }
}

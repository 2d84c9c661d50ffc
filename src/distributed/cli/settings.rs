//! Settings of the commands: the command line, the environment, a config file, in this
//! order of precedence (see the module above), and sizes such as `8GiB`.

use crate::distributed::tls::Security;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Settings shared by the commands (TLS), looked up without the command's prefix.
const SHARED: [&str; 4] = ["tls-ca", "tls-cert", "tls-key", "require-encryption"];

pub(crate) struct Settings {
    command: &'static str,
    pub(crate) flags: HashMap<String, String>,
    pub(crate) positional: Vec<String>,
    file: HashMap<String, String>,
}

impl Settings {
    pub(crate) fn parse(command: &'static str, args: &[String]) -> Result<Settings> {
        let mut flags = HashMap::new();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if let Some(name) = a.strip_prefix("--") {
                if let Some((n, v)) = name.split_once('=') {
                    flags.insert(n.to_string(), v.to_string());
                } else if matches!(name, "require-encryption" | "help" | "tls") {
                    flags.insert(name.to_string(), "true".to_string());
                } else {
                    let v = args
                        .get(i + 1)
                        .ok_or_else(|| Error::invalid(format!("--{name} needs a value")))?;
                    flags.insert(name.to_string(), v.clone());
                    i += 1;
                }
            } else {
                positional.push(a.clone());
            }
            i += 1;
        }
        let path = flags
            .get("config")
            .cloned()
            .or_else(|| std::env::var("DASK_CONFIG").ok());
        let mut file = HashMap::new();
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::invalid(format!("config file '{path}': {e}")))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let (k, v) = line.split_once('=').ok_or_else(|| {
                    Error::invalid(format!(
                        "config file '{path}', line {}: expected 'name = value'",
                        n + 1
                    ))
                })?;
                file.insert(k.trim().replace('_', "-"), v.trim().to_string());
            }
        }
        Ok(Settings {
            command,
            flags,
            positional,
            file,
        })
    }

    /// A setting by its option name, with the documented precedence.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.flags.get(name) {
            return Some(v.clone());
        }
        let shared = SHARED.contains(&name);
        let env = if shared {
            format!("DASK_{}", name.replace('-', "_").to_uppercase())
        } else {
            format!(
                "DASK_{}_{}",
                self.command.to_uppercase(),
                name.replace('-', "_").to_uppercase()
            )
        };
        if let Ok(v) = std::env::var(&env) {
            return Some(v);
        }
        let key = if shared {
            name.replacen("tls-", "tls.", 1)
        } else {
            format!("{}.{name}", self.command)
        };
        self.file.get(&key).cloned()
    }

    pub(crate) fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        Ok(self.optional_number(name)?.unwrap_or(default))
    }

    /// A number that may be left unset.
    pub(crate) fn optional_number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid(format!("--{name}: '{v}' is not a number"))),
        }
    }

    pub(crate) fn seconds(&self, name: &str, default: f64) -> Result<Duration> {
        let s: f64 = self.number(name, default)?;
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::invalid(format!(
                "--{name} must be a positive number of seconds"
            )));
        }
        Ok(Duration::from_secs_f64(s))
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v.to_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }

    pub(crate) fn check_known(&self, known: &[&str]) -> Result<()> {
        for k in self.flags.keys() {
            if !known.contains(&k.as_str()) && k != "config" && k != "help" {
                return Err(Error::invalid(format!("unknown option --{k}")));
            }
        }
        Ok(())
    }

    pub(crate) fn security(&self) -> Result<Security> {
        let files = (
            self.get("tls-ca"),
            self.get("tls-cert"),
            self.get("tls-key"),
        );
        let mut s = match files {
            (Some(ca), Some(cert), Some(key)) => Security::from_files(
                &PathBuf::from(ca),
                &PathBuf::from(cert),
                &PathBuf::from(key),
            )?,
            (None, None, None) => Security::plain(),
            _ => {
                return Err(Error::invalid(
                    "TLS needs all three of --tls-ca, --tls-cert and --tls-key",
                ))
            }
        };
        s.require_encryption = self.flag("require-encryption");
        Ok(s)
    }
}

/// Parses a size: bytes, or a number with a unit (KiB, MiB, GiB, TiB; kB, MB, GB, TB).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| Error::invalid(format!("'{s}' is not a size")))?;
    let mult = match unit.trim().to_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        _ => return Err(Error::invalid(format!("'{s}': unknown unit '{unit}'"))),
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("1.5 MB").unwrap(), 1_500_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn the_command_line_wins_over_the_config_file() {
        let dir = std::env::temp_dir().join(format!("libdask-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("config");
        std::fs::write(
            &f,
            "worker.nthreads = 3\nworker.name = from-file # comment\n",
        )
        .unwrap();
        let args: Vec<String> = [
            "tcp://x:1",
            "--config",
            f.to_str().unwrap(),
            "--nthreads",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = Settings::parse("worker", &args).unwrap();
        assert_eq!(s.get("nthreads").as_deref(), Some("5"));
        assert_eq!(s.get("name").as_deref(), Some("from-file"));
        assert_eq!(s.positional, vec!["tcp://x:1".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

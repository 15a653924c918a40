//! Reading a policy's JSON configuration with errors that name the field (`steps[1].minLevel`).
//! Hand-walked over `serde_json::Value` rather than derived, because serde's messages give a
//! line and column, not the path an author needs.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde_json::{Map, Value};

/// What is wrong with a configuration, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) type Result<T> = core::result::Result<T, ConfigError>;

/// Where a value sits in the configuration (`steps[1].minLevel`), built on the stack and
/// formatted only for an error: formatting every path eagerly cost more than parsing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

pub(crate) fn err<T>(path: &Path, message: impl fmt::Display) -> Result<T> {
    Err(ConfigError(match path {
        Path::Root => message.to_string(),
        _ => format!("{path}: {message}"),
    }))
}

pub(crate) fn parse(config: &str) -> Result<Value> {
    serde_json::from_str(config)
        .map_err(|e| ConfigError(format!("configuration is not valid JSON: {e}")))
}

/// A JSON object being read, with the fields it may have.
pub(crate) struct Obj<'a> {
    pub path: Path<'a>,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, path: Path<'a>, allowed: &[&str]) -> Result<Self> {
        let Value::Object(map) = value else {
            return match path {
                Path::Root => err(&path, "configuration: expected an object"),
                _ => err(&path, "expected an object"),
            };
        };
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                return err(
                    &path.key(key),
                    format_args!("unknown field (expected one of: {})", allowed.join(", ")),
                );
            }
        }
        Ok(Obj { path, map })
    }

    pub fn path_of<'k>(&'k self, key: &'k str) -> Path<'k> {
        Path::Key(&self.path, key)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn required(&self, key: &str) -> Result<&'a Value> {
        match self.get(key) {
            Some(v) => Ok(v),
            None => err(&self.path_of(key), "is required"),
        }
    }

    pub fn u32_or(&self, key: &str, default: u32, min: u32, max: u32) -> Result<u32> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => uint(v, &self.path_of(key), min, max),
        }
    }

    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| string(v, &self.path_of(key)))
            .transpose()
    }
}

pub(crate) fn uint(value: &Value, path: &Path, min: u32, max: u32) -> Result<u32> {
    match value.as_u64() {
        Some(n) if n >= min as u64 && n <= max as u64 => Ok(n as u32),
        _ => err(
            path,
            format_args!("expected an integer from {min} to {max}, got {value}"),
        ),
    }
}

pub(crate) fn string(value: &Value, path: &Path) -> Result<String> {
    match value.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        Some(_) => err(path, "must not be empty"),
        None => err(path, format_args!("expected a string, got {value}")),
    }
}

pub(crate) fn array<'a>(
    value: &'a Value,
    path: &Path,
    min: usize,
    max: usize,
) -> Result<&'a Vec<Value>> {
    match value.as_array() {
        Some(items) if items.len() < min => err(
            path,
            format_args!(
                "needs at least {min} entr{}",
                if min == 1 { "y" } else { "ies" }
            ),
        ),
        Some(items) if items.len() > max => err(
            path,
            format_args!("at most {max} entries, got {}", items.len()),
        ),
        Some(items) => Ok(items),
        None => err(path, format_args!("expected an array, got {value}")),
    }
}

/// Common to every policy: seconds to wait before asking again when nobody can be offered.
pub(crate) fn recheck_seconds(obj: &Obj) -> Result<u32> {
    obj.u32_or("recheckSeconds", crate::DEFAULT_RECHECK_SECONDS, 1, 86_400)
}

/// `{ "reason"?: string, "target"?: string }` — an overflow the author configures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverflowConfig {
    pub reason: Option<String>,
    pub target: Option<String>,
}

pub(crate) fn overflow(value: &Value, path: Path) -> Result<OverflowConfig> {
    let obj = Obj::new(value, path, &["reason", "target"])?;
    Ok(OverflowConfig {
        reason: obj.opt_string("reason")?,
        target: obj.opt_string("target")?,
    })
}

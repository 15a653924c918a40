//! GUIDs as Entra ID writes them: 8-4-4-4-12 hex digits, compared case-insensitively.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A GUID in canonical lower-case hyphenated form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Guid(String);

impl Guid {
    /// Accepts only the hyphenated 36-character form (what tokens and portals show).
    pub fn parse(text: &str) -> Option<Guid> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let well_formed = bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
        well_formed.then(|| Guid(text.to_ascii_lowercase()))
    }

    pub fn new_random() -> Guid {
        Guid(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Guid {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Guid::parse(&value).ok_or_else(|| format!("{value:?} is not a GUID"))
    }
}

impl From<Guid> for String {
    fn from(value: Guid) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hyphenated_guids_and_normalises_case() {
        let g = Guid::parse("9FCE70AF-A632-49CA-BC0D-53DB5A21C5B3").unwrap();
        assert_eq!(g.as_str(), "9fce70af-a632-49ca-bc0d-53db5a21c5b3");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "9fce70afa63249cabc0d53db5a21c5b3",
            "{9fce70af-a632-49ca-bc0d-53db5a21c5b3}",
            "9fce70af-a632-49ca-bc0d-53db5a21c5bz",
            "9fce70af-a632-49ca-bc0d_53db5a21c5b3",
            "9fce70af-a632-49ca-bc0d-53db5a21c5b3 ",
            "not-a-guid",
            "urn:uuid:9fce70af-a632-49ca-bc0d-53db5a21c5b3",
        ] {
            assert!(Guid::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}

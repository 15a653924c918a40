//! Reading JSON request bodies the way the provisioning API promises: field names match
//! case-insensitively (clients send `SourceO365Id` as readily as `sourceO365Id`), and every
//! problem is reported naming the field.

use crate::{Error, Guid};
use serde_json::{Map, Value};

/// A JSON object whose keys are looked up case-insensitively.
pub struct Fields {
    entries: Vec<(String, Value)>,
    context: String,
}

impl Fields {
    /// `context` prefixes field names in messages (e.g. `skills[0].`); empty at top level.
    pub fn from_value(value: Value, context: &str) -> Result<Fields, Error> {
        match value {
            Value::Object(map) => Fields::from_map(map, context),
            _ if context.is_empty() => Err(Error::BadRequest(
                "The request body must be a JSON object".into(),
            )),
            _ => Err(Error::BadRequest(format!(
                "\"{}\" must be a JSON object",
                context.trim_end_matches('.')
            ))),
        }
    }

    fn from_map(map: Map<String, Value>, context: &str) -> Result<Fields, Error> {
        let mut entries: Vec<(String, Value)> = Vec::with_capacity(map.len());
        for (key, value) in map {
            if entries.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                return Err(Error::BadRequest(format!(
                    "\"{context}{key}\" is given more than once (field names are case-insensitive)"
                )));
            }
            entries.push((key, value));
        }
        Ok(Fields {
            entries,
            context: context.to_string(),
        })
    }

    pub fn name(&self, field: &str) -> String {
        format!("{}{field}", self.context)
    }

    fn position(&self, field: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(field))
    }

    /// The value of a field; JSON `null` counts as absent.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.position(field)
            .map(|i| &self.entries[i].1)
            .filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.position(field).is_some()
    }

    pub fn take(&mut self, field: &str) -> Option<Value> {
        self.position(field)
            .map(|i| self.entries.remove(i).1)
            .filter(|v| !v.is_null())
    }

    /// Keys that none of `known` claims, for "unknown field" errors.
    pub fn reject_unknown(&self, known: &[&str], what: &str) -> Result<(), Error> {
        match self
            .entries
            .iter()
            .find(|(k, _)| !known.iter().any(|n| n.eq_ignore_ascii_case(k)))
        {
            Some((k, _)) => Err(Error::BadRequest(format!(
                "\"{}{k}\" is not a field of {what}",
                self.context
            ))),
            None => Ok(()),
        }
    }

    pub fn string(&self, field: &str) -> Result<Option<String>, Error> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::field(&self.name(field), "must be a string")),
        }
    }

    pub fn required_string(&self, field: &str) -> Result<String, Error> {
        self.string(field)?
            .ok_or_else(|| Error::field(&self.name(field), "is required"))
    }

    pub fn guid(&self, field: &str) -> Result<Option<Guid>, Error> {
        match self.string(field)? {
            None => Ok(None),
            Some(s) => Guid::parse(&s)
                .map(Some)
                .ok_or_else(|| Error::field(&self.name(field), "must be a GUID")),
        }
    }

    pub fn required_guid(&self, field: &str) -> Result<Guid, Error> {
        self.guid(field)?
            .ok_or_else(|| Error::field(&self.name(field), "is required"))
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, Error> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::field(&self.name(field), "must be true or false")),
        }
    }

    /// A whole number within `min..=max`; the message names the allowed range.
    pub fn integer_in(&self, field: &str, min: u32, max: u32) -> Result<Option<u32>, Error> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (min..=max).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    Error::field(
                        &self.name(field),
                        &format!("must be a whole number from {min} to {max}"),
                    )
                }),
        }
    }

    /// A nested object, its fields named `field.` in messages.
    pub fn object(&self, field: &str) -> Result<Option<Fields>, Error> {
        self.get(field)
            .map(|v| Fields::from_value(v.clone(), &format!("{}.", self.name(field))))
            .transpose()
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A path parameter that must be a GUID.
pub fn path_guid(name: &str, value: Option<&str>) -> Result<Guid, Error> {
    let value = value.ok_or_else(|| Error::field(name, "is required in the path"))?;
    Guid::parse(value).ok_or_else(|| Error::field(name, "must be a GUID"))
}

/// An array of GUIDs, de-duplicated, order kept.
pub fn guid_list(field: &str, value: &Value) -> Result<Vec<Guid>, Error> {
    let items = value
        .as_array()
        .ok_or_else(|| Error::field(field, "must be an array of GUIDs"))?;
    let mut out: Vec<Guid> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let g = item
            .as_str()
            .and_then(Guid::parse)
            .ok_or_else(|| Error::field(&format!("{field}[{i}]"), "must be a GUID"))?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_names_match_case_insensitively() {
        let f = Fields::from_value(
            json!({"SourceO365Id": "9FCE70AF-A632-49CA-BC0D-53DB5A21C5B3"}),
            "",
        )
        .unwrap();
        assert_eq!(
            f.guid("sourceO365Id").unwrap().unwrap().as_str(),
            "9fce70af-a632-49ca-bc0d-53db5a21c5b3"
        );
    }

    #[test]
    fn the_same_field_twice_in_different_case_is_refused() {
        let e = Fields::from_value(json!({"o365Id": "a", "O365ID": "b"}), "")
            .err()
            .unwrap();
        assert!(e.to_string().contains("more than once"));
    }

    #[test]
    fn problems_name_the_field() {
        let f = Fields::from_value(json!({"organizationUnitId": "nope", "n": 3}), "").unwrap();
        assert_eq!(
            f.guid("organizationUnitId").unwrap_err().to_string(),
            "\"organizationUnitId\" must be a GUID"
        );
        assert_eq!(
            f.required_guid("o365Id").unwrap_err().to_string(),
            "\"o365Id\" is required"
        );
        assert_eq!(
            f.string("n").unwrap_err().to_string(),
            "\"n\" must be a string"
        );
        assert!(Fields::from_value(json!([1]), "").is_err());
    }
}

//! A request as the operations see it: no HTTP types, the path parameters and the body's
//! bytes. The body is parsed when an operation asks for it, once, under that operation's
//! size limit; an operation that takes bytes (a plugin upload) never has it parsed as JSON.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::fields::Fields;
use crate::Error;

/// JSON bodies larger than this are refused before parsing, unless an operation names a
/// limit of its own.
pub const DEFAULT_JSON_LIMIT_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Incoming {
    pub authorization: Option<String>,
    pub path: HashMap<String, String>,
    /// Query string parameters (the last value of a repeated one).
    pub query: HashMap<String, String>,
    body: Vec<u8>,
    parsed: OnceLock<Result<Option<Value>, Error>>,
}

impl Incoming {
    pub fn new(
        authorization: Option<String>,
        path: HashMap<String, String>,
        body: Vec<u8>,
    ) -> Incoming {
        Incoming {
            authorization,
            path,
            query: HashMap::new(),
            body,
            parsed: OnceLock::new(),
        }
    }

    /// The same request with these query parameters.
    pub fn with_query(mut self, query: HashMap<String, String>) -> Incoming {
        self.query = query;
        self
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path.get(name).map(String::as_str)
    }

    /// The body as JSON of at most `limit` bytes; `None` when it is empty. Parsed on the
    /// first call; later calls answer the same (whatever their limit).
    pub fn json(&self, limit: usize) -> Result<Option<&Value>, Error> {
        self.parsed
            .get_or_init(|| parse_json(&self.body, limit))
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    /// The body as JSON under the default limit; required.
    pub fn required_json(&self) -> Result<&Value, Error> {
        self.json(DEFAULT_JSON_LIMIT_BYTES)?
            .ok_or_else(|| Error::BadRequest("A JSON request body is required".into()))
    }

    /// The body as a JSON object whose fields match case-insensitively; required.
    pub fn body_fields(&self) -> Result<Fields, Error> {
        Fields::from_value(self.required_json()?.clone(), "")
    }

    /// The body's fields when there is a body (a DELETE may carry one).
    pub fn optional_body_fields(&self) -> Result<Option<Fields>, Error> {
        self.json(DEFAULT_JSON_LIMIT_BYTES)?
            .map(|v| Fields::from_value(v.clone(), ""))
            .transpose()
    }

    /// Takes the body as a JSON object of at most `limit` bytes, without copying it (a
    /// simulation's candidate list can be a megabyte); required.
    pub fn take_json_object(&mut self, limit: usize) -> Result<Value, Error> {
        let value = match self.parsed.take() {
            Some(parsed) => parsed?,
            None => parse_json(&std::mem::take(&mut self.body), limit)?,
        };
        let value =
            value.ok_or_else(|| Error::BadRequest("A JSON request body is required".into()))?;
        if !value.is_object() {
            return Err(Error::BadRequest(
                "The request body must be a JSON object".into(),
            ));
        }
        Ok(value)
    }

    /// Takes the body's bytes (an upload), leaving none behind.
    pub fn take_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }
}

/// Parses a JSON body of at most `limit` bytes: `Ok(None)` when it is empty.
fn parse_json(bytes: &[u8], limit: usize) -> Result<Option<Value>, Error> {
    if bytes.len() > limit {
        return Err(Error::PayloadTooLarge(format!(
            "The request body is {} bytes; this operation accepts at most {} KiB",
            bytes.len(),
            limit / 1024
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| Error::BadRequest(format!("Request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_body(body: &str) -> Incoming {
        Incoming::new(None, HashMap::new(), body.as_bytes().to_vec())
    }

    #[test]
    fn a_body_is_parsed_once_under_the_operations_limit() {
        let incoming = with_body(r#"{"name": "x"}"#);
        assert!(incoming.json(8).is_err(), "over a limit of 8 bytes");
        // The first answer stands: the body is not parsed again.
        assert!(incoming.json(1024).is_err());
        let incoming = with_body(r#"{"name": "x"}"#);
        assert_eq!(
            incoming
                .body_fields()
                .unwrap()
                .required_string("NAME")
                .unwrap(),
            "x"
        );
    }

    #[test]
    fn empty_bodies_are_absent_and_bad_ones_are_named() {
        assert_eq!(with_body("  ").json(1024), Ok(None));
        let err = with_body("{").required_json().unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Request body is not valid JSON"));
        let err = with_body("[1]").take_json_object(1024).unwrap_err();
        assert_eq!(err.to_string(), "The request body must be a JSON object");
    }
}

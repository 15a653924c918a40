//! The function's DynamoDB event source as `infra/template.yaml` defines it: which records
//! reach the function (`FilterCriteria`) and how many at most per invocation (`BatchSize`).
//! Read from the template so that the local stack and AWS filter alike from one definition.
//!
//! Lambda's filter rules are EventBridge patterns; the bridge applies the subset it knows
//! (exact values, `prefix`, `exists`) and refuses a template using any other rule, rather
//! than deliver records AWS would not.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;
use serde_yaml::Value as Yaml;

/// Lambda's default batch size for DynamoDB streams.
const DEFAULT_BATCH_SIZE: usize = 100;

/// What the function's stream trigger lets through, and in batches of what size.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSource {
    /// The filter patterns; a record passes if it matches any (all pass when there is none).
    pub patterns: Vec<Value>,
    pub batch_size: usize,
}

impl EventSource {
    /// Whether Lambda would deliver `record` (the record's JSON as Lambda sends it).
    pub fn admits(&self, record: &Value) -> bool {
        self.patterns.is_empty()
            || self
                .patterns
                .iter()
                .any(|pattern| matches_object(pattern, record))
    }

    /// The `DynamoDB` event of the function whose `CodeUri` ends in `/<function>/`.
    pub fn from_template(template: &Path, function: &str) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(template)
            .with_context(|| format!("reading {}", template.display()))?;
        let doc: Yaml = serde_yaml::from_str(&text)
            .with_context(|| format!("parsing {}", template.display()))?;
        Self::from_document(&doc, function)
            .with_context(|| format!("{}: the stream trigger of {function}", template.display()))
    }

    fn from_document(doc: &Yaml, function: &str) -> anyhow::Result<Self> {
        let resources = doc
            .get("Resources")
            .and_then(Yaml::as_mapping)
            .context("no Resources")?;
        let properties = resources
            .values()
            .filter_map(|resource| resource.get("Properties"))
            .find(|properties| {
                properties
                    .get("CodeUri")
                    .and_then(Yaml::as_str)
                    .is_some_and(|uri| uri.trim_end_matches('/').ends_with(&format!("/{function}")))
            })
            .with_context(|| format!("no function with CodeUri .../{function}/"))?;
        let mut sources = properties
            .get("Events")
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten()
            .filter(|(_, event)| event.get("Type").and_then(Yaml::as_str) == Some("DynamoDB"));
        let (name, event) = sources.next().context("no event of Type DynamoDB")?;
        if sources.next().is_some() {
            bail!("more than one DynamoDB event; the bridge follows one stream");
        }
        let source = event
            .get("Properties")
            .with_context(|| format!("event {name:?} has no Properties"))?;
        let batch_size = match source.get("BatchSize") {
            None => DEFAULT_BATCH_SIZE,
            Some(size) => size
                .as_u64()
                .and_then(|size| usize::try_from(size).ok())
                .filter(|size| *size > 0)
                .with_context(|| format!("BatchSize {size:?} is not a positive number"))?,
        };
        let mut patterns = Vec::new();
        let filters = source
            .get("FilterCriteria")
            .and_then(|criteria| criteria.get("Filters"))
            .and_then(Yaml::as_sequence);
        for filter in filters.into_iter().flatten() {
            let text = filter
                .get("Pattern")
                .and_then(Yaml::as_str)
                .context("a filter without a Pattern string")?;
            let pattern: Value = serde_json::from_str(text)
                .with_context(|| format!("filter pattern {text} is not JSON"))?;
            check_object(&pattern).with_context(|| format!("filter pattern {text}"))?;
            patterns.push(pattern);
        }
        Ok(Self {
            patterns,
            batch_size,
        })
    }
}

/// A pattern is an object whose leaves are arrays of rules.
fn check_object(pattern: &Value) -> anyhow::Result<()> {
    let fields = pattern
        .as_object()
        .context("a pattern (or a part of one) must be an object")?;
    for (name, value) in fields {
        match value {
            Value::Object(_) => check_object(value).with_context(|| format!("in {name:?}"))?,
            Value::Array(rules) => {
                for rule in rules {
                    check_rule(rule).with_context(|| format!("in {name:?}"))?;
                }
            }
            other => bail!("{name:?}: {other} is neither an object nor a list of rules"),
        }
    }
    Ok(())
}

fn check_rule(rule: &Value) -> anyhow::Result<()> {
    match rule {
        Value::Object(operator) => match operator.iter().next() {
            Some((name, Value::String(_))) if name == "prefix" && operator.len() == 1 => Ok(()),
            Some((name, Value::Bool(_))) if name == "exists" && operator.len() == 1 => Ok(()),
            _ => bail!(
                "rule {rule} is not one the local bridge applies (exact values, prefix, exists); \
                 teach xtask/src/bridge/filter.rs, so that it filters as AWS does"
            ),
        },
        Value::Array(_) => bail!("rule {rule}: a list inside a list of rules"),
        _ => Ok(()),
    }
}

fn matches_object(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(name, expected)| {
        let actual = event.get(name);
        match expected {
            Value::Object(_) => actual.is_some_and(|actual| matches_object(expected, actual)),
            Value::Array(rules) => rules.iter().any(|rule| matches_rule(rule, actual)),
            _ => false,
        }
    })
}

/// One rule against a leaf (`None`: the event has no such field). As in EventBridge, a rule
/// matches a list when it matches one of its elements.
fn matches_rule(rule: &Value, actual: Option<&Value>) -> bool {
    if let Some(Value::Bool(wanted)) = rule.get("exists") {
        let present = actual.is_some_and(|value| !value.is_object());
        return present == *wanted;
    }
    let Some(actual) = actual else {
        return false;
    };
    if let Value::Array(elements) = actual {
        return elements
            .iter()
            .any(|element| matches_rule(rule, Some(element)));
    }
    match rule {
        Value::Object(operator) => match (operator.get("prefix"), actual) {
            (Some(Value::String(prefix)), Value::String(text)) => text.starts_with(prefix.as_str()),
            _ => false,
        },
        Value::Number(number) => actual
            .as_f64()
            .zip(number.as_f64())
            .is_some_and(|(actual, expected)| actual == expected),
        literal => actual == literal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Resources:
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../target/lambda/other-route-tasks/
  RouteTasksFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../target/lambda/route-tasks/
      Events:
        Sweep:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
        Changes:
          Type: DynamoDB
          Properties:
            BatchSize: 25
            FilterCriteria:
              Filters:
                - Pattern: '{"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "TASK#"}]}}}}'
                - Pattern: '{"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "AGENT#"}]}}}}'
"#;

    fn source(template: &str) -> anyhow::Result<EventSource> {
        EventSource::from_document(&serde_yaml::from_str(template).unwrap(), "route-tasks")
    }

    fn keyed(pk: &str) -> Value {
        json!({"eventName": "INSERT", "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": "X"}}}})
    }

    #[test]
    fn reads_the_function_s_stream_trigger() {
        let source = source(TEMPLATE).unwrap();
        assert_eq!(source.batch_size, 25);
        assert_eq!(source.patterns.len(), 2);
        assert!(source.admits(&keyed("TASK#1")));
        assert!(source.admits(&keyed("AGENT#a")));
        assert!(!source.admits(&keyed("TENANT#t")));
        assert!(!source.admits(&keyed("XTASK#1")));
        assert!(!source.admits(&json!({"dynamodb": {"Keys": {"PK": {"N": "1"}}}})));
        assert!(!source.admits(&json!({"eventName": "INSERT"})));
    }

    #[test]
    fn the_repository_s_template_filters_routing_keys() {
        let template = crate::paths::template();
        let source = EventSource::from_template(&template, "route-tasks").unwrap();
        assert_eq!(source.batch_size, 100);
        for pk in ["TASK#t", "QUEUE#q", "AGENT#a"] {
            assert!(source.admits(&keyed(pk)), "{pk}");
        }
        for pk in ["TENANT#t", "USER#u", "task#t"] {
            assert!(!source.admits(&keyed(pk)), "{pk}");
        }
    }

    #[test]
    fn no_filter_admits_everything_and_batches_of_100() {
        let template = TEMPLATE
            .replace("BatchSize: 25", "")
            .replace("FilterCriteria", "X");
        let source = source(&template).unwrap();
        assert_eq!(source.batch_size, 100);
        assert!(source.admits(&keyed("TENANT#t")));
    }

    #[test]
    fn rules_the_bridge_cannot_apply_are_refused() {
        for rule in [
            r#"{"anything-but": "x"}"#,
            r#"{"numeric": [">", 1]}"#,
            r##"{"suffix": "#"}"##,
        ] {
            let template = TEMPLATE.replace(r#"{"prefix": "AGENT#"}"#, rule);
            let err = source(&template).unwrap_err();
            assert!(
                format!("{err:#}").contains("not one the local bridge applies"),
                "{err:#}"
            );
        }
    }

    #[test]
    fn a_function_without_a_stream_trigger_is_an_error() {
        let template = TEMPLATE.replace("Type: DynamoDB", "Type: SQS");
        assert!(source(&template).is_err());
    }

    #[test]
    fn values_exists_and_lists_match_as_in_eventbridge() {
        let pattern = |pattern: Value| EventSource {
            patterns: vec![pattern],
            batch_size: 1,
        };
        let event = json!({"eventName": "MODIFY", "n": 5, "tags": ["a", "b"]});
        assert!(pattern(json!({"eventName": ["INSERT", "MODIFY"]})).admits(&event));
        assert!(!pattern(json!({"eventName": ["REMOVE"]})).admits(&event));
        assert!(pattern(json!({"n": [5.0]})).admits(&event));
        assert!(pattern(json!({"tags": ["b"]})).admits(&event));
        assert!(pattern(json!({"missing": [{"exists": false}]})).admits(&event));
        assert!(!pattern(json!({"missing": [{"exists": true}]})).admits(&event));
        assert!(pattern(json!({"n": [{"exists": true}]})).admits(&event));
        assert!(!pattern(json!({"eventName": {"nested": ["x"]}})).admits(&event));
    }
}

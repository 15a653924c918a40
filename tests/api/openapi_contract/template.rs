//! infra/template.yaml: its HTTP API routes against openapi.yaml, and the least privilege of
//! every function's DynamoDB grants.

use std::collections::BTreeSet;

use serde_yaml::Value as Yaml;

use super::*;

fn pascal_case(function: &str) -> String {
    function
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// (logical id, function name from CodeUri, resource) of every Lambda in the template.
pub(super) fn template_functions(template: &Yaml) -> Vec<(String, String, &Yaml)> {
    let resources = template
        .get("Resources")
        .and_then(Yaml::as_mapping)
        .expect("infra/template.yaml: `Resources` missing");
    resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Yaml::as_str) == Some("AWS::Serverless::Function"))
        .map(|(id, resource)| {
            let id = id.as_str().expect("logical ids are strings").to_string();
            let context = format!("infra/template.yaml {id}");
            let properties = resource
                .get("Properties")
                .unwrap_or_else(|| panic!("{context}: no Properties"));
            let code_uri = str_at(properties, "CodeUri", &context);
            let function = code_uri
                .strip_prefix(LAMBDA_ARTIFACTS)
                .map(|rest| rest.trim_end_matches('/'))
                .filter(|name| !name.is_empty() && !name.contains('/'))
                .unwrap_or_else(|| {
                    panic!("{context}: CodeUri {code_uri} is not {LAMBDA_ARTIFACTS}<function>/")
                })
                .to_string();
            assert_eq!(
                id,
                format!("{}Function", pascal_case(&function)),
                "{context}: logical id should be the PascalCase function name"
            );
            (id, function, properties)
        })
        .collect()
}

fn template_routes(template: &Yaml) -> BTreeSet<Route> {
    let api_ref: Yaml = serde_yaml::from_str("Ref: HttpApi").expect("literal YAML");
    let mut routes = BTreeSet::new();
    for (id, function, properties) in template_functions(template) {
        let events = properties
            .get("Events")
            .and_then(Yaml::as_mapping)
            .unwrap_or_else(|| panic!("infra/template.yaml {id}: no Events"));
        for (name, event) in events {
            if event.get("Type").and_then(Yaml::as_str) != Some("HttpApi") {
                continue;
            }
            let context = format!("infra/template.yaml {id} event {name:?}");
            let event = event
                .get("Properties")
                .unwrap_or_else(|| panic!("{context}: no Properties"));
            assert_eq!(
                event.get("ApiId"),
                Some(&api_ref),
                "{context}: must attach to the one HttpApi (long-form `Ref: HttpApi`)"
            );
            routes.insert((
                str_at(event, "Method", &context).to_uppercase(),
                str_at(event, "Path", &context).to_string(),
                function.clone(),
            ));
        }
    }
    routes
}

#[test]
fn template_routes_match_openapi() {
    let template = yaml("infra/template.yaml");
    assert_same_routes(
        "infra/template.yaml (HttpApi events)",
        &OpenApi::load().routes(),
        &template_routes(&template),
    );
}

/// What reading the table's stream takes: the function's role is what its DynamoDB event
/// source mapping reads with.
const STREAM_READ_ACTIONS: [&str; 4] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

pub(super) fn event_types(properties: &Yaml) -> Vec<&str> {
    properties
        .get("Events")
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flat_map(|events| events.values())
        .map(|event| event.get("Type").and_then(Yaml::as_str).unwrap_or("?"))
        .collect()
}

#[test]
fn template_grants_named_dynamodb_actions_on_the_table_only() {
    let template = yaml("infra/template.yaml");
    let table_arn: Yaml = serde_yaml::from_str("Fn::GetAtt: [Table, Arn]").expect("literal YAML");
    let stream_arn: Yaml =
        serde_yaml::from_str("Fn::GetAtt: [Table, StreamArn]").expect("literal YAML");
    for (id, _, properties) in template_functions(&template) {
        let reads_the_stream = event_types(properties).contains(&"DynamoDB");
        let statements: Vec<&Yaml> = properties
            .get("Policies")
            .and_then(Yaml::as_sequence)
            .unwrap_or_else(|| panic!("infra/template.yaml {id}: no Policies"))
            .iter()
            .filter_map(|policy| policy.get("Statement").and_then(Yaml::as_sequence))
            .flatten()
            .collect();
        assert!(
            !statements.is_empty(),
            "infra/template.yaml {id}: no inline statements"
        );
        for statement in statements {
            let actions = statement
                .get("Action")
                .and_then(Yaml::as_sequence)
                .unwrap_or_else(|| panic!("infra/template.yaml {id}: Action must be a list"));
            for action in actions {
                let action = action.as_str().unwrap_or_default();
                assert!(
                    action.starts_with("dynamodb:") && !action.contains('*'),
                    "infra/template.yaml {id}: action {action:?} is not a named DynamoDB action"
                );
            }
            let resource = statement.get("Resource");
            if resource == Some(&stream_arn) {
                assert!(
                    reads_the_stream,
                    "infra/template.yaml {id}: stream permissions without a DynamoDB event"
                );
                for action in actions {
                    let action = action.as_str().unwrap_or_default();
                    assert!(
                        STREAM_READ_ACTIONS.contains(&action),
                        "infra/template.yaml {id}: {action:?} on the stream ARN; only \
                         {STREAM_READ_ACTIONS:?} apply there"
                    );
                }
            } else {
                assert_eq!(
                    resource,
                    Some(&table_arn),
                    "infra/template.yaml {id}: statements apply to the table ARN only (or, \
                     for reading its stream, to the stream ARN)"
                );
            }
        }
    }
}

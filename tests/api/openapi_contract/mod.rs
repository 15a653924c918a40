//! The API surface is written down in four places: `openapi.yaml` (the hand-kept contract),
//! the local router in the root `Cargo.toml` (`[workspace.metadata.lambda.watch.router]`),
//! the HTTP API events of `infra/template.yaml`, and the `functions/*` packages. These tests
//! keep them from drifting: every (method, path, function) triple must appear in all of them,
//! with `openapi.yaml` as the reference. They read files only; no stack needs to run.

use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// (HTTP method in upper case, path template, function name).
type Route = (String, String, String);

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];
const LAMBDA_ARTIFACTS: &str = "../target/lambda/";

mod template;
use template::{event_types, template_functions};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Yaml {
    serde_yaml::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not plain YAML: {e}"))
}

fn toml_file(relative: &str) -> toml::Table {
    toml::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative} is not TOML: {e}"))
}

fn str_at<'a>(value: &'a Yaml, key: &str, context: &str) -> &'a str {
    value
        .get(key)
        .and_then(Yaml::as_str)
        .unwrap_or_else(|| panic!("{context}: `{key}` missing or not a string"))
}

/// Fails with the triples one side has and the other lacks.
fn assert_same_routes(what: &str, reference: &BTreeSet<Route>, actual: &BTreeSet<Route>) {
    let missing: Vec<_> = reference.difference(actual).collect();
    let extra: Vec<_> = actual.difference(reference).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} disagrees with openapi.yaml\n  missing: {missing:#?}\n  extra (not in openapi.yaml): {extra:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// openapi.yaml

struct OpenApi {
    doc: Yaml,
}

struct Operation<'a> {
    method: String,
    path: String,
    id: String,
    path_item: &'a Yaml,
    operation: &'a Yaml,
}

impl OpenApi {
    fn load() -> OpenApi {
        OpenApi {
            doc: yaml("openapi.yaml"),
        }
    }

    fn operations(&self) -> Vec<Operation<'_>> {
        let paths = self
            .doc
            .get("paths")
            .and_then(Yaml::as_mapping)
            .expect("openapi.yaml: `paths` missing");
        let mut operations = Vec::new();
        for (path, item) in paths {
            let path = path.as_str().expect("openapi.yaml: path keys are strings");
            for method in HTTP_METHODS {
                if let Some(operation) = item.get(method) {
                    let context = format!("openapi.yaml {} {path}", method.to_uppercase());
                    operations.push(Operation {
                        method: method.to_uppercase(),
                        path: path.to_string(),
                        id: str_at(operation, "operationId", &context).to_string(),
                        path_item: item,
                        operation,
                    });
                }
            }
        }
        operations
    }

    fn routes(&self) -> BTreeSet<Route> {
        let operations = self.operations();
        let routes: BTreeSet<Route> = operations
            .iter()
            .map(|o| (o.method.clone(), o.path.clone(), o.id.clone()))
            .collect();
        let ids: BTreeSet<&str> = operations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            operations.len(),
            "openapi.yaml: each operationId (function) must serve exactly one operation"
        );
        routes
    }

    /// Follows local `$ref`s (`#/components/...`) until a non-reference object.
    fn resolve<'a>(&'a self, mut value: &'a Yaml) -> &'a Yaml {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Yaml::as_str) else {
                return value;
            };
            let pointer = reference.strip_prefix("#/").unwrap_or_else(|| {
                panic!("openapi.yaml: only local $refs are used, got {reference}")
            });
            value = pointer.split('/').fold(&self.doc, |node, segment| {
                let key = segment.replace("~1", "/").replace("~0", "~");
                node.get(key.as_str())
                    .unwrap_or_else(|| panic!("openapi.yaml: dangling $ref {reference}"))
            });
        }
        panic!("openapi.yaml: $ref chain too long");
    }

    fn responses<'a>(&'a self, operation: &Operation<'a>) -> BTreeMap<String, &'a Yaml> {
        let context = format!("openapi.yaml {}", operation.id);
        operation
            .operation
            .get("responses")
            .and_then(Yaml::as_mapping)
            .unwrap_or_else(|| panic!("{context}: no responses"))
            .iter()
            .map(|(status, response)| {
                let status = match status {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    other => panic!("{context}: odd status key {other:?}"),
                };
                (status, self.resolve(response))
            })
            .collect()
    }
}

#[test]
fn openapi_is_openapi_3_1_with_bearer_auth() {
    let api = OpenApi::load();
    let version = str_at(&api.doc, "openapi", "openapi.yaml");
    assert!(
        version.starts_with("3.1."),
        "openapi.yaml: version {version}"
    );
    let scheme = api
        .doc
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .and_then(|s| s.get("bearerAuth"))
        .expect("openapi.yaml: components.securitySchemes.bearerAuth missing");
    assert_eq!(str_at(scheme, "type", "bearerAuth"), "http");
    assert_eq!(str_at(scheme, "scheme", "bearerAuth"), "bearer");
    let global_security = api
        .doc
        .get("security")
        .and_then(Yaml::as_sequence)
        .expect("openapi.yaml: top-level `security` missing");
    assert!(
        global_security
            .iter()
            .any(|s| s.get("bearerAuth").is_some()),
        "openapi.yaml: bearerAuth is not required globally"
    );
}

#[test]
fn every_operation_declares_401() {
    assert_every_operation_declares("401", "WWW-Authenticate");
}

/// An operation with `security: []` takes no token: only webhooks that Microsoft Graph calls
/// (under /api/graph/), which authenticate each notification by its secret instead.
fn takes_no_token(operation: &Operation<'_>) -> bool {
    operation
        .operation
        .get("security")
        .and_then(Yaml::as_sequence)
        .is_some_and(|s| s.is_empty())
}

#[test]
fn only_graph_webhooks_take_no_token() {
    let api = OpenApi::load();
    for operation in api.operations() {
        if takes_no_token(&operation) {
            assert!(
                operation.path.starts_with("/api/graph/"),
                "openapi.yaml {}: only Graph's webhooks may opt out of bearer auth",
                operation.id
            );
        }
    }
}

/// Every operation reads DynamoDB or the issuer's keys, so every one can answer 503.
#[test]
fn every_operation_declares_503_with_retry_after() {
    assert_every_operation_declares("503", "Retry-After");
}

fn assert_every_operation_declares(status: &str, header: &str) {
    let api = OpenApi::load();
    for operation in api.operations() {
        if status == "401" && takes_no_token(&operation) {
            continue;
        }
        let responses = api.responses(&operation);
        let response = responses
            .get(status)
            .unwrap_or_else(|| panic!("openapi.yaml {}: no {status} response", operation.id));
        assert!(
            response
                .get("headers")
                .and_then(|h| h.get(header))
                .is_some(),
            "openapi.yaml {}: {status} does not declare {header}",
            operation.id
        );
    }
}

#[test]
fn every_problem_response_is_problem_json() {
    let api = OpenApi::load();
    for operation in api.operations() {
        for (status, response) in api.responses(&operation) {
            let is_error =
                status == "default" || status.starts_with('4') || status.starts_with('5');
            if !is_error {
                continue;
            }
            let context = format!("openapi.yaml {} {status}", operation.id);
            let content = response
                .get("content")
                .and_then(Yaml::as_mapping)
                .unwrap_or_else(|| panic!("{context}: error response without content"));
            let media_types: Vec<_> = content.keys().filter_map(Yaml::as_str).collect();
            assert_eq!(
                media_types,
                ["application/problem+json"],
                "{context}: errors are application/problem+json only"
            );
            let schema = content
                .get("application/problem+json")
                .and_then(|m| m.get("schema"))
                .and_then(|s| s.get("$ref"))
                .and_then(Yaml::as_str);
            assert_eq!(
                schema,
                Some("#/components/schemas/Problem"),
                "{context}: schema must be the Problem schema"
            );
            if status == "429" {
                assert!(
                    response
                        .get("headers")
                        .and_then(|h| h.get("Retry-After"))
                        .is_some(),
                    "{context}: 429 must declare Retry-After"
                );
            }
        }
    }
}

#[test]
fn path_parameters_match_path_templates() {
    let api = OpenApi::load();
    for operation in api.operations() {
        let in_template: BTreeSet<String> = operation
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        let declared: BTreeSet<String> = [operation.path_item, operation.operation]
            .into_iter()
            .filter_map(|node| node.get("parameters").and_then(Yaml::as_sequence))
            .flatten()
            .map(|p| api.resolve(p))
            .filter(|p| p.get("in").and_then(Yaml::as_str) == Some("path"))
            .map(|p| str_at(p, "name", &operation.id).to_string())
            .collect();
        assert_eq!(
            declared, in_template,
            "openapi.yaml {}: path parameters vs {}",
            operation.id, operation.path
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cargo.toml router (cargo lambda watch) and functions/*

fn router_routes() -> BTreeSet<Route> {
    let manifest = toml_file("Cargo.toml");
    let router = ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&manifest, |table, key| table.get(*key)?.as_table())
        .expect("Cargo.toml: [workspace.metadata.lambda.watch.router] missing");
    let mut routes = BTreeSet::new();
    for (path, target) in router {
        match target {
            // A bare function name routes every method; record it so the diff shows it.
            toml::Value::String(function) => {
                routes.insert(("ANY".to_string(), path.clone(), function.clone()));
            }
            toml::Value::Array(entries) => {
                for entry in entries {
                    let field = |key: &str| {
                        entry
                            .get(key)
                            .and_then(toml::Value::as_str)
                            .unwrap_or_else(|| {
                                panic!("Cargo.toml router {path}: entry without `{key}`")
                            })
                    };
                    routes.insert((
                        field("method").to_uppercase(),
                        path.clone(),
                        field("function").to_string(),
                    ));
                }
            }
            other => panic!("Cargo.toml router {path}: unexpected value {other}"),
        }
    }
    routes
}

#[test]
fn router_matches_openapi() {
    assert_same_routes(
        "Cargo.toml [workspace.metadata.lambda.watch.router]",
        &OpenApi::load().routes(),
        &router_routes(),
    );
}

#[test]
fn function_packages_match_openapi() {
    let dir = repo_root().join("functions");
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut packages = BTreeSet::new();
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let manifest = entry.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("functions/{dir_name}/Cargo.toml");
        let package_name = toml_file(&relative)
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("{relative}: no package name"))
            .to_string();
        assert_eq!(
            package_name, dir_name,
            "{relative}: the package (= Lambda) name must be the directory name"
        );
        packages.insert(dir_name);
    }
    // An operation per route, and the functions no route reaches, which the template runs
    // on a schedule or on the table's stream.
    let mut functions: BTreeSet<String> = OpenApi::load()
        .routes()
        .into_iter()
        .map(|(_, _, function)| function)
        .collect();
    functions.extend(routeless_functions(&yaml("infra/template.yaml")));
    let missing: Vec<_> = functions.difference(&packages).collect();
    let extra: Vec<_> = packages.difference(&functions).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "functions/* disagrees with openapi.yaml operationIds and the template's functions \
         without a route\n  missing: {missing:?}\n  extra: {extra:?}"
    );
}

/// The event types that run a function without a route: EventBridge schedules and the
/// table's stream.
const NON_HTTP_TRIGGERS: [&str; 3] = ["Schedule", "ScheduleV2", "DynamoDB"];

/// The template's functions that no HTTP API event reaches (a schedule or the table's stream
/// runs them): no route, so no operation in openapi.yaml. Every event of theirs must be one
/// of [`NON_HTTP_TRIGGERS`], so that a function whose route is misspelt or of another kind
/// does not pass for one.
fn routeless_functions(template: &Yaml) -> BTreeSet<String> {
    template_functions(template)
        .into_iter()
        .filter_map(|(id, function, properties)| {
            let types = event_types(properties);
            assert!(!types.is_empty(), "infra/template.yaml {id}: no Events");
            if types.contains(&"HttpApi") {
                return None;
            }
            for kind in &types {
                assert!(
                    NON_HTTP_TRIGGERS.contains(kind),
                    "infra/template.yaml {id}: event type {kind} is neither HttpApi nor one of \
                     {NON_HTTP_TRIGGERS:?}"
                );
            }
            Some(function)
        })
        .collect()
}

#[test]
fn scheduled_functions_have_no_route() {
    let routeless = routeless_functions(&yaml("infra/template.yaml"));
    for function in [
        "sync-teams-services",
        "renew-presence-subscriptions",
        "route-tasks",
    ] {
        assert!(
            routeless.contains(function),
            "{function} runs on a schedule (route-tasks on the stream too), not behind a \
             route: {routeless:?}"
        );
    }
    for (_, path, function) in router_routes() {
        assert!(
            !routeless.contains(&function),
            "{function} has no HTTP API event but the router serves it at {path}"
        );
    }
}

//! The table: created from `infra/template.yaml` (by the store crate) in DynamoDB Local or
//! wherever `AWS_ENDPOINT_URL_DYNAMODB` points.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

use crate::paths;

pub const DEFAULT_TABLE: &str = "stratus";
pub const REGION: &str = "us-east-1";
/// Any credentials do for DynamoDB Local; these make that visible.
pub const LOCAL_ACCESS_KEY_ID: &str = "stratuslocal";
pub const LOCAL_SECRET_ACCESS_KEY: &str = "stratuslocal";

/// `STRATUS_TABLE_NAME`, or `stratus`.
pub fn table_name() -> String {
    std::env::var("STRATUS_TABLE_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_TABLE.to_owned())
}

/// A client for DynamoDB Local at `endpoint` (fixed region, dummy credentials).
pub fn local_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            LOCAL_ACCESS_KEY_ID,
            LOCAL_SECRET_ACCESS_KEY,
            None,
            None,
            "xtask",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Creates the table (idempotent) in DynamoDB Local at `endpoint`.
pub async fn create_local(endpoint: &str, table: &str) -> anyhow::Result<()> {
    println!("==> creating table {table} at {endpoint} from infra/template.yaml");
    let client = local_client(endpoint);
    stratus_kernel::table::setup::create_table_from_template(&client, &paths::template(), table)
        .await
}

/// `cargo xtask table`: creates the table against `AWS_ENDPOINT_URL_DYNAMODB` (DynamoDB Local
/// on port 8000 if unset), using the SDK's usual configuration from the environment.
pub async fn command() -> anyhow::Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|url| !url.is_empty());
    let table = table_name();
    let client = match &endpoint {
        None => {
            let endpoint = crate::stack::dynamodb_url(crate::stack::DEV_DYNAMODB_PORT);
            println!("AWS_ENDPOINT_URL_DYNAMODB is not set: using DynamoDB Local at {endpoint}");
            local_client(&endpoint)
        }
        Some(url) if is_loopback(url) && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() => {
            local_client(url)
        }
        Some(_) => {
            let mut loader = aws_config::defaults(BehaviorVersion::latest());
            if std::env::var_os("AWS_REGION").is_none() {
                loader = loader.region(Region::new(REGION));
            }
            aws_sdk_dynamodb::Client::new(&loader.load().await)
        }
    };
    println!(
        "==> creating table {table} from infra/template.yaml ({})",
        endpoint.as_deref().unwrap_or("DynamoDB Local")
    );
    stratus_kernel::table::setup::create_table_from_template(&client, &paths::template(), &table)
        .await?;
    println!("table {table} is there");
    Ok(())
}

/// Whether `url` points at this machine (DynamoDB Local rather than AWS).
pub fn is_loopback(url: &str) -> bool {
    let authority = url.split("://").nth(1).unwrap_or(url);
    ["127.", "localhost", "[::1]"]
        .iter()
        .any(|prefix| authority.starts_with(prefix))
}

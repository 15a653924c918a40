//! Creates the table from its one definition, the `Table` resource of
//! `infra/template.yaml`, so the dev stack, the tests and AWS all use the same keys,
//! TTL attribute and stream settings.

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_yaml::Value;
use std::path::Path;

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("template: `{field}` missing or not a string"))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>> {
    v.as_sequence()
        .ok_or_else(|| anyhow!("template: KeySchema must be a list"))?
        .iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

/// Reads the `Table` resource's properties from the SAM template.
pub fn table_properties(template: &Path) -> Result<Value> {
    let raw = std::fs::read_to_string(template)
        .with_context(|| format!("reading {}", template.display()))?;
    let doc: Value = serde_yaml::from_str(&raw).context("parsing the SAM template")?;
    let table = doc
        .get("Resources")
        .and_then(|r| r.get("Table"))
        .ok_or_else(|| anyhow!("template has no Resources.Table"))?;
    if text(table, "Type")? != "AWS::DynamoDB::Table" {
        bail!("Resources.Table is not an AWS::DynamoDB::Table");
    }
    table
        .get("Properties")
        .cloned()
        .ok_or_else(|| anyhow!("Resources.Table has no Properties"))
}

/// Creates `table_name` as the template defines it; does nothing if it exists.
pub async fn create_table_from_template(
    client: &Client,
    template: &Path,
    table_name: &str,
) -> Result<()> {
    let props = table_properties(template)?;
    let existing = client
        .list_tables()
        .send()
        .await
        .context("listing tables")?;
    if existing.table_names().iter().any(|t| t == table_name) {
        return Ok(());
    }
    let mut create = client.create_table().table_name(table_name);
    for def in props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| anyhow!("template: AttributeDefinitions missing"))?
    {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(def, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(def, "AttributeType")?))
                .build()?,
        );
    }
    create = create.set_key_schema(Some(key_schema(
        props
            .get("KeySchema")
            .ok_or_else(|| anyhow!("template: KeySchema missing"))?,
    )?));
    create = create.billing_mode(BillingMode::from(
        props
            .get("BillingMode")
            .and_then(Value::as_str)
            .unwrap_or("PAY_PER_REQUEST"),
    ));
    if let Some(gsis) = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
    {
        for gsi in gsis {
            let projection = gsi
                .get("Projection")
                .and_then(|p| p.get("ProjectionType"))
                .and_then(Value::as_str)
                .unwrap_or("ALL");
            create = create.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(text(gsi, "IndexName")?)
                    .set_key_schema(Some(key_schema(
                        gsi.get("KeySchema")
                            .ok_or_else(|| anyhow!("GSI KeySchema missing"))?,
                    )?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(projection))
                            .build(),
                    )
                    .build()?,
            );
        }
    }
    if let Some(view) = props
        .get("StreamSpecification")
        .and_then(|s| s.get("StreamViewType"))
        .and_then(Value::as_str)
    {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()?,
        );
    }
    create.send().await.context("creating the table")?;
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(true))
                    .build()?,
            )
            .send()
            .await
            .context("enabling TTL")?;
    }
    Ok(())
}

//! A DynamoDB stream record as the Streams API returns it, turned into the record Lambda's
//! event source mapping hands a function (`aws_lambda_events`' DynamoDB event), and that
//! event written out in the JSON shape Lambda sends.

use std::collections::HashMap;
use std::time::SystemTime;

use anyhow::{bail, Context};
use aws_lambda_events::event::dynamodb::{
    Event, EventRecord, StreamRecord, StreamViewType, UserIdentity,
};
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamValue, Record, StreamViewType as SdkViewType,
};
use serde_dynamo::AttributeValue;
use serde_json::Value;

/// The record Lambda would deliver for `record`, read from the stream `stream_arn`.
///
/// Fails on what Lambda would never deliver either: a record without its `dynamodb` part or
/// with an attribute type this SDK does not know.
pub fn event_record(record: &Record, stream_arn: &str) -> anyhow::Result<EventRecord> {
    let change = record
        .dynamodb()
        .context("the stream record has no `dynamodb` part")?;
    let mut stream_record = StreamRecord::default();
    if let Some(time) = change.approximate_creation_date_time() {
        let time = SystemTime::try_from(*time)
            .with_context(|| format!("ApproximateCreationDateTime {time} is out of range"))?;
        stream_record.approximate_creation_date_time = time.into();
    }
    stream_record.keys = item(change.keys()).context("Keys")?;
    stream_record.new_image = item(change.new_image()).context("NewImage")?;
    stream_record.old_image = item(change.old_image()).context("OldImage")?;
    stream_record.sequence_number = change.sequence_number().map(str::to_owned);
    stream_record.size_bytes = change.size_bytes().unwrap_or_default();
    stream_record.stream_view_type = change.stream_view_type().map(view_type).transpose()?;

    let mut event_record = EventRecord::default();
    event_record.change = stream_record;
    event_record.event_id = record.event_id().unwrap_or_default().to_owned();
    event_record.event_name = record
        .event_name()
        .context("the stream record has no eventName")?
        .as_str()
        .to_owned();
    event_record.event_version = record.event_version().map(str::to_owned);
    event_record.event_source = record.event_source().map(str::to_owned);
    event_record.aws_region = record.aws_region().unwrap_or_default().to_owned();
    event_record.event_source_arn = Some(stream_arn.to_owned());
    // Present only on deletions by TTL, as in Lambda's events.
    event_record.user_identity = record.user_identity().map(|identity| {
        let mut user = UserIdentity::default();
        user.type_ = identity.r#type().unwrap_or_default().to_owned();
        user.principal_id = identity.principal_id().unwrap_or_default().to_owned();
        user
    });
    Ok(event_record)
}

fn view_type(view: &SdkViewType) -> anyhow::Result<StreamViewType> {
    Ok(match view.as_str() {
        "KEYS_ONLY" => StreamViewType::KeysOnly,
        "NEW_IMAGE" => StreamViewType::NewImage,
        "OLD_IMAGE" => StreamViewType::OldImage,
        "NEW_AND_OLD_IMAGES" => StreamViewType::NewAndOldImages,
        other => bail!("unknown StreamViewType {other:?}"),
    })
}

fn item(attributes: Option<&HashMap<String, StreamValue>>) -> anyhow::Result<serde_dynamo::Item> {
    let mut converted = HashMap::new();
    for (name, value) in attributes.into_iter().flatten() {
        converted.insert(
            name.clone(),
            attribute(value).with_context(|| format!("attribute {name:?}"))?,
        );
    }
    Ok(converted.into())
}

/// serde_dynamo converts these too (feature `aws-sdk-dynamodbstreams+1`), but it panics on a
/// type the SDK does not know; this is the same mapping, failing instead.
fn attribute(value: &StreamValue) -> anyhow::Result<AttributeValue> {
    Ok(match value {
        StreamValue::S(text) => AttributeValue::S(text.clone()),
        StreamValue::N(number) => AttributeValue::N(number.clone()),
        StreamValue::B(blob) => AttributeValue::B(blob.as_ref().to_vec()),
        StreamValue::Bool(flag) => AttributeValue::Bool(*flag),
        StreamValue::Null(flag) => AttributeValue::Null(*flag),
        StreamValue::Ss(texts) => AttributeValue::Ss(texts.clone()),
        StreamValue::Ns(numbers) => AttributeValue::Ns(numbers.clone()),
        StreamValue::Bs(blobs) => {
            AttributeValue::Bs(blobs.iter().map(|blob| blob.as_ref().to_vec()).collect())
        }
        StreamValue::L(list) => {
            AttributeValue::L(list.iter().map(attribute).collect::<anyhow::Result<_>>()?)
        }
        StreamValue::M(map) => AttributeValue::M(
            map.iter()
                .map(|(name, value)| Ok((name.clone(), attribute(value)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        other => bail!("attribute type unknown to the SDK: {other:?}"),
    })
}

/// `records` as one invocation's payload, in the JSON Lambda sends: the crate writes every
/// optional field (`null`) and both images (`{}` when absent), where Lambda leaves out what a
/// record does not have (no `OldImage` on INSERT, no `NewImage` on REMOVE, `userIdentity`
/// only on TTL deletions). A function reading it with the same crate sees no difference; one
/// checking for the keys does.
pub fn lambda_json(records: Vec<EventRecord>) -> anyhow::Result<Value> {
    let mut event = Event::default();
    event.records = records;
    let mut json = serde_json::to_value(&event).context("serializing the stream event")?;
    if let Some(records) = json.get_mut("Records").and_then(Value::as_array_mut) {
        for record in records {
            strip_absent(record);
        }
    }
    Ok(json)
}

/// One record as Lambda sends it (see [`lambda_json`]): the JSON the event filter sees.
pub fn record_json(record: &EventRecord) -> anyhow::Result<Value> {
    let mut json = serde_json::to_value(record).context("serializing a stream record")?;
    strip_absent(&mut json);
    Ok(json)
}

fn strip_absent(record: &mut Value) {
    if let Some(fields) = record.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
        if let Some(change) = fields.get_mut("dynamodb").and_then(Value::as_object_mut) {
            change.retain(|name, value| {
                let empty_image = matches!(name.as_str(), "NewImage" | "OldImage")
                    && value.as_object().is_some_and(|image| image.is_empty());
                !value.is_null() && !empty_image
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::primitives::{Blob, DateTime};
    use aws_sdk_dynamodbstreams::types::{Identity, OperationType, StreamRecord as SdkRecord};
    use serde_json::json;

    const STREAM: &str = "arn:aws:dynamodb:ddblocal:000000000000:table/stratus/stream/2026-01-01";

    fn s(text: &str) -> StreamValue {
        StreamValue::S(text.to_owned())
    }

    fn record(name: OperationType, change: SdkRecord) -> Record {
        Record::builder()
            .event_id("e-1")
            .event_name(name)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("us-east-1")
            .dynamodb(change)
            .build()
    }

    fn change() -> aws_sdk_dynamodbstreams::types::builders::StreamRecordBuilder {
        SdkRecord::builder()
            .approximate_creation_date_time(DateTime::from_secs(1_767_225_600))
            .keys("PK", s("TASK#t-1"))
            .keys("SK", s("TASK"))
            .sequence_number("000000000000000000001")
            .size_bytes(42)
            .stream_view_type(SdkViewType::NewAndOldImages)
    }

    fn one(record: &Record) -> Value {
        let converted = event_record(record, STREAM).unwrap();
        lambda_json(vec![converted]).unwrap()["Records"][0].clone()
    }

    #[test]
    fn every_attribute_type_is_written_as_dynamodb_json() {
        let nested = StreamValue::M(HashMap::from([
            ("inner".to_owned(), StreamValue::N("7".to_owned())),
            (
                "list".to_owned(),
                StreamValue::L(vec![s("a"), StreamValue::Bool(false)]),
            ),
        ]));
        let insert = record(
            OperationType::Insert,
            change()
                .new_image("PK", s("TASK#t-1"))
                .new_image("text", s("hello"))
                .new_image("number", StreamValue::N("1.5".to_owned()))
                .new_image("flag", StreamValue::Bool(true))
                .new_image("nothing", StreamValue::Null(true))
                .new_image("binary", StreamValue::B(Blob::new(b"hi".to_vec())))
                .new_image(
                    "texts",
                    StreamValue::Ss(vec!["x".to_owned(), "y".to_owned()]),
                )
                .new_image(
                    "numbers",
                    StreamValue::Ns(vec!["1".to_owned(), "2".to_owned()]),
                )
                .new_image("binaries", StreamValue::Bs(vec![Blob::new(b"a".to_vec())]))
                .new_image(
                    "list",
                    StreamValue::L(vec![s("one"), StreamValue::N("2".to_owned())]),
                )
                .new_image("map", nested)
                .build(),
        );
        let image = &one(&insert)["dynamodb"]["NewImage"];
        assert_eq!(
            image,
            &json!({
                "PK": {"S": "TASK#t-1"},
                "text": {"S": "hello"},
                "number": {"N": "1.5"},
                "flag": {"BOOL": true},
                "nothing": {"NULL": true},
                "binary": {"B": "aGk="},
                "texts": {"SS": ["x", "y"]},
                "numbers": {"NS": ["1", "2"]},
                "binaries": {"BS": ["YQ=="]},
                "list": {"L": [{"S": "one"}, {"N": "2"}]},
                "map": {"M": {"inner": {"N": "7"}, "list": {"L": [{"S": "a"}, {"BOOL": false}]}}},
            })
        );
    }

    #[test]
    fn an_insert_has_the_new_image_only() {
        let insert = record(
            OperationType::Insert,
            change().new_image("PK", s("TASK#t-1")).build(),
        );
        assert_eq!(
            one(&insert),
            json!({
                "eventID": "e-1",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": STREAM,
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_767_225_600,
                    "Keys": {"PK": {"S": "TASK#t-1"}, "SK": {"S": "TASK"}},
                    "NewImage": {"PK": {"S": "TASK#t-1"}},
                    "SequenceNumber": "000000000000000000001",
                    "SizeBytes": 42,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            })
        );
    }

    #[test]
    fn a_modify_has_both_images() {
        let modify = record(
            OperationType::Modify,
            change()
                .old_image("state", s("queued"))
                .new_image("state", s("offered"))
                .build(),
        );
        let json = one(&modify);
        assert_eq!(json["eventName"], "MODIFY");
        assert_eq!(
            json["dynamodb"]["OldImage"],
            json!({"state": {"S": "queued"}})
        );
        assert_eq!(
            json["dynamodb"]["NewImage"],
            json!({"state": {"S": "offered"}})
        );
    }

    #[test]
    fn a_remove_has_the_old_image_only() {
        let remove = record(
            OperationType::Remove,
            change().old_image("state", s("done")).build(),
        );
        let json = one(&remove);
        assert_eq!(json["eventName"], "REMOVE");
        assert_eq!(
            json["dynamodb"]["OldImage"],
            json!({"state": {"S": "done"}})
        );
        assert!(json["dynamodb"].get("NewImage").is_none(), "{json}");
        assert!(json.get("userIdentity").is_none(), "{json}");
    }

    #[test]
    fn a_deletion_by_ttl_names_the_service() {
        let mut expired = record(
            OperationType::Remove,
            change().old_image("state", s("done")).build(),
        );
        expired.user_identity = Some(
            Identity::builder()
                .r#type("Service")
                .principal_id("dynamodb.amazonaws.com")
                .build(),
        );
        assert_eq!(
            one(&expired)["userIdentity"],
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        );
    }

    #[test]
    fn the_payload_reads_back_as_the_crate_s_event() {
        let modify = record(
            OperationType::Modify,
            change()
                .old_image("n", StreamValue::N("1".to_owned()))
                .new_image("n", StreamValue::N("2".to_owned()))
                .build(),
        );
        let converted = event_record(&modify, STREAM).unwrap();
        let payload = lambda_json(vec![converted.clone()]).unwrap();
        let read: Event = serde_json::from_value(payload).unwrap();
        assert_eq!(read.records, vec![converted]);
    }

    #[test]
    fn a_record_without_its_change_is_refused() {
        let bare = Record::builder()
            .event_id("e-2")
            .event_name(OperationType::Insert)
            .build();
        assert!(event_record(&bare, STREAM).is_err());
    }
}

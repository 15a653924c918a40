//! Following the table's stream as Lambda's event source mapping does: every shard read in
//! order, a child only after its parent is read to its end, the records the filter admits
//! handed to the function in batches, each batch retried until the function takes it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_dynamodbstreams::Client;

use super::filter::EventSource;
use super::invoke::{Backoff, Invoker, Log, Stop};
use super::record;

/// New shards appear now and then; looking for them once a second is plenty locally.
const DESCRIBE_EVERY: Duration = Duration::from_secs(1);

/// How the follower paces itself.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Wait between reads when no shard had anything new.
    pub idle_poll: Duration,
    /// Waits between failed invocations of a batch, and after a failed Streams call.
    pub retry: Backoff,
}

#[derive(Debug, Default)]
struct Shard {
    parent: Option<String>,
    /// Where the next read starts; `None` until the shard is opened (or after its iterator
    /// expired).
    iterator: Option<String>,
    /// The last record handed on (or filtered out): where to reopen an expired iterator.
    last_sequence: Option<String>,
    /// Read to its end: closed and every record handed on.
    finished: bool,
}

pub struct Follower {
    pub client: Client,
    pub stream_arn: String,
    pub source: EventSource,
    pub invoker: Invoker,
    pub log: Log,
    pub pacing: Pacing,
    pub stop: Stop,
}

/// What reading a shard once came to.
enum Read {
    /// This many records were read (0: nothing new yet).
    Records(usize),
    /// The shard is closed and read to its end.
    Finished,
    /// A stop was requested while a batch was being delivered.
    Stopped,
}

impl Follower {
    pub async fn run(mut self) {
        self.log.info(&format!("following {}", self.stream_arn));
        let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
        let mut described_at: Option<Instant> = None;
        let mut failures = 0;
        while !self.stop.requested() {
            if described_at.is_none_or(|at| at.elapsed() >= DESCRIBE_EVERY) {
                match self.describe(&mut shards).await {
                    Ok(()) => described_at = Some(Instant::now()),
                    Err(err) => {
                        failures += 1;
                        self.log.warn(&format!("describing the stream: {err:#}"));
                        if !self.stop.sleep(self.pacing.retry.after(failures)).await {
                            break;
                        }
                        continue;
                    }
                }
            }
            let mut read_any = false;
            for id in readable(&shards) {
                let result = match shards.get_mut(&id) {
                    Some(shard) => self.read(&id, shard).await,
                    None => continue,
                };
                match result {
                    Ok(Read::Records(count)) => {
                        failures = 0;
                        read_any |= count > 0;
                    }
                    Ok(Read::Finished) => {
                        self.log
                            .info(&format!("shard {id} closed and read to its end"));
                        if let Some(shard) = shards.get_mut(&id) {
                            shard.finished = true;
                        }
                        // Its children are readable now: look for them at once.
                        described_at = None;
                        read_any = true;
                    }
                    Ok(Read::Stopped) => break,
                    Err(err) => {
                        failures += 1;
                        self.log.warn(&format!("reading shard {id}: {err:#}"));
                        if !self.stop.sleep(self.pacing.retry.after(failures)).await {
                            break;
                        }
                    }
                }
            }
            if !read_any && !self.stop.sleep(self.pacing.idle_poll).await {
                break;
            }
        }
        self.log.info("stream follower stopped");
    }

    /// Adds the shards not seen before (DescribeStream, every page).
    async fn describe(&self, shards: &mut BTreeMap<String, Shard>) -> anyhow::Result<()> {
        let mut start_after: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start_after.take())
                .send()
                .await?;
            let Some(description) = page.stream_description() else {
                return Ok(());
            };
            for found in description.shards() {
                let Some(id) = found.shard_id() else { continue };
                if !shards.contains_key(id) {
                    self.log.info(&format!("shard {id} found"));
                    shards.insert(
                        id.to_owned(),
                        Shard {
                            parent: found.parent_shard_id().map(str::to_owned),
                            ..Shard::default()
                        },
                    );
                }
            }
            match description.last_evaluated_shard_id() {
                Some(last) => start_after = Some(last.to_owned()),
                None => return Ok(()),
            }
        }
    }

    /// One GetRecords on `shard`, its admitted records delivered before it returns.
    async fn read(&mut self, id: &str, shard: &mut Shard) -> anyhow::Result<Read> {
        let iterator = match shard.iterator.take() {
            Some(iterator) => iterator,
            None => self.open(id, shard.last_sequence.as_deref()).await?,
        };
        let output = match self
            .client
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
        {
            Ok(output) => output,
            // Iterators expire (after 15 minutes in AWS), e.g. while a batch was being
            // retried: reopen right after the last record handed on.
            Err(SdkError::ServiceError(failure))
                if matches!(failure.err(), GetRecordsError::ExpiredIteratorException(_)) =>
            {
                return Ok(Read::Records(0));
            }
            // Records older than the stream keeps (24 h) are gone: read from the oldest left.
            Err(SdkError::ServiceError(failure))
                if matches!(
                    failure.err(),
                    GetRecordsError::TrimmedDataAccessException(_)
                ) =>
            {
                self.log.warn(&format!(
                    "shard {id}: records after {:?} were trimmed; reading from the oldest left",
                    shard.last_sequence
                ));
                shard.last_sequence = None;
                return Ok(Read::Records(0));
            }
            Err(err) => {
                // Read again from the same place.
                shard.iterator = Some(iterator);
                return Err(err.into());
            }
        };
        let records = output.records();
        let mut admitted = Vec::new();
        for stream_record in records {
            let sequence = stream_record
                .dynamodb()
                .and_then(|change| change.sequence_number())
                .unwrap_or("?");
            match record::event_record(stream_record, &self.stream_arn)
                .and_then(|converted| Ok((record::record_json(&converted)?, converted)))
            {
                Ok((json, converted)) => {
                    if self.source.admits(&json) {
                        admitted.push(converted);
                    }
                }
                // Nothing Lambda would deliver either; holding the shard back for it would
                // stop every record after it.
                Err(err) => self.log.warn(&format!(
                    "shard {id}: record {sequence} left out, not convertible: {err:#}"
                )),
            }
        }
        let mut invocations = 0;
        while !admitted.is_empty() {
            let rest = admitted.split_off(admitted.len().min(self.source.batch_size));
            let batch = std::mem::replace(&mut admitted, rest);
            let size = batch.len();
            let payload = record::lambda_json(batch)?;
            let what = format!("a batch of {size} record(s) from shard {id}");
            let delivered = self
                .invoker
                .deliver(
                    &payload,
                    &what,
                    self.pacing.retry,
                    &self.log,
                    &mut self.stop,
                )
                .await;
            if !delivered {
                return Ok(Read::Stopped);
            }
            invocations += 1;
        }
        if let Some(last) = records
            .last()
            .and_then(|last| last.dynamodb())
            .and_then(|change| change.sequence_number())
        {
            shard.last_sequence = Some(last.to_owned());
        }
        if !records.is_empty() {
            self.log.debug(&format!(
                "shard {id}: {} record(s) read, {invocations} invocation(s)",
                records.len()
            ));
        }
        match output.next_shard_iterator() {
            Some(next) => {
                shard.iterator = Some(next.to_owned());
                Ok(Read::Records(records.len()))
            }
            None => Ok(Read::Finished),
        }
    }

    /// A shard iterator: from the oldest record (the stack's table is new, so that is every
    /// change made to it), or right after `after` when reopening.
    async fn open(&self, id: &str, after: Option<&str>) -> anyhow::Result<String> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(id);
        let request = match after {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let output = request.send().await?;
        match output.shard_iterator() {
            Some(iterator) => Ok(iterator.to_owned()),
            None => anyhow::bail!("GetShardIterator gave no iterator for shard {id}"),
        }
    }
}

/// Shards to read now: not finished, and whose parent (if the stream still lists it) is.
fn readable(shards: &BTreeMap<String, Shard>) -> Vec<String> {
    shards
        .iter()
        .filter(|(_, shard)| !shard.finished)
        .filter(|(_, shard)| {
            shard
                .parent
                .as_ref()
                .and_then(|parent| shards.get(parent))
                .is_none_or(|parent| parent.finished)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(parent: Option<&str>, finished: bool) -> Shard {
        Shard {
            parent: parent.map(str::to_owned),
            finished,
            ..Shard::default()
        }
    }

    #[test]
    fn children_wait_for_their_parents() {
        let mut shards = BTreeMap::new();
        shards.insert("a".to_owned(), shard(None, false));
        shards.insert("b".to_owned(), shard(Some("a"), false));
        shards.insert("c".to_owned(), shard(Some("gone"), false));
        assert_eq!(readable(&shards), ["a", "c"]);
        shards.insert("a".to_owned(), shard(None, true));
        assert_eq!(readable(&shards), ["b", "c"]);
    }
}

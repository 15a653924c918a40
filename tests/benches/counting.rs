//! A DynamoDB client interceptor that counts the operations the SDK executes (not HTTP
//! attempts: a retried call counts once), remembers their names and times them; shared by
//! the benches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Counts the DynamoDB operations a client executes, remembers their names, and times them.
#[derive(Debug, Default)]
pub struct Counter {
    calls: AtomicU64,
    names: Mutex<Vec<String>>,
    timing: Mutex<Timing>,
}

/// Wall time with at least one DynamoDB operation in flight (from before serialization to
/// after deserialization, retries included), and each operation's time when they run one
/// after another (as the timed operations make them).
#[derive(Debug, Default)]
struct Timing {
    in_flight: usize,
    since: Option<Instant>,
    current: Option<String>,
    busy: Duration,
    calls: Vec<(String, Duration)>,
}

impl Counter {
    pub fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
        if let Ok(mut names) = self.names.lock() {
            names.clear();
        }
        if let Ok(mut timing) = self.timing.lock() {
            *timing = Timing::default();
        }
    }

    /// Time in DynamoDB operations since the last reset, and each operation's.
    pub fn timing(&self) -> (Duration, Vec<(String, Duration)>) {
        self.timing
            .lock()
            .map(|t| (t.busy, t.calls.clone()))
            .unwrap_or_default()
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn names(&self) -> Vec<String> {
        self.names.lock().map(|n| n.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct CountingInterceptor(pub Arc<Counter>);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "CountingInterceptor"
    }

    /// Called once per operation execution, before serialization and any retry.
    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut timing) = self.0.timing.lock() {
            if timing.in_flight == 0 {
                timing.since = Some(Instant::now());
            }
            timing.in_flight += 1;
        }
        Ok(())
    }

    /// Also once per execution; the operation's name is in the config from here on.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "?".to_owned());
        if let Ok(mut timing) = self.0.timing.lock() {
            if timing.in_flight == 1 {
                timing.current = Some(name.clone());
            }
        }
        if let Ok(mut names) = self.0.names.lock() {
            names.push(name);
        }
        Ok(())
    }

    /// The last hook of an execution, whether it succeeded or not.
    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(mut timing) = self.0.timing.lock() {
            timing.in_flight = timing.in_flight.saturating_sub(1);
            if timing.in_flight == 0 {
                if let Some(since) = timing.since.take() {
                    let took = since.elapsed();
                    timing.busy += took;
                    let name = timing.current.take().unwrap_or_else(|| "?".into());
                    timing.calls.push((name, took));
                }
            }
        }
        Ok(())
    }
}

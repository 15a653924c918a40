//! Invoking the function through `cargo lambda watch`'s Lambda Invoke endpoint, and the
//! bridge's log and stop signal that its tasks share.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::sync::watch;

/// watch builds a function on its first invocation: minutes on a busy machine.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Enough of a failed invocation's answer to tell what went wrong.
const ANSWER_IN_LOG: usize = 600;

/// The bridge's log file: a line per failure, per shard opened or closed; with `debug`,
/// a line per invocation with its counts.
#[derive(Clone)]
pub struct Log {
    file: Arc<Mutex<File>>,
    debug: bool,
}

impl Log {
    pub fn create(path: &Path, debug: bool) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the log directory {}", dir.display()))?;
        }
        let file = File::create(path)
            .with_context(|| format!("creating the log file {}", path.display()))?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
            debug,
        })
    }

    pub fn info(&self, line: &str) {
        self.write("INFO ", line);
    }

    pub fn warn(&self, line: &str) {
        self.write("WARN ", line);
    }

    pub fn debug(&self, line: &str) {
        if self.debug {
            self.write("DEBUG", line);
        }
    }

    fn write(&self, level: &str, line: &str) {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        // A log line lost to a full disk is no reason to stop delivering records.
        if let Ok(mut file) = self.file.lock() {
            let _ = writeln!(file, "{now} {level} {line}");
        }
    }
}

/// The bridge's stop signal, as each task sees it.
#[derive(Clone)]
pub struct Stop(pub watch::Receiver<bool>);

impl Stop {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once a stop is requested (or the bridge's handle is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `duration`; false if a stop came first.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            _ = self.wait() => false,
            _ = tokio::time::sleep(duration) => true,
        }
    }
}

/// Waits between failed attempts: doubling from `first` up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after the `failures`-th failure in a row (1-based).
    pub fn after(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// POSTs payloads to `{api}/2015-03-31/functions/{function}/invocations`.
#[derive(Clone)]
pub struct Invoker {
    client: reqwest::Client,
    url: String,
    pub function: String,
}

impl Invoker {
    pub fn new(api_url: &str, function: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: crate::stack::http_client(INVOKE_TIMEOUT)?,
            url: format!(
                "{}/2015-03-31/functions/{function}/invocations",
                api_url.trim_end_matches('/')
            ),
            function: function.to_owned(),
        })
    }

    /// One synchronous invocation. A failure is what Lambda counts as one: the endpoint
    /// unreachable, a non-2xx answer (watch answers 500 when the function returns an error),
    /// or `X-Amz-Function-Error` (how Lambda's own Invoke API reports one).
    pub async fn invoke(&self, payload: &Value) -> anyhow::Result<()> {
        let response = self
            .client
            .post(&self.url)
            .json(payload)
            .send()
            .await
            .with_context(|| format!("POST {}", self.url))?;
        let status = response.status();
        let function_error = response
            .headers()
            .get("x-amz-function-error")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        if status.is_success() && function_error.is_none() {
            return Ok(());
        }
        let mut answer: String = body.chars().take(ANSWER_IN_LOG).collect();
        if answer.len() < body.len() {
            answer.push('…');
        }
        match function_error {
            Some(kind) => bail!("{status}, function error {kind}: {answer}"),
            None => bail!("{status}: {answer}"),
        }
    }

    /// Invokes until the function takes `payload`, as Lambda retries a stream batch: the batch
    /// is kept, so no record is skipped. False if a stop came first.
    pub async fn deliver(
        &self,
        payload: &Value,
        what: &str,
        backoff: Backoff,
        log: &Log,
        stop: &mut Stop,
    ) -> bool {
        let mut failures = 0;
        loop {
            let result = tokio::select! {
                _ = stop.wait() => return false,
                result = self.invoke(payload) => result,
            };
            match result {
                Ok(()) => return true,
                Err(err) => {
                    failures += 1;
                    let wait = backoff.after(failures);
                    log.warn(&format!(
                        "{} failed on {what} (attempt {failures}), retrying in {} ms: {err:#}",
                        self.function,
                        wait.as_millis()
                    ));
                    if !stop.sleep(wait).await {
                        return false;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let backoff = Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(30),
        };
        assert_eq!(backoff.after(1), Duration::from_millis(200));
        assert_eq!(backoff.after(2), Duration::from_millis(400));
        assert_eq!(backoff.after(4), Duration::from_millis(1600));
        assert_eq!(backoff.after(9), Duration::from_secs(30));
        assert_eq!(backoff.after(u32::MAX), Duration::from_secs(30));
    }
}

//! Child processes: one-shot steps, long-running services and their clean shutdown.
//!
//! Services (DynamoDB Local, `cargo lambda watch`) run in their own process group so that
//! stopping one also stops what it started (the JVM, the function processes). Their group ids
//! are registered so that Ctrl-C or SIGTERM can stop them even while a step is running.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Process groups of the services running now.
static SERVICE_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM: stop every service and exit (130, as a shell does after Ctrl-C).
pub fn install_signal_handler() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        eprintln!("\nstopping…");
        let groups = match SERVICE_GROUPS.lock() {
            Ok(groups) => groups.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        stop_groups(&groups);
        std::process::exit(130);
    });
    Ok(())
}

fn register(pgid: i32) {
    if let Ok(mut groups) = SERVICE_GROUPS.lock() {
        groups.push(pgid);
    }
}

fn unregister(pgid: i32) {
    if let Ok(mut groups) = SERVICE_GROUPS.lock() {
        groups.retain(|group| *group != pgid);
    }
}

/// SIGTERM to the group, up to 10 s for the leader to exit, then SIGKILL to whatever is left.
fn stop_group(pgid: i32, child: &mut Child) {
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

/// The same for groups whose leaders we cannot wait on (from the signal handler).
fn stop_groups(groups: &[i32]) {
    for pgid in groups {
        signal_group(*pgid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && groups.iter().any(|pgid| group_exists(*pgid)) {
        for pgid in groups {
            // SAFETY: reaps exited children of that group (without this, a zombie leader
            // would keep the group "existing"); no pointer is written (status is null).
            unsafe {
                libc::waitpid(-*pgid, std::ptr::null_mut(), libc::WNOHANG);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for pgid in groups {
        signal_group(*pgid, libc::SIGKILL);
    }
}

fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    pgid > 1 && unsafe { libc::kill(-pgid, 0) } == 0
}

fn signal_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// A long-running child in its own process group, its output in a log file; stopped on drop.
pub struct Service {
    name: String,
    child: Child,
    pgid: i32,
    log: PathBuf,
    stopped: bool,
}

impl Service {
    pub fn start(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the log directory {}", dir.display()))?;
        }
        let out = std::fs::File::create(log)
            .with_context(|| format!("creating the log file {}", log.display()))?;
        let err = out.try_clone().context("duplicating the log file handle")?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: prctl(2) is async-signal-safe; it runs in the child between fork and exec.
        // If xtask itself is killed outright, the service still gets SIGTERM. (The death signal
        // follows the spawning *thread*: services are spawned from the main or runtime threads,
        // never from short-lived blocking-pool threads.)
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        println!("==> starting {name} (log: {})", log.display());
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}: {}", describe(&command)))?;
        let pgid = i32::try_from(child.id()).context("process id out of range")?;
        register(pgid);
        Ok(Self {
            name: name.to_owned(),
            child,
            pgid,
            log: log.to_owned(),
            stopped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (also its process group's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Fails (with the end of its log) if the service has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "{} exited ({status}); end of {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, 40)
            ),
            Err(err) => Err(err).with_context(|| format!("checking on {}", self.name)),
        }
    }

    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        stop_group(self.pgid, &mut self.child);
        unregister(self.pgid);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The command line, for messages.
pub fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs a step to completion with inherited output; fails unless it exits 0.
pub fn run(what: &str, command: &mut Command) -> anyhow::Result<()> {
    println!("==> {what}\n    $ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("{what}: could not run {}", describe(command)))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Whether `command` runs and exits 0 (output discarded): tool detection.
pub fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Totals of `cargo test` result lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl std::ops::AddAssign for TestCounts {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

impl TestCounts {
    /// Adds the counts of one `test result: ok. 3 passed; 0 failed; 1 ignored; …` line.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                "ignored" => self.ignored += number,
                _ => {}
            }
        }
    }
}

/// Runs `cargo test …`, passing its output through while counting results.
/// Returns the counts and whether it exited 0.
pub fn run_tests(what: &str, command: &mut Command) -> anyhow::Result<(TestCounts, bool)> {
    println!("==> {what}\n    $ {}", describe(command));
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("{what}: could not run {}", describe(command)))?;
    let mut counts = TestCounts::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            counts.add_line(&line);
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    Ok((counts, status.success()))
}

/// The last `lines` lines of a log file (at most the last 64 KiB are read).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_answers(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// Fails with a clear message if a port the stack needs is taken.
pub fn ensure_port_free(port: u16, what: &str) -> anyhow::Result<()> {
    let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() && !port_answers(port);
    if !free {
        bail!(
            "port {port} (for {what}) is already in use; is another `cargo xtask dev` or \
             `cargo xtask test` running? Stop it and try again"
        );
    }
    Ok(())
}

/// Waits until `service` accepts connections on `port`.
pub async fn wait_for_port(
    service: &mut Service,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if port_answers(port) {
            return Ok(());
        }
        service.ensure_running()?;
        if Instant::now() > deadline {
            bail!(
                "{} did not open port {port} within {} s; end of {}:\n{}",
                service.name(),
                timeout.as_secs(),
                service.log().display(),
                tail(service.log(), 40)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cargo_test_result_lines() {
        let mut counts = TestCounts::default();
        counts.add_line(
            "test result: ok. 11 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 2.28s",
        );
        counts.add_line(
            "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        counts.add_line("test foo ... ok");
        assert_eq!(
            counts,
            TestCounts {
                passed: 14,
                failed: 1,
                ignored: 2
            }
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let path = std::env::temp_dir().join(format!("xtask-tail-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "a\nb\nc\nd\n").unwrap();
        assert_eq!(tail(&path, 2), "c\nd");
        std::fs::remove_file(&path).unwrap();
    }
}

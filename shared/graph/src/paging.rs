//! The pure parts of talking to Graph: where the next page is, how long `Retry-After` asks to
//! wait, and whether the throttling budget allows another wait.

use std::time::Duration;

/// The URL of the next page: `None` when there is none; `Err(link)` when the link leaves the
/// configured Graph (the token must never be sent anywhere else).
pub fn next_page(base_url: &str, next_link: Option<&str>) -> Result<Option<String>, String> {
    let Some(link) = next_link.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let base = base_url.trim_end_matches('/');
    let under_base = link
        .strip_prefix(base)
        .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'));
    if under_base {
        Ok(Some(link.to_owned()))
    } else {
        Err(link.to_owned())
    }
}

/// Wait asked when a throttled answer names none (Graph nearly always does).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);

/// `Retry-After` in seconds (Graph's form); absent or unreadable (an HTTP date, which Graph
/// does not send) gives the default.
pub fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_RETRY_AFTER)
}

/// How much throttling a call waits out: a Lambda answers within its timeout (15 s), so a
/// call gives up after a few attempts or seconds rather than waiting as long as Graph asks.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleBudget {
    pub max_attempts: u32,
    pub max_total_wait: Duration,
}

impl Default for ThrottleBudget {
    fn default() -> Self {
        ThrottleBudget {
            max_attempts: 4,
            max_total_wait: Duration::from_secs(6),
        }
    }
}

impl ThrottleBudget {
    /// The wait before the next attempt, after `attempts` throttled ones and `waited` so
    /// far, or `None` to give up (out of attempts, or the wait would overrun the budget).
    pub fn next_wait(&self, attempts: u32, waited: Duration, asked: Duration) -> Option<Duration> {
        (attempts < self.max_attempts && waited + asked <= self.max_total_wait).then_some(asked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://graph.microsoft.com/v1.0";

    #[test]
    fn next_links_stay_under_the_base_url() {
        assert_eq!(next_page(BASE, None), Ok(None));
        assert_eq!(next_page(BASE, Some("")), Ok(None));
        let next = format!("{BASE}/teams/t/members?$skiptoken=abc");
        assert_eq!(next_page(BASE, Some(&next)), Ok(Some(next.clone())));
        assert_eq!(next_page(&format!("{BASE}/"), Some(&next)), Ok(Some(next)));
        for foreign in [
            "https://evil.example/v1.0/teams",
            "https://graph.microsoft.com/v1.0evil/teams",
            "/teams/t/members",
        ] {
            assert_eq!(next_page(BASE, Some(foreign)), Err(foreign.to_owned()));
        }
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(retry_after(Some("1")), Duration::from_secs(1));
        assert_eq!(retry_after(Some(" 30 ")), Duration::from_secs(30));
        assert_eq!(retry_after(None), DEFAULT_RETRY_AFTER);
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            DEFAULT_RETRY_AFTER
        );
        assert_eq!(retry_after(Some("-1")), DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn throttling_is_waited_out_within_the_budget() {
        let budget = ThrottleBudget::default();
        let one = Duration::from_secs(1);
        assert_eq!(budget.next_wait(1, Duration::ZERO, one), Some(one));
        assert_eq!(budget.next_wait(3, Duration::from_secs(2), one), Some(one));
        // Out of attempts.
        assert_eq!(budget.next_wait(4, Duration::ZERO, one), None);
        // A wait that would overrun the total gives up at once rather than sleeping first.
        assert_eq!(
            budget.next_wait(1, Duration::ZERO, Duration::from_secs(60)),
            None
        );
        assert_eq!(
            budget.next_wait(2, Duration::from_secs(5), Duration::from_secs(2)),
            None
        );
    }
}

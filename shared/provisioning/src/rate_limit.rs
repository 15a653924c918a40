//! The provisioning API's rate limit: at most `LIMIT` operations in any `WINDOW_MS`
//! window per tenant and application. The state is the log of the last `LIMIT` scheduled
//! operation times (some may lie in the future: delayed requests hold a reserved slot).
//! A new operation is scheduled at the earliest time that keeps every window within the
//! limit; if that is further away than the caller's delay bound, it is refused instead.

pub const LIMIT: usize = 60;
pub const WINDOW_MS: i64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Run at once (wait 0) or after waiting this long.
    Scheduled { wait_ms: i64 },
    /// Not scheduled: the client should come back after this many seconds.
    Refused { retry_after_secs: u64 },
}

/// Decides one request. `log` is sorted ascending; the returned log (when scheduled) holds
/// the new slot and at most `LIMIT` entries.
pub fn admit(log: &[i64], now_ms: i64, max_delay_ms: i64) -> (Admission, Option<Vec<i64>>) {
    let last = log.last().copied().unwrap_or(i64::MIN);
    let window_floor = if log.len() >= LIMIT {
        log[log.len() - LIMIT] + WINDOW_MS
    } else {
        i64::MIN
    };
    // max with `last` keeps the log sorted even if instance clocks differ by a few ms.
    let at = now_ms.max(last).max(window_floor);
    let wait_ms = at - now_ms;
    if wait_ms > max_delay_ms {
        let retry_after_secs = ((wait_ms + 999) / 1000).max(1) as u64;
        return (Admission::Refused { retry_after_secs }, None);
    }
    let mut next: Vec<i64> = log
        .iter()
        .copied()
        .skip(log.len().saturating_sub(LIMIT - 1))
        .collect();
    next.push(at);
    (Admission::Scheduled { wait_ms }, Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(times: &[i64], max_delay: i64) -> (Vec<Admission>, Vec<i64>) {
        let mut log = Vec::new();
        let mut out = Vec::new();
        for &t in times {
            let (a, next) = admit(&log, t, max_delay);
            if let Some(next) = next {
                log = next;
            }
            out.push(a);
        }
        (out, log)
    }

    #[test]
    fn sixty_at_once_run_immediately_and_the_sixty_first_waits_for_the_window() {
        let (adm, log) = run(&vec![1_000; 60], 5_000);
        assert!(adm
            .iter()
            .all(|a| *a == Admission::Scheduled { wait_ms: 0 }));
        assert_eq!(log.len(), 60);
        // 57 s later the oldest slot frees at 61 s: a 3 s delay, within the bound.
        let (a, _) = admit(&log, 58_000, 5_000);
        assert_eq!(a, Admission::Scheduled { wait_ms: 3_000 });
        // Too early for the bound: refused, told to come back when the slot frees.
        let (a, next) = admit(&log, 10_000, 5_000);
        assert_eq!(
            a,
            Admission::Refused {
                retry_after_secs: 51
            }
        );
        assert!(next.is_none());
    }

    #[test]
    fn no_sixty_second_window_ever_holds_more_than_sixty() {
        // A burst, then a steady trickle faster than the limit, with a generous bound.
        let times: Vec<i64> = (0..400).map(|i| i * 150).collect();
        let mut log: Vec<i64> = Vec::new();
        let mut all = Vec::new();
        for t in times {
            if let (Admission::Scheduled { wait_ms }, Some(next)) = admit(&log, t, 120_000) {
                all.push(t + wait_ms);
                log = next;
            }
        }
        all.sort();
        for (i, &start) in all.iter().enumerate() {
            let in_window = all[i..]
                .iter()
                .take_while(|&&t| t < start + WINDOW_MS)
                .count();
            assert!(
                in_window <= LIMIT,
                "{in_window} ops in the window starting at {start}"
            );
        }
        assert!(all.len() > 60);
    }

    #[test]
    fn delayed_slots_keep_their_order() {
        let (_, log) = run(&vec![0; 60], 5_000);
        let (a1, l1) = admit(&log, 57_000, 5_000);
        let (a2, _) = admit(&l1.unwrap(), 57_000, 5_000);
        assert_eq!(a1, Admission::Scheduled { wait_ms: 3_000 });
        assert_eq!(a2, Admission::Scheduled { wait_ms: 3_000 });
    }
}

//! Text that came out of a plugin (its reasons, overflow targets, configuration verdicts,
//! and the names inside a binary that wasmtime quotes in its errors) is untrusted: it reaches
//! API answers and function logs, where a newline, NUL or ANSI escape could forge a log line
//! or a terminal's display. It leaves the host only through here.

/// At most `max_chars` characters of `text`, with every control character and every
/// bidirectional override replaced by U+FFFD, so what is shown is what was sent.
pub fn untrusted(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_overrides_do_not_pass() {
        assert_eq!(
            untrusted("ok\n2026-01-01 INFO forged\u{1b}[31m\0", 100),
            "ok\u{FFFD}2026-01-01 INFO forged\u{FFFD}[31m\u{FFFD}"
        );
        assert_eq!(untrusted("a\u{202E}b\tc", 100), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(untrusted("Grüße, 日本", 100), "Grüße, 日本");
        assert_eq!(untrusted("abcdef", 3), "abc");
    }
}

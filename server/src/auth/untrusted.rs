//! Text that comes from outside (the IdP, or anyone who can send a browser to
//! `/auth/callback`) on its way into a log line or the database: control and
//! bidirectional-override characters escaped, length bounded. Use [`bounded`] for
//! every IdP-supplied string that is logged or stored.

/// Longest untrusted text kept, in characters (more is cut and marked with `…`).
pub const MAX_CHARS: usize = 200;

/// `s` with control characters (newlines, ESC, …), Unicode bidi overrides and `\`
/// escaped (`\u{a}`, `\\`), cut to [`MAX_CHARS`] characters.
pub fn bounded(s: &str) -> String {
    bounded_to(s, MAX_CHARS)
}

/// [`bounded`] with a chosen limit.
pub fn bounded_to(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 2));
    for (i, c) in s.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that reorder the text around them when displayed (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_length_bounded() {
        assert_eq!(bounded("access_denied"), "access_denied");
        assert_eq!(
            bounded("x\nlevel=ERROR forged=1\r\u{1b}[31m"),
            "x\\u{a}level=ERROR forged=1\\u{d}\\u{1b}[31m"
        );
        assert_eq!(
            bounded("a\\u{a}"),
            "a\\\\u{a}",
            "a literal escape stays distinguishable"
        );
        assert_eq!(bounded("ab\u{202e}cd"), "ab\\u{202e}cd");
        let long = "é".repeat(10_000);
        let got = bounded(&long);
        assert_eq!(got.chars().count(), MAX_CHARS + 1);
        assert!(got.ends_with('…'));
        assert_eq!(bounded_to("abcdef", 3), "abc…");
        assert_eq!(bounded_to("abc", 3), "abc");
    }
}

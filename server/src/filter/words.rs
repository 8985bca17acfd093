//! Quoting and escapes: the value of a word as the shell would see it.

/// Removes backslash escapes: any character outside quotes; only `\\ \" \$ \`` and a newline
/// inside double quotes.
pub(super) fn unescape(text: &str, in_double: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {}
            Some(n) if !in_double || matches!(n, '\\' | '"' | '$' | '`') => out.push(n),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `$'…'`: the common escapes decoded; others kept.
pub(super) fn ansi_c(text: &str) -> String {
    let inner = text.strip_prefix("$'").unwrap_or(text);
    let inner = inner.strip_suffix('\'').unwrap_or(inner);
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('x') => {
                let mut hex = String::new();
                while hex.len() < 2 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                    hex.extend(chars.next());
                }
                out.extend(u8::from_str_radix(&hex, 16).ok().map(char::from));
            }
            Some(n) => out.push(n),
            None => out.push('\\'),
        }
    }
    out
}

//! Human durations as written in the policy file: `90s`, `30m`, `2h`, `1h30m`, `1d`.
//!
//! Deliberately small: whole numbers with the units `s`, `m`, `h` and `d`, largest unit first,
//! no spaces. One spelling per duration keeps policy reviews boring.

use std::time::Duration;

/// The longest duration a policy file may write anywhere (a year). Grants are capped much lower
/// (`MAX_GRANT`, 24h); this bound keeps every other duration (pending timeouts, idle limits)
/// far from the ranges where adding it to a clock or a timestamp could overflow.
pub const MAX_POLICY_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// The regular expression that the JSON Schema publishes for duration strings.
pub(crate) const DURATION_PATTERN: &str = "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$";

/// Parses `1h30m`-style durations of at most [`MAX_POLICY_DURATION`]. The error says what was
/// expected. Never panics: the arithmetic is checked and an overflow is a "too long" error.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: write a whole number with a unit, largest first, \
             like `90s`, `30m`, `2h` or `1h30m` (units: d, h, m, s)"
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    let too_long = || {
        format!(
            "`{text}` is longer than the limit of {}",
            format_duration(MAX_POLICY_DURATION)
        )
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    // Units must appear in this order, each at most once.
    let mut next_allowed = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let (rank, unit_secs) = match c {
            'd' => (0, 86_400),
            'h' => (1, 3_600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Err(bad()),
        };
        if digits.is_empty() || rank < next_allowed {
            return Err(bad());
        }
        // All digits, so the only way to fail is a number beyond u64: too long.
        let n: u64 = digits.parse().map_err(|_| too_long())?;
        total = n
            .checked_mul(unit_secs)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(too_long)?;
        digits.clear();
        next_allowed = rank + 1;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    let d = Duration::from_secs(total);
    if d > MAX_POLICY_DURATION {
        return Err(too_long());
    }
    Ok(d)
}

/// `now` (Unix seconds) plus `d`, saturating instead of overflowing: a deadline never wraps
/// into the past and never panics, whatever the duration.
pub fn deadline(now: i64, d: Duration) -> i64 {
    now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Formats a duration the way the policy file spells it (`1h30m`, `45s`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_spellings() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", "30", "m", "1.5h", "30 m", "30min", "1m1h", "1h1h", "-5m", "h30",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn a_year_is_the_limit() {
        assert_eq!(parse_duration("365d"), Ok(MAX_POLICY_DURATION));
        assert_eq!(parse_duration("8760h"), Ok(MAX_POLICY_DURATION));
        for long in ["366d", "365d1s", "8761h", "99999999999999h", "31536001s"] {
            let err = parse_duration(long).unwrap_err();
            assert!(
                err.contains("longer than the limit of 365d"),
                "{long}: {err}"
            );
        }
    }

    #[test]
    fn huge_values_never_panic() {
        // Property-style: every unit with numbers around each power of ten and of two up to
        // far past u64, and combinations of units, either parse to at most a year or are
        // refused; adding the result to any timestamp never overflows.
        let mut numbers: Vec<String> = Vec::new();
        for p in 0..=38u32 {
            let ten = 10u128.pow(p);
            for n in [ten.saturating_sub(1), ten, ten + 1] {
                numbers.push(n.to_string());
            }
        }
        for p in 0..128u32 {
            let two = 1u128 << p;
            numbers.push((two - 1).to_string());
            numbers.push(two.to_string());
        }
        numbers.push(u64::MAX.to_string());
        numbers.push(i64::MAX.to_string());
        numbers.push(format!("{}0", u64::MAX));
        numbers.push("9".repeat(200));
        let mut checked = 0;
        for n in &numbers {
            for text in [
                format!("{n}d"),
                format!("{n}h"),
                format!("{n}m"),
                format!("{n}s"),
                format!("{n}d{n}h{n}m{n}s"),
                format!("1d{n}s"),
            ] {
                match parse_duration(&text) {
                    Ok(d) => {
                        assert!(d <= MAX_POLICY_DURATION, "{text}");
                        for now in [0, 1_700_000_000, i64::MAX - 1, i64::MAX, i64::MIN] {
                            let _ = deadline(now, d);
                        }
                    }
                    Err(e) => assert!(
                        e.contains("longer than the limit") || e.contains("is not a duration"),
                        "{text}: {e}"
                    ),
                }
                checked += 1;
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn deadlines_saturate() {
        assert_eq!(deadline(100, Duration::from_secs(20)), 120);
        assert_eq!(deadline(i64::MAX - 5, Duration::from_secs(20)), i64::MAX);
        assert_eq!(deadline(1, Duration::MAX), i64::MAX);
        assert_eq!(deadline(i64::MIN, Duration::from_secs(1)), i64::MIN + 1);
    }

    #[test]
    fn formats_round_trip() {
        for s in ["90s", "30m", "2h", "1h30m", "1d", "1d2h3m4s", "0s"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }

    #[test]
    fn pattern_agrees_with_the_parser() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for s in ["90s", "1h30m", "2h", "1d"] {
            assert!(re.is_match(s) && parse_duration(s).is_ok(), "{s}");
        }
        for s in ["30", "1m1h", "30 m"] {
            assert!(!re.is_match(s) && parse_duration(s).is_err(), "{s}");
        }
    }
}

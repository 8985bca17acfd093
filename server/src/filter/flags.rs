//! Flags in any spelling, so a rule can ask "has `-r` and `-f`": `-rf`, `-fr`, `-r -f`, `-Rf`,
//! `-vrf`, `--recursive --force`, and GNU's abbreviations (`--rec`). `--` ends the options.
//!
//! Deliberately over-approximate: a cluster such as `-n5` counts `5` as a flag letter too, and
//! a long option matches any prefix of at least two letters. For deny rules, a false match is
//! the safe error.

/// One flag, with all its spellings: any of `short` or any of `long` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    /// Short letters, e.g. `['r', 'R']` for `rm`'s recursive flag.
    pub short: &'static [char],
    /// Long names without the dashes, e.g. `["recursive"]`.
    pub long: &'static [&'static str],
}

/// Whether `args` (the arguments after the program) have every flag of `specs`.
#[must_use]
pub fn has_flags<S: AsRef<str>>(args: &[S], specs: &[FlagSpec]) -> bool {
    specs.iter().all(|spec| has_flag(args, spec))
}

/// Whether `args` have the flag `spec` in any spelling, before a `--`.
#[must_use]
pub fn has_flag<S: AsRef<str>>(args: &[S], spec: &FlagSpec) -> bool {
    for arg in args {
        let arg = arg.as_ref();
        if arg == "--" {
            return false;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(name, _)| name);
            if name.len() >= 2 && spec.long.iter().any(|l| l.starts_with(name)) {
                return true;
            }
        } else if let Some(letters) = arg.strip_prefix('-')
            && letters.chars().any(|c| spec.short.contains(&c))
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECURSIVE: FlagSpec = FlagSpec {
        short: &['r', 'R'],
        long: &["recursive"],
    };
    const FORCE: FlagSpec = FlagSpec {
        short: &['f'],
        long: &["force"],
    };

    fn rf(args: &[&str]) -> bool {
        has_flags(args, &[RECURSIVE, FORCE])
    }

    #[test]
    fn clusters_in_any_order() {
        assert!(rf(&["-rf", "/"]));
        assert!(rf(&["-fr", "/"]));
        assert!(rf(&["-Rf", "/"]));
        assert!(rf(&["-vrf", "/"]));
        assert!(rf(&["-f", "-v", "-r", "/"]));
    }

    #[test]
    fn separate_and_long_spellings() {
        assert!(rf(&["-r", "-f", "/"]));
        assert!(rf(&["--recursive", "--force", "/"]));
        assert!(rf(&["--force", "-R", "/"]));
        assert!(rf(&["--rec", "--fo", "/"]));
    }

    #[test]
    fn missing_flags_do_not_match() {
        assert!(!rf(&["-r", "/"]));
        assert!(!rf(&["-v", "/tmp/x"]));
        assert!(!rf(&[]));
        assert!(!rf(&["--recursive", "--verbose"]));
        assert!(!rf(&["r", "f"]));
    }

    #[test]
    fn double_dash_ends_the_options() {
        assert!(!rf(&["--", "-rf"]));
        assert!(!rf(&["-r", "--", "-f"]));
        assert!(rf(&["-r", "-f", "--", "x"]));
    }

    #[test]
    fn long_options_with_values_and_a_lone_dash() {
        assert!(has_flag(&["--force=yes"], &FORCE));
        assert!(!has_flag(&["-"], &FORCE));
        assert!(!has_flag(&["--"], &FORCE));
    }
}

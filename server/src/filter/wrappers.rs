//! Wrappers: programs that run another program given as their argument. [`unwrap`] peels
//! them off so the real program is found, and finds the strings of `sh -c` and `eval` that
//! must be parsed again.
//!
//! The list (each with the options that take a value, so the value is not taken for the
//! program): `sudo`, `doas`, `env`, `nice`, `ionice`, `timeout` (then a duration), `nohup`,
//! `setsid`, `xargs`, `busybox`, `command`, `builtin`, `exec`, `time`, `stdbuf`,
//! `chroot` (then a directory), `unbuffer`.
//! Shells: `sh`, `bash`, `dash`, `zsh`, `ksh`, `ash`, `mksh` with `-c` (the next operand is a
//! script); `eval` (all arguments joined by spaces are a script); `env -S STRING`.

use super::Word;

/// The result of [`unwrap`].
pub(crate) struct Unwrapped {
    /// The real argv: the program first.
    pub(crate) argv: Vec<Word>,
    /// The wrappers peeled off, outermost first.
    pub(crate) wrappers: Vec<String>,
    /// `NAME=value` operands of `env` and `sudo`.
    pub(crate) assignments: Vec<(String, Word)>,
    /// A script to parse again, with its label (`sh -c`, `eval`).
    pub(crate) script: Option<(String, String)>,
}

/// A wrapper: its name, short options with a value, long options with a value, and how many
/// operands come before the program.
struct Wrapper {
    name: &'static str,
    short_with_value: &'static str,
    long_with_value: &'static [&'static str],
    operands_before: usize,
    assignments: bool,
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        name: "sudo",
        short_with_value: "ugpChUrtTRD",
        long_with_value: &[
            "user",
            "group",
            "prompt",
            "close-from",
            "host",
            "other-user",
            "role",
            "type",
            "chdir",
            "chroot",
            "command-timeout",
        ],
        operands_before: 0,
        assignments: true,
    },
    Wrapper {
        name: "doas",
        short_with_value: "uC",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "env",
        short_with_value: "uCS",
        long_with_value: &[
            "unset",
            "chdir",
            "split-string",
            "block-signal",
            "default-signal",
            "ignore-signal",
        ],
        operands_before: 0,
        assignments: true,
    },
    Wrapper {
        name: "nice",
        short_with_value: "n",
        long_with_value: &["adjustment"],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "ionice",
        short_with_value: "cnpPu",
        long_with_value: &["class", "classdata", "pid", "pgid", "uid"],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "timeout",
        short_with_value: "sk",
        long_with_value: &["signal", "kill-after"],
        operands_before: 1,
        assignments: false,
    },
    Wrapper {
        name: "nohup",
        short_with_value: "",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "setsid",
        short_with_value: "",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "xargs",
        short_with_value: "IELnPsdae",
        long_with_value: &[
            "arg-file",
            "delimiter",
            "eof",
            "replace",
            "max-lines",
            "max-args",
            "max-procs",
            "max-chars",
            "process-slot-var",
        ],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "busybox",
        short_with_value: "",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "command",
        short_with_value: "",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "builtin",
        short_with_value: "",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "exec",
        short_with_value: "a",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "time",
        short_with_value: "fo",
        long_with_value: &["format", "output"],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "stdbuf",
        short_with_value: "ioe",
        long_with_value: &["input", "output", "error"],
        operands_before: 0,
        assignments: false,
    },
    Wrapper {
        name: "chroot",
        short_with_value: "",
        long_with_value: &["userspec", "groups"],
        operands_before: 1,
        assignments: false,
    },
    Wrapper {
        name: "unbuffer",
        short_with_value: "",
        long_with_value: &[],
        operands_before: 0,
        assignments: false,
    },
];

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];

/// How many times wrappers are peeled off one command (`sudo env nice …`).
const MAX_WRAPPERS: usize = 16;

fn basename(word: &Word) -> &str {
    word.value.rsplit('/').next().unwrap_or("")
}

/// Peels the wrappers off `argv` (program first).
pub(crate) fn unwrap(mut argv: Vec<Word>) -> Unwrapped {
    let mut wrappers = Vec::new();
    let mut assignments = Vec::new();
    for _ in 0..MAX_WRAPPERS {
        let Some(first) = argv.first() else { break };
        let name = basename(first).to_owned();
        if name == "eval" {
            let script = argv[1..]
                .iter()
                .map(|w| w.value.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return Unwrapped {
                argv,
                wrappers,
                assignments,
                script: Some(("eval".to_owned(), script)),
            };
        }
        if SHELLS.contains(&name.as_str()) {
            let script = shell_script(&argv[1..]).map(|s| (format!("{name} -c"), s));
            return Unwrapped {
                argv,
                wrappers,
                assignments,
                script,
            };
        }
        if name == "env"
            && let Some(script) = env_split_string(&argv[1..])
        {
            let script = Some(("env -S".to_owned(), script));
            return Unwrapped {
                argv,
                wrappers,
                assignments,
                script,
            };
        }
        let Some(wrapper) = WRAPPERS.iter().find(|w| w.name == name) else {
            break;
        };
        let Some(rest) = skip_options(wrapper, &argv[1..], &mut assignments) else {
            break;
        };
        if rest >= argv.len() - 1 {
            break; // Nothing left to run: the wrapper is the command (`sudo -l`, `env`).
        }
        wrappers.push(name);
        argv.drain(..=rest);
    }
    Unwrapped {
        argv,
        wrappers,
        assignments,
        script: None,
    }
}

/// The index (in `args`) of the wrapped program, after the wrapper's options and operands.
fn skip_options(
    wrapper: &Wrapper,
    args: &[Word],
    assignments: &mut Vec<(String, Word)>,
) -> Option<usize> {
    let mut i = 0;
    let mut options = true;
    let mut operands = wrapper.operands_before;
    while i < args.len() {
        let arg = args[i].value.as_str();
        if options && arg == "--" {
            options = false;
            i += 1;
        } else if options && arg.len() > 1 && arg.starts_with("--") {
            let long = &arg[2..];
            if !long.contains('=') && wrapper.long_with_value.contains(&long) {
                i += 1;
            }
            i += 1;
        } else if options && arg.len() > 1 && arg.starts_with('-') {
            let letters: Vec<char> = arg[1..].chars().collect();
            if let Some(at) = letters
                .iter()
                .position(|c| wrapper.short_with_value.contains(*c))
                && at + 1 == letters.len()
            {
                i += 1; // The value is the next argument.
            }
            i += 1;
        } else if wrapper.assignments && operands == 0 && is_assignment(arg) {
            let (name, value) = arg.split_once('=').unwrap_or((arg, ""));
            assignments.push((
                name.to_owned(),
                Word {
                    value: value.to_owned(),
                    dynamic: args[i].dynamic,
                },
            ));
            i += 1;
        } else if operands > 0 {
            operands -= 1;
            i += 1;
        } else {
            return Some(i);
        }
    }
    Some(i)
}

fn is_assignment(arg: &str) -> bool {
    arg.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The command line of `env -S STRING [ARG…]` (`--split-string`), which `env` splits into
/// words and runs: parsed again like a script.
fn env_split_string(args: &[Word]) -> Option<String> {
    for (i, arg) in args.iter().enumerate() {
        let value = arg.value.as_str();
        let split = if value == "-S" || value == "--split-string" {
            Some(args.get(i + 1).map_or("", |w| w.value.as_str()).to_owned()).map(|s| (s, i + 2))
        } else if let Some(rest) = value.strip_prefix("--split-string=") {
            Some((rest.to_owned(), i + 1))
        } else if let Some(rest) = value.strip_prefix("-S") {
            Some((rest.to_owned(), i + 1))
        } else if value == "--" || !(value.starts_with('-') || is_assignment(value)) {
            return None;
        } else {
            None
        };
        if let Some((mut script, next)) = split {
            for word in args.iter().skip(next) {
                script.push(' ');
                script.push_str(&word.value);
            }
            return Some(script);
        }
    }
    None
}

/// The script of `sh [options] -c SCRIPT …`, if `-c` is given.
fn shell_script(args: &[Word]) -> Option<String> {
    let mut has_c = false;
    for arg in args {
        let value = arg.value.as_str();
        if value == "--" {
            continue;
        }
        if value.len() > 1
            && (value.starts_with('-') || value.starts_with('+'))
            && !value.starts_with("--")
        {
            has_c |= value.contains('c');
            continue;
        }
        if value.starts_with("--") {
            continue;
        }
        return has_c.then(|| value.to_owned());
    }
    None
}

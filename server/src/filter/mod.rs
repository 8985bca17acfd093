//! Understanding a command line, with no I/O: the first, pure piece of the command filter.
//!
//! [`analyze`] parses one line with tree-sitter's bash grammar and returns every command it
//! would run ([`Command`]), with quoting resolved, wrappers (`sudo`, `env`, `xargs`, …)
//! unwrapped and `sh -c` / `eval` strings parsed again. Anything it cannot understand is an
//! [`Unchecked`] error: a filter built on it fails closed. [`path`] normalises paths for
//! matching and [`flags`] answers "has `-r` and `-f` in any spelling".
//!
//! Not enforced anywhere yet: the relay still uses `AllowAll` (see `docs/command-filter.md`).

pub mod flags;
mod parse;
pub mod path;
mod walk;
mod words;
mod wrappers;

#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod unwrap_tests;

pub use parse::{MAX_DEPTH, MAX_LINE_BYTES, PARSE_BUDGET, analyze};

/// One word of a command line, with its quoting and escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word's value as the shell would see it, as far as it can be known without running
    /// anything: `r\m`, `'rm'` and `"r"m` are all `rm`. Expansions (`$X`, `${X}`, `$(…)`,
    /// backticks, `$((…))`, globs in braces) are kept as written.
    pub value: String,
    /// The value contains an expansion, so the real word is only known when the shell runs it.
    /// A rule should treat a dynamic program name as suspicious.
    pub dynamic: bool,
}

impl Word {
    /// A literal (non-dynamic) word.
    #[must_use]
    pub fn literal(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            dynamic: false,
        }
    }
}

impl AsRef<str> for Word {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

/// What a redirection does with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `<`: the target path is read.
    Read,
    /// `>`, `>>`, `>|`, `&>`, `&>>`, `<>`: the target path is written (or created).
    Write,
    /// `2>&1`, `<&0`, `>&-`: a file descriptor is duplicated or closed; no path.
    Duplicate,
    /// `<<` / `<<-`: a here-document (its body is on later lines; not analysed).
    HereDoc,
    /// `<<<`: the target word is the input itself, not a path.
    HereString,
}

/// One redirection of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The operator as written: `<`, `>`, `>>`, `&>`, `>&`, `<<<`, ….
    pub op: String,
    /// The file descriptor written before the operator (`2>`), if any.
    pub fd: Option<u32>,
    /// What the operator does.
    pub kind: RedirectKind,
    /// The target: a path for `Read`/`Write`, a descriptor for `Duplicate`, the data for
    /// `HereString`, the delimiter for `HereDoc`.
    pub target: Word,
}

/// One command the line would run.
///
/// Commands come in source order, a command before the commands of the substitutions in its
/// words. Pipelines are kept as links: [`Command::pipe_from`] is the index (in the `Vec`
/// [`analyze`] returns) of the command whose output this one reads, so `curl … | sh` is the
/// `sh` command with `pipe_from` pointing at `curl`. For a compound element (`{ a; b; } | c`),
/// the link is between the first command of each element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program word as written (quoting resolved): `/usr/bin/rm`, `./rm`, `$X`.
    pub program: Word,
    /// The normalised name: the basename of the program (`/usr/bin/rm` and `./rm` → `rm`).
    pub name: String,
    /// The arguments after the program, quoting resolved.
    pub args: Vec<Word>,
    /// Variable assignments before the command (`FOO=1 rm …`), and those given to `env`/`sudo`.
    pub assignments: Vec<(String, Word)>,
    /// Redirections of the command, including those of an enclosing `{ …; } > f` or `( … ) < f`.
    pub redirects: Vec<Redirect>,
    /// The wrappers this command was found through, outermost first: `sudo`, `env`, `xargs`,
    /// `sh -c`, `eval`, ….
    pub wrappers: Vec<String>,
    /// The index of the command whose standard output this one reads through a pipe.
    pub pipe_from: Option<usize>,
    /// The command runs inside `$( )`, backticks or `<( )` / `>( )`.
    pub in_substitution: bool,
    /// How many `sh -c` / `eval` strings deep the command was found (0: the line itself).
    pub depth: usize,
}

/// Why a line cannot be checked. A filter must treat every variant except possibly
/// [`Unchecked::Incomplete`] (wait for more input) as "block".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unchecked {
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("cannot be checked: the line is {len} bytes, more than {max}")]
    TooLong {
        /// The line's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Parsing took longer than [`PARSE_BUDGET`].
    #[error("cannot be checked: parsing took too long")]
    Timeout,
    /// The line is not finished: an open quote, a trailing `\`, `|`, `&&` or `||`, an open
    /// `(`, `{` or `$(`. The shell would ask for more input.
    #[error("cannot be checked yet: the line is incomplete ({reason})")]
    Incomplete {
        /// What is still open.
        reason: &'static str,
    },
    /// The line has a syntax error (or a construct the grammar does not know).
    #[error("cannot be checked: {reason}")]
    Malformed {
        /// What is wrong, in words.
        reason: String,
    },
    /// `sh -c` / `eval` strings nested deeper than [`MAX_DEPTH`].
    #[error("cannot be checked: commands nested more than {max} levels deep in sh -c or eval")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

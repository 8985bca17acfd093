//! [`analyze`]: a command line → the commands it runs, via tree-sitter's bash grammar.
//!
//! The tree is walked generically, so every command is found wherever it sits: lists,
//! pipelines, subshells, groups, `if`/`for`/`while`/`case` bodies, function bodies, `$( )`,
//! backticks, `<( )` (the walk is in `walk.rs`). Any ERROR or MISSING node makes the whole
//! line [`Unchecked`].

use std::time::{Duration, Instant};

use tree_sitter::{Node, ParseOptions, Parser};

use super::walk::Walker;
use super::{Command, Unchecked};

/// The longest line analysed; longer lines cannot be checked.
pub const MAX_LINE_BYTES: usize = 4 * 1024;
/// The parse-time budget of one line, all nested `sh -c` / `eval` strings included.
pub const PARSE_BUDGET: Duration = Duration::from_millis(10);
/// How many `sh -c` / `eval` strings deep a line may nest.
pub const MAX_DEPTH: usize = 3;

/// The commands `line` would run, or why it cannot be checked.
///
/// # Errors
/// [`Unchecked`] when the line is too long, too slow to parse, incomplete, malformed, or
/// nests `sh -c` / `eval` deeper than [`MAX_DEPTH`].
pub fn analyze(line: &str) -> Result<Vec<Command>, Unchecked> {
    analyze_within(line, PARSE_BUDGET)
}

/// [`analyze`] with another parse-time budget (tests use zero to see the cancellation).
pub(super) fn analyze_within(line: &str, budget: Duration) -> Result<Vec<Command>, Unchecked> {
    let deadline = Instant::now() + budget;
    let mut out = Vec::new();
    analyze_into(line, 0, &[], deadline, &mut out)?;
    Ok(out)
}

pub(super) fn analyze_into(
    line: &str,
    depth: usize,
    wrappers: &[String],
    deadline: Instant,
    out: &mut Vec<Command>,
) -> Result<(), Unchecked> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Unchecked::TooLong {
            len: line.len(),
            max: MAX_LINE_BYTES,
        });
    }
    if depth > MAX_DEPTH {
        return Err(Unchecked::TooDeep { max: MAX_DEPTH });
    }
    let joined = join_continuations(line);
    let line = joined.as_str();
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .map_err(|e| Unchecked::Malformed {
            reason: format!("the bash grammar did not load: {e}"),
        })?;
    let bytes = line.as_bytes();
    let mut timed_out = |_: &tree_sitter::ParseState| Instant::now() > deadline;
    let options = ParseOptions::new().progress_callback(&mut timed_out);
    let tree = parser
        .parse_with_options(
            &mut |offset, _| {
                if offset < bytes.len() {
                    &bytes[offset..]
                } else {
                    &[][..]
                }
            },
            None,
            Some(options),
        )
        .ok_or(Unchecked::Timeout)?;
    if Instant::now() > deadline {
        return Err(Unchecked::Timeout);
    }
    let root = tree.root_node();
    if root.has_error() {
        if let Some(reason) = incomplete(line) {
            return Err(if depth == 0 {
                Unchecked::Incomplete { reason }
            } else {
                Unchecked::Malformed {
                    reason: format!("a nested command string is incomplete ({reason})"),
                }
            });
        }
        return Err(Unchecked::Malformed {
            reason: describe_error(root, bytes),
        });
    }
    if tree_depth(root) > MAX_TREE_DEPTH {
        return Err(Unchecked::Malformed {
            reason: format!("brackets or substitutions nested more than {MAX_TREE_DEPTH} deep"),
        });
    }
    Walker::new(bytes, depth, wrappers, deadline, out).walk(root, false)
}

/// The deepest syntax tree walked (the walk is recursive; real lines are far shallower).
const MAX_TREE_DEPTH: usize = 500;

/// The depth of the tree under `root`, without recursion.
fn tree_depth(root: Node<'_>) -> usize {
    let mut cursor = root.walk();
    let (mut depth, mut max) = (0, 0);
    loop {
        if cursor.goto_first_child() {
            depth += 1;
            max = max.max(depth);
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return max;
            }
            depth -= 1;
        }
    }
}

/// The line with every backslash-newline outside single quotes removed, as bash does before
/// it splits words (`r\⏎m` is `rm`); the grammar would otherwise see two words.
fn join_continuations(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let (mut single, mut double, mut escape) = (false, false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if escape {
            escape = false;
            out.push(c);
            continue;
        }
        match c {
            '\\' if !single && chars.peek() == Some(&'\n') => {
                chars.next();
            }
            '\\' if !single => {
                escape = true;
                out.push(c);
            }
            '\'' if !double => {
                single = !single;
                out.push(c);
            }
            '"' if !single => {
                double = !double;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Why a line with a syntax error is merely unfinished, if it is: a lexical scan for open
/// quotes, a trailing backslash or operator, and open brackets.
fn incomplete(line: &str) -> Option<&'static str> {
    let (mut single, mut double, mut escape, mut back) = (false, false, false, false);
    let mut open: i32 = 0;
    for c in line.chars() {
        if escape {
            escape = false;
            continue;
        }
        match c {
            '\\' if !single => escape = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '`' if !single => back = !back,
            '(' | '{' if !single && !double => open += 1,
            ')' | '}' if !single && !double => open -= 1,
            _ => {}
        }
    }
    let trimmed = line.trim_end();
    if single {
        Some("an open single quote")
    } else if double {
        Some("an open double quote")
    } else if escape {
        Some("a trailing backslash")
    } else if back {
        Some("an open backtick")
    } else if trimmed.ends_with("&&") || trimmed.ends_with('|') {
        Some("a trailing operator")
    } else if line.replace("<<<", "").contains("<<") {
        Some("a here-document")
    } else if open > 0 {
        Some("an open bracket")
    } else {
        None
    }
}

fn describe_error(root: Node<'_>, src: &[u8]) -> String {
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_missing() {
            return format!("a missing `{}` at byte {}", node.kind(), node.start_byte());
        }
        if node.is_error() {
            let text = String::from_utf8_lossy(&src[node.start_byte()..node.end_byte()]);
            let text: String = text.chars().take(40).collect();
            return format!("a syntax error at byte {}: `{text}`", node.start_byte());
        }
        stack.extend(node.children(&mut cursor));
    }
    "a syntax error".to_owned()
}

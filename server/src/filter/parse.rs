//! [`analyze`]: a command line → the commands it runs, via tree-sitter's bash grammar.
//!
//! The tree is walked generically, so every command is found wherever it sits: lists,
//! pipelines, subshells, groups, `if`/`for`/`while`/`case` bodies, function bodies, `$( )`,
//! backticks, `<( )`. Any ERROR or MISSING node makes the whole line [`Unchecked`].

use std::time::{Duration, Instant};

use tree_sitter::{Node, ParseOptions, Parser};

use super::wrappers::{Unwrapped, unwrap};
use super::{Command, Redirect, RedirectKind, Unchecked, Word};

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
    let deadline = Instant::now() + PARSE_BUDGET;
    let mut out = Vec::new();
    analyze_into(line, 0, &[], deadline, &mut out)?;
    Ok(out)
}

fn analyze_into(
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
    let mut walker = Walker {
        src: bytes,
        depth,
        wrappers,
        deadline,
        out,
        pending_pipe: None,
    };
    walker.walk(root, false)
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

struct Walker<'a, 'o> {
    src: &'a [u8],
    depth: usize,
    wrappers: &'a [String],
    deadline: Instant,
    out: &'o mut Vec<Command>,
    /// Set by a pipeline for the first command of its next element.
    pending_pipe: Option<usize>,
}

impl Walker<'_, '_> {
    fn text(&self, node: Node<'_>) -> &str {
        std::str::from_utf8(&self.src[node.start_byte()..node.end_byte()]).unwrap_or("")
    }

    fn walk(&mut self, node: Node<'_>, in_sub: bool) -> Result<(), Unchecked> {
        match node.kind() {
            "command" => self.command(node, in_sub),
            "declaration_command" | "unset_command" => {
                self.builtin(node, in_sub);
                self.children(node, in_sub)
            }
            "command_substitution" | "process_substitution" => self.children(node, true),
            "pipeline" => self.pipeline(node, in_sub),
            "redirected_statement" => self.redirected(node, in_sub),
            "heredoc_body" | "comment" => Ok(()),
            _ => self.children(node, in_sub),
        }
    }

    fn children(&mut self, node: Node<'_>, in_sub: bool) -> Result<(), Unchecked> {
        let mut cursor = node.walk();
        let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        for kid in kids {
            self.walk(kid, in_sub)?;
        }
        Ok(())
    }

    fn pipeline(&mut self, node: Node<'_>, in_sub: bool) -> Result<(), Unchecked> {
        let mut cursor = node.walk();
        let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        let mut previous: Option<usize> = None;
        for kid in kids {
            let first = self.out.len();
            self.pending_pipe = previous;
            self.walk(kid, in_sub)?;
            self.pending_pipe = None;
            if first < self.out.len() {
                previous = Some(first);
            }
        }
        Ok(())
    }

    fn redirected(&mut self, node: Node<'_>, in_sub: bool) -> Result<(), Unchecked> {
        let first = self.out.len();
        let mut redirects = Vec::new();
        let mut cursor = node.walk();
        let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        for kid in kids {
            if let Some(r) = self.redirect(kid) {
                redirects.push(r);
            }
            self.walk(kid, in_sub)?;
        }
        if first == self.out.len() && !redirects.is_empty() {
            // A bare redirection (`> f`): no program runs, but the file is written or read.
            self.push(
                Word::literal(""),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                in_sub,
            );
        }
        for command in &mut self.out[first..] {
            command.redirects.extend(redirects.iter().cloned());
        }
        Ok(())
    }

    fn redirect(&self, node: Node<'_>) -> Option<Redirect> {
        let kind = node.kind();
        if !matches!(
            kind,
            "file_redirect" | "heredoc_redirect" | "herestring_redirect"
        ) {
            return None;
        }
        let mut cursor = node.walk();
        let mut op = String::new();
        let mut fd = None;
        let mut target: Option<Word> = None;
        for kid in node.children(&mut cursor) {
            if kid.kind() == "file_descriptor" {
                fd = self.text(kid).parse().ok();
            } else if !kid.is_named() {
                if op.is_empty() {
                    op = self.text(kid).to_owned();
                }
            } else if kid.kind() == "heredoc_start" || target.is_none() {
                target = Some(self.word(kid));
            }
        }
        let target = target.unwrap_or_else(|| Word::literal(""));
        let kind = match (kind, op.as_str()) {
            ("heredoc_redirect", _) => RedirectKind::HereDoc,
            ("herestring_redirect", _) => RedirectKind::HereString,
            (_, ">&" | "<&" | ">&-" | "<&-")
                if target.value == "-" || target.value.chars().all(|c| c.is_ascii_digit()) =>
            {
                RedirectKind::Duplicate
            }
            (_, "<") => RedirectKind::Read,
            _ => RedirectKind::Write,
        };
        Some(Redirect {
            op,
            fd,
            kind,
            target,
        })
    }

    fn builtin(&mut self, node: Node<'_>, in_sub: bool) {
        let mut cursor = node.walk();
        let mut kids = node.children(&mut cursor);
        let Some(first) = kids.next() else { return };
        let name = self.text(first).to_owned();
        let args = kids.filter(Node::is_named).map(|k| self.word(k)).collect();
        self.push(Word::literal(name), args, Vec::new(), Vec::new(), in_sub);
    }

    fn command(&mut self, node: Node<'_>, in_sub: bool) -> Result<(), Unchecked> {
        let mut cursor = node.walk();
        let kids: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        let mut assignments = Vec::new();
        let mut redirects = Vec::new();
        let mut argv = Vec::new();
        for &kid in &kids {
            match kid.kind() {
                "variable_assignment" => {
                    let name = kid
                        .child_by_field_name("name")
                        .map(|n| self.text(n).to_owned());
                    let value = kid
                        .child_by_field_name("value")
                        .map_or_else(|| Word::literal(""), |v| self.word(v));
                    assignments.push((name.unwrap_or_default(), value));
                }
                "file_redirect" | "heredoc_redirect" | "herestring_redirect" => {
                    redirects.extend(self.redirect(kid));
                }
                "command_name" => {
                    let inner = kid.named_child(0).unwrap_or(kid);
                    argv.push(self.word(inner));
                }
                _ => argv.push(self.word(kid)),
            }
        }
        let index = self.out.len();
        if argv.is_empty() {
            // Only assignments and redirections (`X=$(…)`, `> f`): no program runs.
            if !redirects.is_empty() {
                self.push(
                    Word::literal(""),
                    Vec::new(),
                    assignments,
                    redirects,
                    in_sub,
                );
            }
        } else {
            let Unwrapped {
                argv,
                wrappers,
                assignments: more,
                script,
            } = unwrap(argv);
            assignments.extend(more);
            let mut argv = argv.into_iter();
            let program = argv.next().unwrap_or_else(|| Word::literal(""));
            self.push(program, argv.collect(), assignments, redirects, in_sub);
            self.out[index].wrappers.extend(wrappers.iter().cloned());
            if let Some(script) = script {
                let (label, script) = script;
                let mut chain = self.out[index].wrappers.clone();
                chain.push(label);
                let in_sub = self.out[index].in_substitution;
                let first = self.out.len();
                analyze_into(&script, self.depth + 1, &chain, self.deadline, self.out)?;
                // The nested walker pushes onto the same `Vec`: its indices are already final.
                for command in &mut self.out[first..] {
                    command.in_substitution |= in_sub;
                }
                if first < self.out.len() && self.out[first].pipe_from.is_none() {
                    self.out[first].pipe_from = self.out[index].pipe_from;
                }
            }
        }
        for &kid in &kids {
            self.walk(kid, in_sub)?;
        }
        Ok(())
    }

    fn push(
        &mut self,
        program: Word,
        args: Vec<Word>,
        assignments: Vec<(String, Word)>,
        redirects: Vec<Redirect>,
        in_sub: bool,
    ) {
        let name = program.value.rsplit('/').next().unwrap_or("").to_owned();
        self.out.push(Command {
            program,
            name,
            args,
            assignments,
            redirects,
            wrappers: self.wrappers.to_vec(),
            pipe_from: self.pending_pipe.take(),
            in_substitution: in_sub,
            depth: self.depth,
        });
    }

    /// A word node's value: quoting and escapes resolved, expansions kept as written.
    fn word(&self, node: Node<'_>) -> Word {
        let text = self.text(node);
        match node.kind() {
            "word" | "number" | "heredoc_start" => Word::literal(unescape(text, false)),
            "raw_string" => Word::literal(text.trim_start_matches('\'').trim_end_matches('\'')),
            "ansi_c_string" => Word::literal(ansi_c(text)),
            "string" => self.string(node),
            "concatenation" => {
                let mut cursor = node.walk();
                let mut value = String::new();
                let mut dynamic = false;
                let mut at = node.start_byte();
                for kid in node.children(&mut cursor) {
                    // Text between children (rare) is taken literally.
                    value.push_str(&unescape(
                        &String::from_utf8_lossy(&self.src[at..kid.start_byte()]),
                        false,
                    ));
                    let w = self.word(kid);
                    value.push_str(&w.value);
                    dynamic |= w.dynamic;
                    at = kid.end_byte();
                }
                Word { value, dynamic }
            }
            _ => Word {
                value: text.to_owned(),
                dynamic: true,
            },
        }
    }

    fn string(&self, node: Node<'_>) -> Word {
        let (start, end) = (
            node.start_byte() + 1,
            node.end_byte().saturating_sub(1).max(node.start_byte() + 1),
        );
        let mut value = String::new();
        let mut dynamic = false;
        let mut at = start;
        let mut cursor = node.walk();
        for kid in node.named_children(&mut cursor) {
            if kid.kind() == "string_content" {
                continue;
            }
            value.push_str(&unescape(
                &String::from_utf8_lossy(&self.src[at..kid.start_byte().max(at)]),
                true,
            ));
            value.push_str(self.text(kid));
            dynamic = true;
            at = kid.end_byte();
        }
        if at < end {
            value.push_str(&unescape(
                &String::from_utf8_lossy(&self.src[at..end]),
                true,
            ));
        }
        Word { value, dynamic }
    }
}

/// Removes backslash escapes: any character outside quotes; only `\\ \" \$ \`` and a newline
/// inside double quotes.
fn unescape(text: &str, in_double: bool) -> String {
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
fn ansi_c(text: &str) -> String {
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

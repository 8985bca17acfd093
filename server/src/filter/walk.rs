//! The walk over a parsed line: every command, wherever it sits (lists, pipelines, subshells,
//! groups, control-flow and function bodies, substitutions), with its words resolved, its
//! redirections, its wrappers peeled off and its `sh -c` / `eval` string parsed again.

use std::time::Instant;

use tree_sitter::Node;

use super::parse::analyze_into;
use super::words::{ansi_c, unescape};
use super::wrappers::{Unwrapped, unwrap};
use super::{Command, Redirect, RedirectKind, Unchecked, Word};

/// Walks one parsed line, pushing every command it finds onto `out`.
pub(super) struct Walker<'a, 'o> {
    src: &'a [u8],
    depth: usize,
    wrappers: &'a [String],
    deadline: Instant,
    out: &'o mut Vec<Command>,
    /// Set by a pipeline for the first command of its next element.
    pending_pipe: Option<usize>,
}

impl<'a, 'o> Walker<'a, 'o> {
    pub(super) fn new(
        src: &'a [u8],
        depth: usize,
        wrappers: &'a [String],
        deadline: Instant,
        out: &'o mut Vec<Command>,
    ) -> Self {
        Self {
            src,
            depth,
            wrappers,
            deadline,
            out,
            pending_pipe: None,
        }
    }

    fn text(&self, node: Node<'_>) -> &str {
        std::str::from_utf8(&self.src[node.start_byte()..node.end_byte()]).unwrap_or("")
    }

    pub(super) fn walk(&mut self, node: Node<'_>, in_sub: bool) -> Result<(), Unchecked> {
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
        // Only the statement's own commands, not those of substitutions in it (`cat < <(ls)`).
        let depth = self.depth;
        for command in &mut self.out[first..] {
            if command.in_substitution == in_sub && command.depth == depth {
                command.redirects.extend(redirects.iter().cloned());
            }
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
            "word" | "number" | "heredoc_start" => Word {
                value: unescape(text, false),
                // Brace expansion: `{rm,-rf,/}` is three words.
                dynamic: text.contains('{') && (text.contains(',') || text.contains("..")),
            },
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
                // Brace expansion may be split into `{`, words and `}` by the grammar.
                dynamic |= value.contains('{') && (value.contains(',') || value.contains(".."));
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

//! Command rules: their validated shape, and a simple pure matcher for one command line.
//!
//! This is the *shape* that the terminal's line filter (`terminal::filter`, a later issue) builds
//! on, plus a deliberately small matcher so that `keyhole policy test` can check line cases now.
//! It splits a line into simple commands with a rough shell tokenizer (quotes, `|`, `;`, `&&`,
//! `$(`, redirections) and matches programs, flags and path globs. It is a guardrail against the
//! common dangerous commands, not a boundary: a user with a shell can always write a script that
//! no line filter sees. Kubernetes RBAC, time limits and recording are the boundary.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

use super::types::RuleAction;

/// One validated command rule. Build it with the policy loader.
#[derive(Debug, Clone)]
pub struct CommandRule {
    /// Unique name, shown in the audit log.
    pub name: String,
    /// What happens to a matching line.
    pub action: RuleAction,
    /// Program basenames (empty: any program).
    pub programs: Vec<String>,
    /// Flags, any of which must be present (empty: no flag condition).
    pub flags: Vec<String>,
    /// Path globs as written (empty: no path condition).
    pub paths: Vec<String>,
    /// The compiled `paths`.
    path_set: GlobSet,
    /// Searched in the whole line.
    pub pattern: Option<Regex>,
    /// Shown to the user and written to the audit log.
    pub message: String,
}

/// What the matcher decided for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDecision {
    /// Whether the line may reach the pod.
    pub allowed: bool,
    /// The rule that decided, if one did (strict-mode refusals have none).
    pub rule: Option<String>,
    /// The message for the user when denied.
    pub message: Option<String>,
    /// `audit` rules that matched, in file order.
    pub audit: Vec<String>,
}

/// Compiles one path glob (`*` stays inside a directory, `**` crosses directories).
pub(crate) fn compile_glob(glob: &str) -> Result<Glob, String> {
    if !glob.starts_with('/') {
        return Err(format!(
            "path glob `{glob}` must be absolute (start with `/`)"
        ));
    }
    GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("path glob `{glob}` does not parse: {}", e.kind()))
}

/// Compiles a line pattern.
pub(crate) fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("pattern does not compile: {e}"))
}

impl CommandRule {
    /// Assembles a rule from parts the loader has already checked one by one.
    pub(crate) fn new(
        name: String,
        action: RuleAction,
        programs: Vec<String>,
        flags: Vec<String>,
        globs: Vec<(String, Glob)>,
        pattern: Option<Regex>,
        message: String,
    ) -> Result<Self, String> {
        let mut builder = GlobSetBuilder::new();
        let mut paths = Vec::with_capacity(globs.len());
        for (text, glob) in globs {
            builder.add(glob);
            paths.push(text);
        }
        let path_set = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            name,
            action,
            programs,
            flags,
            paths,
            path_set,
            pattern,
            message,
        })
    }

    /// Whether the rule matches `line` (already split into `commands`).
    fn matches(&self, line: &str, commands: &[Vec<String>]) -> bool {
        if let Some(re) = &self.pattern
            && !re.is_match(line)
        {
            return false;
        }
        if self.programs.is_empty() && self.flags.is_empty() && self.paths.is_empty() {
            // A pattern-only rule (validation guarantees there is a pattern).
            return self.pattern.is_some();
        }
        commands.iter().any(|argv| self.matches_command(argv))
    }

    fn matches_command(&self, argv: &[String]) -> bool {
        let Some((program, args)) = split_program(argv) else {
            return false;
        };
        if !self.programs.is_empty() && !self.programs.iter().any(|p| p == program) {
            return false;
        }
        if !self.flags.is_empty()
            && !args
                .iter()
                .any(|a| self.flags.iter().any(|f| flag_matches(f, a)))
        {
            return false;
        }
        if !self.paths.is_empty() {
            // With no program condition the program word itself counts too (`/etc/shadow` run
            // as a command is still a read attempt worth stopping).
            let words = if self.programs.is_empty() { argv } else { args };
            return words.iter().any(|w| self.path_matches(w));
        }
        true
    }

    fn path_matches(&self, word: &str) -> bool {
        // `--file=/etc/shadow`: look at the value too.
        let value = word.split_once('=').map_or(word, |(_, v)| v);
        [word, value]
            .into_iter()
            .filter(|w| w.starts_with('/'))
            .any(|w| self.path_set.is_match(normalize_path(w)))
    }
}

/// Decides one interactive line against the rules: the first matching `allow` or `deny` rule
/// decides, and no decision means allowed. Every matching `audit` rule is listed, wherever it
/// stands, because marking a line is independent of letting it through.
pub fn evaluate_line(rules: &[CommandRule], line: &str) -> LineDecision {
    let commands = split_commands(line);
    let mut decision = LineDecision {
        allowed: true,
        rule: None,
        message: None,
        audit: Vec::new(),
    };
    for rule in rules {
        let decided = decision.rule.is_some();
        if (decided && rule.action != RuleAction::Audit) || !rule.matches(line, &commands) {
            continue;
        }
        match rule.action {
            RuleAction::Audit => decision.audit.push(rule.name.clone()),
            RuleAction::Allow => decision.rule = Some(rule.name.clone()),
            RuleAction::Deny => {
                decision.allowed = false;
                decision.rule = Some(rule.name.clone());
                decision.message = Some(rule.message.clone());
            }
        }
    }
    decision
}

/// Strict mode: the line must be one plain command whose argv starts with an allowed prefix,
/// and the rules must not deny it.
pub fn evaluate_strict(rules: &[CommandRule], allowed: &[Vec<String>], line: &str) -> LineDecision {
    let refuse = |message: &str| LineDecision {
        allowed: false,
        rule: None,
        message: Some(message.to_owned()),
        audit: Vec::new(),
    };
    if line.contains(['|', ';', '&', '$', '`', '<', '>', '\n']) {
        return refuse(
            "this profile runs single listed commands only; shell syntax is not available",
        );
    }
    let commands = split_commands(line);
    let [argv] = commands.as_slice() else {
        return refuse("this profile runs single listed commands only");
    };
    let listed = allowed
        .iter()
        .any(|prefix| argv.len() >= prefix.len() && argv[..prefix.len()] == prefix[..]);
    if !listed {
        return refuse("this command is not in the profile's allowed_commands");
    }
    evaluate_line(rules, line)
}

/// The program's basename and its arguments, skipping `VAR=value` prefixes and wrappers such as
/// `sudo` or `exec` when a command follows them.
fn split_program(argv: &[String]) -> Option<(&str, &[String])> {
    const WRAPPERS: [&str; 7] = ["sudo", "exec", "command", "nohup", "nice", "time", "env"];
    let mut i = 0;
    while i < argv.len() {
        let word = argv[i].as_str();
        let base = word.rsplit('/').next().unwrap_or(word);
        let is_assignment = word.contains('=') && !word.starts_with('-') && !word.starts_with('/');
        let skippable = is_assignment || word.starts_with('-') || WRAPPERS.contains(&base);
        let has_more = argv[i + 1..]
            .iter()
            .any(|w| !w.starts_with('-') && !w.contains('='));
        if skippable && has_more {
            i += 1;
            continue;
        }
        return Some((base, &argv[i + 1..]));
    }
    None
}

/// `-r` matches `-r`, `-rf` and `-fr`; `--recursive` matches itself and `--recursive=…`.
fn flag_matches(pattern: &str, arg: &str) -> bool {
    if let Some(long) = pattern.strip_prefix("--") {
        return arg
            .strip_prefix("--")
            .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")));
    }
    match (pattern.strip_prefix('-'), arg.strip_prefix('-')) {
        (Some(p), Some(a)) if !a.starts_with('-') && !p.is_empty() => {
            p.chars().all(|c| a.contains(c))
        }
        _ => pattern == arg,
    }
}

/// Collapses `//`, `/./` and `/../` so that `/etc//shadow` is still `/etc/shadow`.
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Splits a line into simple commands (argv lists) with a rough shell tokenizer.
fn split_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut argv: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let end_word = |argv: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            argv.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '|' | ';' | '&' | '\n' | '`' | '(' | ')' => {
                end_word(&mut argv, &mut word, &mut in_word);
                if !argv.is_empty() {
                    commands.push(std::mem::take(&mut argv));
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                end_word(&mut argv, &mut word, &mut in_word);
                if !argv.is_empty() {
                    commands.push(std::mem::take(&mut argv));
                }
            }
            '<' | '>' => end_word(&mut argv, &mut word, &mut in_word),
            c if c.is_whitespace() => end_word(&mut argv, &mut word, &mut in_word),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut argv, &mut word, &mut in_word);
    if !argv.is_empty() {
        commands.push(argv);
    }
    commands
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;

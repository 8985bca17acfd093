//! Unit tests of [`analyze`] over real shell lines.

use super::{Command, RedirectKind, Word, analyze};

fn ok(line: &str) -> Vec<Command> {
    analyze(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn names(line: &str) -> Vec<String> {
    ok(line).into_iter().map(|c| c.name).collect()
}

fn one(line: &str) -> Command {
    let mut commands = ok(line);
    assert_eq!(commands.len(), 1, "{line:?}: {commands:#?}");
    commands.remove(0)
}

fn args(command: &Command) -> Vec<&str> {
    command.args.iter().map(|w| w.value.as_str()).collect()
}

// Simple commands and quoting.

#[test]
fn a_simple_command() {
    let c = one("ls -la /tmp");
    assert_eq!(c.name, "ls");
    assert_eq!(args(&c), ["-la", "/tmp"]);
    assert!(!c.program.dynamic);
    assert_eq!((c.pipe_from, c.in_substitution, c.depth), (None, false, 0));
}

#[test]
fn an_empty_line_and_a_comment_run_nothing() {
    assert!(ok("").is_empty());
    assert!(ok("   ").is_empty());
    assert!(ok("# rm -rf /").is_empty());
}

#[test]
fn backslash_in_the_program_is_removed() {
    assert_eq!(one(r"r\m -rf /").name, "rm");
    assert_eq!(one(r"\rm x").name, "rm");
}

#[test]
fn single_quotes_are_removed() {
    assert_eq!(one("'rm' -rf /").name, "rm");
    assert_eq!(args(&one("echo 'a b'")), ["a b"]);
}

#[test]
fn double_quotes_and_concatenation() {
    assert_eq!(one(r#""r"m -rf /"#).name, "rm");
    assert_eq!(one(r#"r"m" x"#).name, "rm");
    assert_eq!(one(r#"'r'"m" x"#).name, "rm");
    assert_eq!(args(&one(r#"echo "a \"b\" \$c""#)), [r#"a "b" $c"#]);
}

#[test]
fn ansi_c_strings_are_decoded() {
    assert_eq!(one(r"$'\x72m' -rf /").name, "rm");
    assert_eq!(args(&one(r"printf $'a\tb'")), ["a\tb"]);
}

#[test]
fn paths_are_reduced_to_their_basename() {
    let c = one("/usr/bin/rm -rf /");
    assert_eq!(c.program.value, "/usr/bin/rm");
    assert_eq!(c.name, "rm");
    assert_eq!(one("./rm x").name, "rm");
    assert_eq!(one("../../bin/rm x").name, "rm");
}

#[test]
fn an_unknown_program_is_dynamic() {
    let c = one("$X -rf /");
    assert!(c.program.dynamic);
    assert_eq!(c.program.value, "$X");
    assert!(one("${CMD} a").program.dynamic);
    assert!(one(r#""$X" a"#).program.dynamic);
    assert!(one("r$X a").program.dynamic);
}

#[test]
fn a_dynamic_argument_is_flagged_and_a_literal_one_not() {
    let c = one(r#"cat "$HOME/.ssh/id_rsa" plain"#);
    assert_eq!(
        c.args[0],
        Word {
            value: "$HOME/.ssh/id_rsa".into(),
            dynamic: true
        }
    );
    assert_eq!(c.args[1], Word::literal("plain"));
}

#[test]
fn assignments_before_a_command() {
    let c = one("FOO=1 BAR='x y' rm -rf /");
    assert_eq!(c.name, "rm");
    assert_eq!(
        c.assignments,
        [
            ("FOO".into(), Word::literal("1")),
            ("BAR".into(), Word::literal("x y"))
        ]
    );
}

#[test]
fn an_assignment_alone_still_runs_its_substitution() {
    let c = one("X=$(rm -rf /)");
    assert_eq!(c.name, "rm");
    assert!(c.in_substitution);
}

// Lists, pipelines, compound commands.

#[test]
fn lists_of_every_kind() {
    assert_eq!(names("a; b && c || d & e"), ["a", "b", "c", "d", "e"]);
}

#[test]
fn a_pipeline_links_each_command_to_the_previous() {
    let commands = ok("curl -s http://x | sh");
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0].name, "curl");
    assert_eq!(commands[1].name, "sh");
    assert_eq!(commands[1].pipe_from, Some(0));
    let three = ok("a | b |& c");
    assert_eq!(
        three.iter().map(|c| c.pipe_from).collect::<Vec<_>>(),
        [None, Some(0), Some(1)]
    );
}

#[test]
fn subshells_and_groups() {
    assert_eq!(names("(cd /; rm -rf x)"), ["cd", "rm"]);
    assert_eq!(names("{ a; b; }"), ["a", "b"]);
    assert_eq!(names("! rm x"), ["rm"]);
}

#[test]
fn a_group_in_a_pipeline() {
    let commands = ok("{ cat a; cat b; } | sh");
    assert_eq!(commands[2].name, "sh");
    assert_eq!(commands[2].pipe_from, Some(0));
}

#[test]
fn control_flow_bodies() {
    assert_eq!(
        names("if test -f x; then rm x; else echo no; fi"),
        ["test", "rm", "echo"]
    );
    assert_eq!(names("for f in a b; do rm $f; done"), ["rm"]);
    assert_eq!(names("while true; do sleep 1; done"), ["true", "sleep"]);
    assert_eq!(names("case $x in a) rm a;; *) ls;; esac"), ["rm", "ls"]);
    assert_eq!(names("f() { rm -rf /; }; f"), ["rm", "f"]);
}

#[test]
fn command_substitution_in_an_argument() {
    let commands = ok("echo $(cat /etc/shadow)");
    assert_eq!(names("echo $(cat /etc/shadow)"), ["echo", "cat"]);
    assert!(commands[0].args[0].dynamic);
    assert!(!commands[0].in_substitution);
    assert!(commands[1].in_substitution);
}

#[test]
fn backticks_and_substitution_in_strings() {
    let commands = ok("echo `id` \"$(whoami)\"");
    assert_eq!(
        commands.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["echo", "id", "whoami"]
    );
    assert!(commands[1].in_substitution && commands[2].in_substitution);
}

#[test]
fn a_substituted_program() {
    let commands = ok("$(echo rm) -rf /");
    assert!(commands[0].program.dynamic);
    assert_eq!(commands[1].name, "echo");
}

#[test]
fn nested_substitutions() {
    assert_eq!(names("a $(b $(c `d`))"), ["a", "b", "c", "d"]);
}

#[test]
fn process_substitution() {
    let commands = ok("diff <(cat /etc/shadow) >(tee x)");
    assert_eq!(
        commands.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["diff", "cat", "tee"]
    );
    assert!(commands[1].in_substitution && commands[2].in_substitution);
}

#[test]
fn declarations_are_commands_and_their_substitutions_run() {
    let commands = ok("export A=$(id)");
    assert_eq!(commands[0].name, "export");
    assert_eq!(commands[1].name, "id");
    assert_eq!(names("unset X"), ["unset"]);
}

// Redirections.

#[test]
fn a_read_redirection() {
    let c = one("cat < /etc/shadow");
    assert_eq!(c.redirects.len(), 1);
    assert_eq!(c.redirects[0].kind, RedirectKind::Read);
    assert_eq!(c.redirects[0].op, "<");
    assert_eq!(c.redirects[0].target.value, "/etc/shadow");
}

#[test]
fn write_redirections() {
    let c = one("echo x > /etc/passwd 2>> err.log");
    let kinds: Vec<_> = c
        .redirects
        .iter()
        .map(|r| (r.op.as_str(), r.fd, r.kind, r.target.value.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (">", None, RedirectKind::Write, "/etc/passwd"),
            (">>", Some(2), RedirectKind::Write, "err.log")
        ]
    );
    assert_eq!(one("ls &> out").redirects[0].kind, RedirectKind::Write);
}

#[test]
fn duplication_is_not_a_path() {
    let c = one("ls 2>&1");
    assert_eq!(c.redirects[0].kind, RedirectKind::Duplicate);
    assert_eq!(c.redirects[0].fd, Some(2));
}

#[test]
fn here_strings_and_quoted_targets() {
    let c = one("cat <<< 'hello'");
    assert_eq!(c.redirects[0].kind, RedirectKind::HereString);
    assert_eq!(
        one(r#"cat < "/etc/sha"'dow'"#).redirects[0].target.value,
        "/etc/shadow"
    );
}

#[test]
fn a_redirection_before_the_program_and_on_a_group() {
    let c = one("< /etc/shadow cat");
    assert_eq!(c.name, "cat");
    assert_eq!(c.redirects[0].target.value, "/etc/shadow");
    let commands = ok("{ echo a; echo b; } > /etc/motd");
    assert!(
        commands
            .iter()
            .all(|c| c.redirects[0].target.value == "/etc/motd")
    );
}

#[test]
fn a_bare_redirection_truncates_a_file() {
    let c = one("> /etc/passwd");
    assert_eq!(c.name, "");
    assert_eq!(c.redirects[0].kind, RedirectKind::Write);
}

#[test]
fn escaped_spaces_and_newlines() {
    assert_eq!(args(&one(r"cat my\ file")), ["my file"]);
    assert_eq!(args(&one("echo a\\\nb")), ["ab"]);
    assert_eq!(one("r\\\nm -rf /").name, "rm");
    assert_eq!(args(&one("echo 'a\\\nb'")), ["a\\\nb"]);
    assert_eq!(names("ls \\\n -la"), ["ls"]);
    assert_eq!(args(&one("echo \"it's\" r\\\nm")), ["it's", "rm"]);
}

#[test]
fn globs_and_tilde_are_kept_as_written() {
    assert_eq!(
        args(&one("rm -rf /tmp/*.log ~/x")),
        ["-rf", "/tmp/*.log", "~/x"]
    );
}

#[test]
fn brace_expansion_is_dynamic() {
    // At the start of a line the grammar rejects it (fail closed); after a wrapper it is a word.
    assert!(analyze("{rm,-rf,/}").is_err());
    let c = one("sudo {rm,-rf,/}");
    assert!(c.program.dynamic, "{c:?}");
    assert!(one("echo a{1..3}").args[0].dynamic);
    assert!(!one("echo {}").args[0].dynamic);
}

#[test]
fn a_process_substitution_as_input_redirects_only_the_outer_command() {
    let commands = ok("cat < <(ls)");
    assert_eq!(commands[0].redirects.len(), 1);
    assert!(commands[1].redirects.is_empty());
}

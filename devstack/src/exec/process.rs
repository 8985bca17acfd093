//! Starting the real process behind an exec: under a PTY (`tty=true`) or with pipes, in its own
//! process group, in the pod's directory, with a pod-like environment. The [`ProcessGroup`]
//! guard kills the whole group when the session ends, so nothing outlives its WebSocket.
//!
//! **Hostname.** Where the machine allows unprivileged user namespaces, the process runs in a
//! new UTS namespace whose hostname is the pod's name, so `hostname` and `uname -n` print it as
//! in a real pod. No unsafe code: the command is wrapped as
//! `unshare --user --map-current-user --keep-caps --uts -- sh -c '<hostname> "$0"; exec
//! <setpriv> --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$@"' <pod> <program>
//! <args…>`. The user namespace maps the current user to itself (so `id` shows who you are, not
//! root); `--keep-caps` keeps the namespace's capabilities across the exec of `sh` just long
//! enough for `hostname` to set the name, and `setpriv` drops every capability before the
//! program runs. Every exec is the same process all along (`exec`, no fork), so the process
//! group and exit code are the program's. [`uts`] probes this once; when it does not work
//! (`unshare`/`setpriv`/`hostname` missing, user namespaces disabled, inside a restricted
//! container, or `DEVSTACK_POD_HOSTNAME=host`), processes start as before (only `HOSTNAME` is
//! the pod's name) and the reason is logged once.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;

use tokio::io::AsyncRead;
use tokio::process::{Child, ChildStderr, ChildStdin};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// argv; `argv[0]` is looked up in `PATH`.
    pub argv: &'a [String],
    /// Working directory and `HOME`.
    pub dir: &'a Path,
    /// Pod name (`HOSTNAME`, prompt).
    pub pod: &'a str,
    /// Run under a PTY.
    pub tty: bool,
    /// Give the process a stdin pipe (otherwise `/dev/null`); ignored with a PTY.
    pub stdin: bool,
    /// Capture stdout (otherwise `/dev/null`); ignored with a PTY.
    pub stdout: bool,
    /// Capture stderr (otherwise `/dev/null`); ignored with a PTY.
    pub stderr: bool,
}

/// Why the process did not start; the first two map to shell-style exit codes.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Exit code 127, like a shell or a container runtime.
    #[error("exec: {0:?}: executable file not found in $PATH")]
    NotFound(String),
    /// Exit code 126.
    #[error("exec: {0:?}: permission denied")]
    PermissionDenied(String),
    /// Anything else (PTY allocation, fork).
    #[error("starting the process: {0}")]
    Io(#[from] std::io::Error),
}

impl SpawnError {
    /// The exit code a container runtime would report, if this is a "bad command" error.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Self::NotFound(_) => Some(127),
            Self::PermissionDenied(_) => Some(126),
            Self::Io(_) => None,
        }
    }
}

/// Where stdin bytes and resizes go.
pub enum Input {
    /// The PTY master (stdin and resize).
    Pty(pty_process::OwnedWritePty),
    /// The stdin pipe.
    Pipe(ChildStdin),
}

/// A started process and its streams.
pub struct Process {
    /// The main process; reaped by the session.
    pub child: Child,
    /// Kills the whole group when dropped.
    pub group: ProcessGroup,
    /// stdin / PTY writer.
    pub input: Option<Input>,
    /// stdout, or the PTY's merged output.
    pub stdout: Option<Box<dyn AsyncRead + Send + Unpin>>,
    /// stderr (pipes only).
    pub stderr: Option<ChildStderr>,
}

/// SIGKILLs a process group on drop. Killing a group whose members are all gone is harmless.
#[derive(Debug)]
pub struct ProcessGroup(Option<rustix::process::Pid>);

impl ProcessGroup {
    fn of(child: &Child) -> Self {
        Self(
            child
                .id()
                .and_then(|id| rustix::process::Pid::from_raw(id as i32)),
        )
    }

    /// The group id (= the main process's pid).
    pub fn id(&self) -> Option<i32> {
        self.0.map(|p| p.as_raw_nonzero().get())
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}

/// Set to `host` to keep the machine's hostname in pods (no user/UTS namespace).
pub const HOSTNAME_ENV: &str = "DEVSTACK_POD_HOSTNAME";

/// The script run by `sh` inside the new namespaces: `$0` is the pod name, `$1` the `hostname`
/// program, `$2` `setpriv`, the rest the program and its arguments.
const UTS_SCRIPT: &str = r#"h=$1; s=$2; shift 2; "$h" "$0" 2>/dev/null; exec "$s" --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$@""#;

/// The programs that put a process in its own UTS namespace (all found in `PATH`).
#[derive(Debug, Clone)]
pub struct UtsWrapper {
    unshare: PathBuf,
    sh: PathBuf,
    hostname: PathBuf,
    setpriv: PathBuf,
}

impl UtsWrapper {
    fn find(path: &str) -> Result<Self, String> {
        let find = |name: &str| {
            resolve(name, path).map_err(|_| format!("`{name}` is not in PATH ({path})"))
        };
        Ok(Self {
            unshare: find("unshare")?,
            sh: find("sh")?,
            hostname: find("hostname")?,
            setpriv: find("setpriv")?,
        })
    }

    /// The program and arguments that run `program args` with `pod` as the hostname.
    fn wrap(&self, pod: &str, program: &Path, args: &[String]) -> (PathBuf, Vec<OsString>) {
        let mut argv: Vec<OsString> =
            ["--user", "--map-current-user", "--keep-caps", "--uts", "--"]
                .iter()
                .map(OsString::from)
                .collect();
        argv.push(self.sh.clone().into());
        argv.push("-c".into());
        argv.push(UTS_SCRIPT.into());
        argv.push(pod.into());
        argv.push(self.hostname.clone().into());
        argv.push(self.setpriv.clone().into());
        argv.push(program.into());
        argv.extend(args.iter().map(OsString::from));
        (self.unshare.clone(), argv)
    }

    /// Runs `hostname` wrapped with a probe name and checks that it prints it.
    fn probe(&self) -> Result<(), String> {
        const NAME: &str = "devstack-probe";
        let (program, args) = self.wrap(NAME, &self.hostname, &[]);
        let out = std::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", self.unshare.display()))?;
        let printed = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && printed.trim() == NAME {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr.lines().next().unwrap_or_default().trim();
        Err(if why.is_empty() {
            format!("the probe printed {:?} ({})", printed.trim(), out.status)
        } else {
            why.to_owned()
        })
    }
}

/// Whether pod processes get their own hostname: `Ok` with the wrapper, or why not. Probed
/// once per process (the first exec); the outcome is logged once.
pub fn uts() -> &'static Result<UtsWrapper, String> {
    static UTS: OnceLock<Result<UtsWrapper, String>> = OnceLock::new();
    UTS.get_or_init(|| {
        let outcome = if std::env::var(HOSTNAME_ENV).is_ok_and(|v| v == "host") {
            Err(format!("{HOSTNAME_ENV}=host is set"))
        } else {
            let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned());
            UtsWrapper::find(&path).and_then(|w| w.probe().map(|()| w))
        };
        match &outcome {
            Ok(_) => tracing::info!(
                "pods run in their own user and UTS namespaces: `hostname` prints the pod's name"
            ),
            Err(why) => tracing::warn!(
                "pods keep this machine's hostname (only $HOSTNAME is the pod's name): \
                 no UTS namespace: {why}"
            ),
        }
        outcome
    })
}

/// Starts the process described by `spec`.
pub fn spawn(spec: &Spec<'_>) -> Result<Process, SpawnError> {
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned());
    let resolved = resolve(&spec.argv[0], &path)?;
    let env = environment(spec, &path);
    let (program, args) = match uts() {
        Ok(w) => w.wrap(spec.pod, &resolved, &spec.argv[1..]),
        Err(_) => (
            resolved,
            spec.argv[1..].iter().map(OsString::from).collect(),
        ),
    };
    if spec.tty {
        let (pty, pts) = pty_process::open().map_err(pty_error)?;
        pty.resize(pty_process::Size::new(24, 80))
            .map_err(pty_error)?;
        // pty-process makes the child a session leader (setsid), so its pgid is its pid.
        let child = pty_process::Command::new(&program)
            .args(&args)
            .env_clear()
            .envs(env)
            .current_dir(spec.dir)
            .kill_on_drop(true)
            .spawn(pts)
            .map_err(pty_error)?;
        let (read, write) = pty.into_split();
        Ok(Process {
            group: ProcessGroup::of(&child),
            child,
            input: Some(Input::Pty(write)),
            stdout: Some(Box::new(read)),
            stderr: None,
        })
    } else {
        let pipe = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
        let mut child = tokio::process::Command::new(&program)
            .args(&args)
            .env_clear()
            .envs(env)
            .current_dir(spec.dir)
            .stdin(pipe(spec.stdin))
            .stdout(pipe(spec.stdout))
            .stderr(pipe(spec.stderr))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Process {
            group: ProcessGroup::of(&child),
            input: child.stdin.take().map(Input::Pipe),
            stdout: child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>),
            stderr: child.stderr.take(),
            child,
        })
    }
}

fn pty_error(e: pty_process::Error) -> SpawnError {
    match e {
        pty_process::Error::Io(io) => SpawnError::Io(io),
        other => SpawnError::Io(std::io::Error::other(other.to_string())),
    }
}

fn environment(spec: &Spec<'_>, path: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_owned(), path.to_owned()),
        ("HOME".to_owned(), spec.dir.display().to_string()),
        ("HOSTNAME".to_owned(), spec.pod.to_owned()),
        // sh/dash show this verbatim; bash reads the pod's .bashrc and gets a richer one.
        ("PS1".to_owned(), format!("{}$ ", spec.pod)),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ];
    if spec.tty {
        env.push(("TERM".to_owned(), "xterm-256color".to_owned()));
    }
    env
}

/// Finds `name` like `execvp` would. A missing `bash` falls back to `sh`, since "exec bash" is
/// what users type and minimal machines may lack it.
pub fn resolve(name: &str, path: &str) -> Result<PathBuf, SpawnError> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return match std::fs::metadata(&p) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(p),
            Ok(_) => Err(SpawnError::PermissionDenied(name.to_owned())),
            Err(_) => Err(SpawnError::NotFound(name.to_owned())),
        };
    }
    let mut not_executable = false;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name);
        if let Ok(m) = std::fs::metadata(&candidate) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
            not_executable = true;
        }
    }
    if name == "bash" {
        return resolve("sh", path);
    }
    if not_executable {
        Err(SpawnError::PermissionDenied(name.to_owned()))
    } else {
        Err(SpawnError::NotFound(name.to_owned()))
    }
}

/// Exit code as a container runtime reports it: the code, or 128+signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_execvp() {
        let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.into());
        assert!(resolve("sh", &path).unwrap().ends_with("sh"));
        assert!(matches!(
            resolve("no-such-program-xyz", &path),
            Err(SpawnError::NotFound(_))
        ));
        assert!(matches!(
            resolve("/etc/passwd", &path),
            Err(SpawnError::PermissionDenied(_))
        ));
        assert!(resolve("bash", "/nonexistent:/bin:/usr/bin").is_ok());
        let err = resolve("foo", &path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "exec: \"foo\": executable file not found in $PATH"
        );
        assert_eq!(err.exit_code(), Some(127));
    }
}

//! Path normalisation for matching: `/etc//shadow`, `/etc/./shadow`, `/etc/../etc/shadow`
//! and `/etc/shadow` are one path, and `~/.ssh` is under the home directory.
//!
//! Lexical only (no file system): `..` removes the previous component even if it is a symbolic
//! link, which is what the shell's own `cd` does by default.

/// The home directory assumed when none is configured.
pub const DEFAULT_HOME: &str = "/root";

/// `path` normalised with [`DEFAULT_HOME`] as the home directory.
#[must_use]
pub fn normalize(path: &str) -> String {
    normalize_with_home(path, DEFAULT_HOME)
}

/// `path` normalised: a leading `~`, `~/`, `$HOME` or `${HOME}` becomes `home`; `//` and `/./`
/// collapse; `..` is resolved lexically (never above `/`); a trailing `/` is dropped. A
/// relative path stays relative (leading `..` kept); an empty result is `.`.
#[must_use]
pub fn normalize_with_home(path: &str, home: &str) -> String {
    let expanded;
    let path = match expand_home(path) {
        Some(rest) => {
            expanded = format!("{home}/{rest}");
            expanded.as_str()
        }
        None => path,
    };
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// The rest of `path` after a leading home reference, if it has one.
fn expand_home(path: &str) -> Option<&str> {
    for prefix in ["~", "$HOME", "${HOME}"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            if rest.is_empty() {
                return Some("");
            }
            if let Some(rest) = rest.strip_prefix('/') {
                return Some(rest);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_double_slashes_and_dots() {
        assert_eq!(normalize("/etc//shadow"), "/etc/shadow");
        assert_eq!(normalize("/etc/./shadow"), "/etc/shadow");
        assert_eq!(normalize("//etc///./shadow/"), "/etc/shadow");
    }

    #[test]
    fn resolves_dot_dot_lexically() {
        assert_eq!(normalize("/etc/../etc/shadow"), "/etc/shadow");
        assert_eq!(normalize("/../../etc/shadow"), "/etc/shadow");
        assert_eq!(normalize("/var/log/../../etc/passwd"), "/etc/passwd");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("/.."), "/");
    }

    #[test]
    fn expands_the_home_directory() {
        assert_eq!(normalize("~/.ssh/id_rsa"), "/root/.ssh/id_rsa");
        assert_eq!(normalize("~"), "/root");
        assert_eq!(normalize("$HOME/.ssh/id_rsa"), "/root/.ssh/id_rsa");
        assert_eq!(
            normalize("${HOME}/.ssh/../.aws/credentials"),
            "/root/.aws/credentials"
        );
        assert_eq!(
            normalize_with_home("~/.kube/config", "/home/app"),
            "/home/app/.kube/config"
        );
        // Another user's home and look-alikes are left alone.
        assert_eq!(normalize("~bob/x"), "~bob/x");
        assert_eq!(normalize("$HOMEDIR/x"), "$HOMEDIR/x");
    }

    #[test]
    fn keeps_relative_paths_relative() {
        assert_eq!(normalize("./a//b/."), "a/b");
        assert_eq!(normalize("a/../../b"), "../b");
        assert_eq!(normalize("."), ".");
        assert_eq!(normalize(""), ".");
        assert_eq!(normalize("a/.."), ".");
    }
}

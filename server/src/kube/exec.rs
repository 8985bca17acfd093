//! `pods/exec` with a TTY and `pods/log` streams, as the impersonated user.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::{AttachParams, AttachedProcess, LogParams, TerminalSize};

use super::UserKube;

/// What to run where.
#[derive(Debug, Clone)]
pub struct ExecParams {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// argv.
    pub command: Vec<String>,
    /// Initial terminal size.
    pub cols: u16,
    /// Initial terminal size.
    pub rows: u16,
}

/// Sends terminal sizes to a TTY exec (`None` without a TTY).
pub type ResizeSender = Option<futures::channel::mpsc::Sender<TerminalSize>>;

/// Why an exec could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The API server refused or failed (403 from RBAC, 404, …).
    #[error("the Kubernetes API refused the exec: {0}")]
    Api(#[source] kube::Error),
}

/// How much pod output kube-rs may buffer between its socket task and our relay. Bigger
/// batches mean fewer WebSocket frames under heavy output; the buffer only grows while full.
const STDOUT_BUFFER: usize = 64 * 1024;
/// Keystrokes and pastes are small; the browser side limits frames anyway.
const STDIN_BUFFER: usize = 16 * 1024;

impl UserKube {
    /// Starts `params.command` with a TTY (stdin + stdout; stderr is merged by the TTY) and
    /// sends the initial terminal size. Returns the process and its resize sender (kube-rs
    /// hands that sender out only once).
    pub async fn exec_tty(
        &self,
        params: &ExecParams,
    ) -> Result<(AttachedProcess, ResizeSender), ExecError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &params.namespace);
        let ap = AttachParams::interactive_tty()
            .container(params.container.clone())
            .max_stdout_buf_size(STDOUT_BUFFER)
            .max_stdin_buf_size(STDIN_BUFFER);
        let mut process = api
            .exec(&params.pod, params.command.clone(), &ap)
            .await
            .map_err(ExecError::Api)?;
        let mut sizes = process.terminal_size();
        if let Some(sizes) = sizes.as_mut() {
            // A full channel only means a resize is already queued; not fatal.
            let _ = sizes.try_send(TerminalSize {
                width: params.cols,
                height: params.rows,
            });
        }
        Ok((process, sizes))
    }

    /// A log stream of `container` in `namespace/pod`.
    pub async fn log_stream(
        &self,
        namespace: &str,
        pod: &str,
        params: &LogParams,
    ) -> Result<impl futures::AsyncBufRead + use<>, kube::Error> {
        Api::<Pod>::namespaced(self.client.clone(), namespace)
            .log_stream(pod, params)
            .await
    }
}

/// The exit code in an exec's final status: 0 on `Success`, the `ExitCode` cause otherwise,
/// 1 if the status failed without one.
pub fn exit_code(status: &Status) -> i32 {
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|causes| {
            causes
                .iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.parse().ok())
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_from_status() {
        let ok: Status = serde_json::from_str(r#"{"metadata":{},"status":"Success"}"#).unwrap();
        assert_eq!(exit_code(&ok), 0);
        let three: Status = serde_json::from_str(
            r#"{"metadata":{},"status":"Failure","reason":"NonZeroExitCode",
                "details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#,
        )
        .unwrap();
        assert_eq!(exit_code(&three), 3);
        let err: Status =
            serde_json::from_str(r#"{"metadata":{},"status":"Failure","message":"x"}"#).unwrap();
        assert_eq!(exit_code(&err), 1);
    }
}

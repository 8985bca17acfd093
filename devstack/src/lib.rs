//! devstack: local stand-ins for Keyhole's demo and tests. **Loopback only; never production.**
//!
//! Two servers:
//! - a Kubernetes-compatible API server, faithful enough that the real `kubectl` (1.27–1.33)
//!   and the `kube` crate work against it: discovery, pods, `pods/exec` and `pods/attach` over
//!   WebSocket running real processes (PTY or pipes), `pods/log` with follow, bearer tokens,
//!   impersonation, RBAC, access reviews and an audit log;
//! - a development OIDC issuer ([`idp`]).
//!
//! # Layout
//! - [`server`]: [`start_kube`] / [`RunningKube`] (embedding API; port 0 works).
//! - [`cluster`]: the served content, from YAML ([`Cluster::builtin`], [`Cluster::from_file`]).
//! - [`rbac`]: RBAC and impersonation evaluation, pure.
//! - [`api`]: routes and the admission middleware (authn → impersonation → RBAC → audit).
//! - [`exec`]: the channel protocol, process spawning and the WebSocket relay.
//! - [`logs`], [`podfs`]: pod log files (growing while followed) and pod working directories.
//! - [`audit`]: `audit.k8s.io/v1` events, writer and reader ([`audit::read_events`]).
//! - [`tls`], [`kubeconfig`]: a per-run CA and server certificate; kubeconfig rendering.

pub mod api;
pub mod audit;
pub mod cluster;
pub mod exec;
pub mod idp;
pub mod kubeconfig;
pub mod logs;
pub mod podfs;
pub mod rbac;
pub mod server;
pub mod tls;

pub use cluster::Cluster;
pub use server::{KubeOptions, NotLoopback, RunningKube, start_kube};

//! Each pod's stand-in filesystem: `<state>/pods/<ns>/<pod>/` with `README`,
//! `config/app.yaml`, `app.log` (the default container's log; other containers log to
//! `<container>.log`) and a `.bashrc` that sets a prompt naming the pod. Exec processes run
//! there with `HOME` pointing at it.

use std::path::{Path, PathBuf};

use crate::cluster::{Cluster, Pod};
use crate::logs::log_line;

/// Paths of the pod directories under one state dir.
#[derive(Debug, Clone)]
pub struct PodFs {
    root: PathBuf,
}

impl PodFs {
    /// Uses `<state_dir>/pods`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            root: state_dir.join("pods"),
        }
    }

    /// `<state>/pods/<ns>/<pod>`.
    pub fn pod_dir(&self, ns: &str, pod: &str) -> PathBuf {
        self.root.join(ns).join(pod)
    }

    /// The log file of one container.
    pub fn log_file(&self, ns: &str, pod: &Pod, container: &str) -> PathBuf {
        let dir = self.pod_dir(ns, &pod.name);
        if container == pod.containers[0].name {
            dir.join("app.log")
        } else {
            dir.join(format!("{container}.log"))
        }
    }

    /// Creates every pod's directory and seed files; existing files are left alone so a state
    /// dir survives restarts.
    pub fn populate(&self, cluster: &Cluster) -> std::io::Result<()> {
        for (ns, pod) in cluster.pods() {
            let dir = self.pod_dir(&ns.name, &pod.name);
            std::fs::create_dir_all(dir.join("config"))?;
            write_new(&dir.join("README"), &readme(&ns.name, pod))?;
            write_new(&dir.join("config/app.yaml"), &app_config(&ns.name, pod))?;
            write_new(
                &dir.join(".bashrc"),
                &format!(
                    "# devstack: a prompt that names the pod\nPS1='\\u@{}:\\w\\$ '\n",
                    pod.name
                ),
            )?;
            for c in &pod.containers {
                let file = self.log_file(&ns.name, pod, &c.name);
                if !file.exists() {
                    let start = time::OffsetDateTime::now_utc() - time::Duration::minutes(40);
                    let seed: String = (0..40)
                        .map(|i| {
                            log_line(&c.name, start + time::Duration::seconds(i * 57), i as u64)
                        })
                        .collect();
                    std::fs::write(&file, seed)?;
                }
            }
        }
        Ok(())
    }
}

fn write_new(path: &Path, content: &str) -> std::io::Result<()> {
    if path.exists() {
        Ok(())
    } else {
        std::fs::write(path, content)
    }
}

fn readme(ns: &str, pod: &Pod) -> String {
    format!(
        "This is pod {ns}/{name} on devstack, Keyhole's local stand-in for a Kubernetes cluster.\n\
         Nothing here is a real container: commands run as ordinary processes on your machine,\n\
         in this directory, with HOSTNAME={name}.\n\n\
         Containers: {containers}\n\
         Logs: app.log (and <container>.log for the others); `kubectl logs -f` appends a line a second.\n",
        name = pod.name,
        containers = pod.container_names().join(", "),
    )
}

fn app_config(ns: &str, pod: &Pod) -> String {
    let app = pod
        .labels
        .get("app")
        .map_or(pod.name.as_str(), String::as_str);
    format!(
        "# {app} configuration (devstack sample)\nservice:\n  name: {app}\n  namespace: {ns}\n  port: 8080\n\
         database:\n  host: postgres.{ns}.svc.cluster.local\n  pool: 20\nfeatures:\n  retries: 3\n  slow_request_ms: 250\n"
    )
}

//! Development mode in a build without the `dev` feature: there are no stand-ins, so asking
//! for development mode is a startup error (the production build,
//! `cargo build --release -p keyhole --no-default-features`, contains no devstack at all).

use crate::config::{Config, KubernetesConfig, OidcConfig};

/// The startup error of a build without the `dev` feature asked for development mode.
pub const NO_DEV_FEATURE: &str = "development mode was asked for (--dev, dev = true or KEYHOLE_DEV), \
     but this build has no development stand-ins; it was built without the `dev` feature";

/// Never started: see [`StandIns::start`].
pub struct StandIns {
    /// Never set.
    pub kubernetes: Option<KubernetesConfig>,
    /// Never set.
    pub oidc: Option<OidcConfig>,
}

impl StandIns {
    /// Always the [`NO_DEV_FEATURE`] error.
    pub async fn start(_config: &Config) -> anyhow::Result<StandIns> {
        anyhow::bail!(NO_DEV_FEATURE)
    }
}

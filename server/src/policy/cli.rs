//! `keyhole policy check FILE` and `keyhole policy test FILE CASES`.
//!
//! Made for CI and editors: every problem is one `FILE:LINE:COL: message` line on stderr, so
//! editors can jump to it; results go to stdout. Exit codes: 0 fine, 1 invalid policy or failed
//! cases, 2 a file could not be read.

use std::path::Path;
use std::process::ExitCode;

use super::load::read_text;
use super::{LoadError, Policy, run_cases};

/// `keyhole policy check FILE`: prints `ok: N profiles` (and any warnings) and exits 0, or
/// prints each error as `FILE:LINE:COL: message` and exits 1 (2 if the file is unreadable).
pub fn cli_check(file: &Path) -> ExitCode {
    match load(file) {
        Ok(policy) => {
            println!("ok: {} profiles", policy.profiles().len());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `keyhole policy test FILE CASES`: prints each failing case and a last line
/// `N passed, N failed`; exits 0 iff no case failed (1 otherwise, 2 if a file is unreadable).
pub fn cli_test(file: &Path, cases: &Path) -> ExitCode {
    let policy = match load(file) {
        Ok(policy) => policy,
        Err(code) => return code,
    };
    let origin = cases.display().to_string();
    let src = match read_text(cases) {
        Ok(src) => src,
        Err(e) => return report(&e),
    };
    let results = match run_cases(&policy, &src, &origin) {
        Ok(results) => results,
        Err(errors) => return report(&LoadError::Invalid(errors)),
    };
    let mut failed = 0;
    for r in &results {
        if let Some(why) = &r.failure {
            failed += 1;
            println!(
                "FAIL {origin}:{}:{}: {}: {why}",
                r.pos.line, r.pos.column, r.name
            );
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Loads the policy, printing warnings; on failure prints the errors and gives the exit code.
fn load(file: &Path) -> Result<Policy, ExitCode> {
    match Policy::from_file(file) {
        Ok(policy) => {
            for w in policy.warnings() {
                eprintln!("{}", w.display(policy.origin()));
            }
            Ok(policy)
        }
        Err(e) => Err(report(&e)),
    }
}

fn report(e: &LoadError) -> ExitCode {
    for line in e.lines() {
        eprintln!("{line}");
    }
    match e {
        LoadError::Unreadable { .. } => ExitCode::from(2),
        LoadError::Invalid(_) => ExitCode::FAILURE,
    }
}

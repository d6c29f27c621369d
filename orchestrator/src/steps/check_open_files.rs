//! Step 1, `check_open_files`: list SMB open files under the failed-over paths on the source.
//! Open files are a warning (step 3a can block on it): writes in flight may be lost.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use crate::naming::path_under;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    // S6: a failed read is not "no open files": it is an error in the report and a warning
    // that block-on-warning (3a) stops on.
    let files = match src.smb_open_files().await {
        Ok(f) => f,
        Err(e) => {
            let warning = format!(
                "open files on {} could not be listed ({e}): writes in flight may be lost",
                ctx.plan.spec.from
            );
            ctx.with_state(|s| s.warn_once(warning.clone()));
            return Err(StepError::Failed(warning));
        }
    };
    let paths = ctx.source_paths();
    let open: Vec<String> = files
        .iter()
        .filter(|f| {
            let file = unc_to_ifs(&f.file);
            paths.iter().any(|p| path_under(&file, p))
        })
        .map(|f| format!("{} ({})", f.file, f.user.as_deref().unwrap_or("?")))
        .collect();
    if open.is_empty() {
        return Ok(StepDone::unchanged(
            "no open files under the failed-over paths",
        ));
    }
    let shown: Vec<&str> = open.iter().take(10).map(String::as_str).collect();
    let warning = format!(
        "{} open SMB file(s) under the failed-over paths on {}: {}{}",
        open.len(),
        ctx.plan.spec.from,
        shown.join(", "),
        if open.len() > 10 { ", …" } else { "" }
    );
    ctx.with_state(|s| s.warn_once(warning.clone()));
    Ok(StepDone::unchanged(warning))
}

/// OneFS lists open files as `C:\ifs\dir\file`; turn that into `/ifs/dir/file`.
pub(super) fn unc_to_ifs(file: &str) -> String {
    let f = file.replace('\\', "/");
    match f.find("/ifs") {
        Some(i) => f[i..].to_string(),
        None => f,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_paths_are_mapped() {
        assert_eq!(super::unc_to_ifs("C:\\ifs\\data\\a.txt"), "/ifs/data/a.txt");
        assert_eq!(super::unc_to_ifs("/ifs/x"), "/ifs/x");
    }
}

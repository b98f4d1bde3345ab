//! The prompts: `netsh> `, or `netsh(docker1)> ` inside a namespace entered with `in docker1`.

/// The prompt for a new input.
pub fn primary(context: Option<&str>) -> String {
    match context {
        Some(ns) => format!("netsh({ns})> "),
        None => "netsh> ".to_string(),
    }
}

/// The prompt for a further line of an input whose block, list or string is still open; as wide
/// as the primary prompt so the lines stay aligned.
pub fn continuation(context: Option<&str>) -> String {
    let width = primary(context).chars().count();
    format!("{:>width$}", "...> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_show_the_context() {
        assert_eq!(primary(None), "netsh> ");
        assert_eq!(primary(Some("docker1")), "netsh(docker1)> ");
        assert_eq!(continuation(None), "  ...> ");
        assert_eq!(
            continuation(Some("docker1")).len(),
            primary(Some("docker1")).len()
        );
    }
}

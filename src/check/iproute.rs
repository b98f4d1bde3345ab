//! iproute2's way of saying a thing, read as netsh's: `ip link show` is `show links`, `link add v1
//! type veth peer name v2` is `veth v1 peer v2`. The check pass offers the translation as the help of
//! an unknown statement or subcommand, so someone who knows `ip` finds the statement.

/// The netsh statement for an iproute2-style command, when one is known. `words` are the command's
/// words as written (with or without the leading `ip`).
pub fn translate(words: &[&str]) -> Option<String> {
    let mut rest = words;
    let ip = rest.first() == Some(&"ip");
    if ip {
        rest = &rest[1..];
    }
    // iproute2's options before the object: -n NS names the namespace, the others change nothing
    let mut ns = None;
    while let Some((first, tail)) = rest.split_first() {
        match *first {
            "-n" | "-netns" => {
                ns = tail.first().copied();
                rest = tail.get(1..).unwrap_or(&[]);
            }
            o if o.starts_with('-') => rest = tail,
            _ => break,
        }
    }
    let (object, args) = rest.split_first()?;
    let object = match *object {
        "l" | "link" => "link",
        "a" | "addr" | "address" => "addr",
        "r" | "route" => "route",
        "n" | "neigh" | "neighbor" | "neighbour" => "neigh",
        "netns" if ip => "netns",
        _ => return None,
    };
    let verb = args.first().copied().unwrap_or("show");
    let after = args.get(1..).unwrap_or(&[]);
    let mut out = match (object, verb) {
        (_, "show" | "list" | "ls" | "lst") if after.is_empty() => {
            let what = match object {
                "link" => "links",
                "addr" => "addrs",
                "route" => "routes",
                "neigh" => "neigh",
                _ => return (object == "netns").then(|| "netns list".to_string()),
            };
            format!("show {what}")
        }
        ("link", "add") => link_add(after)?,
        ("link", "delete" | "del") => format!("link del {}", after.join(" ")),
        ("netns", "delete") => format!("netns del {}", after.join(" ")),
        // the same words without `ip`: `ip addr add 10.0.0.1/24 dev v1` is a netsh statement
        (_, "add" | "del" | "set" | "replace") if ip && !after.is_empty() => {
            format!("{object} {verb} {}", after.join(" "))
        }
        _ => return None,
    };
    if let Some(ns) = ns {
        out += &format!(" in {ns}");
    }
    Some(out)
}

/// `link add [name] NAME type KIND ...` for the kinds netsh makes with a statement of their own.
fn link_add(args: &[&str]) -> Option<String> {
    let args = match args.first() {
        Some(&"name") => &args[1..],
        _ => args,
    };
    let (name, rest) = args.split_first()?;
    let after = |key: &str| {
        rest.iter()
            .position(|w| *w == key)
            .and_then(|i| rest.get(i + 1))
            .copied()
    };
    match after("type")? {
        "veth" => {
            let peer = rest
                .windows(3)
                .find(|w| w[0] == "peer" && w[1] == "name")
                .map(|w| w[2])
                .or_else(|| after("peer"))?;
            Some(format!("veth {name} peer {peer}"))
        }
        kind @ ("bridge" | "dummy") => Some(format!("{kind} {name}")),
        _ => None,
    }
}

/// The help line of an unknown statement or subcommand that iproute2 would understand.
pub fn help(words: &[&str]) -> Option<String> {
    translate(words).map(|s| format!("netsh writes this as `{s}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(line: &str) -> Option<String> {
        translate(&line.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn listings_become_show() {
        assert_eq!(t("ip link show").as_deref(), Some("show links"));
        assert_eq!(t("ip l").as_deref(), Some("show links"));
        assert_eq!(t("ip -j addr").as_deref(), Some("show addrs"));
        assert_eq!(
            t("ip -n web1 route list").as_deref(),
            Some("show routes in web1")
        );
        assert_eq!(t("ip neigh show").as_deref(), Some("show neigh"));
        assert_eq!(t("ip netns list").as_deref(), Some("netns list"));
    }

    #[test]
    fn link_add_becomes_the_kinds_statement() {
        assert_eq!(
            t("link add v1 type veth peer name v2").as_deref(),
            Some("veth v1 peer v2")
        );
        assert_eq!(
            t("ip link add name v1 type veth peer v2").as_deref(),
            Some("veth v1 peer v2")
        );
        assert_eq!(
            t("ip link add br0 type bridge").as_deref(),
            Some("bridge br0")
        );
        assert_eq!(
            t("ip -n a link add d0 type dummy").as_deref(),
            Some("dummy d0 in a")
        );
        assert_eq!(t("link add v1 type vxlan id 1"), None);
        assert_eq!(t("link add v1"), None);
    }

    #[test]
    fn other_commands_keep_their_words_without_ip() {
        assert_eq!(
            t("ip addr add 10.0.0.1/24 dev v1").as_deref(),
            Some("addr add 10.0.0.1/24 dev v1")
        );
        assert_eq!(t("ip link delete v1").as_deref(), Some("link del v1"));
        assert_eq!(t("ip netns add a").as_deref(), Some("netns add a"));
        assert_eq!(t("ip"), None);
        assert_eq!(t("ip -n"), None);
        assert_eq!(t("ip foo"), None);
        assert_eq!(t("netns exec a"), None);
    }
}

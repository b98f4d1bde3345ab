//! `expect error "TEXT" { ... }`: a block that must fail with TEXT. What it did is undone and the
//! script goes on; a block that succeeds, or fails otherwise, fails the check on its statement.

mod util;
use util::*;

#[test]
fn a_block_failing_with_the_text_passes_and_is_undone() {
    requires!(Root);
    let r = netsh(&[
        "--sandbox",
        "--json",
        "-c",
        "netns add a
         expect error \"Cannot find device\" {
             bridge d0 in a
             link set nosuch up in a
         }
         expect link d0 in a timeout 0.1
         ",
    ]);
    // the check after it runs, and finds d0 gone: the block's dummy was undone
    let r = r.fails_with("there is no link d0 in a");
    let rec = r
        .json()
        .into_iter()
        .find(|v| v["expect"] == "error")
        .unwrap_or_else(|| panic!("no record: {}", r.stdout));
    assert_eq!(rec["ok"], true, "{}", r.stdout);
    sandbox(
        "netns add a
         expect error \"Cannot find device\" { link set nosuch up in a }
         bridge d1 in a
         expect link d1 in a kind bridge",
    )
    .ok();
}

#[test]
fn a_block_that_succeeds_fails_on_its_statement() {
    requires!(Root);
    let r = sandbox(
        "netns add a
         expect error \"out of subnets\" {
             bridge d0 in a
         }",
    )
    .fails_with("expected an error containing \"out of subnets\", but this succeeded");
    assert!(
        r.stderr.contains(":3:"),
        "on the block's statement: {}",
        r.stderr
    );
    assert!(r.stderr.contains("netsh::expect::failed"), "{}", r.stderr);
}

#[test]
fn a_block_failing_otherwise_says_how() {
    requires!(Root);
    sandbox(
        "netns add a
         expect error \"out of subnets\" { link set nosuch up in a }",
    )
    .fails_with("expected an error containing \"out of subnets\", but this failed with: Cannot find device \"nosuch\"");
}

#[test]
fn a_dry_run_shows_the_check_and_runs_nothing_of_it() {
    Netsh::dry("expect error \"out of subnets\" { lease in docker4 }")
        .run()
        .ok()
        .stdout_is(
            "# netsh: expect error \"out of subnets\" { ... } (the block runs and is undone)\n",
        );
}

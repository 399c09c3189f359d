//! End-to-end tests of the suite as a user runs it: `sila` in front, the tool binaries behind it,
//! the local emulator as AWS. The binaries come from this build's target directory
//! (`cargo test --workspace` builds them all).

mod umbrella;

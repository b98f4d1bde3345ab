fn main() {
    std::process::exit(netsh::cli::main());
}

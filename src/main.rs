fn main() {
    std::process::exit(netsh::app::cli::main());
}

#!/usr/bin/env bash
# Debian's Rust and C toolchains for the Rust SDK (sdk/rust), the Rust examples
# (modules/examples/rust) and the C example (modules/examples/c).
#
# rustup cannot add WebAssembly targets on this project's machines, so the build uses Debian's
# rustc (1.63) with its packaged wasm32 standard libraries, and serde/serde_json from Debian's
# crate registry (/usr/share/cargo/registry, used offline through each crate's .cargo/config.toml).
# A rustup toolchain earlier on PATH (~/.cargo/bin) would not find those targets, so every command
# here runs with Debian's cargo, rustc and rustdoc explicitly.
#
#   scripts/rust-env.sh check            exit 0 if every package below is installed
#   scripts/rust-env.sh install          install the missing ones with apt-get
#   scripts/rust-env.sh cargo ARGS...    run Debian's cargo (with RUSTC and RUSTDOC set to Debian's)
#   scripts/rust-env.sh CMD ARGS...      run any command with that environment
#   . scripts/rust-env.sh                set that environment in the current shell
#
# Examples (cargo reads .cargo/config.toml from the current directory, so run it from the crate):
#
#   (cd modules/examples/rust && ../../../scripts/rust-env.sh cargo build --release --locked --target wasm32-wasi)
#   (cd sdk/rust && ../../scripts/rust-env.sh cargo test --locked)

RUST_APT_PACKAGES="rustc cargo libstd-rust-dev-wasm32 lld-14 librust-serde-json-dev librust-serde-derive-dev clang lld wasi-libc libclang-rt-14-dev-wasm32"

export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export CARGO=/usr/bin/cargo
# Cargo's offline mode also comes from the crates' .cargo/config.toml; this covers other callers.
export CARGO_NET_OFFLINE=true

rust_env_check() {
    [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && [ -x /usr/bin/rustdoc ] &&
        [ -d /usr/lib/rustlib/wasm32-wasi/lib ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ] &&
        compgen -G '/usr/share/cargo/registry/serde_json-*' >/dev/null &&
        compgen -G '/usr/share/cargo/registry/serde_derive-*' >/dev/null &&
        command -v clang >/dev/null && command -v wasm-ld >/dev/null &&
        [ -f /usr/lib/wasm32-wasi/libc.a ] &&
        compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null
}

# Sourced: leave the environment set and stop here.
(return 0 2>/dev/null) && return 0

set -euo pipefail
case "${1:-}" in
"")
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
check)
    rust_env_check
    ;;
install)
    if ! rust_env_check; then
        echo "installing $RUST_APT_PACKAGES with apt-get" >&2
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $RUST_APT_PACKAGES
        rust_env_check || { echo "rust-env.sh: the toolchain is still incomplete after apt-get" >&2; exit 1; }
    fi
    ;;
cargo)
    shift
    exec /usr/bin/cargo "$@"
    ;;
*)
    exec "$@"
    ;;
esac

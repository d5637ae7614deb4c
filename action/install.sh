#!/usr/bin/env bash
# Install readygate for this runner: the release asset for the runner's OS and
# architecture at the action's ref, verified against the release's
# SHA256SUMS; when there is no such asset (a branch or commit ref, or a
# platform without a build), build from the action's own source with cargo.
# Writes the binary's path to the `bin` step output.
set -euo pipefail
: "${GITHUB_ACTION_PATH:?set by the runner}"
dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/readygate"
mkdir -p "$dest/bin"

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-gnu ;;
    macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
    macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
    Windows/X64) target=x86_64-pc-windows-msvc ;;
    *) target="" ;;
esac
exe=""
if [[ "${RUNNER_OS:-}" == Windows ]]; then exe=.exe; fi

sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

ref="${ACTION_REF:-}"
repo="${ACTION_REPOSITORY:-}"
installed=""
if [[ -n "$target" && -n "$repo" && "$ref" == v* ]]; then
    asset="readygate-$ref-$target.tar.gz"
    base="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/$ref"
    tmp=$(mktemp -d)
    if curl -fsSL --retry 3 -o "$tmp/$asset" "$base/$asset" &&
        curl -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$base/SHA256SUMS"; then
        if ! (cd "$tmp" && grep " $asset\$" SHA256SUMS | sha256 -c - >/dev/null); then
            echo "::error title=readygate install::$asset does not match the SHA256SUMS of release $ref"
            exit 1
        fi
        tar -xzf "$tmp/$asset" -C "$dest/bin" "readygate$exe"
        installed="release $ref for $target (checksum verified)"
    fi
fi
if [[ -z "$installed" ]]; then
    echo "No release asset for ref '${ref:-none}' on ${target:-this platform}: building from source with cargo"
    # READYGATE_CARGO_FLAGS: extra flags for this fallback (e.g. --debug).
    # shellcheck disable=SC2086
    cargo install --locked --path "$GITHUB_ACTION_PATH" --root "$dest" ${READYGATE_CARGO_FLAGS:-}
    installed="built from source"
fi
echo "readygate $("$dest/bin/readygate$exe" --version | cut -d' ' -f2): $installed"
echo "bin=$dest/bin/readygate$exe" >>"${GITHUB_OUTPUT:-/dev/null}"
echo "$dest/bin" >>"${GITHUB_PATH:-/dev/null}"

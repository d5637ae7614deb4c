#!/usr/bin/env bash
# Install readygate for this runner: the release asset for the runner's OS and
# architecture at the action's ref (a tag, a commit SHA that a release tag
# points at, or the `version` input), verified against the release's
# SHA256SUMS; when there is no such asset (a branch, an untagged commit, a
# platform without a build), build from the action's own source with cargo
# and say why in one line.
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

ref="${ACTION_VERSION:-${ACTION_REF:-}}"
repo="${ACTION_REPOSITORY:-}"
server="${GITHUB_SERVER_URL:-https://github.com}"
installed=""
why=""
# Pinned to a full commit SHA (what security guides recommend): the release
# tag at that commit, if there is one (git ls-remote; annotated tags peel
# to `TAG^{}`).
if [[ "$ref" =~ ^[0-9a-f]{40}$ && -n "$repo" ]]; then
    tag=$(git ls-remote --tags "$server/$repo" 2>/dev/null |
        awk -v sha="$ref" '$1 == sha { t = $2; sub("^refs/tags/", "", t); sub("\\^\\{\\}$", "", t); if (t ~ /^v/) { print t; exit } }' || true)
    if [[ -n "$tag" ]]; then
        echo "The action's commit $ref is release $tag"
        ref="$tag"
    else
        why="commit $ref is not a release tag (set the action's version input to install a release)"
    fi
fi
if [[ -z "$target" ]]; then
    why="no release build for ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}"
elif [[ -z "$why" && "$ref" != v* ]]; then
    why="ref '${ref:-none}' is not a release tag"
fi
if [[ -z "$why" && -n "$repo" ]]; then
    asset="readygate-$ref-$target.tar.gz"
    base="$server/$repo/releases/download/$ref"
    tmp=$(mktemp -d)
    if curl -fsSL --retry 3 -o "$tmp/$asset" "$base/$asset" &&
        curl -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$base/SHA256SUMS"; then
        if ! (cd "$tmp" && grep " $asset\$" SHA256SUMS | sha256 -c - >/dev/null); then
            echo "::error title=readygate install::$asset does not match the SHA256SUMS of release $ref"
            exit 1
        fi
        tar -xzf "$tmp/$asset" -C "$dest/bin" "readygate$exe"
        installed="release $ref for $target (checksum verified)"
    else
        why="release $ref has no $asset to download"
    fi
fi
if [[ -z "$installed" ]]; then
    echo "Building readygate from source with cargo: ${why:-no repository to download a release from}"
    # READYGATE_CARGO_FLAGS: extra flags for this fallback (e.g. --debug).
    # shellcheck disable=SC2086
    cargo install --locked --path "$GITHUB_ACTION_PATH" --root "$dest" ${READYGATE_CARGO_FLAGS:-}
    installed="built from source"
fi
echo "readygate $("$dest/bin/readygate$exe" --version | cut -d' ' -f2): $installed"
echo "bin=$dest/bin/readygate$exe" >>"${GITHUB_OUTPUT:-/dev/null}"
echo "$dest/bin" >>"${GITHUB_PATH:-/dev/null}"

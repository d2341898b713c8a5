#!/usr/bin/env bash
# The Lambda Runtime Interface Emulator (aws-lambda-rie, the emulator inside
# SAM's build images) for `make invoke` and `make invoke-test`: built from
# its Go module through the Go module proxy into .cache/bin, no Docker.
#
# Usage: scripts/install-rie.sh [install|path|latest]
#
#   install  (default) install the pinned version unless it is there already
#   path     print the emulator's path (after installing it)
#   latest   print what the module proxy serves now, to move the pin
#
# The module has no tagged versions: `go list -m -versions` lists none, so
# the pin is the pseudo-version `go list -m ...@latest` gave. Environment:
#   RIE_VERSION  another version of the module
#   GO           the go command (default go)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
VERSION="${RIE_VERSION:-v0.0.0-20261030222936-bef5c4ba774d}"
BIN_DIR="$ROOT/.cache/bin"
BIN="$BIN_DIR/aws-lambda-rie"
GO="${GO:-go}"

log() { printf 'install-rie: %s\n' "$*" >&2; }

installed_version() {
	[[ -x "$BIN" ]] || return 0
	"$GO" version -m "$BIN" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 }'
}

install() {
	if [[ "$(installed_version)" == "$VERSION" ]]; then
		return
	fi
	command -v "$GO" >/dev/null || { log "error: $GO not found"; exit 1; }
	log "installing aws-lambda-rie $VERSION into $BIN_DIR (go install from the module proxy)"
	local t0=$SECONDS
	mkdir -p "$BIN_DIR"
	# The emulator is a tool of this machine, not a Lambda binary: no GOOS/GOARCH from outside.
	env -u GOOS -u GOARCH GOBIN="$BIN_DIR" "$GO" install "$MODULE/cmd/aws-lambda-rie@$VERSION"
	[[ "$(installed_version)" == "$VERSION" ]] || { log "error: $BIN does not report $VERSION after go install"; exit 1; }
	log "aws-lambda-rie installed in $((SECONDS - t0))s"
}

case "${1:-install}" in
install) install ;;
path)
	install
	echo "$BIN"
	;;
latest)
	"$GO" list -m -versions "$MODULE"
	"$GO" list -m "$MODULE@latest"
	;;
*)
	echo "usage: $0 [install|path|latest]" >&2
	exit 2
	;;
esac

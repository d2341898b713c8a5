#!/usr/bin/env bash
# Checks the shape of the tree that make test keeps true:
#  - each function's binary links only its own use case and the AWS
#    clients it calls (go list -deps ./functions/<name>);
#  - no command or function links the testing package;
#  - go.mod and go.sum are tidy.
# Prints what is wrong and exits 1; prints one line and exits 0 otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
module=$($GO list -m)

# Each function: its use case, and the AWS service clients it may link.
# The SDK's credential chain brings sts, sso, ssooidc and signin into
# every binary; they are not listed.
declare -A usecase=(
  [productapi]=internal/product
  [callback]=internal/connect
  [events]=internal/productevents
  [refresh]=internal/refresh
  [sync]=internal/submission
)
declare -A clients=(
  [productapi]="dynamodb secretsmanager lambda"
  [callback]="dynamodb secretsmanager lambda kms"
  [events]="eventbridge"
  [refresh]="dynamodb secretsmanager lambda kms"
  [sync]="dynamodb secretsmanager sqs lambda kms"
)
credential_chain="sts sso ssooidc signin"
problems=()

for dir in functions/*/; do
  name=$(basename "$dir")
  if [[ -z ${usecase[$name]+x} ]]; then
    problems+=("functions/$name: not in scripts/check-layout.sh's table of use cases and clients")
    continue
  fi
  deps=$($GO list -deps "./functions/$name")
  for other in "${!usecase[@]}"; do
    [[ $other == "$name" ]] && continue
    if grep -qx "$module/${usecase[$other]}" <<<"$deps"; then
      problems+=("functions/$name links ${usecase[$other]}, the $other function's use case")
    fi
  done
  for svc in $(grep -oE '^github.com/aws/aws-sdk-go-v2/service/[a-z0-9]+$' <<<"$deps" | sed 's#.*/##'); do
    if ! grep -qw "$svc" <<<"${clients[$name]} $credential_chain"; then
      problems+=("functions/$name links the AWS $svc client, which it does not call")
    fi
  done
done

for pkg in $($GO list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./...); do
  if $GO list -deps "$pkg" | grep -qx testing; then
    why=$($GO list -deps -f '{{.ImportPath}} {{join .Imports " "}}' "$pkg" | awk '$0 ~ / testing( |$)/ {print $1}' | head -3 | tr '\n' ' ')
    problems+=("${pkg#"$module"/} links the testing package (through: $why)")
  fi
done

if ! $GO mod tidy -diff >/dev/null 2>&1; then
  problems+=("go mod tidy would change go.mod or go.sum: run go mod tidy")
fi

if ((${#problems[@]})); then
  printf 'layout: %s\n' "${problems[@]}"
  exit 1
fi
echo "layout: every function links only its own use case and clients; no binary links testing; go.mod is tidy"

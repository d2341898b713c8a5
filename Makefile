# zohoconnect: the one place to build, test and run things.
#
#   make demo        the whole story locally (no AWS, Zoho or Docker)
#   make dev         the API on 127.0.0.1:8080 with a simulated Zoho
#   make test        THE test command (README, .ci/run): installs what is
#                    missing, gofmt + vet + layout, lint-template, unit tests,
#                    then integration tests against a local stack it starts
#                    and stops, every function's bootstrap under the Lambda
#                    Runtime Interface Emulator with every sample event
#                    (invoke-test), then sam build (lint-template already
#                    lints the SAM transform, which sam validate --lint
#                    does less strictly: make validate runs both).
#   make build       bin/<function>/bootstrap for linux/arm64, every
#                    functions/<name>; sam build runs the same recipe
#   make lint-template  cfn-lint (pinned) on template.yaml and on its SAM
#                    transform; any error fails
#   make zohoconnect bin/zohoconnect, the operator's command
#   make stack-up    start DynamoDB Local + moto; then: . .cache/localstack.env
#   make stack-down  stop them
#   make validate    sam validate --lint and make lint-template
#   make invoke      a function's real bootstrap under the Lambda Runtime
#                    Interface Emulator, no Docker: EVENT=events/... [FUNCTION=...]
#   make invoke-test every sample event through every function's bootstrap
#                    under the emulator (make test runs it)
#   make sam-local-invoke  sam local invoke (needs Docker): FUNCTION=... EVENT=...
#   make rie         install the emulator (aws-lambda-rie) into .cache/bin
#   make bench       benchmarks, with the local stack
#   make syncbench   cmd/syncbench on its own local stack: the warm
#                    submission path, then a burst of BURST (1000) at one
#                    Free-edition org, drained
#   make fuzz        every Fuzz* target for FUZZTIME each
#   make clean       build output; make distclean also drops .venv and .cache

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

GO        ?= go
PYTHON    ?= python3
VENV      := .venv
SAM       := $(VENV)/bin/sam
SAM_CLI_VERSION ?= 1.170.0
# make lint-template's cfn-lint; within what SAM CLI accepts (>=1.52,<1.59),
# so pip installs both into one .venv.
CFN_LINT_VERSION ?= 1.58.0
# Names the versions installed: changing one installs again.
PY_TOOLS  := $(VENV)/.tools-sam-$(SAM_CLI_VERSION)-cfn-lint-$(CFN_LINT_VERSION)
CACHE     := .cache
# Every functions/<name> with a main.go (EventsFunction's too, once it is there).
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
# What template.yaml's Globals say (Architectures: [arm64]).
LAMBDA_GOARCH ?= arm64
# Integration test packages in parallel: every test has its own tables,
# secrets and queues, so packages do not meet.
INTEGRATION_P ?= 2
FUZZTIME  ?= 10s
# Packages for vet and the tests (e.g. make test PKGS=./internal/testenv/...).
PKGS      ?= ./...
# make invoke: the function defaults to the one the template delivers EVENT to.
FUNCTION  ?=
EVENT     ?= events/connect.json
DEV_PORT  ?= 8080
# make demo and make dev: the template's TokenStore (SecretsManager or
# DynamoDB).
TOKEN_STORE ?= SecretsManager
# More cmd/dev flags, e.g. DEV_FLAGS=-anonymous (AllowAnonymousConnect=true).
DEV_FLAGS ?=

# The Go toolchain go.mod's `toolchain` line names, fetched from the module
# proxy when the local one is older (machines here set GOTOOLCHAIN=local,
# which would ignore that line).
export GOTOOLCHAIN := auto
export SAM_CLI_TELEMETRY := 0
export SAM_CLI_CONTAINER_CONNECTION_TIMEOUT := 60

GO_FILES = $(shell find . -name '*.go' -not -path './.*' -not -path './bin/*' -not -path './node_modules/*')

.PHONY: demo dev zohoconnect test tools fmt-check vet layout unit integration sam-validate sam-build \
	lint-template build validate stack-up stack-down stack-status invoke invoke-test sam-local-invoke rie bench syncbench fuzz clean distclean

# ---------------------------------------------------------------- install

# pip's own cache (~/.cache/pip) outlives a fresh clone, as ~/.m2 does for
# DynamoDB Local.
$(PY_TOOLS):
	@echo "make: installing SAM CLI $(SAM_CLI_VERSION) and cfn-lint $(CFN_LINT_VERSION) into $(VENV)"
	@start=$$SECONDS; \
	$(PYTHON) -m venv $(VENV); \
	$(VENV)/bin/pip install -q --disable-pip-version-check \
		'aws-sam-cli==$(SAM_CLI_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)'; \
	rm -f $(VENV)/.tools-*; touch $@; \
	echo "make: SAM CLI and cfn-lint installed in $$((SECONDS - start))s"

tools: $(PY_TOOLS)
	@scripts/localstack.sh install
	@scripts/install-chromium.sh

# ---------------------------------------------------------------- test

# The local stack lives in a state dir of this run, so a `make stack-up`
# stack (or another make test) is left alone; the trap stops it on any exit.
test: tools rie fmt-check vet layout lint-template unit
	@state="$(CURDIR)/$(CACHE)/test-stack.$$$$"; \
	export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
	trap 'scripts/localstack.sh stop || true; rm -rf "$$state"' EXIT; \
	scripts/localstack.sh start; \
	. "$$LOCALSTACK_ENV_FILE"; \
	$(MAKE) integration; \
	$(MAKE) invoke-test
	@$(MAKE) sam-build
	@echo "make test: all passed"

fmt-check:
	@out=$$(gofmt -l $(GO_FILES)); \
	if [[ -n "$$out" ]]; then echo "gofmt: these files need gofmt -w:"; echo "$$out"; exit 1; fi

# One vet with every tag: no file is left out by a tag, so this covers
# what a vet without tags would (and compiles everything once).
vet:
	$(GO) vet -tags integration,rie $(PKGS)

# Each function links only its own use case and AWS clients, no binary
# links testing, go.mod is tidy (scripts/check-layout.sh).
layout:
	@GO=$(GO) scripts/check-layout.sh

# Unit tests run without the stack's variables: they must not need it.
unit:
	env -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_SECRETS_MANAGER -u AWS_ENDPOINT_URL_SQS \
		$(GO) test $(PKGS)

# Needs the stack's variables (make test sets them; or make stack-up and
# . .cache/localstack.env first).
integration:
	$(GO) test -tags integration -count=1 -p $(INTEGRATION_P) $(PKGS)

sam-validate: $(PY_TOOLS)
	$(SAM) validate --lint

# sam validate --lint misses what only the SAM transform shows (the HTTP
# API's generated body names the functions: a cycle through it is found
# only after the transform). This transforms the template as
# CloudFormation will (aws-sam-translator, offline) and runs the pinned
# cfn-lint on the source and on the result; any error fails.
lint-template: $(PY_TOOLS)
	$(VENV)/bin/python scripts/lint-template.py template.yaml --output $(CACHE)/template.transformed.json

# sam build runs build-<LogicalId> below for each function (BuildMethod:
# makefile in template.yaml): the same recipe as make build.
sam-build: $(PY_TOOLS)
	$(SAM) build --parallel

validate: sam-validate lint-template

# ---------------------------------------------------------------- build

# The one recipe for a function's binary, for make build and sam build
# alike: linux/$(LAMBDA_GOARCH), no cgo, lambda.norpc (provided.al2023
# needs no RPC server), trimmed paths, stripped.
# $(call build-function,NAME,DIR) builds ./functions/NAME into DIR/bootstrap.
define build-function
@echo "build $(2)/bootstrap from ./functions/$(1) (linux/$(LAMBDA_GOARCH))"
@mkdir -p "$(2)"
GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath \
	-ldflags='-s -w' -o "$(2)/bootstrap" ./functions/$(1)
endef

build: $(addprefix build-bin-,$(FUNCTIONS))

build-bin-%:
	$(call build-function,$*,bin/$*)

# sam build runs `make build-CallbackFunction` (and so on) at the
# repository root with ARTIFACTS_DIR set: XyzFunction is functions/xyz.
build-%Function:
	@[[ -n "$${ARTIFACTS_DIR:-}" ]] || { echo "make $@: ARTIFACTS_DIR is not set (sam build sets it; make build builds bin/)" >&2; exit 2; }
	$(call build-function,$(shell echo '$*' | tr '[:upper:]' '[:lower:]'),$(ARTIFACTS_DIR))

# The operator's command for this machine.
zohoconnect:
	$(GO) build -o bin/zohoconnect ./cmd/zohoconnect

# ---------------------------------------------------------------- local stack

stack-up:
	@scripts/localstack.sh start
	@echo "now: . $(CACHE)/localstack.env"

stack-down:
	@scripts/localstack.sh stop

stack-status:
	@scripts/localstack.sh status

# ---------------------------------------------------------------- local invoke

# The Lambda Runtime Interface Emulator, from its Go module (no Docker).
rie:
	@scripts/install-rie.sh

# The function's real bootstrap (linux, this machine's arch, the release
# flags) under the emulator, with the template's environment, a private
# local stack and the Zoho simulator; the event is made real first (what
# it names is seeded). The answer on stdout; logs and the REPORT line on
# stderr. INVOKE_FLAGS passes more to cmd/invoke, e.g. -n 3 (warm
# invocations), -logs (every line, seeds included), -raw.
invoke: rie
	@scripts/localstack.sh install
	@state="$(CURDIR)/$(CACHE)/invoke-stack.$$$$"; \
	export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
	trap 'scripts/localstack.sh stop >/dev/null 2>&1 || true; rm -rf "$$state"' EXIT; \
	scripts/localstack.sh start; \
	. "$$LOCALSTACK_ENV_FILE"; \
	$(GO) run ./cmd/invoke -function '$(FUNCTION)' -event '$(EVENT)' -token-store '$(TOKEN_STORE)' $(INVOKE_FLAGS)

# Every sample event through its function's bootstrap under the emulator,
# lambdarun's own test and make invoke's command. In make test it uses
# that run's stack; alone, it starts one of its own.
INVOKE_TEST = $(GO) test -tags integration,rie -count=1 ./internal/lambdarun/... ./internal/localinvoke/... ./cmd/invoke/...
invoke-test: rie
	@start=$$SECONDS; \
	if [[ -n "$${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then \
		$(INVOKE_TEST); \
	else \
		state="$(CURDIR)/$(CACHE)/invoke-test-stack.$$$$"; \
		export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
		trap 'scripts/localstack.sh stop || true; rm -rf "$$state"' EXIT; \
		scripts/localstack.sh start; \
		. "$$LOCALSTACK_ENV_FILE"; \
		$(INVOKE_TEST); \
	fi; \
	echo "make invoke-test: passed in $$((SECONDS - start))s"

# sam local invoke runs the function in a container: it needs a Docker
# engine (none on the CI machines). SAM_INVOKE_FLAGS passes more, e.g.
# --env-vars .cache/env.json (from go run ./cmd/localstack -format sam).
sam-local-invoke: sam-build
	$(SAM) local invoke $(or $(FUNCTION),CallbackFunction) -e $(EVENT) $(SAM_INVOKE_FLAGS)

bench:
	@state="$(CURDIR)/$(CACHE)/bench-stack.$$$$"; \
	export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
	trap 'scripts/localstack.sh stop || true; rm -rf "$$state"' EXIT; \
	scripts/localstack.sh start; \
	. "$$LOCALSTACK_ENV_FILE"; \
	$(GO) test -tags integration -run '^$$' -bench . -benchmem $(PKGS)

BURST ?= 1000
syncbench:
	@state="$(CURDIR)/$(CACHE)/syncbench-stack.$$$$"; \
	export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
	trap 'scripts/localstack.sh stop || true; rm -rf "$$state"' EXIT; \
	scripts/localstack.sh start; \
	. "$$LOCALSTACK_ENV_FILE"; \
	$(GO) run ./cmd/syncbench -n 300; \
	$(GO) run ./cmd/syncbench -burst $(BURST)

# Runs every Fuzz* function for FUZZTIME; the corpus stays in testdata/fuzz.
fuzz:
	@found=0; \
	for file in $$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '^\./\.'); do \
		dir=$$(dirname "$$file"); \
		for fn in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$$file" | sed 's/^func //'); do \
			found=1; echo "fuzz $$dir $$fn ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "./$${dir#./}"; \
		done; \
	done; \
	[[ $$found == 1 ]] || echo "fuzz: no Fuzz functions found"

# ---------------------------------------------------------------- demo / dev

# The whole story on this machine: a private local stack, the Zoho
# simulator and the real handlers (cmd/demo); everything stops on exit.
demo:
	@scripts/localstack.sh install
	@state="$(CURDIR)/$(CACHE)/demo-stack.$$$$"; \
	export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
	trap 'scripts/localstack.sh stop >/dev/null 2>&1 || true; rm -rf "$$state"' EXIT; \
	scripts/localstack.sh start 2>/dev/null; \
	. "$$LOCALSTACK_ENV_FILE"; \
	$(GO) run ./cmd/demo -log $(CACHE)/demo.log -token-store $(TOKEN_STORE)

# The template's routes on http://127.0.0.1:$(DEV_PORT) with the simulator's
# consent page, for a browser and curl; Ctrl-C stops everything.
dev:
	@scripts/localstack.sh install
	@state="$(CURDIR)/$(CACHE)/dev-stack.$$$$"; \
	export LOCALSTACK_STATE_DIR="$$state" LOCALSTACK_ENV_FILE="$$state/localstack.env"; \
	trap 'scripts/localstack.sh stop >/dev/null 2>&1 || true; rm -rf "$$state"' EXIT; \
	scripts/localstack.sh start 2>/dev/null; \
	. "$$LOCALSTACK_ENV_FILE"; \
	$(GO) run ./cmd/dev -addr 127.0.0.1:$(DEV_PORT) -log $(CACHE)/dev.log -token-store $(TOKEN_STORE) $(DEV_FLAGS)

# ---------------------------------------------------------------- clean

clean:
	rm -rf .aws-sam bin

distclean: clean
	-scripts/localstack.sh stop
	rm -rf $(VENV) $(CACHE)

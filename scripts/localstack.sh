#!/usr/bin/env bash
# The local AWS stack for integration tests and local runs:
#   - AWS's DynamoDB Local (from Maven Central, tools/dynamodb-local/pom.xml),
#     in memory, shared database, with its DynamoDB Streams API;
#   - moto's server for Secrets Manager, SQS and EventBridge (and anything
#     else boto knows).
# Both listen on free loopback ports.
#
# Usage: scripts/localstack.sh start|stop|status|env|install
#
#   start    install what is missing, start both, wait until they answer,
#            write the env file (default .cache/localstack.env) of
#            `export NAME=value` lines; a no-op when already running
#   stop     stop both (only the processes this script started, by pid)
#   status   exit 0 when both run and answer
#   env      print the env file
#   install  fetch DynamoDB Local and make sure moto's server is importable
#
# Environment:
#   LOCALSTACK_STATE_DIR  pids and logs   (default .cache/localstack)
#   LOCALSTACK_ENV_FILE   the env file    (default .cache/localstack.env)
#   LOCALSTACK_TIMEOUT    seconds to wait for each service (default 90)
#   DYNAMODB_LOCAL_PORT, MOTO_PORT  fixed ports instead of free ones
#
# Callers clean up with a trap: trap 'scripts/localstack.sh stop' EXIT
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
STATE_DIR="${LOCALSTACK_STATE_DIR:-$CACHE/localstack}"
ENV_FILE="${LOCALSTACK_ENV_FILE:-$CACHE/localstack.env}"
TIMEOUT="${LOCALSTACK_TIMEOUT:-90}"
DDB_DIR="$CACHE/dynamodb-local"
DDB_LIB="$DDB_DIR/lib"
DDB_MAIN="software.amazon.dynamodb.services.local.main.ServerRunner"
VENV="$ROOT/.venv"

log() { printf 'localstack: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_dynamodb_local() {
	if compgen -G "$DDB_LIB/DynamoDBLocal-*.jar" >/dev/null; then
		return
	fi
	command -v java >/dev/null || die "java not found (DynamoDB Local needs a JRE 17+)"
	command -v mvn >/dev/null || die "mvn not found (it fetches DynamoDB Local from Maven Central)"
	log "fetching DynamoDB Local from Maven Central into $DDB_LIB"
	local t0=$SECONDS
	mkdir -p "$DDB_LIB"
	mvn -q -B -f "$ROOT/tools/dynamodb-local/pom.xml" dependency:copy-dependencies \
		-DoutputDirectory="$DDB_LIB" >"$DDB_DIR/mvn.log" 2>&1 ||
		{ cat "$DDB_DIR/mvn.log" >&2; die "maven could not fetch DynamoDB Local"; }
	log "DynamoDB Local fetched in $((SECONDS - t0))s"
}

# moto_python prints a python that can import moto.server, installing
# moto[server] into .venv when no python here has it.
moto_python() {
	local py
	for py in "$VENV/bin/python" python3; do
		if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import moto.server' 2>/dev/null; then
			echo "$py"
			return
		fi
	done
	log "installing moto[server] into $VENV"
	[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5,<6' >&2 ||
		die "pip could not install moto[server]"
	echo "$VENV/bin/python"
}

ddb_ready() {
	curl -sf -m 2 -X POST "http://127.0.0.1:$1/" \
		-H 'Content-Type: application/x-amz-json-1.0' \
		-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
		-d '{}' 2>/dev/null | grep -q TableNames
}

moto_ready() {
	curl -sf -m 2 -o /dev/null "http://127.0.0.1:$1/moto-api/" 2>/dev/null
}

# wait_for NAME PIDFILE LOG CHECK PORT
wait_for() {
	local name=$1 pidfile=$2 logfile=$3 check=$4 port=$5
	local deadline=$((SECONDS + TIMEOUT))
	until "$check" "$port"; do
		if ! alive "$pidfile"; then
			tail -n 30 "$logfile" >&2 || true
			die "$name exited during start (log: $logfile)"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 30 "$logfile" >&2 || true
			die "$name did not answer on 127.0.0.1:$port within ${TIMEOUT}s (log: $logfile)"
		fi
		sleep 0.2
	done
}

read_ports() {
	DDB_PORT=$(cat "$STATE_DIR/dynamodb.port" 2>/dev/null || true)
	MOTO_PORT_USED=$(cat "$STATE_DIR/moto.port" 2>/dev/null || true)
}

running() {
	read_ports
	alive "$STATE_DIR/dynamodb.pid" && alive "$STATE_DIR/moto.pid" &&
		[[ -n "$DDB_PORT" && -n "$MOTO_PORT_USED" ]] &&
		ddb_ready "$DDB_PORT" && moto_ready "$MOTO_PORT_USED"
}

write_env() {
	local ddb="http://127.0.0.1:$DDB_PORT" moto="http://127.0.0.1:$MOTO_PORT_USED"
	mkdir -p "$(dirname "$ENV_FILE")"
	cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/localstack.sh; source it: . $ENV_FILE
export AWS_ENDPOINT_URL_DYNAMODB=$ddb
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS=$ddb
export AWS_ENDPOINT_URL_SECRETS_MANAGER=$moto
export AWS_ENDPOINT_URL_SQS=$moto
export AWS_ENDPOINT_URL_EVENTBRIDGE=$moto
export AWS_ENDPOINT_URL_KMS=$moto
# No function runs in moto: local runs invoke RefreshFunction in process and
# make invoke serves its own Lambda API. This only keeps every client built
# from this environment off AWS.
export AWS_ENDPOINT_URL_LAMBDA=$moto
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
export MOTO_ENDPOINT=$moto
EOF
	mv "$ENV_FILE.tmp" "$ENV_FILE"
}

start() {
	mkdir -p "$STATE_DIR"
	if running; then
		write_env
		log "already running (DynamoDB Local :$DDB_PORT, moto :$MOTO_PORT_USED)"
		return
	fi
	stop_quiet
	command -v curl >/dev/null || die "curl not found"
	install_dynamodb_local
	local py
	py=$(moto_python)

	local t0=$SECONDS
	DDB_PORT=${DYNAMODB_LOCAL_PORT:-$(free_port)}
	MOTO_PORT_USED=${MOTO_PORT:-$(free_port)}
	echo "$DDB_PORT" >"$STATE_DIR/dynamodb.port"
	echo "$MOTO_PORT_USED" >"$STATE_DIR/moto.port"

	# sqlite4java finds its native library (copied beside the jars by
	# maven) through java.library.path.
	(
		cd "$STATE_DIR"
		exec java -Djava.library.path="$DDB_LIB" -XX:+UseSerialGC -Xmx512m \
			-cp "$DDB_LIB/*" "$DDB_MAIN" \
			-inMemory -sharedDb -disableTelemetry -port "$DDB_PORT"
	) </dev/null >"$STATE_DIR/dynamodb.log" 2>&1 &
	echo $! >"$STATE_DIR/dynamodb.pid"

	(
		cd "$STATE_DIR"
		exec "$py" -m moto.server -H 127.0.0.1 -p "$MOTO_PORT_USED"
	) </dev/null >"$STATE_DIR/moto.log" 2>&1 &
	echo $! >"$STATE_DIR/moto.pid"

	wait_for "DynamoDB Local" "$STATE_DIR/dynamodb.pid" "$STATE_DIR/dynamodb.log" ddb_ready "$DDB_PORT"
	wait_for "moto server" "$STATE_DIR/moto.pid" "$STATE_DIR/moto.log" moto_ready "$MOTO_PORT_USED"
	write_env
	log "started in $((SECONDS - t0))s: DynamoDB Local on 127.0.0.1:$DDB_PORT, moto on 127.0.0.1:$MOTO_PORT_USED; env in $ENV_FILE"
}

stop_one() {
	local pidfile=$1 pid i
	[[ -f "$pidfile" ]] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

stop_quiet() {
	stop_one "$STATE_DIR/dynamodb.pid"
	stop_one "$STATE_DIR/moto.pid"
	rm -f "$STATE_DIR/dynamodb.port" "$STATE_DIR/moto.port"
}

stop() {
	stop_quiet
	rm -f "$ENV_FILE"
	log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
	if running; then
		echo "running: DynamoDB Local 127.0.0.1:$DDB_PORT, moto 127.0.0.1:$MOTO_PORT_USED"
	else
		echo "not running"
		exit 1
	fi
	;;
env)
	[[ -f "$ENV_FILE" ]] || die "no $ENV_FILE: run '$0 start' first"
	cat "$ENV_FILE"
	;;
install)
	install_dynamodb_local
	moto_python >/dev/null
	;;
*)
	echo "usage: $0 start|stop|status|env|install" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 95_tcp_tls: DOCKER_HOST=tcp:// with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. A TLS endpoint that
# demands a client certificate (socat, with certificates made here by openssl) forwards to the
# engine's socket; a run goes through it, and a client without certificates is refused clearly.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

certs="$E2E_WORK/certs"
mkdir -p "$certs"
step "a CA, a server certificate for 127.0.0.1 and a client certificate"
(
	cd "$certs"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=swarmflow-test-ca \
		-keyout ca-key.pem -out ca.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server-key.pem -out server.csr
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
		-extfile server.ext -out server-cert.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout key.pem -out client.csr
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
		-extfile client.ext -out cert.pem
) >"$E2E_WORK/openssl.log" 2>&1 || fail "openssl failed: $(tail -5 "$E2E_WORK/openssl.log")"

port=$((20000 + RANDOM % 20000))
step "TLS endpoint on 127.0.0.1:$port"
socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,cert=$certs/server-cert.pem,key=$certs/server-key.pem,cafile=$certs/ca.pem,verify=1" \
	UNIX-CONNECT:/var/run/docker.sock 2>"$E2E_WORK/socat.log" &
E2E_PIDS+=($!)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
wait_until 10 "socat listening" port_open

write_dag overtls <<EOF_DAG
dag overtls {
  task hello {
    image = "$IMAGE"
    shell = "echo over tls"
  }
}
EOF_DAG

step "a run through tcp:// with TLS and a client certificate"
DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$certs" sf_run dags test overtls
assert_eq 0 "$RC" "dags test over TLS"
run=$(latest_run_id overtls)
assert_contains "$(sf tasks logs overtls "$run" hello)" "over tls" "log fetched over TLS"

step "without a client certificate: the missing file is named"
nocert="$E2E_WORK/nocert"
mkdir -p "$nocert"
cp "$certs/ca.pem" "$nocert/"
DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$nocert" sf_run dags test overtls
assert_eq 1 "$RC" "dags test without a client certificate"
assert_contains "$OUT" "$nocert/cert.pem" "the error names the missing certificate"

step "a client certificate from another CA is refused by the endpoint"
other="$E2E_WORK/other"
mkdir -p "$other"
(
	cd "$other"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
		-keyout other-ca-key.pem -out other-ca.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=intruder -keyout key.pem -out client.csr
	openssl x509 -req -in client.csr -CA other-ca.pem -CAkey other-ca-key.pem -CAcreateserial \
		-days 2 -out cert.pem
	cp "$certs/ca.pem" ca.pem
) >>"$E2E_WORK/openssl.log" 2>&1 || fail "openssl failed"
DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$other" sf_run dags test overtls
assert_eq 1 "$RC" "dags test with a foreign client certificate"
assert_contains "$OUT" "127.0.0.1:$port" "the error names the engine address"
assert_eq 1 "$(runs_json overtls | jq length)" "runs: only the one that went through"

step "plain HTTP to a TLS port fails clearly"
DOCKER_HOST="tcp://127.0.0.1:$port" sf_run dags test overtls
assert_eq 1 "$RC" "dags test in plain HTTP against TLS"
assert_contains "$OUT" "127.0.0.1:$port" "the error names the engine address"
echo "ok"

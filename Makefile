.PHONY: install build start test test-unit lint format migrate loadtest load chaos chaos-local up dev status down

install:
	npm ci

build:
	npm run build

start:
	npm start

# The same command as `npm test`: starts throw-away PostgreSQL, Redis and Kafka, runs every test.
test:
	npm test

test-unit:
	npm run test:unit

lint:
	npm run lint

format:
	npm run format

migrate:
	npm run migrate

# k6 chat load (loadtest/k6/chat-load.js, see loadtest/k6/README.md) against BASE_URL, by
# default the kind platform's gateway as forwarded to this machine. Needs k6 v1.6 or later;
# K6_ARGS adds options or parameters (K6_ARGS="-e RATE=200 -e DURATION=5m"). Exits non-zero
# when a threshold is crossed; the JSON summary goes to .cache/k6/.
BASE_URL ?= http://127.0.0.1:8080
K6 ?= k6
load:
	@mkdir -p .cache/k6
	$(K6) run -e BASE_URL=$(BASE_URL) -e SUMMARY_JSON=.cache/k6/chat-load-summary.json $(K6_ARGS) loadtest/k6/chat-load.js

# kubectl chaos experiments against the kind platform (scripts/chaos/*.sh, docs/chaos.md), each
# under load from the k6 chaos companion and ending with its verdict line; CHAOS picks some
# (CHAOS="gateway-pod-kill redis-pod-kill"). Needs kubectl, k6 v1.6+, and the verifier and the
# recovery probe built here. Runs every experiment, then exits non-zero if any failed.
CHAOS ?= gateway-pod-kill gateway-rolling-restart gateway-scale-out kafka-broker-kill redis-pod-kill postgres-primary-kill gateway-partition node-drain
chaos:
	npm run --silent build
	npx tsc -p loadtest/chaos/tsconfig.json
	@status=0; for e in $(CHAOS); do BASE_URL=$(BASE_URL) K6=$(K6) bash scripts/chaos/$$e.sh || status=1; done; exit $$status

# The same faults on processes of this machine (npm run chaos -- local NAME; CHAOS_LOCAL=all).
CHAOS_LOCAL ?= all
chaos-local:
	npm run chaos -- local $(CHAOS_LOCAL)

# The kind platform (docs/kubernetes.md): a kind cluster with Strimzi Kafka, CloudNativePG,
# Valkey, kube-prometheus-stack, KEDA, Envoy Gateway, metrics-server and Mailpit, the image built
# and loaded, both charts installed, a smoke test at the end. Needs docker, kind, kubectl, helm.
up:
	bash scripts/platform/up.sh

# skaffold's build-deploy loop against that cluster (after make up).
dev:
	skaffold dev

status:
	bash scripts/platform/status.sh

down:
	bash scripts/platform/down.sh

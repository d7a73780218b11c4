.PHONY: install build start test test-unit lint format migrate loadtest

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

// Package e2e is the end-to-end suite of starsink on the real stack:
// PostgreSQL 15 → Debezium (PostgreSQL connector on Kafka Connect 4.0) →
// Kafka 4.0 (KRaft) → starsink replicas → the StarRocks emulator, all as
// local processes on 127.0.0.1.
//
// The scripts start the stack (run.sh is the one entry point; fetch.sh,
// pg.sh and kafka.sh are its parts) and the scenarios are the Go tests
// TestIntegrationEndToEnd, TestIntegrationMatrix and TestIntegrationRepair,
// built only with the e2e tag so that a plain `go test ./...` skips them.
// Run them with
//
//	bash e2e/run.sh                 # the whole scenario
//	bash e2e/run.sh --capture-only  # refresh debezium/testdata/captured/
//	bash e2e/run.sh --no-secure --repair 2.6-raw-schemas  # the repair scenario alone
//
// E2E_BULK_ROWS scales the bulk insert (default 950000) and E2E_CHANGE_ROWS
// the bulk update and delete (default 200000).
package e2e

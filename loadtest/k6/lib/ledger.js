// The loss verifier's ledger (services/verify/ledger.ts). k6 cannot write files from a VU, so
// records go through the console, one line each, after a fixed prefix:
//   k6 run --log-format=raw --console-output=ledger.log chaos-companion.js
//   node dist/main.js verify --ledger ledger.log --base-url ... --password ...
// The verifier also reads k6's json and default (logfmt) log formats. --console-output appends:
// give every run a fresh file.
export const LEDGER_PREFIX = 'signalink-ledger ';

export function writeLedger(record) {
  console.log(`${LEDGER_PREFIX}${JSON.stringify(record)}`);
}

export function isoNow() {
  return new Date().toISOString();
}

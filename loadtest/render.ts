/**
 * Re-prints the tables and targets of a saved result file (loadtest/results/<run>-….json),
 * with the current table code: `node .cache/loadtest/loadtest/render.js <file>`.
 */
import { readFileSync } from 'node:fs';
import type { Scenario } from './lib/harness.js';
import { renderTable, targetsTable } from './lib/report.js';
import { crash } from './scenarios/crash.js';
import { fanout } from './scenarios/fanout.js';
import { idle } from './scenarios/idle.js';
import { throughput } from './scenarios/throughput.js';

const SCENARIOS = [idle, fanout, throughput, crash] as Scenario<unknown>[];

for (const file of process.argv.slice(2)) {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    scenario: string;
    results: Parameters<Scenario<unknown>['tables']>[0];
  };
  const scenario = SCENARIOS.find((s) => s.name === saved.scenario);
  if (!scenario) throw new Error(`${file}: unknown scenario ${saved.scenario}`);
  process.stdout.write(
    `${scenario.tables(saved.results).map(renderTable).join('\n\n')}\n\n${renderTable(targetsTable(scenario.targets(saved.results)))}\n\n`,
  );
}

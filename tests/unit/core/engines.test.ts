import { loadConfig } from '../../../services/core/config.js';
import { describeEngines } from '../../../services/core/engines.js';

describe('describeEngines', () => {
  it('with no configuration, names the embedded and memory engines and how to switch each', () => {
    const report = describeEngines(loadConfig({}));
    expect(report.database).toMatch(/embedded PostgreSQL/);
    expect(report.realtime).toMatch(/memory/);
    expect(report.realtime).toMatch(/one process only/);
    expect(report.events).toMatch(/in-process/);
    expect(report.toSwitch.join(' ')).toMatch(/DATABASE_URL.*REDIS_URL.*KAFKA_BROKERS/);
  });

  it('with every dependency configured, has nothing to suggest', () => {
    const report = describeEngines(
      loadConfig({
        DATABASE_URL: 'postgres://db/x',
        REDIS_URL: 'redis://r:6379',
        KAFKA_BROKERS: 'k1:9092,k2:9092',
      }),
    );
    expect(report.database).toBe('PostgreSQL at DATABASE_URL');
    expect(report.realtime).toMatch(/^Redis/);
    expect(report.events).toBe('Kafka at k1:9092,k2:9092');
    expect(report.toSwitch).toEqual([]);
  });
});

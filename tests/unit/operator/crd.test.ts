import { readFileSync, writeFileSync } from 'node:fs';
import { signalinkCrd } from '../../../services/operator/crd.js';
import { toYamlStream } from '../../../services/operator/yaml-stream.js';

const CRD_FILE = new URL(
  '../../../charts/signalink-operator/crds/signalink.io_signalinks.yaml',
  import.meta.url,
);

test('the committed CRD is generated from the spec schema', () => {
  const generated = toYamlStream([signalinkCrd()]);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(CRD_FILE, generated);
  expect(readFileSync(CRD_FILE, 'utf8')).toBe(generated);
});

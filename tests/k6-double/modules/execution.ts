// 'k6/execution' in the double: the properties the scripts read. Scenario information outside
// an iteration throws, as in k6.
import { runtime } from '../vu-runtime.js';

function scenario() {
  const rt = runtime();
  if (rt.phase !== 'vu' || !rt.scenario)
    throw new Error('getting scenario information outside of the VU context is not supported');
  return rt;
}

const exec = {
  get scenario() {
    const rt = scenario();
    const s = rt.scenario!;
    return {
      name: s.name,
      executor: s.executor,
      startTime: s.startTime,
      iterationInTest: rt.iterationInTest,
      iterationInInstance: rt.iterationInTest,
    };
  },
  get vu() {
    const rt = runtime();
    return {
      idInTest: rt.vuId,
      idInInstance: rt.vuId,
      iterationInInstance: rt.iter,
      iterationInScenario: rt.iterationInScenario,
    };
  },
  test: {
    abort(reason?: string): never {
      const rt = runtime();
      rt.flush();
      rt.post({ type: 'abort', reason: reason ?? 'test aborted' });
      throw new Error(`test aborted: ${reason ?? ''}`);
    },
  },
};

export default exec;

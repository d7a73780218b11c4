// Module resolution for scripts run by the k6 double: `k6` and `k6/<module>` resolve to the
// double's implementations; everything else resolves as Node would.
import { fileURLToPath } from 'node:url';

const MODULES: Record<string, string> = {
  k6: 'k6.js',
  'k6/http': 'http.js',
  'k6/metrics': 'metrics.js',
  'k6/execution': 'execution.js',
  'k6/timers': 'timers.js',
  'k6/websockets': 'websockets.js',
};

interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

export async function resolve(
  specifier: string,
  context: unknown,
  next: NextResolve,
): Promise<ResolveResult> {
  if (specifier === 'k6' || specifier.startsWith('k6/')) {
    const file = MODULES[specifier];
    if (!file)
      throw new Error(
        `the k6 double does not provide "${specifier}" (it has ${Object.keys(MODULES).join(', ')})`,
      );
    return { url: new URL(`./modules/${file}`, import.meta.url).href, shortCircuit: true };
  }
  if (/^https?:\/\//.test(specifier))
    throw new Error(
      `the k6 double does not load remote modules (${specifier}); ${fileURLToPath(import.meta.url)}`,
    );
  return next(specifier, context);
}

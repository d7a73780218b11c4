/** What /readyz reports: every dependency check passes and the process is not draining. */
export class Readiness {
  private readonly checks = new Map<string, () => Promise<void>>();
  private drainingSince: number | undefined;

  add(name: string, check: () => Promise<void>): void {
    this.checks.set(name, check);
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  async report(timeoutMs = 2000): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const results: Record<string, string> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
            }),
          ]);
          results[name] = 'ok';
        } catch (err) {
          results[name] = err instanceof Error ? err.message : 'failed';
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    if (this.draining) results.draining = 'yes';
    return {
      ready: !this.draining && Object.values(results).every((r) => r === 'ok'),
      checks: results,
    };
  }
}

import type { Condition, ConditionType } from './spec.js';

export interface ConditionUpdate {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * The next conditions: lastTransitionTime moves only when a condition's status changes (the
 * Kubernetes convention), so an unchanged world gives an identical status and no write.
 */
export function nextConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date,
  generation: number,
): Condition[] {
  return updates.map((u) => {
    const before = previous?.find((c) => c.type === u.type);
    const lastTransitionTime =
      before && before.status === u.status ? before.lastTransitionTime : now.toISOString();
    return {
      type: u.type,
      status: u.status,
      reason: u.reason,
      message: u.message,
      lastTransitionTime,
      observedGeneration: generation,
    };
  });
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The action object for a rule's validated `action`. */
import { compileContentKey, compileKey } from '../event-key.js';
import type { ActionSpec } from '../schema.js';
import type { Action, ActionContext } from './action.js';
import { AggregateAction } from './aggregate.js';
import { DedupeAction } from './dedupe.js';
import { DropAction } from './drop.js';
import { ForwardAction } from './forward.js';
import { RateLimitAction } from './rate-limit.js';
import { SampleAction } from './sample.js';

export function createAction(spec: ActionSpec, ctx: ActionContext): Action {
  switch (spec.type) {
    case 'forward':
      return new ForwardAction(ctx);
    case 'drop':
      return new DropAction();
    case 'dedupe':
      return new DedupeAction(ctx, spec.window, compileContentKey(spec.fields));
    case 'rateLimit':
      return new RateLimitAction(ctx, spec.limit, spec.interval, compileKey(spec.key));
    case 'sample':
      return new SampleAction(ctx, spec.every, compileKey(spec.key));
    case 'aggregate':
      return new AggregateAction(ctx, spec.window, compileKey(spec.key), spec.field);
  }
}

/** The priority and ttl an action forwards with, when it names them (drop forwards nothing). */
export function forwarding(spec: ActionSpec): { priority?: number; ttl?: number } {
  return spec.type === 'drop' ? {} : { priority: spec.priority, ttl: spec.ttl };
}

import { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { BadRequestError } from './domain-error.js';
import { describeIssues, safeParseForMessages } from './validation-messages.js';

/** Validates a query or body with a zod schema; a failure is a 400 naming each bad field and the rule it broke. */
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T>) {}

  transform(value: unknown, meta?: ArgumentMetadata): T {
    const result = safeParseForMessages(this.schema, value ?? (meta?.type === 'param' ? undefined : {}));
    if (result.success) return result.data;
    // A path parameter is named by the route (`messageId`); body and query fields by their path.
    const whole = meta?.type === 'param' ? { name: meta.data ?? 'path parameter', isField: true } : { name: meta?.type === 'query' ? 'query' : 'request body', isField: false };
    const problems = describeIssues(result.error.issues, whole);
    throw new BadRequestError(`Invalid request: ${problems.join('; ')}. Fix ${problems.length > 1 ? 'these' : 'this'} and retry (the fields of each route are at /docs).`, 'invalid_request');
  }
}

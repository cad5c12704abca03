import { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { BadRequestError } from './domain-error.js';

/** Validates a query or body with a zod schema; a failure is a 400 naming each bad field. */
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T>) {}

  transform(value: unknown, meta?: ArgumentMetadata): T {
    const result = this.schema.safeParse(value ?? (meta?.type === 'param' ? undefined : {}));
    if (result.success) return result.data;
    // A path parameter is named by the route (`messageId`); body and query fields by their path.
    const problems = result.error.issues.map((i) => `"${i.path.join('.') || meta?.data || 'input'}" ${i.message}`);
    throw new BadRequestError(`Invalid request: ${problems.join('; ')}. Fix these parameters and retry.`, 'invalid_request');
  }
}

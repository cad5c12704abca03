import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { z, type ZodType } from 'zod';

type JsonSchema = { properties?: Record<string, Record<string, unknown>>; required?: string[]; description?: string } & Record<string, unknown>;

/** The request side of a zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect) (what a caller sends, before transforms). */
function requestSchema(schema: ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Documents a JSON body in OpenAPI from the zod schema that validates it, so the two cannot drift apart. */
export function ApiZodBody(schema: ZodType): MethodDecorator {
  return ApiBody({ schema: requestSchema(schema) as never });
}

/** Documents each query parameter in OpenAPI from the zod schema that validates the query. */
export function ApiZodQuery(schema: ZodType): MethodDecorator {
  const js = requestSchema(schema);
  return applyDecorators(
    ...Object.entries(js.properties ?? {}).map(([name, property]) => ApiQuery({ name, required: js.required?.includes(name) ?? false, schema: property as never })),
  );
}

/**
 * OpenAPI 3.1 from the route schemas (zod through @hono/zod-openapi). Query parameters are zod
 * schemas, validated by that same declaration before the handler: a failure becomes the same
 * problem+json 400 as every other bad parameter, naming the field and what is allowed (the rule for
 * 400 and 422 is in ./query.ts). Bodies (images, DICOM, CSV, JSON) are documented
 * as JSON Schema and read by the handlers, which stream them under the body limit; JSON body
 * schemas are still written in zod and converted, so one definition documents and validates.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Hook, RouteConfig } from "@hono/zod-openapi";
import { BadInputError } from "../errors.ts";
import type { AppEnv } from "./app.ts";
import { intIn, numberIn, type Range, zodProblem } from "./query.ts";

export { z } from "@hono/zod-openapi";
export {
  caselessEnum,
  FLAG_VALUE,
  FLAG_VALUES,
  flagQuery,
  intIn,
  numberIn,
  type Range,
  validQuery,
} from "./query.ts";

/**
 * A documented route. Its answers are documented, not typed: handlers answer PNG, NDJSON, raw bytes
 * or JSON through the shared helpers and return a plain Response.
 * @example openApiRoutes().openapi(route({ method: "get", path: "/x", responses }), handler)
 */
export function route<R extends RouteConfig>(
  config: R,
): Omit<R, "responses"> & { responses: RouteConfig["responses"] } {
  return createRoute(config);
}

/** The problem+json body every error answer has (RFC 9457). */
const PROBLEM_SCHEMA = {
  type: "object",
  required: ["type", "title", "status", "detail"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string", description: "what was wrong, naming the parameter or input" },
    instance: { type: "string" },
    request_id: { type: "string" },
    field: { type: "string", description: "the parameter at fault, when there is one" },
  },
} as const;

const PROBLEM_TEXT: Record<number, string> = {
  400: "malformed input (a parameter, or a body that cannot be read as what it claims)",
  401: "MEDIMG_API_KEY is set and the key is missing or wrong",
  404: "no such model or job",
  406: "no answer format in Accept or ?format= fits",
  413: "body over the size limit",
  415: "body of a media type or encoding not accepted here",
  422: "well-formed input with impossible values, or sizes over the limits",
  503: "over the request's time budget, or busy (Retry-After)",
};

/** Error answers for a route's documentation, as problem+json. */
export function problems(
  ...statuses: number[]
): Record<
  number,
  { description: string; content: Record<string, { schema: typeof PROBLEM_SCHEMA }> }
> {
  return Object.fromEntries(
    [...new Set([400, 401, 406, 413, ...statuses])].sort().map((s) => [
      s,
      {
        description: PROBLEM_TEXT[s] ?? "error",
        content: { "application/problem+json": { schema: PROBLEM_SCHEMA } },
      },
    ]),
  );
}

/** Content of bytes (a PNG, a NIfTI, raw pixels), for request bodies and answers. */
export const BINARY = { schema: { type: "string", format: "binary" } as const };

/** Content of a JSON object, documented by the route's description. */
export const JSON_OBJECT = { schema: { type: "object" } as const };

/** A request body of raw bytes of the given media types (documented, read by the handler). */
export function bytesBody(types: string[], description: string) {
  return {
    description,
    required: true,
    content: Object.fromEntries(
      types.map((t) => [t, BINARY]),
    ),
  };
}

/**
 * A JSON request body described by a zod schema, documented as JSON Schema (the handler validates
 * with {@link parseBody} so it can stream the body under its limit).
 */
export function jsonBody(schema: z.ZodType, description: string) {
  return {
    description,
    content: {
      "application/json": {
        schema: z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>,
      },
    },
  };
}

/**
 * Validates a parsed JSON body with a zod schema; a failure is a 400 naming the field.
 * @example const body = parseBody(MaskBody, await readJsonObject(c))
 */
export function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { detail, field } = zodProblem(r.error, value);
  throw new BadInputError(detail, field ? { field } : {});
}

/** A query (or path) value that fails its declaration: a 400 naming the field and what is allowed. */
const hook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (!result.success) {
    const { detail, field } = zodProblem(
      result.error as z.ZodError,
      (result as { data?: unknown }).data, // the validator passes the input it checked
    );
    throw new BadInputError(detail, field ? { field } : {});
  }
};

/**
 * A route set whose `.openapi(createRoute(...), handler)` routes are documented and validated.
 * @example export const rleRoutes = openApiRoutes().openapi(decodeRoute, handler)
 */
export function openApiRoutes(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: hook });
}

/**
 * Query values arrive as text: an integer parameter with a message that names it, and its range
 * when it has one (see lib/http/query.ts for the 400 rule). The handler gets a number.
 */
export function intQuery(name: string, description: string, example?: number, range?: Range) {
  return intIn(name, description, range, example);
}

/** A number parameter from the query, with its range when it has one; the handler gets a number. */
export function numberQuery(name: string, description: string, example?: number, range?: Range) {
  return numberIn(name, description, range, example);
}

/**
 * One of a few values from the query, documented as an enum and validated by it: any other value
 * is a 400 naming the parameter and listing the values.
 */
export function enumQuery<const V extends readonly [string, ...string[]]>(
  values: V,
  description: string,
) {
  return z.enum(values).optional().openapi({ description });
}

/** A free-text query parameter. */
export function textQuery(description: string, example?: string) {
  return z.string().optional().openapi({ description, ...(example ? { example } : {}) });
}

/** The answer-format parameter every route takes (?format=, else Accept). */
export function formatQuery<const V extends readonly [string, ...string[]]>(formats: V) {
  return enumQuery(formats, "answer format; overrides the Accept header");
}

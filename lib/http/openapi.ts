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
import type { AppEnv } from "./env.ts";
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
 * or JSON through the shared helpers and return a plain Response. Every answer is documented with
 * the headers every answer has ({@link COMMON_HEADERS}); every route needs the API key
 * ({@link API_KEY_SECURITY}) unless it sets `security` itself (`[]` for an open route).
 * @example openApiRoutes().openapi(route({ method: "get", path: "/x", responses }), handler)
 */
export function route<R extends RouteConfig>(
  config: R,
): Omit<R, "responses"> & { responses: RouteConfig["responses"] } {
  return createRoute({
    ...config,
    security: config.security ?? API_KEY_SECURITY,
    responses: withCommonHeaders(config.responses),
  });
}

/** Adds {@link COMMON_HEADERS} (and Retry-After, WWW-Authenticate where they are sent) to answers. */
function withCommonHeaders(responses: RouteConfig["responses"]): RouteConfig["responses"] {
  return Object.fromEntries(
    Object.entries(responses).map(([status, r]) => {
      if ("$ref" in r) return [status, r];
      const extra = status === "401"
        ? { "WWW-Authenticate": header('Bearer realm="medimg-edge"') }
        : status === "503"
        ? { "Retry-After": header("seconds to wait before trying again", { type: "integer" }) }
        : {};
      return [status, { ...r, headers: { ...COMMON_HEADERS, ...extra, ...(r.headers ?? {}) } }];
    }),
  );
}

/** A documented response header. */
export function header(
  description: string,
  schema: Record<string, unknown> = { type: "string" },
): { description: string; schema: Record<string, unknown> } {
  return { description, schema };
}

/** Headers every answer has, errors and streams included (lib/http/app.ts's middleware). */
export const COMMON_HEADERS = {
  "X-Request-Id": header(
    "this request's id (also request_id in problem bodies); send X-Request-Id to choose it",
  ),
  "Server-Timing": header("time per stage in ms (total, and each step the route ran)"),
};

/** Headers of raw pixel answers (application/octet-stream): how to read the bytes. */
export const RAW_HEADERS = {
  "X-Image-Width": header("columns (raw answers)", { type: "integer" }),
  "X-Image-Height": header("rows (raw answers)", { type: "integer" }),
  "X-Image-Dtype": header("sample type of raw answers, little-endian, row-major", {
    type: "string",
    enum: ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"],
  }),
};

/** Headers of answers made by a model. */
export const MODEL_HEADERS = {
  "X-Model": header("name of the model that answered"),
  "X-Model-Version": header("its version (card.json)"),
};

/**
 * The API key of lib/http/auth.ts, as the two security schemes it accepts. Enforced only where
 * MEDIMG_API_KEY is set; /health, /, /openapi.json, /docs and the page stay open.
 */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    description: "Authorization: Bearer <key>, the key being MEDIMG_API_KEY (when it is set)",
  },
  apiKeyHeader: {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "x-api-key: <key>, the same key as for Bearer",
  },
} as const;

/** Either scheme of {@link SECURITY_SCHEMES}: the requirement of every data route. */
export const API_KEY_SECURITY: { [scheme: string]: string[] }[] = [
  { bearerAuth: [] },
  { apiKeyHeader: [] },
];

/** What a document needs beside its paths: where to send requests (the server it came from). */
export const DOCUMENT_SERVERS = [
  { url: "/", description: "the server this document was served by" },
];

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

/**
 * The Content-Types a route that takes one image (or mask) documents and accepts: lib/decode
 * recognises the format by its bytes, so any of these (octet-stream too) carries any format.
 */
export const IMAGE_TYPES = [
  "image/png",
  "application/dicom",
  "image/jpeg",
  "image/tiff",
  "image/gif",
  "application/octet-stream",
];

/** Content of bytes (a PNG, a NIfTI, raw pixels), for request bodies and answers. */
export const BINARY = { schema: { type: "string", format: "binary" } as const };

/**
 * Content of a JSON answer typed by a zod schema (strict objects where every field is known, so a
 * field added to the handler but not here fails tests/http/openapi_answers_test.ts).
 * @example { "application/json": jsonContent(z.strictObject({ id: z.string() })) }
 */
export function jsonContent<T extends z.ZodType>(schema: T): { schema: T } {
  return { schema };
}

/**
 * Content of an NDJSON answer whose lines are the component schema `name` (put in the document by
 * {@link withSchemas}); JSON Schema's `$defs` names it, since OpenAPI 3.1 has no item schema.
 * @example { "application/x-ndjson": ndjsonContent("RleBatchLine") }
 */
export function ndjsonContent(name: string) {
  return {
    schema: {
      type: "string",
      description: `one JSON object per line: components.schemas.${name}`,
      $defs: { line: { $ref: `#/components/schemas/${name}` } },
    } as const,
  };
}

/** A request body with several media types (e.g. raw bytes beside a multipart form). */
export function body(
  description: string,
  content: Record<string, Record<string, unknown>>,
): { description: string; required: true; content: Record<string, Record<string, unknown>> } {
  return { description, required: true, content };
}

/** Raw-bytes content for each of `types`, for {@link body}. */
export function binaryContent(types: string[]): Record<string, typeof BINARY> {
  return Object.fromEntries(types.map((t) => [t, BINARY]));
}

/** One file part of a multipart form. */
export function filePart(description: string) {
  return { type: "string", format: "binary", description } as const;
}

/** Several file parts of one name in a multipart form. */
export function fileParts(description: string) {
  return { type: "array", items: { type: "string", format: "binary" }, description } as const;
}

/**
 * multipart/form-data content naming its parts, so Swagger UI's Try-it-out offers a field for
 * each; `types` gives each file part's accepted media types.
 * @example formContent({ image: filePart("the image") }, ["image"], { image: ["image/png"] })
 */
export function formContent(
  properties: Record<string, Record<string, unknown>>,
  required: string[],
  types: Record<string, string[]> = {},
): Record<string, Record<string, unknown>> {
  return {
    "multipart/form-data": {
      schema: { type: "object", required, properties },
      ...(Object.keys(types).length
        ? {
          encoding: Object.fromEntries(
            Object.entries(types).map(([k, t]) => [k, { contentType: t.join(", ") }]),
          ),
        }
        : {}),
    },
  };
}

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
  const routes = new OpenAPIHono<AppEnv>({ defaultHook: hook });
  // Components travel with the routes when they are mounted, so each document declares them.
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    routes.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
  return routes;
}

/**
 * Puts zod schemas in the document's components.schemas by name, for what an answer holds but
 * cannot be a response schema (an NDJSON line, a Server-Sent Event's data).
 * @example withSchemas(openApiRoutes(), { RleBatchLine })
 */
export function withSchemas(
  routes: OpenAPIHono<AppEnv>,
  schemas: Record<string, z.ZodType>,
): OpenAPIHono<AppEnv> {
  for (const [name, schema] of Object.entries(schemas)) {
    routes.openAPIRegistry.register(name, schema);
  }
  return routes;
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

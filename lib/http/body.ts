/**
 * Request bodies: a size limit that counts bytes as they stream (hono's body-limit buffers a
 * chunked body whole, which /rle/batch must not do), and readers that turn transport failures into
 * typed errors.
 */
import type { Context, MiddlewareHandler } from "hono";
import { BadInputError, PayloadTooLargeError, UnsupportedError } from "../errors.ts";

/** Default largest request body: 64 MiB (MEDIMG_BODY_LIMIT overrides it, in bytes). */
export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body is over the limit of ${limit} bytes`, { limit });
}

/**
 * Refuses bodies over `limit(c)` bytes: at once from Content-Length, else while streaming.
 * @example app.use(limitBody(() => 1 << 20))
 */
export function limitBody(limit: (c: Context) => number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const max = limit(c);
    const declared = Number(c.req.header("content-length"));
    if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
    let seen = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          seen += chunk.byteLength;
          if (seen > max) ctl.error(tooLarge(max));
          else ctl.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: "half" } as RequestInit);
    await next();
  };
}

async function guard<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof PayloadTooLargeError) throw err;
    throw new BadInputError(`request body could not be read as ${what}: ${(err as Error).message}`);
  }
}

/** The whole body as bytes; an empty body is a 400. */
export async function readBytes(c: Context): Promise<Uint8Array> {
  const bytes = new Uint8Array(await guard(c.req.raw.arrayBuffer(), "bytes"));
  if (bytes.length === 0) throw new BadInputError("request body is empty");
  return bytes;
}

/** The body parsed as JSON (Content-Type must say JSON); a JSON object is required. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  requireContentType(c, ["application/json"]);
  const text = await guard(c.req.raw.text(), "text");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadInputError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BadInputError("request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** The media type of the request without parameters, lower-case ("" when absent). */
export function mediaType(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** Throws 415 unless the Content-Type is one of `allowed` (a type ending in "/*" matches a family). */
export function requireContentType(c: Context, allowed: string[]): string {
  const type = mediaType(c);
  const ok = allowed.some((a) =>
    a === type || (a.endsWith("/*") && type.startsWith(a.slice(0, -1)))
  );
  if (!ok) {
    throw new UnsupportedError(
      `Content-Type ${JSON.stringify(type || "(none)")} is not accepted here; send ${
        allowed.join(" or ")
      }`,
      { field: "content-type" },
    );
  }
  return type;
}

/** What {@link readForm} reads from a multipart form. */
export interface FormSpec {
  /** File fields sent at most once; a text value there is a 400 (`<name> must be a file`). */
  files?: readonly string[];
  /** Of those, the ones the form must have (`the form has no <name> field`). */
  required?: readonly string[];
  /**
   * A file field that may repeat: all its files, in order (`each <name> field must be a file`);
   * several names: each one's files in `repeatedBy`, the first's also in `repeated`.
   */
  repeated?: string | readonly string[];
  /** Text fields: their string, or undefined when absent or sent as a file. */
  fields?: readonly string[];
  /**
   * Any file field not in `files` or `repeated` is a 400 (`unexpected file field ...: the form
   * takes ...`).
   */
  onlyFiles?: boolean;
  /** A text value in a `files` or `repeated` field counts as absent instead of a 400. */
  skipText?: boolean;
  /**
   * A file in a text field reads as its String() ("[object File]") instead of undefined, so that
   * the field's own check refuses it (mammo's lr_flip).
   */
  fileAsText?: boolean;
}

/** A form's named file bytes and strings, as {@link readForm} reads them. */
export interface FormParts {
  files: Record<string, Uint8Array | undefined>;
  repeated: Uint8Array[];
  /** The files of each repeated field, by name. */
  repeatedBy: Record<string, Uint8Array[]>;
  fields: Record<string, string | undefined>;
}

/**
 * The one multipart reader: the body as a form (a 400 when it cannot be read), then the named
 * file fields as bytes and the named text fields as strings. The caller checks the Content-Type.
 * @example const { files, fields } = await readForm(c, { files: ["image"], required: ["image"], fields: ["rle"] })
 */
export async function readForm(c: Context, spec: FormSpec): Promise<FormParts> {
  const form = await c.req.formData().catch((err) => {
    throw new BadInputError(`multipart body could not be read: ${err.message}`);
  });
  const names = spec.files ?? [];
  const repeated = typeof spec.repeated === "string" ? [spec.repeated] : spec.repeated ?? [];
  if (spec.onlyFiles) {
    const known = [...names, ...repeated.filter((r) => !names.includes(r))];
    for (const [name, value] of form.entries()) {
      if (value instanceof File && !known.includes(name)) {
        throw new BadInputError(
          `unexpected file field ${JSON.stringify(name)}: the form takes ${known.join(", ")}`,
          { field: name },
        );
      }
    }
  }
  const parts: FormParts = { files: {}, repeated: [], repeatedBy: {}, fields: {} };
  for (const name of names) {
    const f = form.get(name);
    if (f === null || (spec.skipText && !(f instanceof File))) {
      if (spec.required?.includes(name)) {
        throw new BadInputError(`the form has no ${name} field`, { field: name });
      }
      continue;
    }
    if (!(f instanceof File)) throw new BadInputError(`${name} must be a file`, { field: name });
    parts.files[name] = new Uint8Array(await f.arrayBuffer());
  }
  for (const name of repeated) {
    const list: Uint8Array[] = (parts.repeatedBy[name] = []);
    for (const f of form.getAll(name)) {
      if (spec.skipText && !(f instanceof File)) continue;
      if (!(f instanceof File)) throw new BadInputError(`each ${name} field must be a file`);
      list.push(new Uint8Array(await f.arrayBuffer()));
    }
  }
  if (repeated.length) parts.repeated = parts.repeatedBy[repeated[0]];
  for (const name of spec.fields ?? []) {
    const v = form.get(name);
    parts.fields[name] = typeof v === "string" ? v : spec.fileAsText ? v?.toString() : undefined;
  }
  return parts;
}

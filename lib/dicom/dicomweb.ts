/**
 * A DICOMweb client (plain fetch): WADO-RS series retrieval, STOW-RS storage and QIDO-RS series
 * search against a PACS named by configuration. Callers name studies and series by UID only; the
 * URL is always an allow-listed base plus validated UIDs, so no request can be pointed elsewhere.
 * Unreachable, slow or failing PACS -> UpstreamError (502); unknown study/series -> NotFoundError.
 */
import { BadInputError, LimitExceededError, NotFoundError, UpstreamError } from "../errors.ts";

/** DICOM UID grammar (PS3.5 9.1): digit components, dots between, <= 64. */
const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Throws BadInputError (400) unless `uid` is a DICOM UID. */
export function checkUid(uid: string, field = "uid"): string {
  if (typeof uid !== "string" || uid.length === 0 || uid.length > 64 || !UID.test(uid)) {
    throw new BadInputError(
      `${field} is not a DICOM UID (digits and dots, at most 64 characters)`,
      {
        field,
      },
    );
  }
  return uid;
}

/** Where the PACS is and how to authenticate to it. */
export interface DicomWebConfig {
  /** Allowed base URLs (e.g. http://pacs:8042/dicom-web); the first is the default. */
  bases: string[];
  /** The Authorization header value, when the PACS wants one. */
  auth?: string;
}

/** The configuration from MEDIMG_DICOMWEB_URL (a comma list) and MEDIMG_DICOMWEB_AUTH. */
export function configFromEnv(
  env: { get(key: string): string | undefined } = Deno.env,
): DicomWebConfig | undefined {
  const raw = env.get("MEDIMG_DICOMWEB_URL");
  if (!raw) return undefined;
  const bases = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (bases.length === 0) return undefined;
  const auth = env.get("MEDIMG_DICOMWEB_AUTH") || undefined;
  return { bases, auth };
}

/** Per-request options: the caller passes its remaining time budget as a signal. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Which allowed base to use (default: the first); one not in the allow-list is refused. */
  base?: string;
  /** Largest answer read, bytes (LimitExceededError past it); default DEFAULT_ANSWER_LIMIT. */
  maxBytes?: number;
}

/** The largest PACS answer read by default (a retrieved series), bytes. */
export const DEFAULT_ANSWER_LIMIT = 1024 * 1024 * 1024;

/** One stored instance, as STOW-RS reports it. */
export interface StoredInstance {
  sopClassUID: string;
  sopInstanceUID: string;
  retrieveURL?: string;
}

/** A DICOM JSON dataset (PS3.18 F.2). */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

function normalise(base: string): string {
  return base.replace(/\/+$/, "");
}

/** A DICOMweb client bound to an allow-list of base URLs. */
export class DicomWebClient {
  readonly #bases: string[];
  readonly #auth?: string;

  constructor(config: DicomWebConfig) {
    if (config.bases.length === 0) throw new BadInputError("no DICOMweb base URL is configured");
    this.#bases = config.bases.map((b) => {
      const u = new URL(b);
      if (u.protocol !== "http:" && u.protocol !== "https:") {
        throw new BadInputError(`DICOMweb base ${b} is not http(s)`);
      }
      return normalise(u.href);
    });
    this.#auth = config.auth;
  }

  /** The allowed base for `base` (default the first); BadInputError when not allowed. */
  #base(base?: string): string {
    if (base === undefined) return this.#bases[0];
    let norm: string;
    try {
      norm = normalise(new URL(base).href);
    } catch {
      throw new BadInputError("the DICOMweb base is not a URL", { field: "base" });
    }
    if (!this.#bases.includes(norm)) {
      throw new BadInputError("the DICOMweb base is not in the allow-list (MEDIMG_DICOMWEB_URL)", {
        field: "base",
      });
    }
    return norm;
  }

  async #fetch(
    url: string,
    init: RequestInit,
    opts: RequestOptions,
    what: string,
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#auth) headers.set("authorization", this.#auth);
    let res: Response;
    try {
      // Redirects are not followed: they could lead off the allow-list (a 3xx is an UpstreamError).
      res = await fetch(url, { ...init, headers, signal: opts.signal, redirect: "manual" });
    } catch (err) {
      const timeout = opts.signal?.aborted;
      throw new UpstreamError(
        timeout
          ? `the PACS did not answer ${what} in time`
          : `the PACS is unreachable for ${what}: ${err instanceof Error ? err.message : err}`,
        { upstream: timeout ? "timeout" : "unreachable" },
      );
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new NotFoundError(`the PACS does not have ${what}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new UpstreamError(`the PACS answered ${what} with ${res.status}`, {
        upstream_status: res.status,
      });
    }
    return res;
  }

  async #bytes(res: Response, opts: RequestOptions, what: string): Promise<Uint8Array> {
    const limit = opts.maxBytes ?? DEFAULT_ANSWER_LIMIT;
    const declared = Number(res.headers.get("content-length") ?? NaN);
    const over = () =>
      new LimitExceededError(`the PACS's answer to ${what} is over ${limit} bytes`, {
        limit,
      });
    if (declared > limit) {
      await res.body?.cancel();
      throw over();
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      if (res.body) {
        for await (const chunk of res.body) {
          total += chunk.length;
          if (total > limit) throw over();
          chunks.push(chunk);
        }
      }
    } catch (err) {
      if (err instanceof LimitExceededError) throw err;
      throw new UpstreamError(
        opts.signal?.aborted
          ? `the PACS did not finish ${what} in time`
          : `the PACS broke off ${what}: ${err instanceof Error ? err.message : err}`,
        { upstream: opts.signal?.aborted ? "timeout" : "broken" },
      );
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) out.set(c, at), at += c.length;
    return out;
  }

  /** WADO-RS: every instance of a series, as DICOM Part 10 bytes. */
  async retrieveSeries(
    study: string,
    series: string,
    opts: RequestOptions = {},
  ): Promise<Uint8Array[]> {
    checkUid(study, "study");
    checkUid(series, "series");
    const what = `series ${series} of study ${study}`;
    const url = `${this.#base(opts.base)}/studies/${study}/series/${series}`;
    const res = await this.#fetch(
      url,
      {
        headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      },
      opts,
      what,
    );
    const type = res.headers.get("content-type") ?? "";
    const body = await this.#bytes(res, opts, what);
    const parts = parseMultipart(body, type);
    if (parts.length === 0) throw new NotFoundError(`the PACS has no instances of ${what}`);
    return parts;
  }

  /** STOW-RS: stores instances (Part 10 bytes); returns what the PACS reports as stored. */
  async storeInstances(
    instances: readonly Uint8Array[],
    opts: RequestOptions = {},
  ): Promise<StoredInstance[]> {
    if (instances.length === 0) return [];
    const boundary = `medimg-${crypto.randomUUID()}`;
    const enc = new TextEncoder();
    const chunks: Uint8Array[] = [];
    for (const inst of instances) {
      chunks.push(enc.encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), inst);
      chunks.push(enc.encode("\r\n"));
    }
    chunks.push(enc.encode(`--${boundary}--\r\n`));
    const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) body.set(c, at), at += c.length;
    const res = await this.#fetch(
      `${this.#base(opts.base)}/studies`,
      {
        method: "POST",
        headers: {
          "content-type": `multipart/related; type="application/dicom"; boundary=${boundary}`,
          accept: "application/dicom+json",
        },
        body,
      },
      opts,
      "the stored instances",
    );
    const json = JSON.parse(new TextDecoder().decode(await this.#bytes(res, opts, "STOW-RS")));
    const failed = (json?.["00081198"]?.Value ?? []) as DicomJson[];
    if (failed.length > 0) {
      throw new UpstreamError(
        `the PACS refused ${failed.length} of ${instances.length} instances`,
        {
          failed: failed.length,
        },
      );
    }
    const refs = (json?.["00081199"]?.Value ?? []) as DicomJson[];
    return refs.map((r) => ({
      sopClassUID: String(r["00081150"]?.Value?.[0] ?? ""),
      sopInstanceUID: String(r["00081155"]?.Value?.[0] ?? ""),
      retrieveURL: r["00081190"]?.Value?.[0] as string | undefined,
    }));
  }

  /**
   * QIDO-RS: the series matching `query` (attribute keywords or tags to values), in a study or in
   * all studies. Returns DICOM JSON datasets.
   */
  async searchSeries(
    study: string | undefined,
    query: Record<string, string> = {},
    opts: RequestOptions = {},
  ): Promise<DicomJson[]> {
    if (study !== undefined) checkUid(study, "study");
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (!/^([A-Za-z]+|[0-9A-Fa-f]{8})$/.test(k)) {
        throw new BadInputError(`query key ${k} is not a DICOM keyword or tag`, { field: k });
      }
      params.set(k, v);
    }
    const path = study === undefined ? "/series" : `/studies/${study}/series`;
    const qs = params.size > 0 ? `?${params}` : "";
    const res = await this.#fetch(
      `${this.#base(opts.base)}${path}${qs}`,
      {
        headers: { accept: "application/dicom+json" },
      },
      opts,
      study === undefined ? "the series search" : `study ${study}`,
    );
    const text = new TextDecoder().decode(await this.#bytes(res, opts, "QIDO-RS"));
    if (text.trim() === "") return [];
    return JSON.parse(text) as DicomJson[];
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (i + needle.length > hay.length) return -1;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The bodies of a multipart/related message (RFC 2046), by the boundary of `contentType`. */
export function parseMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!/^multipart\//i.test(contentType.trim()) || !m) {
    throw new UpstreamError(
      `the PACS answered with ${contentType || "no content type"}, not multipart`,
    );
  }
  const enc = new TextEncoder();
  const delim = enc.encode(`--${m[1] ?? m[2]}`);
  const crlf2 = enc.encode("\r\n\r\n");
  const parts: Uint8Array[] = [];
  let at = indexOf(body, delim, 0);
  while (at >= 0) {
    const after = at + delim.length;
    if (body[after] === 0x2d && body[after + 1] === 0x2d) break; // closing delimiter
    const headEnd = indexOf(body, crlf2, after);
    if (headEnd < 0) break;
    const start = headEnd + 4;
    // The next delimiter is preceded by CRLF, which belongs to it.
    const next = indexOf(body, enc.encode(`\r\n--${m[1] ?? m[2]}`), start);
    if (next < 0) throw new UpstreamError("the PACS's multipart answer is truncated");
    parts.push(body.subarray(start, next));
    at = next + 2;
  }
  return parts;
}

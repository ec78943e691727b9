/**
 * The page's calls to the server and the problems they answer: every failure of a call becomes
 * a ProblemError holding the problem+json body (RFC 9457) the route answered, a mistake on the
 * page an InputError naming the control to fix; showError writes either into the alert box.
 */

/** The route that tells whether each function is on this server. */
export const ROUTES = {
  rle: "/rle/decode",
  dicom: "/dicom/render",
  mammo: "/mammo/preprocess",
  slice: "/segment/slice",
  cxr: "/cxr/classify",
  volume: "/segment/volume",
  series: "/segment/series",
};
/** What each function is called in the status lines. */
export const NAMES = {
  rle: "RLE decode",
  dicom: "DICOM",
  mammo: "mammogram preprocess",
  slice: "slice segmentation",
  cxr: "chest X-ray classification",
  volume: "volume segmentation",
  series: "DICOM series segmentation",
};
/** The media type each sniffed file kind is sent as. */
export const MEDIA = {
  dicom: "application/dicom",
  png: "image/png",
  jpeg: "image/jpeg",
  tiff: "image/tiff",
  gif: "image/gif",
};

/** Typed arrays by the X-Image-Dtype of raw answers. */
export const TYPED = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** A failed call: the problem the route answered (or one made here) and the path called. */
export class ProblemError extends Error {
  constructor(problem, path) {
    super(problem.detail || problem.title || "error");
    this.problem = problem;
    this.path = path;
  }
}

/** A mistake on the page (no file, no text) with the control to fix it. */
export class InputError extends Error {
  constructor(message, control) {
    super(message);
    this.control = control;
  }
}

/**
 * One call: the answer when it is 2xx, with the round trip's milliseconds; else a ProblemError.
 * @example const { res, ms } = await call("/rle/decode", { body, type: "application/json" })
 */
export async function call(path, { method = "POST", body, type, accept } = {}) {
  const headers = {};
  if (type) headers["content-type"] = type;
  if (accept) headers.accept = accept;
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch (err) {
    throw new ProblemError({ title: "No answer", detail: `${path}: ${err.message}` }, path);
  }
  if (!res.ok) {
    const text = await res.text();
    let problem;
    try {
      problem = JSON.parse(text);
    } catch {
      problem = {
        title: res.statusText || "Error",
        status: res.status,
        detail: text.slice(0, 400),
      };
    }
    problem.status ??= res.status;
    throw new ProblemError(problem, path);
  }
  return { res, ms: performance.now() - t0, path };
}

const errorBox = document.querySelector("#error");

/** An error in the alert box: a problem's title, status, detail and members, else its message. */
export function showError(err) {
  errorBox.replaceChildren();
  const h = document.createElement("h3");
  const p = document.createElement("p");
  if (err instanceof ProblemError) {
    const pr = err.problem;
    h.textContent = `${pr.title ?? "Error"}${pr.status ? ` (${pr.status})` : ""}`;
    p.textContent = pr.detail ?? err.message;
    const extra = Object.entries(pr).filter(([k]) =>
      !["title", "status", "detail", "type"].includes(k)
    );
    const dl = document.createElement("dl");
    for (const [k, v] of [["call", err.path], ...extra]) {
      if (v === undefined) continue;
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = typeof v === "object" ? JSON.stringify(v) : String(v);
      dl.append(dt, dd);
    }
    errorBox.append(h, p, dl);
  } else {
    h.textContent = err instanceof InputError ? "Check the form" : "Something failed on this page";
    p.textContent = err.message;
    errorBox.append(h, p);
    if (err.control) document.querySelector(err.control)?.focus();
  }
  errorBox.hidden = false;
}

/** Empties and hides the alert box. */
export function clearError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
}

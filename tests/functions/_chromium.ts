/**
 * A small Chrome DevTools Protocol driver over a WebSocket, for the page's browser tests
 * (page_test.ts, page_series_test.ts): Debian's chromium, headless. playwright-core runs under Deno
 * only with --allow-all (it reads /proc/sys/fs/binfmt_misc/WSLInterop at import, which Deno grants
 * to -A alone, and wants --allow-sys); this needs only the suite's --allow-run and --allow-net.
 */
/// <reference lib="dom" />

export const CHROMIUM = "/usr/bin/chromium";
/** Whether chromium is installed (the reason printed when not). */
export const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    console.log(`skipping the browser test: ${CHROMIUM} not found (apt-get install chromium)`);
    return false;
  }
})();

// deno-lint-ignore no-explicit-any
export type Json = any;

/** One DevTools connection: commands answered by id, events to listeners. */
export class Cdp {
  #next = 1;
  #pending = new Map<number, { resolve(v: Json): void; reject(e: Error): void }>();
  #listeners: ((method: string, params: Json) => void)[] = [];
  private constructor(private ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      const p = m.id !== undefined ? this.#pending.get(m.id) : undefined;
      if (p) {
        this.#pending.delete(m.id);
        if (m.error) p.reject(new Error(`${m.error.message} (${m.error.code})`));
        else p.resolve(m.result);
      } else if (m.method) this.#listeners.forEach((l) => l(m.method, m.params));
    };
  }
  static connect(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new Cdp(ws));
      ws.onerror = () => reject(new Error(`DevTools at ${url} did not answer`));
    });
  }
  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }
  on(listener: (method: string, params: Json) => void) {
    this.#listeners.push(listener);
  }
  close() {
    this.ws.close();
  }
}

/** One tab, with the few actions the test needs, each waiting up to `timeout` ms. */
export class Tab {
  /** Uncaught exceptions and console errors of the page. */
  readonly errors: string[] = [];
  constructor(private cdp: Cdp, private session: string, private timeout = 30_000) {
    cdp.on((method, params) => {
      if (method === "Runtime.exceptionThrown") {
        const d = params.exceptionDetails;
        this.errors.push(d.exception?.description ?? d.text);
      } else if (method === "Runtime.consoleAPICalled" && params.type === "error") {
        this.errors.push(params.args.map((a: Json) => a.value ?? a.description).join(" "));
      }
    });
  }
  send(method: string, params: Json = {}): Promise<Json> {
    return this.cdp.send(method, params, this.session);
  }
  /** Runs `fn(arg)` in the page (awaiting a promise) and answers its JSON value. */
  async evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    const r = await this.send("Runtime.evaluate", {
      expression: `(${fn})(${JSON.stringify(arg ?? null)})`,
      awaitPromise: true,
      returnByValue: true,
    });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`in the page: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value as R;
  }
  async waitForFunction<A>(fn: (arg: A) => unknown, arg?: A, what = String(fn)): Promise<void> {
    const end = Date.now() + this.timeout;
    while (!(await this.evaluate(fn, arg))) {
      if (Date.now() > end) {
        throw new Error(`timed out after ${this.timeout} ms waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async goto(url: string): Promise<void> {
    await this.evaluate(() => ((globalThis as Json).__leaving = true)).catch(() => {});
    await this.send("Page.navigate", { url });
    await this.waitForFunction(
      () => document.readyState === "complete" && !(globalThis as Json).__leaving,
      undefined,
      `${url} to load`,
    );
  }
  /** `fn(element)` for the first element matching `selector` (an error when there is none). */
  $eval<R>(selector: string, fn: (el: Json) => R): Promise<R> {
    return this.evaluate(
      new Function(
        "sel",
        `const el = document.querySelector(sel);
         if (!el) throw new Error("no element matches " + sel);
         return (${fn})(el);`,
      ) as (sel: string) => R,
      selector,
    );
  }
  click(selector: string) {
    return this.$eval(selector, (el) => el.click());
  }
  check(selector: string) {
    return this.$eval(selector, (el) => el.checked || el.click());
  }
  /** Sets an input's or select's value as typing or picking would: input and change events. */
  fill(selector: string, value: string) {
    return this.evaluate(([sel, v]) => {
      const el = document.querySelector(sel) as HTMLInputElement;
      el.value = v;
      for (const type of ["input", "change"]) el.dispatchEvent(new Event(type, { bubbles: true }));
    }, [selector, value]);
  }
  async setInputFiles(selector: string, files: string | string[]): Promise<void> {
    if (typeof files === "string") files = [files];
    const { root } = await this.send("DOM.getDocument", { depth: 0 });
    const { nodeId } = await this.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    await this.send("DOM.setFileInputFiles", { nodeId, files });
  }
  /** A mouse event at viewport coordinates, as a user's pointer gives (pointer events follow). */
  mouse(type: string, x: number, y: number, extra: Json = {}) {
    return this.send("Input.dispatchMouseEvent", { type, x, y, ...extra });
  }
  /** The viewport coordinates of pixel (x, y)'s centre on a canvas, scrolled into view first. */
  canvasPoint(selector: string, x: number, y: number): Promise<[number, number]> {
    return this.evaluate(([sel, x, y]) => {
      const c = document.querySelector(sel as string) as HTMLCanvasElement;
      c.scrollIntoView({ block: "center", inline: "center" });
      const r = c.getBoundingClientRect();
      return [
        r.left + ((x as number) + 0.5) * (r.width / c.width),
        r.top + ((y as number) + 0.5) * (r.height / c.height),
      ] as [number, number];
    }, [selector, x, y]);
  }
  /** A canvas's red channel, base64. */
  async canvasGrey(selector: string): Promise<Uint8Array> {
    const b64 = await this.evaluate((sel) => {
      const c = document.querySelector(sel) as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const out = new Uint8Array(d.length / 4);
      for (let i = 0; i < out.length; i++) out[i] = d[i * 4];
      let s = "";
      for (let i = 0; i < out.length; i += 8192) {
        s += String.fromCharCode(...out.subarray(i, i + 8192));
      }
      return btoa(s);
    }, selector);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }
  /** The bytes behind every download link of the results: [name, label, base64 bytes]. */
  downloads(): Promise<[string, string, string][]> {
    return this.evaluate(async () => {
      const out: [string, string, string][] = [];
      for (const a of document.querySelectorAll<HTMLAnchorElement>("#results .downloads a")) {
        const b = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
        let s = "";
        for (let i = 0; i < b.length; i += 8192) {
          s += String.fromCharCode(...b.subarray(i, i + 8192));
        }
        out.push([a.download, a.textContent ?? "", btoa(s)]);
      }
      return out;
    });
  }
  textContent(selector: string) {
    return this.$eval(selector, (el) => el.textContent as string);
  }
  getAttribute(selector: string, name: string) {
    return this.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [
      selector,
      name,
    ]);
  }
  isVisible(selector: string) {
    return this.evaluate((s) => {
      const el = document.querySelector(s);
      return !!el && el.getClientRects().length > 0;
    }, selector);
  }
  /** The whole page (beyond the viewport) as a PNG file. */
  async screenshot(path: string): Promise<void> {
    const { cssContentSize: size } = await this.send("Page.getLayoutMetrics");
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: size.width, height: size.height, scale: 1 },
    });
    await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  }
}

/** Debian's chromium, headless, fresh profile, one 1400x1000 tab whose waits last `timeout` ms. */
export async function launchChromium(
  timeout = 30_000,
): Promise<{ tab: Tab; close(): Promise<void> }> {
  const profile = await Deno.makeTempDir({ prefix: "medimg-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--hide-scrollbars",
      "--mute-audio",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Chromium says where DevTools listens on stderr; the rest of stderr is drained, never read.
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let said = "", url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`chromium exited before DevTools listened: ${said}`);
    said += value;
    url = said.match(/DevTools listening on (ws:\/\/\S+)/)?.[1];
  }
  const drained = (async () => {
    while (!(await lines.read().catch(() => ({ done: true }))).done);
  })();
  const cdp = await Cdp.connect(url);
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  const tab = new Tab(cdp, sessionId, timeout);
  await tab.send("Runtime.enable");
  await tab.send("Page.enable");
  await tab.send("Emulation.setDeviceMetricsOverride", {
    width: 1400,
    height: 1000,
    deviceScaleFactor: 1,
    mobile: false,
  });
  return {
    tab,
    async close() {
      await cdp.send("Browser.close").catch(() => {});
      cdp.close();
      await child.status;
      await drained;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

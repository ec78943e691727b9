/**
 * What the page's modules share: the page's fixed elements (index.html) and the state of the form:
 * the chosen files, each with its sniffed kind and BraTS role, and the functions this server has
 * (all of them until /openapi.json or /health says otherwise).
 */
import { ROUTES } from "./api.js";

/** The first element matching a CSS selector. */
export const $ = (s) => document.querySelector(s);
// The elements every run uses (index.html).
export const form = $("#run-form");
export const fileInput = $("#file");
export const results = $("#results");
export const statusLine = $("#status");
export const progressBar = $("#progress");

/**
 * {files: [{file, path (in its folder), kind, role}], available: Set of function ids, openapi: the
 * spec or null}.
 */
export const state = { files: [], available: new Set(Object.keys(ROUTES)), openapi: null };

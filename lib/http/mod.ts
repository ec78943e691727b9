/** The shared edge conventions every function uses (see each module). */
export { type AppEnv, createApp, env, envInt, serve } from "./app.ts";
export { mediaType, readBytes, readForm, readJsonObject, requireContentType } from "./body.ts";
export { type Format, MEDIA_TYPES, negotiate } from "./negotiate.ts";
export { problem } from "./problem.ts";
export { intParam, numberParam, stringParam } from "./params.ts";
export { reportSteps, runSteps, stepOptions } from "./steps.ts";
export { ndjsonStream, sendBytes } from "./answer.ts";
export {
  checkBudget,
  concurrencyLimit,
  DEFAULT_TIME_BUDGET_MS,
  refuseOverBudget,
  remainingBudget,
} from "./limits.ts";

/**
 * Typed errors thrown by the library. They carry no HTTP: lib/http maps each class to a status code
 * and a problem+json body in one place, for every function.
 */

/** Extra, machine-readable facts about a problem (which field, which token). */
export type ProblemFacts = Record<string, string | number | boolean | null>;

/** Base class; `code` is a short slug that also names the problem type. */
export class MedimgError extends Error {
  readonly code: string;
  readonly facts: ProblemFacts;
  constructor(code: string, message: string, facts: ProblemFacts = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.facts = facts;
  }
}

/** The input is malformed: it cannot be read as what it claims to be (maps to 400). */
export class BadInputError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("bad-input", message, facts);
  }
}

/** The input is well-formed but its values cannot be processed (maps to 422). */
export class InvalidInputError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("invalid-input", message, facts);
  }
}

/** A declared or computed size is over a configured limit (maps to 422; bodies over the limit are 413). */
export class LimitExceededError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("limit-exceeded", message, facts);
  }
}

/** The input is of a kind or encoding we do not support (maps to 415). */
export class UnsupportedError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("unsupported", message, facts);
  }
}

/** The input stream itself is too large to accept (maps to 413). */
export class PayloadTooLargeError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("payload-too-large", message, facts);
  }
}

/** A named thing (a model, a job) does not exist here (maps to 404). */
export class NotFoundError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("not-found", message, facts);
  }
}

/**
 * The service cannot take or finish the request now: over its time budget, or too busy (maps to
 * 503; `retry_after` in seconds, when set, becomes the Retry-After header).
 */
export class UnavailableError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("unavailable", message, facts);
  }
}

/** A service we depend on (a PACS) is unreachable, too slow, or answered with a 5xx (maps to 502). */
export class UpstreamError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("upstream", message, facts);
  }
}

// Error classes of infrasec: one per failure kind, each with a stable code; the engine switches on the class.
import type { Diagnostic } from './desired/diagnostic.ts';

export class InfrasecError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly context: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The desired state is invalid. Never retried: the commit must change. */
export class ValidationError extends InfrasecError {
  constructor(readonly diagnostics: readonly Diagnostic[], message = `${diagnostics.length} problem(s) in the desired state`) {
    super('validation-failed', message, { count: diagnostics.length });
  }
}

/** A live object exists with the desired identity but is not owned by infrasec. Reported, not adopted. */
export class ConflictError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('conflict', message, context, options);
  }
}

/** The target system cannot be reached or refused the session (network, TLS, bind). Retried with backoff. */
export class TargetUnavailableError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('target-unavailable', message, context, options);
  }
}

/** The target answered but authentication failed. Not retried quickly: credentials must change. */
export class AuthenticationError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('authentication-failed', message, context, options);
  }
}

/** A guard refused the plan. Stops this system until the commit or the policy changes. */
export class GuardRefusedError extends InfrasecError {
  constructor(message: string, readonly reasons: readonly string[], context: Readonly<Record<string, unknown>> = {}) {
    super('guard-refused', message, context);
  }
}

/** A write to the target failed. The pass is marked failed; the next pass retries the change idempotently. */
export class ApplyError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('apply-failed', message, context, options);
  }
}

/** The controller's own configuration (infrasec.yaml / environment) is invalid. */
export class ConfigError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('config-invalid', message, context, options);
  }
}

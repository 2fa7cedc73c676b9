// pfRest v2 response envelope and the error type every handler throws (contract section 2).

const REASONS: Record<number, string> = {
  200: 'ok',
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  406: 'not acceptable',
  409: 'conflict',
  415: 'unsupported media type',
  422: 'unprocessable content',
  424: 'failed dependency',
  500: 'internal server error',
  503: 'service unavailable',
};

export interface Envelope {
  code: number;
  status: string;
  response_id: string;
  message: string;
  data: unknown;
}

/** A pfRest error: HTTP code, UPPER_SNAKE response id, message (quotes become backticks), optional data. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly responseId: string,
    message: string,
    readonly data: unknown = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function envelope(code: number, responseId: string, message: string, data: unknown): Envelope {
  return {
    code,
    status: REASONS[code] ?? 'unknown',
    response_id: responseId,
    // pfRest replaces every double and single quote of a message with a backtick.
    message: message.replace(/["']/g, '`'),
    data: data === undefined || data === null ? [] : data,
  };
}

export const notFound = (id: unknown): ApiError =>
  new ApiError(404, 'MODEL_OBJECT_NOT_FOUND', `Object with ID \`${String(id)}\` does not exist.`);
export const required = (field: string): ApiError =>
  new ApiError(400, 'FIELD_IS_REQUIRED', `Field \`${field}\` is required.`);
export const invalidChoice = (field: string, value: unknown, choices: readonly string[]): ApiError =>
  new ApiError(
    400,
    'FIELD_INVALID_CHOICE',
    `Field \`${field}\` must be one of [${choices.join(', ')}], received \`${String(value)}\`.`,
  );
export const invalidType = (field: string, type: string): ApiError =>
  new ApiError(400, 'FIELD_INVALID_TYPE', `Field \`${field}\` must be of type \`${type}\`.`);

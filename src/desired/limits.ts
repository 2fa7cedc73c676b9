// Ceilings on the whole desired state (bytes, documents, objects, load time), their defaults and the setting that raises each.

export interface TotalLimits {
  /** Bytes of YAML in all files together. */
  readonly maxTotalBytes: number;
  /** YAML documents in all files together. */
  readonly maxDocuments: number;
  /** Valid objects (users, groups, extensions...) in all files together. */
  readonly maxObjects: number;
  /** Wall-clock ceiling of one load (listing, reading, parsing, validating). */
  readonly loadTimeoutSeconds: number;
}

/**
 * A COD's whole state is a few hundred KiB and a few thousand objects; these leave a wide margin while keeping one load
 * far below the controller's memory (the 215 MB, 2.2 million document attack of issue 14 is refused before it is read).
 */
export const DEFAULT_TOTAL_LIMITS: TotalLimits = {
  maxTotalBytes: 8 * 1024 * 1024,
  maxDocuments: 20_000,
  maxObjects: 20_000,
  loadTimeoutSeconds: 120,
};

/** Where each limit is set, for the diagnostic that names it. */
export const LIMIT_SETTINGS: Record<keyof TotalLimits, string> = {
  maxTotalBytes: 'desiredState.maxTotalBytes (INFRASEC_DESIRED_MAX_BYTES)',
  maxDocuments: 'desiredState.maxDocuments (INFRASEC_DESIRED_MAX_DOCUMENTS)',
  maxObjects: 'desiredState.maxObjects (INFRASEC_DESIRED_MAX_OBJECTS)',
  loadTimeoutSeconds: 'desiredState.loadTimeoutSeconds (INFRASEC_DESIRED_LOAD_TIMEOUT)',
};

/** Pure: the limits in force, defaults filled in. */
export function totalLimits(over: Partial<TotalLimits> = {}): TotalLimits {
  return { ...DEFAULT_TOTAL_LIMITS, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) };
}

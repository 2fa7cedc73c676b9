// What a pfRest model declares: where its list lives, its fields, and the side effects of its writes.
import type { Field, WriteContext } from './fields.js';
import type { EmulatorState, Obj } from './state.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

export interface Model {
  name: string;
  list(state: EmulatorState): Obj[];
  /** Child models: the parent's field holding this list (parent found by `parent_id` in `parentModel`). */
  childKey?: string;
  parentModel?: Model;
  fields: readonly Field[];
  singular: readonly Method[];
  plural: readonly Method[];
  /** Subsystem marked dirty by a write (aliases, natconf); none for always-applied models and, quirk, for rules. */
  dirty?: string;
  /** The last `manyMinimum` objects cannot be deleted. */
  manyMinimum?: number;
  /** created_time/updated_time/created_by/updated_by. */
  stamps?: boolean;
  /** Input mapping (interface representation) before validation. */
  fromWire?(body: Obj, ctx: WriteContext): Obj;
  /** Output mapping: the object as the API shows it (without id). */
  toWire?(o: Obj, state: EmulatorState): Obj;
  /** Cross-field checks after the field walk. */
  validateObject?(o: Obj, ctx: WriteContext, existing: Obj | undefined): void | Promise<void>;
  /** Server-filled fields at create (refid, tracker, generated PEM…). May be async (openssl). */
  beforeCreate?(o: Obj, ctx: WriteContext, body: Obj): void | Promise<void>;
  afterCreate?(o: Obj, ctx: WriteContext, body: Obj): void | Promise<void>;
  afterUpdate?(o: Obj, previous: Obj, ctx: WriteContext): void | Promise<void>;
  /** Throws when the object is in use. */
  beforeDelete?(o: Obj, ctx: WriteContext): void;
  afterDelete?(o: Obj, ctx: WriteContext): void | Promise<void>;
  /** A model that re-sorts its whole list on every write (PortForward on v2.7.1). */
  sortAfterWrite?(list: Obj[], ctx: WriteContext): void;
  /** POST on the singular endpoint does not create (client export, generate endpoints handle it themselves). */
  createHandler?(body: Obj, ctx: WriteContext, accept: string): Promise<{ data: unknown; binary?: { filename: string; body: Buffer } }>;
}

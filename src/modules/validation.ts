import { z } from 'zod';

import { BadUserInputError } from '../errors';

/*
 * DESIGN §1's input rules, shared by GraphQL and REST. Every failure is
 * BAD_USER_INPUT naming the field; messages never echo a value. Names are
 * refused, never normalised: two names that look the same are the same, so
 * a name not in NFC, or holding invisible characters, is an error.
 */

export const MAX_SECRET_NAME_CHARS = 1024;
export const MAX_ENTITY_NAME_CHARS = 128;
export const MAX_VALUE_BYTES = 64 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTROL = /\p{Cc}/u;
const EDGE_WHITESPACE = /^\s|\s$/u;
/* Characters that make two different names look the same: bidirectional controls and zero-width characters. */
const INVISIBLE = /[\u202A-\u202E\u2066-\u2069\u200B-\u200D\u2060\uFEFF]/u;

export const idSchema = z
  .string({ error: 'must be a string' })
  .regex(UUID, 'must be a UUID')
  .transform((id) => id.toLowerCase());

/** Code points, not UTF-16 units: '🔑' is one character, as PostgreSQL's char_length counts it. */
const characterCount = (s: string) => {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
};

const nameSchema = (maxChars: number) =>
  z.string({ error: 'must be a string' }).superRefine((name, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (!name.isWellFormed()) return fail('must be valid Unicode (no lone surrogates)');
    const length = characterCount(name);
    if (length === 0) return fail('must not be empty');
    if (length > maxChars) return fail(`must be at most ${maxChars} characters (got ${length})`);
    if (CONTROL.test(name)) return fail('must not contain control characters');
    if (INVISIBLE.test(name)) return fail('must not contain bidirectional controls or zero-width characters');
    if (name.normalize('NFC') !== name) return fail('must be in Unicode NFC (compose accents before sending)');
    if (EDGE_WHITESPACE.test(name)) return fail('must not start or end with whitespace');
  });

export const secretNameSchema = nameSchema(MAX_SECRET_NAME_CHARS);
export const entityNameSchema = nameSchema(MAX_ENTITY_NAME_CHARS);

export const secretValueSchema = z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (!value.isWellFormed()) return fail('must be valid Unicode (no lone surrogates)');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes === 0) return fail('must not be empty');
  if (bytes > MAX_VALUE_BYTES) return fail(`must be at most ${MAX_VALUE_BYTES} bytes of UTF-8 (got ${bytes})`);
});

/** Flatfile's actor ids (users, agents, guests: `us_ag_1a2b3c`): opaque, 1-128 printable ASCII characters, no spaces. */
export const actorIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces');

/** An actor id argument, or null when none was given. */
export const optionalActorId = (input: unknown): string | null => checkOptional(actorIdSchema, 'actorId', input) ?? null;

/** How many items a page holds: 1 to `max`. */
export const pageSizeSchema = (max: number) =>
  z.number({ error: 'must be an integer' }).int('must be an integer').min(1, `must be from 1 to ${max}`).max(max, `must be from 1 to ${max}`);

/** A secret version number. */
export const versionSchema = z
  .number({ error: 'must be an integer' })
  .int('must be an integer')
  .min(1, 'must be 1 or more')
  .max(2_147_483_647, 'is out of range');

export const expectedVersionSchema = z
  .number({ error: 'must be an integer' })
  .int('must be an integer')
  .min(0, 'must be 0 (create only) or a current version')
  .max(2_147_483_647, 'is out of range');

/** Parses one field; a failure names the field and the rule, never the value. */
export function check<T extends z.ZodType>(schema: T, field: string, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new BadUserInputError(field, `${field} ${result.error.issues[0]?.message ?? 'is invalid'}`);
}

export function checkOptional<T extends z.ZodType>(schema: T, field: string, input: unknown): z.output<T> | undefined {
  return input === undefined || input === null ? undefined : check(schema, field, input);
}

/** A moment in the future, as a Date or an ISO 8601 string with a time zone. */
export const expiresAtSchema = z
  .union([z.date(), z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })], {
    error: 'must be a date-time',
  })
  .transform((value) => (value instanceof Date ? value : new Date(value)))
  .refine((date) => !Number.isNaN(date.getTime()) && date.getTime() > Date.now(), 'must be in the future');

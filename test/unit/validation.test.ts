import { BadUserInputError } from '../../src/errors';
import {
  check,
  checkOptional,
  entityNameSchema,
  expectedVersionSchema,
  idSchema,
  MAX_VALUE_BYTES,
  secretNameSchema,
  secretValueSchema,
} from '../../src/modules/validation';

const MARKER = 'S3CRET-MARKER';

/** The error `check` throws for `input`, asserting it is a value-free BAD_USER_INPUT naming `field`. */
function rejection(schema: Parameters<typeof check>[0], field: string, input: unknown): BadUserInputError {
  let thrown: unknown;
  try {
    check(schema, field, input);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(BadUserInputError);
  const error = thrown as BadUserInputError;
  expect(error.code).toBe('BAD_USER_INPUT');
  expect(error.field).toBe(field);
  expect(error.details).toEqual({ field });
  expect(error.message.startsWith(`${field} `)).toBe(true);
  if (typeof input === 'string' && input.trim().length > 0) expect(error.message).not.toContain(input.trim());
  expect(error.message).not.toContain(MARKER);
  return error;
}

describe('secret names', () => {
  const accept = (name: string) => expect(check(secretNameSchema, 'name', name)).toBe(name);
  const reject = (name: string) => rejection(secretNameSchema, 'name', name);

  it('accepts 1 and 1024 characters, and rejects 1025', () => {
    accept('A');
    accept('n'.repeat(1024));
    reject('n'.repeat(1025));
  });

  it('counts code points, not UTF-16 units', () => {
    accept('🔑'.repeat(1024)); // 2048 UTF-16 units
    reject('🔑'.repeat(1025));
    accept('🔑');
  });

  it('rejects the empty name', () => {
    expect(reject('').message).toMatch(/empty/);
  });

  it.each(['\u0000', '\n', '\t', '\r', '\u007f', '\u0085', '\u001b'])(
    'rejects control character %j anywhere',
    (control) => {
      reject(`${MARKER}${control}tail`);
      reject(`${control}${MARKER}`);
    },
  );

  it.each([' ', '\u00a0', '\u3000', '\t'])('rejects leading or trailing whitespace %j', (space) => {
    reject(`${space}${MARKER}`);
    reject(`${MARKER}${space}`);
  });

  it('accepts inner spaces and the punctuation : . - /', () => {
    accept('stripe api key');
    accept('services/billing:stripe.api-key');
    accept('a\u00a0b');
  });

  it('rejects a lone surrogate', () => {
    reject(`${MARKER}\uD800`);
    reject(`\uDC00${MARKER}`);
  });

  it('preserves case', () => {
    expect(check(secretNameSchema, 'name', 'MiXeD_Case')).toBe('MiXeD_Case');
  });

  it('rejects a non-string', () => {
    reject(42 as unknown as string);
    rejection(secretNameSchema, 'name', null);
  });
});

describe('entity names', () => {
  it('allow 128 characters and reject 129', () => {
    expect(check(entityNameSchema, 'name', 'e'.repeat(128))).toHaveLength(128);
    rejection(entityNameSchema, 'name', 'e'.repeat(129));
  });
});

describe('names that look alike are refused, never normalised', () => {
  it.each([
    ['NFD (e + combining acute)', 'cafe\u0301'],
    ['a right-to-left override', 'invoice\u202Etxt.exe'],
    ['a left-to-right isolate', 'a\u2066b'],
    ['a zero-width space', 'DB\u200BPASSWORD'],
    ['a zero-width joiner', 'a\u200Db'],
    ['a word joiner', 'a\u2060b'],
    ['a byte-order mark', '\uFEFFNAME'],
  ])('%s', (_label, name) => {
    for (const schema of [secretNameSchema, entityNameSchema]) {
      const error = rejection(schema, 'name', name);
      expect(error.message).not.toContain(name);
    }
  });

  it('accepts the same name in NFC', () => {
    expect(check(secretNameSchema, 'name', 'caf\u00e9')).toBe('café');
    expect(check(entityNameSchema, 'name', 'Zürich ☃')).toBe('Zürich ☃');
  });
});

describe('secret values', () => {
  const accept = (value: string) => expect(check(secretValueSchema, 'value', value)).toBe(value);
  const reject = (value: string) => rejection(secretValueSchema, 'value', value);

  it('accepts 1 byte and 65536 bytes', () => {
    expect(MAX_VALUE_BYTES).toBe(65536);
    accept('x');
    accept('x'.repeat(65536));
  });

  it('rejects 65537 bytes and 0 bytes', () => {
    reject(MARKER.repeat(6000).slice(0, 65537));
    reject('');
  });

  it('counts UTF-8 bytes, not characters', () => {
    accept('é'.repeat(32768)); // 65536 bytes
    reject('é'.repeat(32768) + 'x'); // 32769 characters, 65537 bytes
    accept('😀'.repeat(16384)); // 4 bytes each
    reject('😀'.repeat(16384) + 'x');
  });

  it('keeps whitespace and control characters in a value', () => {
    accept(' line one\nline two\t ');
  });

  it('rejects a lone surrogate', () => {
    reject(`${MARKER}\uD800`);
  });
});

describe('ids', () => {
  it('accepts a UUID and lowercases it', () => {
    expect(check(idSchema, 'id', '3F2504E0-4F89-41D3-9A0C-0305E82C3301')).toBe('3f2504e0-4f89-41d3-9a0c-0305e82c3301');
  });

  it.each(['not-a-uuid', '', '3f2504e0-4f89-41d3-9a0c-0305e82c330', ' 3f2504e0-4f89-41d3-9a0c-0305e82c3301', `${MARKER}`])(
    'rejects %j',
    (junk) => {
      rejection(idSchema, 'environmentId', junk);
    },
  );

  it('rejects a non-string', () => {
    rejection(idSchema, 'spaceId', 123);
  });
});

describe('expectedVersion', () => {
  it('accepts 0 (create only) and positive integers', () => {
    expect(check(expectedVersionSchema, 'expectedVersion', 0)).toBe(0);
    expect(check(expectedVersionSchema, 'expectedVersion', 7)).toBe(7);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '1'])('rejects %p', (input) => {
    rejection(expectedVersionSchema, 'expectedVersion', input);
  });
});

describe('checkOptional', () => {
  it('passes undefined and null through as undefined, and checks anything else', () => {
    expect(checkOptional(idSchema, 'spaceId', undefined)).toBeUndefined();
    expect(checkOptional(idSchema, 'spaceId', null)).toBeUndefined();
    rejection(idSchema, 'spaceId', 'junk');
    expect(() => checkOptional(idSchema, 'spaceId', 'junk')).toThrow(BadUserInputError);
  });
});

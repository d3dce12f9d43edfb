import fc from 'fast-check';

// What a hostile client sends: structure-aware bodies (the right shape with wrong values) and raw
// garbage. JSON is built as text, so a body can carry what JSON.stringify never writes: duplicate
// keys, `__proto__` keys, numbers past 1e308, nesting thousands deep.

/** Single characters that break naive code: controls, NUL, lone surrogates, separators, markup. */
const nastyUnits = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\u0008',
  '\u000b',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\uffff',
  '\t',
  '\n',
  '\r',
  '"',
  "'",
  '\\',
  '/',
  '%',
  '&',
  '<',
  '>',
  '{',
  '$',
  '😀',
  'é',
];

const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nastyUnits) },
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

const shortUnits = fc.string({ unit, maxLength: 40 });
const oddWords = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "'; DROP TABLE runs; --",
  '%00',
  '%ZZ',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup, meant literally
  '${jndi:ldap://x}',
  '{{7*7}}',
);

/** Short hostile strings, for URLs and headers (which have their own size limits). */
export const hostileShortString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: shortUnits },
  { weight: 1, arbitrary: oddWords },
);

/**
 * Strings a user may type, and strings no user should be able to send, up to 220,000 characters
 * (past every field limit), a few of them still under 1 MiB as JSON: a body tests its fields,
 * not the body limit (which has its own property).
 */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: shortUnits },
  { weight: 2, arbitrary: oddWords },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.tuple(fc.integer({ min: 257, max: 220_000 }), fc.constant('x')),
        fc.tuple(fc.integer({ min: 257, max: 100_000 }), fc.constant('é')),
        fc.tuple(fc.integer({ min: 257, max: 40_000 }), fc.constantFrom('\u0000', '😀', '\ud800')),
      )
      .map(([length, character]) => character.repeat(length)),
  },
);

/** A string with at least one C0 control character other than tab, line feed and carriage return. */
export const controlString: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
    fc.integer({ min: 0, max: 0x1f }).filter((code) => code !== 0x09 && code !== 0x0a && code !== 0x0d),
    fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
  )
  .map(([before, code, after]) => `${before}x${String.fromCharCode(code)}${after}`);

/** Whether `text` holds NUL or another C0 control (tab, line feed and carriage return excepted) or DEL. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) return true;
  }
  return false;
}

/** JSON number tokens, including ones that parse to Infinity, -0 or lose precision. */
export const numberToken: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
  fc.constantFrom(
    '0',
    '-0',
    '1e400',
    '-1e400',
    '123456789012345678901234567890',
    '9007199254740993',
    '1.5',
    '1e-400',
  ),
);

/** A JSON string token of a hostile string. */
export const stringToken: fc.Arbitrary<string> = hostileString.map((text) => JSON.stringify(text));

/** Keys that pollute prototypes when code assigns them naively. */
export const pollutingKey = fc.constantFrom('__proto__', 'constructor', 'prototype');

/** `{"__proto__":{"polluted":…}}` and friends: harmless unless something merges them. */
const pollutingValue = fc.constantFrom(
  '{"polluted":"yes"}',
  '{"prototype":{"polluted":"yes"}}',
  '{"__proto__":{"polluted":"yes"}}',
);

/** Text of a JSON value nested `depth` deep. */
export const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 8_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** Text of any JSON value, hostile leaves and keys included. */
export const jsonValue: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    stringToken,
    numberToken,
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(hostileString, pollutingKey), tie('value')), { maxLength: 4 })
      .map((entries) => objectText(entries)),
  ),
})).value;

/** Any JSON value, now and then one nested thousands deep or carrying prototype keys. */
export const hostileJson: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: jsonValue },
  { weight: 1, arbitrary: deepNesting },
  {
    weight: 1,
    arbitrary: fc.tuple(pollutingKey, pollutingValue).map(([key, value]) => objectText([[key, value]])),
  },
);

/** `{ "k": v, … }` from key/value-text pairs, keeping duplicates and order as given. */
export function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/**
 * An object body of a route's shape: each known field is left out, valid, or any hostile value;
 * now and then extra fields, prototype keys or a duplicate of a known field. `valid` gives each
 * field's valid values as JSON text.
 */
export function shapedObject(valid: Readonly<Record<string, fc.Arbitrary<string>>>): fc.Arbitrary<string> {
  const fields = Object.entries(valid).map(([key, value]) =>
    fc.oneof(
      { weight: 5, arbitrary: value.map((text) => [[key, text] as const]) },
      { weight: 2, arbitrary: hostileJson.map((text) => [[key, text] as const]) },
      { weight: 1, arbitrary: fc.constant([] as (readonly [string, string])[]) },
    ),
  );
  const extra = fc.oneof(
    { weight: 6, arbitrary: fc.constant([] as (readonly [string, string])[]) },
    {
      weight: 1,
      arbitrary: fc.array(fc.tuple(fc.oneof(hostileString, pollutingKey), hostileJson), {
        minLength: 1,
        maxLength: 3,
      }),
    },
    { weight: 1, arbitrary: fc.tuple(pollutingKey, pollutingValue).map((entry) => [entry]) },
  );
  return fc.tuple(fc.tuple(...fields), extra, fc.boolean()).map(([known, more, reversed]) => {
    const entries = [...known.flat(), ...more];
    return objectText(reversed ? entries.reverse() : entries);
  });
}

/** Bytes that are not what any route expects: random bytes, cut-off JSON, near-JSON. */
export function garbageBody(sample: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array | string> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.tuple(sample, fc.nat()).map(([text, cut]) => text.slice(0, text.length === 0 ? 0 : cut % text.length)),
    fc.constantFrom(
      '',
      'null',
      '[]',
      '"text"',
      '{',
      '}',
      '{"input":',
      'undefined',
      '\ufeff{"input":"Hi"}',
      '{"input":"Hi"}garbage',
      'input=Hi&session_id=x',
      '\u0000',
    ),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => {
      // Invalid UTF-8 inside otherwise valid JSON.
      const head = new TextEncoder().encode('{"input":"');
      return new Uint8Array([...head, 0xff, 0xfe, ...bytes.filter((byte) => byte >= 0x80), 0x22, 0x7d]);
    }),
  );
}

/** Content types, right and wrong. `undefined` sends none. */
export const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=latin1',
  'application/jsonx',
  'application/json-patch+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '',
  undefined,
);

/** How the body goes over the wire: one piece with Content-Length, or chunked in random pieces. */
export const framing = fc.oneof(
  fc.constant({ chunked: false as const }),
  fc.record({ chunked: fc.constant(true as const), pieces: fc.integer({ min: 1, max: 8 }) }),
);

/**
 * Compose interpolation of the service's image reference, as pure functions: which variables it uses, what it
 * gives for a version, which version a running image is, and where its tag is.
 *
 * Why not `docker compose config`: fraisier needs the image a version *will* give before it writes anything, and
 * the version a running container's image *was* (the reverse); the CLI answers neither, costs a process per
 * question, and v1 and v2 print different things. See the README ("Why fraisier reads the compose file itself").
 */
import { ProviderInputError } from '../contract';

export type InterpolationOp = ':-' | '-' | ':?' | '?' | ':+' | '+';

/** A piece of an image reference template: literal text or a `$VAR` / `${VAR…}` reference. */
export type ImageSegment =
  | { kind: 'text'; raw: string; text: string }
  | { kind: 'var'; raw: string; name: string; op?: InterpolationOp; arg?: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Splits an image template into literal text and variable references, following compose interpolation rules. */
export function parseImageTemplate(template: string): ImageSegment[] {
  const out: ImageSegment[] = [];
  let text = '';
  let raw = '';
  const flush = (): void => {
    if (raw !== '') out.push({ kind: 'text', raw, text });
    text = '';
    raw = '';
  };
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch !== '$') {
      text += ch;
      raw += ch;
      i++;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      text += '$';
      raw += '$$';
      i += 2;
      continue;
    }
    if (next === '{') {
      // Find the matching brace (defaults may nest `${…}`).
      let depth = 1;
      let j = i + 2;
      for (; j < template.length && depth > 0; j++) {
        if (template[j] === '{') depth++;
        else if (template[j] === '}') depth--;
      }
      if (depth !== 0) throw new ProviderInputError(`unterminated "\${" in image ${JSON.stringify(template)}`);
      const inner = template.slice(i + 2, j - 1);
      const m = NAME.exec(inner);
      if (!m) throw new ProviderInputError(`invalid variable reference "\${${inner}}" in image ${JSON.stringify(template)}`);
      const rest = inner.slice(m[0].length);
      const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[1] as InterpolationOp | undefined;
      if (rest !== '' && !op) {
        throw new ProviderInputError(`invalid variable reference "\${${inner}}" in image ${JSON.stringify(template)}`);
      }
      flush();
      out.push({
        kind: 'var',
        raw: template.slice(i, j),
        name: m[0],
        ...(op ? { op, arg: rest.slice(op.length) } : {}),
      });
      i = j;
      continue;
    }
    const m = NAME.exec(template.slice(i + 1));
    if (m) {
      flush();
      out.push({ kind: 'var', raw: `$${m[0]}`, name: m[0] });
      i += 1 + m[0].length;
      continue;
    }
    // A lone "$": compose would complain; keep it literal so the message comes from compose.
    text += ch;
    raw += ch;
    i++;
  }
  flush();
  return out;
}

/** Every variable name an image template refers to (defaults included). */
export function imageVariables(segments: ImageSegment[]): string[] {
  const names = new Set<string>();
  for (const s of segments) {
    if (s.kind !== 'var') continue;
    names.add(s.name);
    if (s.arg) for (const n of imageVariables(parseImageTemplate(s.arg))) names.add(n);
  }
  return [...names];
}

/** Variables that sit in the tag part of the reference (after the last ":" that follows the last "/"). */
export function tagVariables(segments: ImageSegment[]): string[] {
  let inTag = false;
  const found: string[] = [];
  for (const s of segments) {
    if (s.kind === 'text') {
      for (const c of s.text) {
        if (c === '/' || c === '@') inTag = false;
        else if (c === ':') inTag = true;
      }
    } else if (inTag && !found.includes(s.name)) {
      found.push(s.name);
    }
  }
  return found;
}

export type Lookup = (name: string) => string | undefined;

/** Compose-style interpolation of a template. */
export function interpolate(segments: ImageSegment[], lookup: Lookup, what = 'image'): string {
  let out = '';
  for (const s of segments) {
    if (s.kind === 'text') {
      out += s.text;
      continue;
    }
    const value = lookup(s.name);
    const setNonEmpty = value !== undefined && value !== '';
    const sub = (): string => interpolate(parseImageTemplate(s.arg ?? ''), lookup, what);
    switch (s.op) {
      case undefined:
        out += value ?? '';
        break;
      case ':-':
        out += setNonEmpty ? value : sub();
        break;
      case '-':
        out += value !== undefined ? value : sub();
        break;
      case ':?':
      case '?':
        if (s.op === ':?' ? !setNonEmpty : value === undefined) {
          throw new ProviderInputError(`variable ${s.name} of the ${what} is not set${s.arg ? `: ${s.arg}` : ''}`);
        }
        out += value;
        break;
      case ':+':
        out += setNonEmpty ? sub() : '';
        break;
      case '+':
        out += value !== undefined ? sub() : '';
        break;
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Recovers the value of `variable` from a concrete image reference produced by the template, e.g.
 * `app:${VERSION}` and `app:v1` give `v1`. Other variables take their current values.
 */
export function extractVariable(segments: ImageSegment[], variable: string, reference: string, lookup: Lookup): string | undefined {
  let pattern = '';
  let captured = false;
  for (const s of segments) {
    if (s.kind === 'text') pattern += escapeRegExp(s.text);
    else if (s.name === variable && (s.op === undefined || s.op === ':-' || s.op === '-')) {
      // `${VERSION:-x}`: with the variable set and non-empty it is the value itself.
      pattern += captured ? '\\1' : '([A-Za-z0-9_][A-Za-z0-9._+-]*)';
      captured = true;
    } else {
      try {
        pattern += escapeRegExp(interpolate([s], lookup));
      } catch {
        pattern += '.*?';
      }
    }
  }
  if (!captured) return undefined;
  return new RegExp(`^${pattern}$`).exec(reference)?.[1];
}

/** The tag of a concrete image reference (`latest` when there is none), or undefined for digest references. */
export function imageTag(reference: string): string | undefined {
  const noDigest = reference.split('@')[0] ?? reference;
  if (noDigest !== reference) return undefined;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : 'latest';
}

/**
 * The template with its tag replaced by `tag` (a digest is dropped). The tag part must be literal text:
 * a tag built from variables is changed through the variable instead.
 */
export function replaceImageTag(template: string, tag: string): string {
  const segments = parseImageTemplate(template);
  const last = segments[segments.length - 1];
  if (!last) throw new ProviderInputError('the image is empty');
  // Position, in the raw template, of the "@" (digest) and of the tag ":", looking only at literal text.
  let offset = 0;
  let nameEnd = -1; // raw index of the "@" when there is a digest
  let tagColon = -1;
  let varAfterColon = false;
  for (const s of segments) {
    if (s.kind === 'var') {
      if (tagColon >= 0 && nameEnd < 0) varAfterColon = true;
      offset += s.raw.length;
      continue;
    }
    for (let k = 0; k < s.raw.length; k++) {
      const c = s.raw[k];
      if (nameEnd >= 0) continue;
      if (c === '@') nameEnd = offset + k;
      else if (c === '/') {
        tagColon = -1;
        varAfterColon = false;
      } else if (c === ':') {
        tagColon = offset + k;
        varAfterColon = false;
      }
    }
    offset += s.raw.length;
  }
  const end = nameEnd >= 0 ? nameEnd : template.length;
  if (tagColon >= 0 && tagColon < end) {
    if (varAfterColon) {
      throw new ProviderInputError(`the tag of image ${JSON.stringify(template)} uses a variable: set version_variable to it`);
    }
    return `${template.slice(0, tagColon)}:${tag}`;
  }
  const name = template.slice(0, end);
  const lastName = parseImageTemplate(name).at(-1);
  if (lastName?.kind === 'var') {
    throw new ProviderInputError(
      `image ${JSON.stringify(template)} ends with a variable, so fraisier cannot tell where its tag is: write it as name:\${VERSION} or set version_variable`,
    );
  }
  return `${name}:${tag}`;
}

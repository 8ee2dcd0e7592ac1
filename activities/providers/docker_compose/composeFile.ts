/**
 * Reading and editing the compose file: validation of the deployed service, and a minimal textual rewrite of its
 * image that leaves every other byte of the file alone.
 */
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, parseDocument, Scalar, type Document } from 'yaml';
import { ProviderInputError } from '../contract';
import { parseImageTemplate, type ImageSegment } from './interpolation';

export interface ComposeFileInfo {
  /** The image template exactly as written for the service, e.g. `app:${VERSION}`. */
  image: string;
  segments: ImageSegment[];
  /** Names of every service, for messages. */
  services: string[];
  doc: Document;
}

/** Parses the compose file and checks that `service` exists and has an image. */
export function parseComposeFile(text: string, file: string, service: string): ComposeFileInfo {
  const doc = parseDocument(text, { merge: true, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ProviderInputError(`${file} is not valid YAML: ${doc.errors[0]?.message ?? 'parse error'}; fix the file and retry`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ProviderInputError(`${file} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const services = (data as { services?: unknown } | null)?.services;
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    throw new ProviderInputError(`${file} has no "services:" mapping; is it a compose file?`);
  }
  const names = Object.keys(services);
  const svc = (services as Record<string, unknown>)[service];
  if (svc === undefined) {
    throw new ProviderInputError(
      `${file} has no service "${service}" (services: ${names.join(', ') || 'none'}); set service_name to one of them or add the service`,
    );
  }
  const image = (svc as { image?: unknown } | null)?.image;
  if (typeof image !== 'string' || image.trim() === '') {
    throw new ProviderInputError(
      `service "${service}" in ${file} has no "image:"; fraisier deploys tagged images, add e.g. \`image: ${service}:\${VERSION}\``,
    );
  }
  return { image, segments: parseImageTemplate(image), services: names, doc };
}

/**
 * Returns the compose file text with the service's image replaced by `newImage`, changing only the bytes
 * of that scalar (comments, order, quoting and layout elsewhere stay the same).
 */
export function setServiceImage(text: string, file: string, service: string, newImage: string): string {
  const info = parseComposeFile(text, file, service);
  const servicesNode = info.doc.get('services', true);
  const svcNode = isMap(servicesNode) ? servicesNode.get(service, true) : undefined;
  const node = isMap(svcNode) ? svcNode.get('image', true) : undefined;
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
    throw new ProviderInputError(
      `the image of service "${service}" in ${file} is not written directly on the service (anchor or merge key?); write \`image:\` on the service or use version_variable`,
    );
  }
  let rendered: string;
  switch (node.type) {
    case Scalar.PLAIN:
      if (!/^[A-Za-z0-9._\/:@${}+-]+$/.test(newImage)) {
        throw new ProviderInputError(`cannot write image ${JSON.stringify(newImage)} into ${file}`);
      }
      rendered = newImage;
      break;
    case Scalar.QUOTE_DOUBLE:
      rendered = JSON.stringify(newImage);
      break;
    case Scalar.QUOTE_SINGLE:
      rendered = `'${newImage.replace(/'/g, "''")}'`;
      break;
    default:
      throw new ProviderInputError(
        `the image of service "${service}" in ${file} is a block scalar; write it on one line (image: name:tag) so fraisier can change its tag`,
      );
  }
  const [start, valueEnd] = node.range;
  const updated = text.slice(0, start) + rendered + text.slice(valueEnd);
  // Defensive: the result must parse to the same document with only that image changed.
  const after = parseComposeFile(updated, file, service);
  const expected = info.doc.toJS({ maxAliasCount: 1000 }) as { services: Record<string, Record<string, unknown>> };
  const svc = expected.services[service];
  if (svc) svc.image = newImage;
  if (after.image !== newImage || !isDeepStrictEqual(after.doc.toJS({ maxAliasCount: 1000 }), expected)) {
    throw new Error(`rewriting the image of "${service}" in ${file} would change more than the image; file left as it was`);
  }
  return updated;
}

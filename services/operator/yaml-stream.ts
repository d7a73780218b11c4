import { parseAllDocuments, stringify } from 'yaml';

/** One YAML document per object, `---` between them, in the order given. */
export function toYamlStream(objects: readonly unknown[]): string {
  return objects
    .map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true }))
    .join('---\n');
}

export class YamlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlSyntaxError';
  }
}

/** Parses a multi-document YAML stream; empty documents are skipped. */
export function parseYamlStream(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) {
    throw new YamlSyntaxError('not a YAML document stream');
  }
  const out: unknown[] = [];
  docs.forEach((doc, index) => {
    const error = doc.errors[0];
    if (error) throw new YamlSyntaxError(`document ${index + 1}: ${error.message}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) out.push(value);
  });
  return out;
}

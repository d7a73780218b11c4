/**
 * What a server keeps per connection, from two V8 heap snapshots written by
 * `npm run loadtest -- idle --heap-snapshot` (before any connection and after N of them):
 * the growth in objects and bytes per connection, by kind of object, largest first. Closures
 * are named by the file and line they were created at, so a handler bound per socket shows
 * where it comes from.
 *
 *   node .cache/loadtest/loadtest/heap-summary.js <before.heapsnapshot> <after.heapsnapshot> <connections> [top=30]
 *
 * Snapshots of busy servers exceed the longest string V8 can hold, so the numeric sections
 * are read straight from the file's bytes rather than through JSON.parse.
 */
import { readFileSync } from 'node:fs';

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
  location_fields?: string[];
}

interface Snapshot {
  meta: Meta;
  nodes: Float64Array;
  edges: Float64Array;
  /** Closure node offset (in `nodes`) → line (1-based) where the function was defined. */
  lines: Map<number, number>;
  strings: string[];
}

function findBytes(buf: Buffer, text: string): number {
  const at = buf.indexOf(text, 0, 'utf8');
  if (at < 0) throw new Error(`not a V8 heap snapshot: no ${text}`);
  return at;
}

/**
 * The integers of the JSON array that starts right after `key` (e.g. `"nodes":[`): exactly
 * `count` of them, or as many as there are when the header does not say.
 */
function numbersAfter(buf: Buffer, key: string, count?: number): Float64Array {
  let out = new Float64Array(count ?? 1024);
  let i = findBytes(buf, key) + key.length;
  let n = 0;
  let value = 0;
  let inNumber = false;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      inNumber = true;
    } else {
      if (inNumber) {
        if (n >= out.length) {
          if (count !== undefined)
            throw new Error(`${key} holds more than the ${count} values announced`);
          const grown = new Float64Array(out.length * 2);
          grown.set(out);
          out = grown;
        }
        out[n++] = value;
        value = 0;
        inNumber = false;
      }
      if (c === 93) break; // ]
    }
  }
  if (count !== undefined && n !== count)
    throw new Error(`${key} holds ${n} values, the header announced ${count}`);
  return out.subarray(0, n);
}

function readSnapshot(file: string): Snapshot {
  const buf = readFileSync(file);
  const nodesAt = findBytes(buf, '"nodes":[');
  const header = JSON.parse(
    `${buf.subarray(0, nodesAt).toString('utf8').trimEnd().replace(/,$/, '')}}`,
  ) as { snapshot: { meta: Meta; node_count: number; edge_count: number } };
  const { meta, node_count: nodeCount, edge_count: edgeCount } = header.snapshot;
  const nodes = numbersAfter(buf, '"nodes":[', nodeCount * meta.node_fields.length);
  const edges = numbersAfter(buf, '"edges":[', edgeCount * meta.edge_fields.length);
  const lines = new Map<number, number>();
  const lf = meta.location_fields ?? [];
  if (buf.includes('"locations":[') && lf.includes('object_index') && lf.includes('line')) {
    const locations = numbersAfter(buf, '"locations":[');
    const [obj, line] = [lf.indexOf('object_index'), lf.indexOf('line')];
    for (let i = 0; i + lf.length <= locations.length; i += lf.length)
      lines.set(locations[i + obj]!, locations[i + line]! + 1);
  }
  const stringsAt = findBytes(buf, '"strings":[');
  const end = buf.lastIndexOf(']');
  const strings = JSON.parse(
    buf.subarray(stringsAt + '"strings":'.length, end + 1).toString('utf8'),
  ) as string[];
  return { meta, nodes, edges, lines, strings };
}

interface Group {
  count: number;
  bytes: number;
}

/** Objects and bytes by kind: constructor name, closure origin, or the V8 type for the rest. */
function groups(s: Snapshot): Map<string, Group> {
  const nf = s.meta.node_fields;
  const ef = s.meta.edge_fields;
  const nodeTypes = s.meta.node_types[0];
  const edgeTypes = s.meta.edge_types[0];
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    nf.indexOf(f),
  ) as [number, number, number, number];
  const [E_TYPE, E_NAME, E_TO] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const stride = nf.length;
  const nodeCount = s.nodes.length / stride;
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let n = 0; n < nodeCount; n++)
    firstEdge[n + 1] = firstEdge[n]! + s.nodes[n * stride + EDGES]! * ef.length;
  const numericEdge = new Set(['element', 'hidden']);

  /** The node an edge called `name` of node `n` points at, if any. */
  const follow = (n: number, name: string): number | undefined => {
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += ef.length) {
      if (numericEdge.has(edgeTypes[s.edges[e + E_TYPE]!]!)) continue;
      if (s.strings[s.edges[e + E_NAME]!] === name) return s.edges[e + E_TO]! / stride;
    }
    return undefined;
  };
  const nameOf = (n: number) => s.strings[s.nodes[n * stride + NAME]!] ?? '?';
  const closureOrigin = (n: number): string => {
    const shared = follow(n, 'shared');
    const script =
      shared === undefined
        ? undefined
        : (follow(shared, 'script_or_debug_info') ?? follow(shared, 'script'));
    const file =
      script === undefined ? '' : nameOf(script).replace(/^.*\/(node_modules|dist)\//, '');
    const line = s.lines.get(n * stride);
    return `closure ${nameOf(n) || '(anonymous)'} ${file}${line ? `:${line}` : ''}`.trimEnd();
  };

  const out = new Map<string, Group>();
  for (let n = 0; n < nodeCount; n++) {
    const type = nodeTypes[s.nodes[n * stride + TYPE]!]!;
    let key: string;
    if (type === 'object' || type === 'native' || type === 'hidden' || type === 'array')
      key = `${type} ${nameOf(n)}`;
    else if (type === 'closure') key = closureOrigin(n);
    else key = `(${type})`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count += 1;
    g.bytes += s.nodes[n * stride + SIZE]!;
    out.set(key, g);
  }
  return out;
}

function main(): void {
  const [beforeFile, afterFile, connArg, topArg] = process.argv.slice(2);
  const connections = Number(connArg);
  if (!beforeFile || !afterFile || !(connections > 0)) {
    process.stderr.write(
      'usage: node heap-summary.js <before.heapsnapshot> <after.heapsnapshot> <connections> [top=30]\n',
    );
    process.exit(2);
  }
  const top = Number(topArg ?? 30);
  const before = groups(readSnapshot(beforeFile));
  const after = groups(readSnapshot(afterFile));
  const rows: { key: string; count: number; bytes: number }[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const a = after.get(key) ?? { count: 0, bytes: 0 };
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    rows.push({
      key,
      count: (a.count - b.count) / connections,
      bytes: (a.bytes - b.bytes) / connections,
    });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  process.stdout.write(
    `heap growth per connection: ${(total / 1024).toFixed(2)} KB over ${connections} connections\n\n`,
  );
  process.stdout.write('bytes/conn  objects/conn  kind\n');
  for (const r of rows.slice(0, top))
    process.stdout.write(
      `${r.bytes.toFixed(0).padStart(10)}  ${r.count.toFixed(2).padStart(12)}  ${r.key}\n`,
    );
}

main();
